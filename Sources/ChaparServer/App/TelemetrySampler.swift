import ChaparConfig
import ChaparModels
import Delivery
import EventLog
import Foundation
import Notifier
import Synchronization

/// Once a second: reads the log's topics and groups, the notifier's and the pools' counters and
/// the gateways' state into gauges and counters, and appends a sample to the console's history.
/// Reading metadata is cheap (no I/O beyond `stat`-like lookups), so an idle server stays idle.
struct TelemetrySampler: Sendable {
    let state: ServerState

    func run() async throws {
        while !Task.isCancelled {
            await sample()
            try await Task.sleep(for: .seconds(1))
        }
    }

    func sample() async {
        let t = state.telemetry
        var events: Int64 = 0
        if let topics = try? await state.log.listTopics() {
            for topic in topics {
                let end = topic.partitions.reduce(Int64(0)) { $0 + $1.endOffset.rawValue }
                t.gauge("chapar_log_end_offset", [("topic", topic.name.rawValue)], Double(end))
                t.gauge("chapar_log_bytes", [("topic", topic.name.rawValue)], Double(topic.bytes))
                if Topics.events.contains(topic.name) { events += end }
            }
        }
        if let groups = try? await state.log.listGroups() {
            for group in groups {
                t.gauge("chapar_consumer_lag", [("group", group.group.rawValue)], Double(group.partitions.reduce(Int64(0)) { $0 + $1.lag }))
                t.gauge("chapar_consumer_members", [("group", group.group.rawValue)], Double(group.members.count))
            }
        }
        let n = state.notifier.statistics
        t.total("chapar_notifier_events_total", [], n.events)
        t.total("chapar_notifier_failed_batches_total", [], n.failedBatches)
        for (channel, count) in n.jobs { t.total("chapar_notifier_jobs_total", [("channel", channel.rawValue)], count) }
        for (reason, count) in n.skipped { t.total("chapar_notifier_skipped_total", [("reason", reason.rawValue)], count) }
        var delivered: [Channel: Int] = [:]
        var failed = 0
        for pool in state.pools {
            let s = pool.statistics
            let channel = pool.channel.rawValue
            delivered[pool.channel] = s.accepted
            failed += s.retries + s.dead
            t.gauge("chapar_delivery_in_flight", [("channel", channel)], Double(s.inFlight))
            for (lane, held) in zip(Priority.allCases, s.held) {
                t.gauge("chapar_delivery_held_jobs", [("channel", channel), ("lane", lane.rawValue)], Double(held))
            }
            t.total("chapar_delivery_dead_total", [("channel", channel)], s.dead)
            t.total("chapar_delivery_expired_total", [("channel", channel)], s.expired)
            t.total("chapar_delivery_deferred_total", [("channel", channel)], s.deferred)
            for g in pool.gatewaySnapshots() {
                t.gauge("chapar_gateway_breaker_state", [("gateway", g.name)], g.breaker == "closed" ? 0 : g.breaker == "open" ? 2 : 1)
                t.gauge("chapar_gateway_in_flight", [("gateway", g.name)], Double(g.inFlight))
            }
        }
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        t.history.withLock { h in
            let current = History.Counts(events: events, jobs: n.totalJobs, delivered: delivered, failed: failed)
            if let p = h.previous {
                var perChannel: [String: Int] = [:]
                for (c, v) in delivered { perChannel[c.rawValue] = max(0, v - (p.delivered[c] ?? 0)) }
                h.add(Sample(at: now, eventsIn: Int(max(0, events - p.events)), jobs: max(0, n.totalJobs - p.jobs), delivered: perChannel,
                             failed: max(0, failed - p.failed)))
            }
            h.previous = current
        }
    }
}
