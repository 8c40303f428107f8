import ChaparModels
import Delivery
import EventLog
import Foundation
import Logging
import Synchronization
import Testing

let quietLogger: Logger = {
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    return logger
}()

/// A temporary data directory with an open log and ledger, removed afterwards.
struct PoolHarness {
    let directory: String
    let log: EventLog
    let ledger: DeliveryLedger

    static func with<T>(_ body: (PoolHarness) async throws -> T) async throws -> T {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("chapar-delivery-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = try EventLog.open(EventLog.Configuration(directory: dir, logger: quietLogger))
        let ledger = try DeliveryLedger.open(path: dir + "/deliveries.sqlite", logger: quietLogger)
        let harness = PoolHarness(directory: dir, log: log, ledger: ledger)
        do {
            let result = try await body(harness)
            ledger.close()
            await log.close()
            return result
        } catch {
            ledger.close()
            await log.close()
            throw error
        }
    }

    /// Appends jobs to their lane topics (creating the topics first).
    func append(_ jobs: [DeliveryJob]) async throws {
        for channel in Set(jobs.map(\.channel)) {
            for topic in Priority.allCases.map({ Topics.jobs(channel, $0) }) + [Topics.dead] {
                _ = try? await log.createTopic(topic, configuration: TopicConfiguration(partitions: topic == Topics.dead ? 1 : 4))
            }
        }
        for priority in Priority.allCases {
            let lane = jobs.filter { $0.priority == priority }
            guard let first = lane.first else { continue }
            _ = try await log.append(lane.map(JobCodec.record), to: first.topic)
        }
    }

    /// Appends `jobs` and runs a pool of the gateway's channel over them, with `fastPool`, until
    /// every one of them is final in the ledger.
    func deliver(_ jobs: [DeliveryJob], through gateway: Gateway, transport: any Transport) async throws {
        try await append(jobs)
        let pool = DeliveryPool(channel: gateway.settings.channel, log: log, ledger: ledger, transport: transport, gateways: [gateway],
                                configuration: fastPool, logger: quietLogger)
        try await run(pool) { try jobs.allSatisfy { try ledger.trace($0.id)?.job.status.isFinal == true } }
    }

    /// Dead letters on `notify.dead`.
    func deadLetters() async throws -> [DeadLetter.Entry] {
        guard let d = try? await log.describeTopic(Topics.dead), d.records > 0 else { return [] }
        let r = try await log.fetch(Topics.dead, partition: PartitionID(0), from: Offset(0), limits: FetchLimits(maxRecords: 100_000))
        return r.records.map(DeadLetter.entry)
    }

    /// Committed lag of the delivery groups on a channel's lanes (0 once everything is committed).
    func lag(_ channel: Channel) async throws -> Int64 {
        let groups = try await log.listGroups()
        var lag: Int64 = 0
        for topic in Priority.allCases.map({ Topics.jobs(channel, $0) }) {
            let end = try await log.describeTopic(topic).records
            let group = groups.first { $0.group.rawValue == "delivery.\(topic.rawValue)" }
            let committed = group?.partitions.reduce(Int64(0)) { $0 + ($1.committed?.rawValue ?? 0) } ?? 0
            lag += end - committed
        }
        return lag
    }
}

/// Runs `pool` until `done()` holds (checked every 20 ms, at most `timeout`), then stops it.
func run(_ pool: DeliveryPool, timeout: Duration = .seconds(90), until done: @escaping @Sendable () async throws -> Bool) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await pool.run() }
        let deadline = ContinuousClock.now + timeout
        while try await !done() {
            if ContinuousClock.now > deadline {
                Issue.record("the pool did not get there within \(timeout): \(pool.statistics)")
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        group.cancelAll()
        try await group.waitForAll()
    }
}

