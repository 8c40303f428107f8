import ChaparModels
import Delivery
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The real `chapar serve` binary: SIGTERM drains, SIGKILL mid-burst loses nothing and re-sends
/// only in-flight jobs under their own ids, and `chapar ingest` works while it runs.
@Suite(.serialized)
struct ServeCLITests {
    @Test func killedMidBurstThenRestartedLosesNothingAndResendsOnlyUnderTheSameIDs() async throws {
        let f = try await ServeFixture.start(gatewayPath: "/slow/200", maxInFlight: 32)
        let first = try f.startServe()
        defer { first.kill() }
        try await f.waitUntilListening(first)
        let events = try await f.seed(customers: 60, eventsPerCustomer: 8)

        let reached = try await offPool { first.wait(upTo: .seconds(60)) { f.gateway.requestCount() >= 120 } }
        #expect(reached, "the gateway never saw 120 requests: \(first.stderr)")
        first.kill()
        #expect(first.waitForExit(timeout: .seconds(5)) == 128 + SIGKILL)
        // Requests already on the wire are logged when the gateway reads them: give it a moment.
        try await Task.sleep(for: .seconds(1))
        let beforeRestart = try f.posts()
        #expect(beforeRestart.count < events, "everything was sent before the kill; the test proves nothing")

        let p = try f.startServe()
        defer { p.kill() }
        try await f.waitUntilListening(p)
        let sent = try await eventually("every job sent") { () async throws -> Int? in
            let n = try await f.sentCount()
            return n >= events ? n : nil
        }
        #expect(sent == events)
        p.signal(SIGTERM)
        #expect(p.waitForExit(timeout: .seconds(30)) == 0, "stderr: \(p.stderr)")

        let posts = try f.posts()
        let byKey = Dictionary(grouping: posts) { $0.header("Idempotency-Key") ?? "" }
        #expect(byKey.count == events, "\(byKey.count) distinct job ids reached the gateway for \(events) jobs")
        #expect(byKey[""] == nil, "a request without its job id")
        let duplicated = byKey.filter { $0.value.count > 1 }
        let duplicates = duplicated.values.reduce(0) { $0 + $1.count - 1 }
        print("serve SIGKILL restart: \(posts.count) requests for \(events) jobs; \(duplicated.count) jobs sent more than once (\(duplicates) duplicate requests)")
        for (_, requests) in duplicated { #expect(Set(requests.map(\.body)).count == 1, "a duplicate with a different body") }
        // Only jobs in flight (≤ max-in-flight) or answered but not yet in the ledger (about one more window) are re-sent.
        #expect(duplicates <= 2 * 32, "\(duplicates) duplicate requests")
        let firstKeys = Set(beforeRestart.compactMap { $0.header("Idempotency-Key") })
        #expect(Set(duplicated.keys).isSubset(of: firstKeys))
    }

    @Test func sigtermFinishesInFlightDeliveriesRecordsThemAndExitsZero() async throws {
        let f = try await ServeFixture.start(gatewayPath: "/slow/400", maxInFlight: 16)
        let p = try f.startServe()
        defer { p.kill() }
        try await f.waitUntilListening(p)
        _ = try await f.seed(customers: 20, eventsPerCustomer: 10)
        let reached = try await offPool { p.wait(upTo: .seconds(60)) { f.gateway.requestCount() >= 20 } }
        #expect(reached)
        p.signal(SIGTERM)
        let status = try await offPool { p.waitForExit(timeout: .seconds(30)) }
        #expect(status == 0, "stderr: \(p.stderr)")
        #expect(p.stderr.contains("chapar serve: stopped"))
        // Every request the gateway received has its outcome in the ledger: none was cut off half-way.
        let received = Set(try f.posts().compactMap { $0.header("Idempotency-Key") })
        let ledger = try await f.chapar(["deliveries", "list", "--json", "--limit", "100000", "--data-dir", f.dataDir])
        #expect(ledger.status == 0, "\(ledger.stderr)")
        let rows = try JSONDecoder().decode([LedgerJob].self, from: Data(ledger.stdout.utf8))
        let sent = Set(rows.filter { $0.status == .sent }.map(\.id))
        #expect(received.isSubset(of: sent), "\(received.subtracting(sent).count) requests reached the gateway without a sent row")
    }

    @Test func configCheckAndShowNeverPrintASecret() async throws {
        let root = TestPaths.temporaryDirectory("config-cli")
        defer { TestPaths.removePeerDirectory(root) }
        let good = root + "/good.yaml", bad = root + "/bad.yaml"
        try """
            server: {listen: "127.0.0.1:9999", tokens: [{env: CFG_TOKEN}]}
            channels:
              sms: {gateway: sink}
            gateways:
              sink: {type: http-sms, url: "http://127.0.0.1:1/sms", authorization: {env: CFG_AUTH}}
            """.write(toFile: good, atomically: true, encoding: .utf8)
        try "server: {listen: nowhere}\nlog: {fsync: sometimes}\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let env = ["CFG_TOKEN": "super-secret-token-value-1", "CFG_AUTH": "Bearer another-secret-42"]
        let check = try await offPool { try ChaparCLI.run(["config", "check", "--config", good], environment: env) }
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stdout.contains("ok") && check.stdout.contains("1 API token(s)"))
        let show = try await offPool { try ChaparCLI.run(["config", "show", "--config", good], environment: env) }
        #expect(show.status == 0)
        #expect(show.stdout.contains("tokens: [{env: CFG_TOKEN}]"), "\(show.stdout)")
        #expect(show.stdout.contains("<secret from env CFG_AUTH>"))
        #expect(!show.stdout.contains("super-secret") && !show.stdout.contains("another-secret"))
        let refused = try await offPool { try ChaparCLI.run(["config", "check", "--config", bad], environment: env) }
        #expect(refused.status == 65)
        #expect(refused.stderr.contains("bad.yaml:1: server.listen") && refused.stderr.contains("bad.yaml:2: log.fsync"), "\(refused.stderr)")
    }

