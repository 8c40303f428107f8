import ChannelIM
import ChannelSMS
import ChaparConfig
import ChaparModels
import ChaparServer
import Delivery
import Foundation
import Logging
import Testing

/// `chapar serve` in-process (``ChaparServe/run(_:handle:onListening:)``, as the CLI calls it):
/// the API over real HTTP (libcurl), the pipeline end to end, and the API's refusals.
@Suite(.serialized)
struct ServeTests {
    // MARK: The pipeline through the API

    @Test func aPostedTransactionReachesEveryEnabledChannelAndIsTraced() async throws {
        let s = try await ServeHarness.start()
        defer { s.release() }
        // A customer made through the API (no quiet hours, so the test does not depend on the time of day).
        let created = try await s.call(.post, "/v1/customers", ServeHarness.customer("C0900001", account: ServeHarness.account))
        #expect(created.status == 201, "\(created.text)")
        let event = """
            {"id":"API-TX-1","account":"\(ServeHarness.account)","direction":"debit","amount":"1250000","currency":"IRR",\
            "booked_at":"2026-12-03T10:00:00+03:30","description":"خرید از فروشگاه"}
            """
        let posted = try await s.call(.post, "/v1/events", event)
        #expect(posted.status == 202, "\(posted.text)")
        #expect(posted.json?["appended"] as? Int == 1)

        // Both channels are delivered to the demo gateways and the trace says so.
        let trace = try await s.eventually("both jobs sent") { () async throws -> [String: Any]? in
            let r = try await s.call(.get, "/v1/transactions/API-TX-1")
            guard r.status == 200, let jobs = r.json?["jobs"] as? [[String: Any]], jobs.count == 2 else { return nil }
            let statuses = jobs.compactMap { ($0["job"] as? [String: Any])?["status"] as? String }
            return statuses.allSatisfy { $0 == "sent" } ? r.json : nil
        }
        let jobs = try #require(trace["jobs"] as? [[String: Any]])
        let channels = Set(jobs.compactMap { ($0["job"] as? [String: Any])?["channel"] as? String })
        #expect(channels == ["sms", "im"])
        for job in jobs {
            let attempts = try #require(job["attempts"] as? [[String: Any]])
            #expect(attempts.count == 1)
            #expect(attempts.first?["outcome"] as? String == "accepted")
        }
        // The gateways received them under the jobs' ids, in Persian.
        let inbox = try await s.call(.get, "/v1/demo/inbox")
        let messages = try #require(inbox.json?["messages"] as? [[String: Any]])
        let ids = Set(jobs.compactMap { ($0["job"] as? [String: Any])?["id"] as? String })
        let received = messages.filter { ids.contains($0["job"] as? String ?? "") }
        #expect(received.count == 2)
        #expect(received.allSatisfy { ($0["text"] as? String ?? "").contains("۱٬۲۵۰٬۰۰۰") }, "\(received)")

        // The same event again is a duplicate: nothing appended, nothing sent twice.
        let again = try await s.call(.post, "/v1/events", event)
        #expect(again.status == 202)
        #expect(again.json?["duplicates"] as? Int == 1)
        #expect(again.json?["appended"] as? Int == 0)

        // Metrics count the two accepted attempts, with no customer in any label.
        let metrics = try await s.call(.get, "/metrics", token: nil)
        #expect(metrics.status == 200)
        #expect(metrics.text.contains(#"chapar_delivery_attempts_total{channel="sms",outcome="accepted"} 1"#), "\(metrics.text.prefix(2000))")
        #expect(metrics.text.contains(#"chapar_delivery_attempts_total{channel="im",outcome="accepted"} 1"#))
        #expect(!metrics.text.contains("C0900001"))
        #expect(try await s.call(.get, "/readyz", token: nil).status == 200)
        let overview = try await s.call(.get, "/v1/overview")
        #expect(overview.status == 200)
        #expect((overview.json?["events"] as? Int ?? 0) >= 1)
        try await s.stop()
    }

    // MARK: Refusals: nothing half-applied

