import ArgumentParser
import ChaparConfig
import ChaparDemo
import ChaparModels
import ChaparServer
import Delivery
import Foundation
import Logging
import Synchronization

/// `chapar bench pipeline`: the whole of `chapar serve` in this process (ingest endpoint, notifier,
/// delivery pools, HTTP server), fed through its own HTTP API and delivering SMS and IM through
/// libcurl to the demo gateways it serves on loopback, without rate limits.
///
/// Each event's id carries the wall-clock millisecond at which its request was sent
/// (`PB-<ms>-<n>`); the SMS demo gateway sees the event id in every request, so the latency
/// printed is from the moment the event was handed to the API to the gateway's acceptance of
/// its SMS (IM requests do not carry the event id and are only counted).
struct PipelineBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "Benchmark: events in through the HTTP API → notifier → delivery → loopback gateways (release build).",
        discussion: """
            --rate 0 (default) sends every event at once in --batch-sized uploads (a burst); --rate R paces them at R
            events/s (e.g. --rate 1000 for the end-to-end latency target). Demo customers (no quiet hours) are seeded
            first; each event debits a random customer's account. Prints events/s and notifications/s sustained,
            SMS latency percentiles (append → gateway accepted), and the process's peak RSS.
            --flood is the 7 a.m. scenario instead: --events bulk birthday messages (every customer takes marketing on SMS)
            in one burst, a trickle of urgent OTPs (--urgent-rate per second) while the bulk drains, and an SMS rate limit
            (--sms-rate): prints the urgent OTPs' latency, what was delivered against what was written, and RSS while draining.
            """)

    @Option(help: "Events to send.") var events: Int = 100_000
    @Option(help: "Demo customers to seed.") var customers: Int = 10_000
    @Option(help: "Events per second (0: one burst).") var rate: Double = 0
    @Option(help: "Events per upload in burst mode.") var batch: Int = 20_000
    @Option(help: "Template directory.") var templates: String = ProcessInfo.processInfo.environment["CHAPAR_TEMPLATES"] ?? "./config/templates"
    @Flag(help: "The 7 a.m. flood: bulk birthday messages plus urgent OTPs under an SMS rate limit.") var flood = false
    @Option(help: "With --flood: urgent OTPs per second while the bulk drains.") var urgentRate: Double = 5
    @Option(help: "With --flood: the demo gateways' rate limit, messages per second.") var smsRate: Double = 2000
    @Option(help: "The topics' fsync policy: always (default, durable), interval[:250ms] or never.") var fsync: String = "always"
    @Option(help: "Work directory (default: a new temporary directory, removed afterwards).") var dir: String?
    @Flag(help: "Print the figures as JSON.") var json = false

    func validate() throws {
        guard events >= 1, customers >= 1, customers <= 9_999_999, batch >= 1, rate >= 0 else {
            throw ValidationError("--events, --customers and --batch must be at least 1 (customers at most 9999999), --rate not negative")
        }
    }

    struct Figures: Codable {
        var events: Int
        var customers: Int
        var rate: Double
        var sendSeconds: Double
        var totalSeconds: Double
        var eventsPerSecond: Double
        var notifications: Int
        var notificationsPerSecond: Double
        var smsLatencyMs: LatencyFigures?
        /// With --flood: the urgent OTPs' SMS latency.
        var urgentLatencyMs: LatencyFigures?
        /// With --flood: VmRSS while the bulk drained (MiB).
        var drainRSSMiB: [Double]?
        /// The delivery part of it: job written by the notifier → gateway accepted (the pool's own
        /// measure, over the last 4,096 SMS).
        var smsDeliveryPartMs: [String: Int]?
        var peakRSSMiB: Double
        var notifierJobs: [String: Int]
    }

    struct LatencyFigures: Codable {
        var samples: Int
        var p50: Double
        var p99: Double
        var p999: Double
        var max: Double
    }

    func run() async throws {
        try await CLIError.run {
            let root = dir ?? NSTemporaryDirectory() + "chapar-bench-pipeline-\(UUID().uuidString.prefix(8))"
            defer { if dir == nil { try? FileManager.default.removeItem(atPath: root) } }
            let token = (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
            var configuration = ChaparConfiguration()
            configuration.server.port = 0
            configuration.server.tokens = [token]
            configuration.server.maxBodyBytes = 1 << 30
            do { configuration.topics.durability = try DurabilityPolicy(parsing: fsync) } catch {
                throw CLIUsageFailure(code: 64, message: "--fsync \(fsync) is not always, interval[:250ms] or never")
            }
            let recorder = DeliveryRecorder()
            var logger = Logger(label: "chapar.bench")
            logger.logLevel = .error
            let options = ServeOptions(
                dataDirectory: root + "/data", configuration: configuration, kinds: adapterKinds, templates: templates,
                demo: {
                    var demo = DemoSettings(customers: customers, eventsPerSecond: 0, quietHours: false, gatewayRate: flood ? smsRate : nil,
                                            onDelivery: recorder.record)
                    demo.smsMarketing = flood
                    return demo
                }(),
                drainTimeout: .seconds(60), logger: logger)
            let handle = ServeHandle()
            let (ready, continuation) = AsyncStream.makeStream(of: ServeStatus.self)
            progress("seeding \(customers) demo customers and starting the pipeline")
            let server = Task {
                defer { continuation.finish() }
                try await ChaparServe.run(options, handle: handle) { continuation.yield($0) }
            }
            guard let status = await ready.first(where: { _ in true }) else {
                try await server.value
                throw CLIUsageFailure(code: 1, message: "the pipeline did not start")
            }
            let client = APIClient(base: status.baseURL, token: token)
            defer { client.engine.shutdown() }

            let clock = ContinuousClock()
            let started = clock.now
            let rss = RSSSampler()
            let urgent = flood ? Task { try await trickle(client) } : nil
            try await send(client, clock: clock)
            let sent = clock.now
            progress("all \(events) events accepted by the API after \(String(format: "%.1f", (sent - started).seconds)) s; waiting for deliveries")
            let sampling = flood ? Task { await rss.run() } : nil
            if let urgent {
                try await waitUntilBulkDrained(client)
                urgent.cancel()
                _ = try? await urgent.value
            }
            let overview = try await waitUntilDrained(client)
            sampling?.cancel()
            let finished = clock.now
            await handle.shutdown()
            try await server.value

            let total = (finished - started).seconds
            let delivered = recorder.count
            let figures = Figures(
                events: events, customers: customers, rate: rate, sendSeconds: (sent - started).seconds, totalSeconds: total,
                eventsPerSecond: Double(events) / total, notifications: delivered, notificationsPerSecond: Double(delivered) / total,
                smsLatencyMs: recorder.latency(), urgentLatencyMs: flood ? recorder.latency(prefix: "PU-") : nil,
                drainRSSMiB: flood ? rss.samples : nil, smsDeliveryPartMs: overview.smsDeliveryLatency, peakRSSMiB: peakResidentMiB(), notifierJobs: overview.jobs)
            try report(figures)
        }
    }

    /// Sends the events through `POST /v1/ingest` (CSV), in one burst or paced at --rate.
    private func send(_ client: APIClient, clock: ContinuousClock) async throws {
        var next = 0
        if rate == 0 {
            while next < events {
                let count = min(batch, events - next)
                try await client.ingest(csv(from: next, count: count))
                next += count
                progress("sent \(next)/\(events)")
            }
            return
        }
        // Paced: every 10 ms, the events due by then.
        let start = clock.now
        while next < events {
            let due = min(events, Int((clock.now - start).seconds * rate) + 1)
            if due > next {
                try await client.ingest(csv(from: next, count: due - next))
                next = due
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// CSV with the ingest header; event n debits customer (n mod customers)+1's first account
    /// (with --flood: a birthday greeting to that customer).
    private func csv(from first: Int, count: Int) -> [UInt8] {
        let sentAt = Int64(Date().timeIntervalSince1970 * 1000)
        var out = Array(TransactionGenerator.csvHeader.utf8)
        out.reserveCapacity(out.count + count * 160)
        if flood {
            let created = Self.iso(sentAt)
            for n in first..<(first + count) {
                let customer = DemoCustomerGenerator.id(n % customers + 1)
                out += Array("message,PB-\(sentAt)-\(n),,,,,,\(created),,,,,marketing,\(customer),birthday,campaign=birthday-1405,\n".utf8)
            }
            return out
        }
        for n in first..<(first + count) {
            let customer = n % customers + 1
            let account = DemoCustomerGenerator.account(2 * customer)
            out += Array("transaction,PB-\(sentAt)-\(n),\(account),debit,\(125_000 + n % 1000 * 1000),IRR,,2026-12-03T10:00:00Z,,خرید کارتی,,pos,,,,,\n".utf8)
        }
        return out
    }

    /// Urgent OTPs (`PU-<ms>-<n>`, kind security) at --urgent-rate until cancelled.
    private func trickle(_ client: APIClient) async throws {
        var n = 0
        let interval = 1.0 / max(urgentRate, 0.1)
        while !Task.isCancelled {
            let sentAt = Int64(Date().timeIntervalSince1970 * 1000)
            let customer = DemoCustomerGenerator.id((n * 7919) % customers + 1)
            let line = "message,PU-\(sentAt)-\(n),,,,,,\(Self.iso(sentAt)),,,,,security,\(customer),otp,code=\(100_000 + n % 900_000),\(Self.iso(sentAt + 600_000))\n"
            try await client.ingest(Array((TransactionGenerator.csvHeader + line).utf8))
            n += 1
            try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
        }
    }

    /// Waits until the SMS bulk lane has no backlog and holds nothing.
    private func waitUntilBulkDrained(_ client: APIClient) async throws {
        var lastReport = ContinuousClock.now
        while true {
            try await Task.sleep(for: .milliseconds(500))
            let o = try await client.overview()
            let sms = (o["channels"] as? [[String: Any]] ?? []).first { $0["channel"] as? String == "sms" }
            let stats = sms?["statistics"] as? [String: Any] ?? [:]
            let held = stats["held"] as? [Int] ?? [1, 1, 1]
            let backlog = sms?["backlog"] as? Int ?? 1
            let lag = (o["notifier"] as? [String: Any])?["lag"] as? Int ?? 1
            if ContinuousClock.now - lastReport > .seconds(5) {
                lastReport = .now
                progress("flood: SMS delivered \(stats["accepted"] as? Int ?? 0), backlog \(backlog), held \(held), notifier lag \(lag)")
            }
            if lag == 0 && backlog == 0 && held[2] == 0 { return }
        }
    }

    static func iso(_ milliseconds: Int64) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }

    struct Drained {
        var jobs: [String: Int]
        var smsDeliveryLatency: [String: Int]?
    }

    /// Polls /v1/overview until the notifier has no lag and the SMS and IM pools hold nothing and
    /// have no backlog, for one second.
    private func waitUntilDrained(_ client: APIClient) async throws -> Drained {
        var quietSince: ContinuousClock.Instant?
        var lastReport = ContinuousClock.now
        while true {
            try await Task.sleep(for: .milliseconds(200))
            let o = try await client.overview()
            let notifier = o["notifier"] as? [String: Any] ?? [:]
            let lag = notifier["lag"] as? Int ?? 1
            let channels = (o["channels"] as? [[String: Any]] ?? []).filter { $0["delivering"] as? Bool == true }
            let busy = channels.contains { c in
                let s = c["statistics"] as? [String: Any] ?? [:]
                let held = (s["held"] as? [Int] ?? [1]).reduce(0, +)
                return (c["backlog"] as? Int ?? 1) > 0 || held > 0 || (s["inFlight"] as? Int ?? 1) > 0
            }
            if ContinuousClock.now - lastReport > .seconds(5) {
                lastReport = .now
                progress("notifier lag \(lag); " + channels.map { c in
                    let s = c["statistics"] as? [String: Any] ?? [:]
                    return "\(c["channel"] ?? "?"): delivered \(s["accepted"] as? Int ?? 0), in flight \(s["inFlight"] as? Int ?? 0), held \(s["held"] as? [Int] ?? []), backlog \(c["backlog"] as? Int ?? 0)"
                }.joined(separator: "; "))
            }
            if lag == 0 && !busy {
                if let since = quietSince, ContinuousClock.now - since >= .seconds(1) {
                    let sms = channels.first { $0["channel"] as? String == "sms" }
                    return Drained(jobs: notifier["jobs"] as? [String: Int] ?? [:], smsDeliveryLatency: sms?["latencyMilliseconds"] as? [String: Int])
                }
                if quietSince == nil { quietSince = .now }
            } else {
                quietSince = nil
            }
        }
    }

    private func report(_ f: Figures) throws {
        if json { return try printJSON(f) }
        print("pipeline: \(f.events) \(flood ? "bulk birthday messages (the 7 a.m. flood, SMS limited to \(Int(smsRate))/s, \(urgentRate) urgent OTPs/s)" : "events") on \(f.customers) customers, " + (f.rate == 0 ? "one burst" : "paced at \(Int(f.rate))/s") + ", fsync \(fsync)")
        print(String(format: "  sent in %.1f s; everything delivered after %.1f s", f.sendSeconds, f.totalSeconds))
        print(String(format: "  events: %.0f/s sustained; notifications delivered: %d (%.0f/s)", f.eventsPerSecond, f.notifications, f.notificationsPerSecond))
        if let l = f.smsLatencyMs {
            print(String(format: "  SMS latency, API → gateway accepted (%d samples): p50 %.1f ms, p99 %.1f ms, p999 %.1f ms, max %.1f ms", l.samples, l.p50, l.p99, l.p999, l.max))
        }
        if let u = f.urgentLatencyMs {
            print(String(format: "  urgent OTP SMS latency, API → gateway accepted (%d samples): p50 %.1f ms, p99 %.1f ms, max %.1f ms", u.samples, u.p50, u.p99, u.max))
        }
        if let r = f.drainRSSMiB, let lo = r.min(), let hi = r.max() {
            print(String(format: "  RSS while draining: %.0f → %.0f MiB (max/min %.2f, %d samples)", lo, hi, hi / max(lo, 1), r.count))
        }
        if let d = f.smsDeliveryPartMs, let p50 = d["p50"], let p99 = d["p99"] {
            print("    of which job written → gateway accepted (last \(d["samples"] ?? 0) SMS): p50 \(p50) ms, p99 \(p99) ms")
        }
        print(String(format: "  peak RSS %.0f MiB", f.peakRSSMiB))
        print("  notifier jobs: \(f.notifierJobs.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")) (email and fax wait for their adapters)")
    }

    private func progress(_ text: String) {
        guard !json else { return }
        FileHandle.standardError.write(Data("bench pipeline: \(text)\n".utf8))
    }
}

/// What the demo gateways received: a count, and each SMS's latency from its event id's timestamp.
private final class DeliveryRecorder: Sendable {
    private struct State {
        var count = 0
        var latencies: [Int32] = []
        var urgent: [Int32] = []
    }
    private let state = Mutex(State())

    var count: Int { state.withLock { $0.count } }

    @Sendable func record(_ d: DemoDelivery) {
        var latency: Int32?
        let event = d.event ?? ""
        if event.hasPrefix("PB-") || event.hasPrefix("PU-"), let sent = Int64(event.dropFirst(3).prefix { $0 != "-" }) {
            latency = Int32(clamping: d.at - sent)
        }
        state.withLock { s in
            s.count += 1
            guard let latency else { return }
            if event.hasPrefix("PU-") { s.urgent.append(latency) } else { s.latencies.append(latency) }
        }
    }

    func latency(prefix: String = "PB-") -> PipelineBench.LatencyFigures? {
        let sorted = state.withLock { prefix == "PU-" ? $0.urgent : $0.latencies }.sorted()
        guard !sorted.isEmpty else { return nil }
        func at(_ q: Double) -> Double { Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))]) }
        return PipelineBench.LatencyFigures(samples: sorted.count, p50: at(0.5), p99: at(0.99), p999: at(0.999), max: Double(sorted.last!))
    }
}