    @Test func aPortInUseIsAClearErrorWithExit75() async throws {
        let root = TestPaths.temporaryDirectory("serve-port")
        defer { TestPaths.removePeerDirectory(root) }
        // Hold a loopback port with a listening socket of our own.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && listen(fd, 1) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        try #require(bound)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let r = try await offPool {
            try ChaparCLI.run(["serve", "--data-dir", root + "/data", "--listen", "127.0.0.1:\(port)", "--templates", TestPaths.repositoryRoot + "/config/templates"],
                              timeout: .seconds(60))
        }
        #expect(r.status == 75, "\(r.stderr)")
        #expect(r.stderr.contains("cannot listen on 127.0.0.1:\(port): the port is in use"), "\(r.stderr)")
    }

    @Test func ingestWorksWhileServeOwnsTheDirectory() async throws {
        let f = try await ServeFixture.start(gatewayPath: "/ok", maxInFlight: 32)
        let p = try f.startServe()
        defer { p.kill() }
        try await f.waitUntilListening(p)
        let file = f.root + "/tx.csv"
        let gen = try await f.chapar(["demo", "generate-transactions", "--count", "300", "--accounts", "50", "--seed", "9", "--output", file])
        #expect(gen.status == 0)
        let ingest = try await f.chapar(["ingest", file, "--data-dir", f.dataDir])
        #expect(ingest.status == 0, "\(ingest.stderr)")
        #expect(ingest.stderr.contains("appended 300") || ingest.stdout.contains("appended 300"), "\(ingest.stderr)")
        let again = try await f.chapar(["ingest", file, "--data-dir", f.dataDir])
        #expect(again.status == 0)
        #expect(again.stderr.contains("duplicates 300") || again.stdout.contains("duplicates 300"), "\(again.stderr)")
        p.signal(SIGTERM)
        #expect(p.waitForExit(timeout: .seconds(30)) == 0)
    }
}

/// A scratch directory, a configuration routing SMS to a fault gateway, and a fixed free port.
final class ServeFixture: Sendable {
    static let tokenVariable = "CHAPAR_SERVE_CLI_TOKEN"
    static let token = "serve-cli-test-token-42-abcdef"