    @Test func theAPIRefusesWhatIsWrongWithAClearAnswer() async throws {
        let s = try await ServeHarness.start()
        defer { s.release() }
        #expect(try await s.call(.get, "/v1/overview", token: nil).status == 401)
        let wrong = try await s.call(.get, "/v1/overview", token: "not-the-token-at-all")
        #expect(wrong.status == 401)
        #expect(wrong.errorMessage?.contains("wrong bearer token") == true)

        let malformed = try await s.call(.post, "/v1/events", #"{"id": "X1", "account": "#)
        #expect(malformed.status == 400, "\(malformed.text)")
        let unknownField = try await s.call(.post, "/v1/customers", #"{"id":"C0900002","name":"Ali","language":"fa","colour":"blue"}"#)
        #expect(unknownField.status == 400)
        #expect(unknownField.errorMessage?.contains("unknown field 'colour'") == true, "\(unknownField.text)")
        let badCustomer = try await s.call(.post, "/v1/customers", #"{"id":"C0900002","name":"Ali","language":"fa","channels":[{"channel":"sms","address":"12"}]}"#)
        #expect(badCustomer.status == 422, "\(badCustomer.text)")
        #expect(try await s.call(.get, "/v1/customers/C0900002").status == 404, "a refused customer was stored")

        // One bad event in a batch: 422 naming it, and none of the batch appended.
        let before = try await s.eventCount()
        let batch = """
            [{"id":"B-1","account":"\(ServeHarness.account)","direction":"debit","amount":"100","currency":"IRR","booked_at":"2026-12-03T10:00:00Z"},
             {"id":"B-2","account":"\(ServeHarness.account)","direction":"debit","amount":"100","currency":"XX","booked_at":"2026-12-03T10:00:00Z"}]
            """
        let refused = try await s.call(.post, "/v1/events", batch)
        #expect(refused.status == 422, "\(refused.text)")
        let details = (refused.json?["error"] as? [String: Any])?["details"] as? [String] ?? []
        #expect(details.count == 1 && details[0].hasPrefix("event 2:"), "\(details)")
        #expect(try await s.eventCount() == before, "part of a refused batch was appended")

        // Bodies over server.max-body (64 KiB here) are refused before they are read whole.
        let big = "[" + String(repeating: #"{"id":"BIG","account":"x"},"#, count: 3000) + "{}]"
        let tooLarge = try await s.call(.post, "/v1/events", big)
        #expect(tooLarge.status == 413, "\(tooLarge.text.prefix(300))")
        #expect(try await s.eventCount() == before)
        try await s.stop()
    }

    @Test func aBankFileUploadIsIngestedAsChaparIngestWould() async throws {
        let s = try await ServeHarness.start()
        defer { s.release() }
        let csv = """
            type,id,account,direction,amount,currency,booked_at,description
            transaction,UP-1,\(ServeHarness.account),debit,1200,IRR,2026-12-03T10:00:00Z,one
            transaction,UP-2,\(ServeHarness.account),debit,12x0,IRR,2026-12-03T10:00:00Z,bad amount
            transaction,UP-3,\(ServeHarness.account),credit,5000,IRR,2026-12-03T10:00:00Z,three

            """
        let before = try await s.eventCount()
        // strict: one bad line refuses the whole file, naming FILE:LINE.
        let strict = try await s.call(.post, "/v1/ingest?format=csv&name=day.csv&mode=strict", csv)
        #expect(strict.status == 422, "\(strict.text)")
        let details = (strict.json?["error"] as? [String: Any])?["details"] as? [String] ?? []
        #expect(details.count == 1 && details[0].hasPrefix("day.csv:3:"), "\(details)")
        #expect(try await s.eventCount() == before)
        // append (the default): the good lines go in, the bad one is reported.
        let append = try await s.call(.post, "/v1/ingest?format=csv&name=day.csv", csv)
        #expect(append.status == 202, "\(append.text)")
        #expect(append.json?["appended"] as? Int == 2)
        #expect(append.json?["rejected"] as? Int == 1)
        #expect(try await s.eventCount() == before + 2)
        // The same file again: duplicates only.
        let again = try await s.call(.post, "/v1/ingest?format=csv&name=day.csv", csv)
        #expect(again.json?["duplicates"] as? Int == 2)
        #expect(try await s.call(.post, "/v1/ingest?format=xls", csv).status == 400)
        // A statement whose closing balance does not reconcile: a warning, every entry appended.
        let statement = [":20:T1", ":25:\(ServeHarness.account)", ":28C:1/1", ":60F:C240320IRR1000,",
                         ":61:2403200320C1,NTRFNONREF//UPW1", ":86:one", ":61:2403200320D250,NTRFNONREF//UPW2", ":86:two",
                         ":61:2403200320D1,NTRFNONREF//UPW3", ":86:three", ":62F:C240320IRR751,", "-", ""].joined(separator: "\n")
        let warned = try await s.call(.post, "/v1/ingest?format=mt940&name=day.sta", statement)
        #expect(warned.status == 202, "\(warned.text)")
        #expect(warned.json?["appended"] as? Int == 3 && warned.json?["rejected"] as? Int == 0, "\(warned.text)")
        #expect(warned.json?["warnings"] as? Int == 1, "\(warned.text)")
        let lines = warned.json?["warningDetails"] as? [String] ?? []
        #expect(lines.count == 1 && lines[0].hasPrefix("day.sta:") && lines[0].contains("closing balance"), "\(lines)")
        try await s.stop()
    }

    @Test func customersAreCreatedChangedAndRemovedWithTheCLIRules() async throws {
        let s = try await ServeHarness.start()
        defer { s.release() }
        let body = ServeHarness.customer("C0900003", account: ServeHarness.account)
        #expect(try await s.call(.post, "/v1/customers", body).status == 201)
        #expect(try await s.call(.post, "/v1/customers", body).status == 409)
        let disabled = try await s.call(.post, "/v1/customers/C0900003/channels/sms/disable")
        #expect(disabled.status == 200)
        let sms = (disabled.json?["channels"] as? [[String: Any]])?.first { $0["channel"] as? String == "sms" }
        #expect(sms?["enabled"] as? Bool == false)
        #expect(try await s.call(.post, "/v1/customers/C0900003/channels/fax/enable").status == 404, "enabling a channel the customer lacks")
        let mismatch = try await s.call(.put, "/v1/customers/C0900003", ServeHarness.customer("C0900004", account: ServeHarness.account))
        #expect(mismatch.status == 400)
        let shown = try await s.call(.get, "/v1/customers/C0900003")
        #expect(shown.json?["name"] as? String == "علی رضایی")
        // PATCH takes `chapar customers set`'s options; a refused change changes nothing.
        let patched = try await s.call(.patch, "/v1/customers/C0900003", #"{"channel":"sms","quietHours":"22:00-07:00","minAmounts":{"IRR":"5000000"}}"#)
        #expect(patched.status == 200, "\(patched.text)")
        let patchedSMS = (patched.json?["channels"] as? [[String: Any]])?.first { $0["channel"] as? String == "sms" }
        #expect(patchedSMS?["quietHours"] as? String == "22:00-07:00")
        let refused = try await s.call(.patch, "/v1/customers/C0900003", #"{"channel":"fax","quietHours":"22:00-07:00"}"#)
        #expect(refused.status == 404, "\(refused.text)")
        #expect(try await s.call(.patch, "/v1/customers/C0900003", #"{"language":"de"}"#).status == 422)
        #expect(try await s.call(.delete, "/v1/customers/C0900003").status == 204)
        #expect(try await s.call(.get, "/v1/customers/C0900003").status == 404)
        #expect(try await s.call(.delete, "/v1/customers/C0900003").status == 404)
        try await s.stop()
    }

    @Test func deadLettersAreListedAndReplayedThroughTheAPI() async throws {
        let gateway = try await offPool { try FaultGateway.start() }
        defer { gateway.stop() }
        let s = try await ServeHarness.start(extra: """
            channels:
              sms: {gateway: refusing}
            gateways:
              refusing:
                type: http-sms
                url: \(gateway.url("/status/400"))
            """)
        defer { s.release() }
        #expect(try await s.call(.post, "/v1/customers", ServeHarness.customer("C0900005", account: ServeHarness.account)).status == 201)
        let posted = try await s.call(.post, "/v1/events", """
            {"id":"DEAD-1","account":"\(ServeHarness.account)","direction":"credit","amount":"5000","currency":"IRR","booked_at":"2026-12-03T10:00:00Z"}
            """)
        #expect(posted.status == 202)
        let dead = try await s.eventually("the SMS job is dead") { () async throws -> [[String: Any]]? in
            let r = try await s.call(.get, "/v1/dead-letters?channel=sms")
            let jobs = r.json?["jobs"] as? [[String: Any]] ?? []
            return jobs.isEmpty ? nil : jobs
        }
        #expect(dead.count == 1)
        #expect((dead[0]["reason"] as? String ?? "").contains("400"), "\(dead[0])")
        let replay = try await s.call(.post, "/v1/dead-letters/replay", #"{"channel":"sms"}"#)
        #expect(replay.status == 200, "\(replay.text)")
        #expect(replay.json?["replayed"] as? Int == 1)
        // The pool sends it again (and the gateway refuses it again): a second POST under the same id.
        let requests = try await s.eventually("the replayed job is sent again") { () async throws -> [GatewayRequest]? in
            let posts = try gateway.requests().filter { $0.method == "POST" }
            return posts.count >= 2 ? posts : nil
        }
        #expect(Set(requests.compactMap { $0.header("Idempotency-Key") }).count == 1)
        #expect(try await s.call(.post, "/v1/dead-letters/replay", #"{"channel":"sms","colour":1}"#).status == 400)
        try await s.stop()
    }

    @Test func theOpenAPIDocumentDescribesEveryRoute() async throws {
        let s = try await ServeHarness.start()
        defer { s.release() }
        let r = try await s.call(.get, "/openapi.json", token: nil)
        #expect(r.status == 200)
        let paths = try #require(r.json?["paths"] as? [String: [String: Any]])
        let routes: [(String, String)] = [
            ("get", "/healthz"), ("get", "/readyz"), ("get", "/metrics"), ("post", "/v1/events"), ("post", "/v1/ingest"),
            ("get", "/v1/transactions/{id}"), ("get", "/v1/deliveries"), ("get", "/v1/deliveries/{job}"), ("get", "/v1/dead-letters"),
            ("post", "/v1/dead-letters/replay"), ("get", "/v1/customers"), ("post", "/v1/customers"), ("get", "/v1/customers/{id}"),
            ("put", "/v1/customers/{id}"), ("patch", "/v1/customers/{id}"), ("delete", "/v1/customers/{id}"), ("post", "/v1/customers/{id}/channels/{channel}/enable"),
            ("post", "/v1/customers/{id}/channels/{channel}/disable"), ("get", "/v1/overview"), ("get", "/v1/topics"),
            ("get", "/v1/topics/{topic}/records"), ("get", "/v1/groups"), ("get", "/v1/gateways"), ("get", "/v1/demo/inbox"),
            ("get", "/v1/callbacks/kannel/{gateway}"),
        ]
        for (method, path) in routes {
            #expect(paths[path]?[method] != nil, "\(method.uppercased()) \(path) is not in openapi.json")
        }
        // And each documented route is really served (not 404 as an unknown path would be).
        for (path, operations) in paths {
            let concrete = path.replacingOccurrences(of: "{id}", with: "C0000001").replacingOccurrences(of: "{job}", with: String(repeating: "a", count: 32))
                .replacingOccurrences(of: "{topic}", with: "transactions").replacingOccurrences(of: "{channel}", with: "sms")
                .replacingOccurrences(of: "{gateway}", with: "g")
            for method in operations.keys where method == "get" {
                let answer = try await s.call(.get, concrete)
                #expect(answer.status != 404 || answer.errorMessage != nil, "GET \(concrete): 404 without an API error (no such route)")
            }
        }
        try await s.stop()
    }

    @Test func aStopDrainsAndReturns() async throws {
        let s = try await ServeHarness.start(demo: DemoSettings(customers: 50, eventsPerSecond: 200))
        defer { s.release() }
        _ = try await s.eventually("demo events arrive") { () async throws -> Int? in
            let n = try await s.eventCount()
            return n > 50 ? n : nil
        }
        let clock = ContinuousClock()
        let started = clock.now
        try await s.stop()
        #expect(clock.now - started < .seconds(20), "a graceful stop took \(clock.now - started)")
    }
}

/// One in-process server on a free port with demo gateways, a token, and a 64 KiB body limit.
final class ServeHarness: @unchecked Sendable {
    // @unchecked: `task` is set once in `start` before the harness is shared, then only read.
    static let tokenVariable = "CHAPAR_SERVE_TEST_TOKEN"
    static let callbackVariable = "CHAPAR_SERVE_TEST_CALLBACK_SECRET"
    static let token = "serve-test-token-0123456789abcdef"
    /// An account no demo customer holds (the demo's are 2…2n+1 for its n customers).
    static let account = IBAN.make(country: "IR", bban: "0170" + "000000000000999990")

    let root: String
    let handle = ServeHandle()
    let engine = APITestClient.makeEngine()
    var task: Task<Void, any Error>?
    var baseURL = ""

    private init(root: String) { self.root = root }

    /// Errors only: the tests provoke warnings (dead letters) on purpose.
    static let quietLogger: Logger = {
        var logger = Logger(label: "chapar.serve-test")
        logger.logLevel = .error
        return logger
    }()

    static func start(extra: String = "", demo: DemoSettings = DemoSettings(customers: 20, eventsPerSecond: 0)) async throws -> ServeHarness {
        let harness = ServeHarness(root: TestPaths.temporaryDirectory("serve"))
        let yaml = """
            server:
              listen: 127.0.0.1:0
              tokens: [{env: \(tokenVariable)}]
              max-body: 64KiB
            callbacks:
              secret: {env: \(callbackVariable)}
            delivery:
              commit-interval: 100ms
            \(extra)
            """
        let configuration = try ConfigFile.parse(yaml, file: "serve-test.yaml", environment: [tokenVariable: token, callbackVariable: "serve-test-callback-secret-42"],
                                                 kinds: [HTTPSMSAdapter.kind, KannelAdapter.kind, TelegramAdapter.kind, WebhookAdapter.kind, MatrixAdapter.kind])
        let options = ServeOptions(dataDirectory: harness.root + "/data", configuration: configuration,
                                   kinds: [HTTPSMSAdapter.kind, KannelAdapter.kind, TelegramAdapter.kind, WebhookAdapter.kind, MatrixAdapter.kind],
                                   templates: TestPaths.repositoryRoot + "/config/templates", demo: demo, drainTimeout: .seconds(15),
                                   logger: ServeHarness.quietLogger)
        let (ready, continuation) = AsyncStream.makeStream(of: ServeStatus.self)
        let handle = harness.handle
        harness.task = Task {
            defer { continuation.finish() }
            try await ChaparServe.run(options, handle: handle) { status in continuation.yield(status) }
        }
        let status = try await withThrowingTaskGroup(of: ServeStatus?.self) { group in
            group.addTask { await ready.first { _ in true } }
            group.addTask {
                try await Task.sleep(for: .seconds(60))
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
        guard let status else {
            _ = try await harness.task?.value
            throw PeerError("chapar serve did not start within 60 s")
        }
        harness.baseURL = status.baseURL
        return harness
    }

    /// Stops gracefully and waits for the server to return (its error, if any, is thrown).
    func stop() async throws {
        await handle.shutdown()
        try await task?.value
    }

    /// Cancels (if still running) and removes the scratch directory. For `defer`.
    func release() {
        task?.cancel()
        engine.shutdown()
        TestPaths.removePeerDirectory(root)
    }

    struct Answer {
        var status: Int
        var text: String
        var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] }
        var errorMessage: String? { (json?["error"] as? [String: Any])?["message"] as? String }
    }

    func call(_ method: TransferRequest.Method, _ path: String, _ body: String? = nil, token: String? = ServeHarness.token) async throws -> Answer {
        let r = try await APITestClient(baseURL: baseURL, engine: engine).call(method, path, body: Array((body ?? "").utf8), token: token)
        return Answer(status: r.status, text: String(decoding: r.body, as: UTF8.self))
    }

    /// Polls `probe` every 100 ms for up to 30 s until it returns a value.
    func eventually<T>(_ what: String, _ probe: () async throws -> T?) async throws -> T {
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while ContinuousClock.now < deadline {
            if let value = try await probe() { return value }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw PeerError("timed out waiting until \(what)")
    }

    /// Records on `transactions` and `messages`.
    func eventCount() async throws -> Int {
        let topics = try await call(.get, "/v1/topics")
        let list = (try? JSONSerialization.jsonObject(with: Data(topics.text.utf8))) as? [[String: Any]] ?? []
        return list.filter { ["transactions", "messages"].contains($0["name"] as? String ?? "") }.reduce(0) { total, topic in
            total + ((topic["partitions"] as? [[String: Any]]) ?? []).reduce(0) { $0 + (($1["endOffset"] as? Int ?? 0) - ($1["startOffset"] as? Int ?? 0)) }
        }
    }

    /// A Persian customer with SMS and Telegram, holding `account`.
    static func customer(_ id: String, account: String) -> String {
        """
        {"id":"\(id)","name":"علی رضایی","language":"fa","timezone":"Asia/Tehran","accounts":["\(account)"],
         "channels":[{"channel":"sms","address":"+989121234567"},{"channel":"im","address":"telegram:123456789"}]}
        """
    }
}