/// The bench's HTTP client (libcurl through the delivery engine).
private struct APIClient: Sendable {
    let base: String
    let token: String
    /// API answers (the overview, record pages) outgrow the engine's 64 KiB default for gateway answers.
    let engine = CurlEngine(configuration: .init(maxResponseBodyBytes: 16 << 20))

    func ingest(_ csv: [UInt8]) async throws {
        let r = try await call(.post, "/v1/ingest?format=csv&name=bench.csv", csv)
        guard r.status == 202 else { throw CLIUsageFailure(code: 1, message: "POST /v1/ingest answered \(r.status): \(String(decoding: r.body, as: UTF8.self))") }
    }

    func overview() async throws -> [String: Any] {
        let r = try await call(.get, "/v1/overview", [])
        return (try JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any] ?? [:]
    }

    private func call(_ method: TransferRequest.Method, _ path: String, _ body: [UInt8]) async throws -> TransferResponse {
        let request = TransferRequest(kind: .http(method), url: base + path, headers: ["Authorization: Bearer \(token)", "Content-Type: text/csv"],
                                      body: body, timeouts: Timeouts(connect: .seconds(5), total: .seconds(600)))
        switch await engine.perform(request) {
        case .response(let r): return r
        case .failure(let e): throw CLIUsageFailure(code: 1, message: "\(method.rawValue) \(path): \(e.message)")
        }
    }
}

/// VmRSS once a second until cancelled.
private final class RSSSampler: Sendable {
    private let values = Mutex<[Double]>([])
    var samples: [Double] { values.withLock { $0 } }

    func run() async {
        while !Task.isCancelled {
            let rss = residentMiB()
            values.withLock { $0.append(rss) }
            try? await Task.sleep(for: .seconds(1))
        }
    }
}