    let root: String
    let gateway: FaultGateway
    let port: Int
    let engine = APITestClient.makeEngine()
    var dataDir: String { root + "/data" }
    var configPath: String { root + "/chapar.yaml" }
    var baseURL: String { "http://127.0.0.1:\(port)" }

    private init(root: String, gateway: FaultGateway, port: Int) {
        self.root = root
        self.gateway = gateway
        self.port = port
    }

    deinit {
        gateway.stop()
        engine.shutdown()
        TestPaths.removePeerDirectory(root)
    }

    static func start(gatewayPath: String, maxInFlight: Int) async throws -> ServeFixture {
        let f = try await offPool {
            ServeFixture(root: TestPaths.temporaryDirectory("serve-cli"), gateway: try FaultGateway.start(), port: try closedLoopbackPort())
        }
        try """
            server:
              listen: 127.0.0.1:\(f.port)
              tokens: [{env: \(tokenVariable)}]
            delivery:
              commit-interval: 100ms
            channels:
              sms: {gateway: sink}
            gateways:
              sink:
                type: http-sms
                url: \(f.gateway.url(gatewayPath))
                max-in-flight: \(maxInFlight)
            """.write(toFile: f.configPath, atomically: true, encoding: .utf8)
        return f
    }

    func startServe() throws -> ChaparProcess {
        try ChaparCLI.start(["serve", "--config", configPath, "--data-dir", dataDir, "--templates", TestPaths.repositoryRoot + "/config/templates"],
                            environment: [Self.tokenVariable: Self.token])
    }

    func waitUntilListening(_ p: ChaparProcess) async throws {
        let up = try await offPool { p.wait(upTo: .seconds(60)) { p.stderr.contains("chapar serve: listening") } }
        try #require(up, "chapar serve did not start: \(p.stderr)")
    }

    func chapar(_ args: [String], timeout: Duration = .seconds(60)) async throws -> PeerCommandResult {
        try await offPool { try ChaparCLI.run(args, timeout: timeout) }
    }

    /// `customers` customers (SMS only, no quiet hours) made through the API, each holding one
    /// account, and `eventsPerCustomer` debits on each account posted in batches. Returns the number of SMS jobs.
    func seed(customers: Int, eventsPerCustomer: Int) async throws -> Int {
        for n in 1...customers {
            let r = try await api(.post, "/v1/customers", """
                {"id":"C07\(String(format: "%05d", n))","name":"Customer \(n)","language":"en","accounts":["\(account(n))"],
                 "channels":[{"channel":"sms","address":"+4915\(String(format: "%08d", n))"}]}
                """)
            try #require(r.status == 201, "customer \(n): \(r.text)")
        }
        return try await postDebits(customers: customers, perCustomer: eventsPerCustomer, tag: "SERVE", account: account) { try await api(.post, $0, $1) }
    }

    func account(_ n: Int) -> String {
        IBAN.make(country: "DE", bban: "37040044" + String(format: "%010d", 532_000_000 + n))
    }

    func api(_ method: TransferRequest.Method, _ path: String, _ body: String? = nil) async throws -> (status: Int, text: String) {
        let r = try await APITestClient(baseURL: baseURL, engine: engine).call(method, path, body: Array((body ?? "").utf8), token: Self.token,
                                                                                timeout: .seconds(60))
        return (r.status, String(decoding: r.body, as: UTF8.self))
    }

    /// Jobs the ledger holds as sent (through the API).
    func sentCount() async throws -> Int {
        let r = try await api(.get, "/v1/deliveries?status=sent&limit=1")
        let json = try JSONSerialization.jsonObject(with: Data(r.text.utf8)) as? [String: Any]
        let counts = json?["counts"] as? [String: [String: Int]]
        return counts?["sms"]?["sent"] ?? 0
    }

    func posts() throws -> [GatewayRequest] {
        try gateway.requests().filter { $0.method == "POST" }
    }
}
