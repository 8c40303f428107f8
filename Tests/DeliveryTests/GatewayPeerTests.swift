import ChannelIM
import ChannelSMS
import ChaparModels
import ChaparServer
import Delivery
import EventLog
import Foundation
import Synchronization
import Testing

/// Delivery through real gateways on loopback: Kannel with its fake SMSC and delivery reports,
/// Matrix Synapse, and the fault-injecting gateway for every control path over real HTTP.
@Suite(.serialized, .timeLimit(.minutes(3))) struct GatewayPeerTests {
    func imJob(_ n: Int, address: String, text: String = "Balance alert") -> DeliveryJob {
        let event = try! EventID("IM-\(n)")  // literal test ids
        let customer = try! CustomerID("C\(String(format: "%07d", n))")
        return DeliveryJob(id: JobID(event: event, customer: customer, channel: .im), event: event, customer: customer, channel: .im,
                           priority: .normal, kind: .debit, address: address, language: .fa, content: .im(text: text, format: "plain"),
                           createdAt: Timestamp(milliseconds: 1_790_000_000_000))
    }

    func imGateway(_ name: String, _ adapter: any GatewayAdapter) -> Gateway {
        Gateway(settings: GatewaySettings(name: name, type: "test", channel: .im, retry: RetryPolicy(maxAttempts: 2, initialBackoff: .milliseconds(20))),
                adapter: adapter)
    }

    @Test func kannelDeliversPersianAndEnglishAndItsReportsMarkJobsDelivered() async throws {
        let kannel = try await offPool { try KannelPeer.start() }
        defer { kannel.stop() }
        try await PoolHarness.with { h in
            let persian = "بانک چاپار: برداشت ۱٬۲۵۰٬۰۰۰ ریال از حساب ‎****0001"
            var jobs = [
                smsJob(1, customer: "C0000001", text: "Chapar Bank: debit 12,500.00 IRR"),
                smsJob(2, customer: "C0000002", text: persian),
            ]
            jobs[1].content = .sms(text: persian, encoding: "ucs2", segments: 1)
            try await h.append(jobs)
            let secret = "callback-secret-0123456789"
            let engine = CurlEngine()
            defer { engine.shutdown() }
            let port = Box(0)
            let server = CallbackServer(host: "127.0.0.1", port: 0, secret: secret, ledger: h.ledger, logger: quietLogger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await server.run { p in port.set(p) } }
                while port.get() == 0 { try await Task.sleep(for: .milliseconds(10)) }
                let adapter = KannelAdapter(name: "kannel-1", configuration: .init(
                    url: kannel.sendsmsURL, username: kannel.username, password: kannel.password, from: "BANK",
                    reportURL: "http://127.0.0.1:\(port.get())/v1/callbacks/kannel/kannel-1", reportSecret: secret))
                let pool = DeliveryPool(channel: .sms, log: h.log, ledger: h.ledger, transport: engine,
                                        gateways: [Gateway(settings: GatewaySettings(name: "kannel-1", type: "kannel", channel: .sms), adapter: adapter)],
                                        configuration: fastPool, logger: quietLogger)
                try await run(pool) { (try h.ledger.list(.init(status: .delivered))).count == 2 }

                // A report with a wrong secret changes nothing and is refused.
                let forgedURL = "http://127.0.0.1:\(port.get())/v1/callbacks/kannel/kannel-1?job=\(jobs[0].id)&secret=wrong&type=2"
                let forged = try await offPool { try TestCurl.request(forgedURL, maxTime: .seconds(60)) }
                #expect(forged.status == 403)
                group.cancelAll()
                try await group.waitForAll()
            }
            let messages = try await offPool { try kannel.waitForMessages(count: 2) }
            #expect(messages.contains { $0.text == "Chapar Bank: debit 12,500.00 IRR" && $0.from == "BANK" })
            #expect(messages.contains { $0.text == persian && $0.coding == "ucs-2" }, "fakesmsc saw: \(messages.map(\.text))")
            for job in jobs {
                let trace = try #require(try h.ledger.trace(job.id))
                #expect(trace.job.status == .delivered)
                #expect(trace.reports.contains { $0.status == .delivered && $0.detail.contains("type 1") })
                #expect(trace.attempts.first?.status == 202)
            }
        }
    }

    @Test func matrixMessagesArriveInTheRoomAndARetriedTxnIdIsOneEvent() async throws {
        let synapse = try await offPool { try SynapsePeer.start() }
        defer { synapse.stop() }
        // The bot's m.direct names the peer's room for the recipient, as a Matrix client records it.
        let direct = try await offPool { try TestCurl.request("\(synapse.url)/_matrix/client/v3/user/\(TestCurl.percentEncoded(synapse.botUser))/account_data/m.direct",
                                          method: "PUT", headers: ["Authorization": "Bearer \(synapse.botToken)", "Content-Type": "application/json"],
                                          body: "{\"\(synapse.recipient)\":[\"\(synapse.roomID)\"]}") }
        #expect(direct.status == 200)
        let engine = CurlEngine()
        defer { engine.shutdown() }
        let adapter = MatrixAdapter(name: "matrix-1", homeserver: synapse.url, token: synapse.botToken)
        let job = imJob(1, address: "matrix:\(synapse.recipient)", text: "هشدار موجودی: ۱۲۳ ریال")
        let first = await adapter.deliver(job, attempt: 1, via: engine)
        let again = await adapter.deliver(job, attempt: 2, via: engine)
        guard case .accepted(let ref1, _) = first.outcome, case .accepted(let ref2, _) = again.outcome else {
            Issue.record("matrix did not accept: \(first) / \(again)")
            return
        }
        #expect(ref1 != nil && ref1 == ref2, "a retried txnId must answer the same event")
        let messages = try await offPool { try synapse.messages(token: synapse.recipientToken) }.filter { $0.body == "هشدار موجودی: ۱۲۳ ریال" }
        #expect(messages.count == 1)
        #expect(messages.first?.eventID == ref1)

        // A user with no direct room yet: the bot creates one, invites the user and records it.
        let created = await adapter.deliver(imJob(2, address: "matrix:@nobody-yet:localhost"), attempt: 1, via: engine)
        if case .accepted = created.outcome {} else { Issue.record("creating a direct room failed: \(created)") }
    }

    @Test func telegramAndSignedWebhooksGoThroughThePoolOverRealHTTP() async throws {
        let gateway = try FaultGateway.start()
        defer { gateway.stop() }
        try await PoolHarness.with { h in
            let jobs = [imJob(1, address: "telegram:123456789"), imJob(2, address: "webhook:branch-12", text: "سلام")]
            try await h.append(jobs)
            let secret = "webhook-secret-0123456789"
            let engine = CurlEngine()
            defer { engine.shutdown() }
            let pool = DeliveryPool(channel: .im, log: h.log, ledger: h.ledger, transport: engine, routes: [
                ("telegram", [imGateway("tg", TelegramAdapter(name: "tg", baseURL: gateway.url("/telegram"), token: "T0K3N"))]),
                ("webhook", [imGateway("hook", WebhookAdapter(name: "hook", url: gateway.url("/webhook/in"), secret: secret))]),
            ], configuration: fastPool, logger: quietLogger)
            try await run(pool) { (try h.ledger.list(.init(status: .sent))).count == 2 }
            let tg = try #require(try h.ledger.trace(jobs[0].id))
            #expect(tg.job.gateway == "tg" && tg.job.gatewayReference != nil)
            let requests = try gateway.requests()
            let hook = try #require(requests.first { $0.path.hasPrefix("/webhook") })
            let timestamp = try #require(hook.header("x-chapar-timestamp").flatMap { Int64($0) })
            let expected = WebhookAdapter.signature(secret: Array(secret.utf8), timestamp: timestamp, body: Array(hook.body.utf8))
            #expect(hook.header("x-chapar-signature") == expected)
            #expect(hook.header("idempotency-key") == jobs[1].id.rawValue)
            #expect(hook.body.contains("\"to\":\"branch-12\"") && hook.body.contains("سلام"))
            let telegram = try #require(requests.first { $0.path.hasPrefix("/telegram") })
            #expect(telegram.path == "/telegram/botT0K3N/sendMessage")
            #expect(telegram.body.contains("\"chat_id\":123456789"))
        }
    }

    @Test func everyControlPathAgainstTheFaultGateway() async throws {
        let gateway = try FaultGateway.start()
        defer { gateway.stop() }
        try await PoolHarness.with { h in
            // One customer per job so ordering does not serialise them; the path picks the fault.
            let faults = ["/ok", "/status/500", "/retry-after/1", "/reset", "/hang", "/flaky/2/x", "/status/404"]
            var jobs: [DeliveryJob] = []
            for (i, _) in faults.enumerated() { jobs.append(smsJob(i + 1, customer: "C\(String(format: "%07d", i + 1))")) }
            try await h.append(jobs)
            let byJob = Dictionary(uniqueKeysWithValues: zip(jobs.map(\.id.rawValue), faults))
            let engine = CurlEngine()
            defer { engine.shutdown() }
            let adapter = PathAdapter(name: "faulty", base: "http://127.0.0.1:\(gateway.port)", paths: byJob)
            var settings = GatewaySettings(name: "faulty", type: "test", channel: .sms, maxInFlight: 16,
                                           timeouts: Timeouts(connect: .seconds(1), total: .milliseconds(700)),
                                           retry: RetryPolicy(maxAttempts: 3, initialBackoff: .milliseconds(50), jitter: 0),
                                           breaker: .init(failureThreshold: 1000))
            settings.rateLimit = nil
            let pool = DeliveryPool(channel: .sms, log: h.log, ledger: h.ledger, transport: engine,
                                    gateways: [Gateway(settings: settings, adapter: adapter)], configuration: fastPool, logger: quietLogger)
            try await run(pool) {
                let lag = try await h.lag(.sms)
                let final = try h.ledger.list(.init(limit: 100)).filter { $0.status.isFinal }.count
                return lag == 0 && final == faults.count
            }
            func status(_ path: String) throws -> LedgerJob? {
                let id = byJob.first { $0.value == path }!.key
                return try h.ledger.trace(try JobID(id))?.job
            }
            #expect(try status("/ok")?.status == .sent)
            #expect(try status("/status/500")?.status == .dead)
            #expect(try status("/status/500")?.attempts == 3)
            #expect(try status("/status/404")?.attempts == 1, "a 404 is a refusal: no retry")
            #expect(try status("/retry-after/1")?.status == .dead)
            #expect(try status("/reset")?.status == .dead)
            #expect(try status("/hang")?.reason?.contains("timeout") == true)
            #expect(try status("/flaky/2/x")?.status == .sent, "two 500s, then accepted on the third attempt")
            let dead = try await h.deadLetters()
            #expect(dead.count == 5)
            // Nothing lost: every job is final, and the gateway saw only these jobs' ids.
            let keys = Set(try gateway.requests().compactMap { $0.header("idempotency-key") })
            #expect(keys == Set(jobs.map(\.id.rawValue)))
            // Retry-After 1 s was waited between the 429s.
            let retried = try gateway.requests().filter { $0.path == "/retry-after/1" }.map(\.t)
            #expect(retried.count == 3 && zip(retried, retried.dropFirst()).allSatisfy { $1 - $0 >= 950 })
        }
    }

    @Test func aDeadPortOpensTheBreakerAndTheFailoverDelivers() async throws {
        let gateway = try FaultGateway.start()
        defer { gateway.stop() }
        try await PoolHarness.with { h in
            let jobs = (1...30).map { smsJob($0, customer: "C\(String(format: "%07d", $0))") }
            try await h.append(jobs)
            let engine = CurlEngine()
            defer { engine.shutdown() }
            let deadPort = try closedLoopbackPort()
            let primary = Gateway(settings: GatewaySettings(name: "primary", type: "test", channel: .sms, maxInFlight: 2,
                                                            retry: RetryPolicy(maxAttempts: 5, initialBackoff: .milliseconds(20)),
                                                            breaker: .init(failureThreshold: 3, openDuration: .seconds(30)), failover: "backup"),
                                  adapter: PathAdapter(name: "primary", base: "http://127.0.0.1:\(deadPort)", paths: [:]))
            let backup = Gateway(settings: GatewaySettings(name: "backup", type: "test", channel: .sms),
                                 adapter: PathAdapter(name: "backup", base: "http://127.0.0.1:\(gateway.port)", paths: [:]))
            let pool = DeliveryPool(channel: .sms, log: h.log, ledger: h.ledger, transport: engine, gateways: [primary, backup],
                                    configuration: fastPool, logger: quietLogger)
            try await run(pool) { (try h.ledger.list(.init(status: .sent))).count == 30 }
            #expect(try h.ledger.list(.init(status: .sent)).allSatisfy { $0.gateway == "backup" })
            let snapshot = pool.routes[0].router.snapshot(now: .zero)
            #expect(snapshot.first { $0.name == "primary" }?.breaker == "open")
            #expect(snapshot.first { $0.name == "primary" }?.statistics.lastError?.contains("connect") == true)
        }
    }
}

/// Sends each job to `base` + the path chosen for it (default `/ok`).
struct PathAdapter: RequestResponseAdapter {
    var name: String
    var base: String
    var paths: [String: String]

    func request(for job: DeliveryJob, attempt: Int) throws(PermanentFailure) -> TransferRequest {
        TransferRequest(url: base + (paths[job.id.rawValue] ?? "/ok"), headers: ["Idempotency-Key: \(job.id.rawValue)", "Content-Type: application/json"],
                        body: Array("{}".utf8), timeouts: Timeouts(connect: .seconds(1), total: .milliseconds(700)))
    }

    func outcome(of result: TransferResult, for job: DeliveryJob) -> AttemptOutcome {
        HTTPOutcome.classify(result, gateway: name)
    }
}

/// A value shared with a concurrently running closure.
final class Box<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    func get() -> Value { value.withLock { $0 } }
    func set(_ new: Value) { value.withLock { $0 = new } }
}