func smsJob(_ n: Int, customer: String = "C0000001", priority: Priority = .normal, text: String = "Hello",
            notBefore: Timestamp? = nil, deadline: Timestamp? = nil) -> DeliveryJob {
    let event = try! EventID("EV-\(n)")  // a literal id that is always valid
    let customer = try! CustomerID(customer)  // literal ids in tests
    return DeliveryJob(id: JobID(event: event, customer: customer, channel: .sms), event: event, customer: customer, channel: .sms,
                       priority: priority, kind: priority == .urgent ? .security : .debit, address: "+98912000\(String(format: "%04d", n % 10000))",
                       language: .en, content: .sms(text: text, encoding: "gsm7", segments: 1),
                       createdAt: Timestamp(milliseconds: 1_790_000_000_000), notBefore: notBefore, deadline: deadline)
}

/// A transport answered by a closure, recording every request in order.
final class ScriptedTransport: Transport {
    struct Sent: Sendable {
        var url: String
        var headers: [String]
        var at: ContinuousClock.Instant
        var idempotencyKey: String? { headers.first { $0.hasPrefix("Idempotency-Key: ") }.map { String($0.dropFirst(17)) } }
    }

    private let answer: @Sendable (TransferRequest, Int) async -> TransferResult
    let sent = Mutex<[Sent]>([])

    /// `answer` gets the request and how many requests this job id had before (0 for the first).
    init(_ answer: @escaping @Sendable (TransferRequest, Int) async -> TransferResult = { _, _ in .response(TransferResponse(status: 202)) }) {
        self.answer = answer
    }

    func perform(_ request: TransferRequest) async -> TransferResult {
        let previous = sent.withLock { s -> Int in
            let key = request.headers.first { $0.hasPrefix("Idempotency-Key: ") }
            let n = s.filter { $0.headers.contains(key ?? "") }.count
            s.append(Sent(url: request.url, headers: request.headers, at: .now))
            return n
        }
        return await answer(request, previous)
    }

    var requests: [Sent] { sent.withLock { $0 } }
}

/// A gateway adapter that sends each job to `scripted://<gateway>/<job id>` with its id as the
/// idempotency key, and reads answers as an HTTP gateway would.
struct ScriptedAdapter: RequestResponseAdapter {
    var name: String

    func request(for job: DeliveryJob, attempt: Int) throws(PermanentFailure) -> TransferRequest {
        if job.address.hasSuffix("0000") { throw PermanentFailure("\(name) cannot send to \(job.address)") }
        return TransferRequest(url: "scripted://\(name)/\(job.id.rawValue)?customer=\(job.customer.rawValue)&event=\(job.event.rawValue)",
                               headers: ["Idempotency-Key: \(job.id.rawValue)"])
    }

    func outcome(of result: TransferResult, for job: DeliveryJob) -> AttemptOutcome {
        HTTPOutcome.classify(result, gateway: name)
    }
}

func gateway(_ name: String, rate: Double? = nil, maxInFlight: Int = 64, retry: RetryPolicy = RetryPolicy(maxAttempts: 3, initialBackoff: .milliseconds(10), jitter: 0),
             breaker: CircuitBreaker.Policy = .init(), failover: String? = nil) -> Gateway {
    Gateway(settings: GatewaySettings(name: name, type: "scripted", channel: .sms, rateLimit: rate.map { .init(perSecond: $0, burst: 1) },
                                      maxInFlight: maxInFlight, retry: retry, breaker: breaker, failover: failover),
            adapter: ScriptedAdapter(name: name))
}

let fastPool = PoolConfiguration(laneCapacity: 64, fetchBatch: 32, commitInterval: .milliseconds(20), deferThreshold: .seconds(1),
                                 scheduleInterval: .milliseconds(100))

/// Wall time that moves only when told (monotonic time stays real, for rate limits and backoff).
final class ManualWallClock: ChaparClock {
    private let wall: Mutex<Int64>
    private let system = SystemClock()

    init(_ start: Timestamp) { wall = Mutex(start.milliseconds) }

    func now() -> Timestamp { Timestamp(milliseconds: wall.withLock { $0 }) }
    func uptime() -> Duration { system.uptime() }
    func advance(by duration: Duration) { wall.withLock { $0 += duration.milliseconds } }
}
