import ChaparConfig
import ChaparModels
import Delivery
import EventLog
import Foundation
import Hummingbird
import Notifier
import Synchronization

/// What the console's pages show: the overview (rates, latency, history), topics with their
/// partitions and a record browser, consumer groups with lag, channels and gateways.
struct SystemAPI: Sendable {
    let state: ServerState

    func add(to group: RouterGroup<BasicRequestContext>) {
        group.get("overview") { _, _ in try await self.overview() }
        group.get("topics") { _, _ in try JSON.response(try await self.state.log.listTopics()) }
        group.get("topics/:topic/records") { request, context in try await self.records(request, topic: context.parameters.get("topic") ?? "") }
        group.get("groups") { _, _ in try JSON.response(try await self.state.log.listGroups()) }
        group.get("gateways") { _, _ in try JSON.response(self.gateways()) }
    }

    struct ChannelOverview: Encodable {
        var channel: String
        /// A pool runs for it (false: no gateway configured; its jobs wait on their topics).
        var delivering: Bool
        var statistics: PoolStatistics?
        /// Job created → gateway accepted, over the last few thousand accepted jobs.
        var latencyMilliseconds: LatencyPercentiles?
        /// Jobs waiting on the channel's lane topics (the pools' group lag).
        var backlog: Int64
    }

    struct Overview: Encodable {
        var phase: String
        var uptimeSeconds: Int
        var demo: Bool
        var events: Int64
        var notifier: NotifierOverview
        var channels: [ChannelOverview]
        var ledger: [String: [String: Int]]
        /// One sample per second, the last five minutes.
        var history: [Sample]
    }

    struct NotifierOverview: Encodable {
        var events: Int
        var jobs: [String: Int]
        var skipped: [String: Int]
        var invalidRecords: Int
        var failedBatches: Int
        var lag: Int64
    }

    func overview() async throws -> Response {
        let topics = try await state.log.listTopics()
        let groups = try await state.log.listGroups()
        let events = topics.filter { Topics.events.contains($0.name) }
            .reduce(Int64(0)) { $0 + $1.partitions.reduce(0) { $0 + $1.endOffset.rawValue } }
        func lag(_ prefix: String) -> Int64 {
            groups.filter { $0.group.rawValue.hasPrefix(prefix) }.flatMap(\.partitions).reduce(0) { $0 + $1.lag }
        }
        let n = state.notifier.statistics
        let channels = Channel.allCases.map { channel -> ChannelOverview in
            let pool = state.pool(channel)
            // Without a pool no delivery group exists: the backlog is every job on the lanes.
            let backlog = pool != nil
                ? groups.filter { $0.group.rawValue.hasPrefix("delivery.notify.\(channel.rawValue)") }.flatMap(\.partitions).reduce(Int64(0)) { $0 + $1.lag }
                : topics.filter { t in Priority.allCases.contains { Topics.jobs(channel, $0) == t.name } }.reduce(Int64(0)) { $0 + $1.records }
            return ChannelOverview(channel: channel.rawValue, delivering: pool != nil, statistics: pool?.statistics,
                                   latencyMilliseconds: state.telemetry.latencyPercentiles(channel), backlog: backlog)
        }
        let byChannel = try await state.ledgerCounts()
        let overview = Overview(
            phase: state.currentPhase.rawValue,
            uptimeSeconds: Int((ContinuousClock.now - state.started).components.seconds),
            demo: state.demo != nil, events: events,
            notifier: NotifierOverview(events: n.events, jobs: Dictionary(uniqueKeysWithValues: n.jobs.map { ($0.key.rawValue, $0.value) }),
                                       skipped: Dictionary(uniqueKeysWithValues: n.skipped.map { ($0.key.rawValue, $0.value) }),
                                       invalidRecords: n.invalidRecords, failedBatches: n.failedBatches, lag: lag("notifier")),
            channels: channels, ledger: byChannel, history: state.telemetry.history.withLock { $0.samples })
        return try JSON.response(overview)
    }

    struct RecordView: Encodable {
        var partition: Int
        var offset: Int64
        var timestamp: Int64
        var key: String?
        /// The value as text (every Chapar topic holds UTF-8 JSON).
        var value: String
        var headers: [String: String]
    }

    /// `?partition=P&offset=O&limit=N`: a page of records (the console's message browser).
    func records(_ request: Request, topic name: String) async throws -> Response {
        let topic: TopicName
        do { topic = try TopicName(name) } catch { throw APIError.badRequest("'\(name)' is not a topic name") }
        let description: TopicDescription
        do { description = try await state.log.describeTopic(topic) } catch { throw APIError.notFound("no topic \(name)") }
        let partition = try request.query("partition", default: 0, range: 0...(description.partitions.count - 1))
        let info = description.partitions[partition]
        let limit = try request.query("limit", default: 20, range: 1...500)
        var offset = info.startOffset.rawValue
        if let text = request.query("offset") {
            guard let o = Int64(text), o >= 0 else { throw APIError.badRequest("offset is a whole number") }
            offset = max(o, info.startOffset.rawValue)
        } else {
            offset = max(info.startOffset.rawValue, info.endOffset.rawValue - Int64(limit))
        }
        struct Page: Encodable {
            var topic: String
            var partition: Int
            var startOffset: Int64
            var endOffset: Int64
            var records: [RecordView]
        }
        var records: [RecordView] = []
        if offset < info.endOffset.rawValue {
            let result = try await state.log.fetch(topic, partition: PartitionID(partition), from: Offset(offset), limits: FetchLimits(maxRecords: limit))
            records = result.records.prefix(limit).map { r in
                RecordView(partition: partition, offset: r.offset.rawValue, timestamp: r.timestamp.milliseconds,
                           key: r.key.map { String(decoding: $0, as: UTF8.self) }, value: String(decoding: r.value, as: UTF8.self),
                           headers: Dictionary(r.headers.map { ($0.key, String(decoding: $0.value, as: UTF8.self)) }, uniquingKeysWith: { a, _ in a }))
            }
        }
        return try JSON.response(Page(topic: name, partition: partition, startOffset: info.startOffset.rawValue, endOffset: info.endOffset.rawValue,
                                      records: records))
    }

    struct GatewayView: Encodable {
        var name: String
        var type: String
        var channel: String
        var breaker: String
        var inFlight: Int
        var maxInFlight: Int
        /// Messages per second allowed (nil: no limit).
        var rate: Double?
        var tokens: Double?
        var accepted: Int
        var retried: Int
        var rejected: Int
        var lastError: String?
        var lastErrorSecondsAgo: Int?
    }

    func gateways() -> [GatewayView] {
        state.pools.flatMap { pool -> [GatewayView] in
            let settings = Dictionary(pool.routes.flatMap(\.router.chain).map { ($0.name, $0.settings) }, uniquingKeysWith: { a, _ in a })
            return pool.gatewaySnapshots().map { g in
                let s = settings[g.name]
                return GatewayView(name: g.name, type: g.type, channel: g.channel.rawValue, breaker: g.breaker, inFlight: g.inFlight,
                                   maxInFlight: s?.maxInFlight ?? 0, rate: s?.rateLimit?.perSecond, tokens: g.tokens,
                                   accepted: g.statistics.accepted, retried: g.statistics.retried, rejected: g.statistics.rejected,
                                   lastError: g.statistics.lastError,
                                   lastErrorSecondsAgo: g.lastErrorAge.map { Int($0.components.seconds) })
            }
        }
    }
}
