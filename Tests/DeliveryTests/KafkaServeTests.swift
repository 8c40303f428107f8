import ChaparModels
import Delivery
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Several `chapar serve` nodes on one Kafka-API cluster (Tansu, scripts/peers/tansu.sh): they
/// split the partitions, a SIGKILLed node's partitions move to the others with nothing lost, a
/// node added later gets a share and the customers the others know. Every node delivers SMS to one
/// fault gateway, with `?node=` in its URL, so the gateway's log says who sent what.
@Suite(.serialized, .timeLimit(.minutes(6)))
struct KafkaServeTests {
    /// With CHAPAR_TEST_TIMING set, prints how long `body` took (where these minutes go).
    static func timed<T>(_ what: String, _ body: () async throws -> T) async rethrows -> T {
        let started = ContinuousClock.now
        defer { if ProcessInfo.processInfo.environment["CHAPAR_TEST_TIMING"] != nil { print("[\(started.duration(to: .now))] \(what)") } }
        return try await body()
    }

    @Test func nodesSplitTheWorkSurviveAKillAndANewNodeCatchesUp() async throws {
        let cluster = try await Self.timed("cluster") { try await KafkaCluster.start() }
        let a = try cluster.startNode("a")
        defer { a.process.kill() }
        let b = try cluster.startNode("b")
        defer { b.process.kill() }
        try await cluster.waitUntilListening(a)
        try await cluster.waitUntilListening(b)

        // Customers made on node a reach node b through chapar.customers.
        try await cluster.createCustomers(30, on: a)
        _ = try await eventually("node b knows the 30 customers") { try await cluster.customerCount(on: b) == 30 ? true : nil }

        // A burst through node a; both nodes deliver a share; then b is killed mid-burst.
        let firstBurst = try await cluster.postEvents(customers: 30, perCustomer: 20, tag: "one", on: a)
        _ = try await eventually("both nodes deliver") { () -> Bool? in
            let senders = try cluster.gateway.requests().compactMap { $0.query["node"] }
            return Set(senders).isSuperset(of: ["a", "b"]) ? true : nil
        }
        b.process.kill()
        #expect(b.process.waitForExit(timeout: .seconds(5)) == 128 + SIGKILL)
        let beforeKill = try cluster.jobIDs()
        #expect(beforeKill.distinct < firstBurst, "everything was delivered before the kill; the test proves nothing")

        // Node a takes b's partitions over (after the 6 s session timeout) and delivers the rest.
        _ = try await eventually("every job of the first burst delivered", timeout: .seconds(120)) {
            try cluster.jobIDs().distinct >= firstBurst ? true : nil
        }

        // A node added later: it catches up on the customers, then takes a share of a new burst.
        let c = try cluster.startNode("c")
        defer { c.process.kill() }
        try await cluster.waitUntilListening(c)
        #expect(try await cluster.customerCount(on: c) == 30, "node c started without the customers")
        _ = try await eventually("node c has partitions", timeout: .seconds(60)) { () -> Bool? in
            let groups = try await cluster.api(.get, "/v1/groups", on: c).text
            return groups.contains("\"owner\"") ? true : nil
        }
        let secondBurst = try await cluster.postEvents(customers: 30, perCustomer: 10, tag: "two", on: a)
        _ = try await eventually("every job of both bursts delivered", timeout: .seconds(120)) {
            try cluster.jobIDs().distinct >= firstBurst + secondBurst ? true : nil
        }
        let requests = try cluster.gateway.requests().filter { $0.method == "POST" }
        let bySender = Dictionary(grouping: requests) { $0.query["node"] ?? "?" }
        #expect(bySender["c"]?.isEmpty == false, "node c delivered nothing of the second burst")

        let (distinct, duplicates, keys) = try cluster.jobIDs()
        #expect(distinct == firstBurst + secondBurst, "\(distinct) distinct job ids for \(firstBurst + secondBurst) jobs")
        #expect(keys[""] == nil, "a request without its job id")
        for (_, copies) in keys where copies.count > 1 {
            #expect(Set(copies.map(\.body)).count == 1, "a duplicate with a different body")
        }
        print("kafka serve: \(requests.count) requests for \(distinct) jobs; \(duplicates) duplicate request(s); by node: \(bySender.mapValues(\.count))")
        a.process.signal(SIGTERM)
        c.process.signal(SIGTERM)
        let exits = await Self.timed("a and c exit") { (a.process.waitForExit(timeout: .seconds(40)), c.process.waitForExit(timeout: .seconds(40))) }
        #expect(exits.0 == 0, "node a: \(a.process.stderr)")
        #expect(exits.1 == 0, "node c: \(c.process.stderr)")
    }
}

extension KafkaServeTests {
    @Test func aNodeWaitsForBrokersAtStartAndLosesNothingWhenTheyFreezeMidRun() async throws {
        let cluster = try await KafkaCluster.start(broker: false)
        let a = try cluster.startNode("a")
        defer { a.process.kill() }
        // No broker yet: the node says so and keeps trying instead of exiting.
        let waiting = try await offPool { a.process.wait(upTo: .seconds(60)) { a.process.stderr.contains("the log is unavailable; retrying") } }
        #expect(waiting, "no clear message while the brokers are down: \(a.process.stderr)")
        #expect(!a.process.stderr.contains("chapar serve: listening"))
        try await cluster.startBroker()
        try await cluster.waitUntilListening(a)
        try await cluster.createCustomers(10, on: a)
        let events = try await cluster.postEvents(customers: 10, perCustomer: 20, tag: "freeze", on: a)

        // Freeze the broker (SIGSTOP) mid-run for longer than the request timeout, then let it go.
        _ = try await eventually("the first deliveries") { try cluster.jobIDs().distinct >= 20 ? true : nil }
        let broker = try cluster.brokerPID()
        kill(broker, SIGSTOP)
        try await Task.sleep(for: .seconds(8))
        kill(broker, SIGCONT)
        _ = try await eventually("every job delivered after the freeze", timeout: .seconds(120)) {
            try cluster.jobIDs().distinct >= events ? true : nil
        }
        let (distinct, duplicates, _) = try cluster.jobIDs()
        #expect(distinct == events)
        print("kafka freeze: \(distinct) jobs delivered, \(duplicates) duplicate request(s)")
        a.process.signal(SIGTERM)
        #expect(a.process.waitForExit(timeout: .seconds(40)) == 0, "node a: \(a.process.stderr)")
    }
}

extension KafkaServeTests {
    @Test func anEmbeddedDeploymentMovesOntoKafkaWithoutLosingOrResendingAnything() async throws {
        let cluster = try await Self.timed("cluster") { try await KafkaCluster.start() }
        let single = try cluster.startNode("single", embedded: true)
        defer { single.process.kill() }
        try await cluster.waitUntilListening(single)
        try await Self.timed("customers") { try await cluster.createCustomers(20, on: single) }
        let events = try await Self.timed("events") { try await cluster.postEvents(customers: 20, perCustomer: 10, tag: "move", on: single) }
        _ = try await eventually("the first deliveries") { try cluster.jobIDs().distinct >= 40 ? true : nil }
        single.process.signal(SIGTERM)
        let exit = await Self.timed("single exits") { single.process.waitForExit(timeout: .seconds(40)) }
        #expect(exit == 0, "stderr: \(single.process.stderr)")
        let beforeMove = try cluster.jobIDs()
        #expect(beforeMove.distinct < events, "everything was delivered before the move; the test proves nothing")

        let data = cluster.dataDirectory("single")
        let migrate = try await Self.timed("migrate") { try await offPool { [cluster] in
            try ChaparCLI.run(["log", "migrate", "--data-dir", data, "--kafka", cluster.bootstrap], environment: cluster.environment, timeout: .seconds(120))
        } }
        #expect(migrate.status == 0, "migrate: \(migrate.stderr)")
        #expect(migrate.stdout.contains("customers: 20 published to chapar.customers"), "\(migrate.stdout)")
        // Run again: everything is there already and no group offset is overwritten.
        let again = try await offPool { [cluster] in
            try ChaparCLI.run(["log", "migrate", "--data-dir", data, "--kafka", cluster.bootstrap], environment: cluster.environment, timeout: .seconds(120))
        }
        #expect(again.status == 0 && again.stdout.contains("migrated 0 record(s) and 0 group offset(s)"), "\(again.stdout)\n\(again.stderr)")

        // The same data directory on Kafka continues where it stopped, with its ledger: nothing is
        // sent twice. (Jobs it sent past its last committed offset are known only to its ledger, so
        // a node that joins before the backlog is done may send those again, under their job ids.)
        let moved = try cluster.startNode("moved", dataOf: "single")
        defer { moved.process.kill() }
        try await cluster.waitUntilListening(moved)
        _ = try await eventually("every job delivered after the move", timeout: .seconds(120)) {
            try cluster.jobIDs().distinct >= events ? true : nil
        }
        let after = try cluster.jobIDs()
        #expect(after.distinct == events)
        #expect(after.duplicates == 0, "\(after.duplicates) job(s) sent again after the move")

        // A node that joins afterwards gets the customers the migration published.
        let joined = try cluster.startNode("joined")
        defer { joined.process.kill() }
        try await cluster.waitUntilListening(joined)
        #expect(try await cluster.customerCount(on: joined) == 20)
        moved.process.signal(SIGTERM)
        joined.process.signal(SIGTERM)
        let exits = await Self.timed("moved and joined exit") { (moved.process.waitForExit(timeout: .seconds(40)), joined.process.waitForExit(timeout: .seconds(40))) }
        #expect(exits.0 == 0 && exits.1 == 0, "\(exits)")
    }
}

extension KafkaServeTests {
    @Test func theLogToolsWorkOnKafka() async throws {
        let cluster = try await KafkaCluster.start()
        let kafka = ["--kafka", cluster.bootstrap]
        func chapar(_ args: [String], stdin: String? = nil) async throws -> PeerCommandResult {
            var stdinFile: String?
            if let stdin {
                stdinFile = cluster.root + "/stdin-\(UUID().uuidString.prefix(6))"
                try stdin.write(toFile: stdinFile!, atomically: true, encoding: .utf8)
            }
            return try await offPool { [cluster, stdinFile] in try ChaparCLI.run(args, stdinFile: stdinFile, environment: cluster.environment, timeout: .seconds(60)) }
        }
        let created = try await chapar(["log", "create", "payments", "--partitions", "3"] + kafka)
        #expect(created.status == 0, "\(created.stderr)")
        let produced = try await chapar(["log", "produce", "payments", "--key-separator", "|", "--print-acks"] + kafka,
                                        stdin: (1...30).map { "account-\($0 % 7)|payment \($0) — پرداخت" }.joined(separator: "\n") + "\n")
        #expect(produced.status == 0, "\(produced.stderr)")
        #expect(produced.stdout.split(separator: "\n").filter { $0.hasPrefix("payments ") }.count == 30, "\(produced.stdout)")
        let topics = try await chapar(["log", "topics"] + kafka)
        #expect(topics.stdout.contains("payments"), "\(topics.stdout)")
        let consumed = try await chapar(["log", "consume", "payments", "--from-beginning", "--exit-at-end", "--format", "%k %s\\n"] + kafka)
        #expect(consumed.status == 0, "\(consumed.stderr)")
        let lines = consumed.stdout.split(separator: "\n")
        #expect(lines.count == 30 && lines.contains("account-3 payment 3 — پرداخت"), "\(consumed.stdout)")
        let grouped = try await chapar(["log", "consume", "payments", "--group", "audit", "--from-beginning", "--exit-at-end"] + kafka)
        #expect(grouped.stdout.split(separator: "\n").count == 30, "\(grouped.stdout)\n\(grouped.stderr)")
        let groups = try await chapar(["log", "groups", "--json"] + kafka)
        #expect(groups.stdout.contains("\"audit\""), "\(groups.stdout)")
        let reset = try await chapar(["log", "reset-offsets", "audit", "payments", "--to-earliest"] + kafka)
        #expect(reset.status == 0, "\(reset.stderr)")
        let again = try await chapar(["log", "consume", "payments", "--group", "audit", "--exit-at-end"] + kafka)
        #expect(again.stdout.split(separator: "\n").count == 30, "the reset did not replay: \(again.stdout)")
        // Tools of the embedded log only say so, with their exit code.
        let retention = try await chapar(["log", "retention"] + kafka)
        #expect(retention.status == 69 && retention.stderr.contains("for the embedded log"), "\(retention.status) \(retention.stderr)")
    }
}

/// Tansu, one fault gateway, and the nodes' data directories and configurations.
final class KafkaCluster: Sendable {
    static let tokenVariable = "CHAPAR_KAFKA_TEST_TOKEN"
    static let token = "kafka-serve-test-token-1234567"

    let root: String
    /// Where Tansu listens (or will: a node may start before it).
    let kafkaPort: Int
    var bootstrap: String { "127.0.0.1:\(kafkaPort)" }
    let libraryPath: String
    let tansuDirectory: String
    let gateway: FaultGateway
    let engine = APITestClient.makeEngine()

    struct Node: Sendable {
        let name: String
        let port: Int
        let process: ChaparProcess
        var baseURL: String { "http://127.0.0.1:\(port)" }
    }

    private init(root: String, port: Int, libraryPath: String, tansuDirectory: String, gateway: FaultGateway) {
        self.root = root
        self.kafkaPort = port
        self.libraryPath = libraryPath
        self.tansuDirectory = tansuDirectory
        self.gateway = gateway
    }

    deinit {
        gateway.stop()
        engine.shutdown()
        _ = try? PeerCommand.run(TestPaths.peerScripts + "/tansu.sh", ["stop", tansuDirectory], timeout: .seconds(30))
        TestPaths.removePeerDirectory(tansuDirectory)
        TestPaths.removePeerDirectory(root)
    }

    /// Starts the gateway and (unless `broker` is false: see ``startBroker()``) Tansu.
    static func start(broker: Bool = true) async throws -> KafkaCluster {
        let cluster = try await offPool {
            KafkaCluster(root: TestPaths.temporaryDirectory("kafka-serve"), port: try closedLoopbackPort(),
                         libraryPath: (ProcessInfo.processInfo.environment["CHAPAR_PEERS_HOME"] ?? "/var/cache/chapar-peers") + "/kafka/lib",
                         tansuDirectory: TestPaths.temporaryDirectory("tansu"), gateway: try FaultGateway.start())
        }
        guard FileManager.default.fileExists(atPath: cluster.libraryPath + "/librdkafka.so.1") else {
            throw PeerError("\(cluster.libraryPath)/librdkafka.so.1 is missing: run scripts/install-deps.sh (Tansu needs librdkafka ≥ 2.1, docs/kafka.md)")
        }
        if broker { try await cluster.startBroker() }
        return cluster
    }

    /// Starts Tansu on the cluster's port (`tansu.sh` with TANSU_PORT).
    func startBroker() async throws {
        let script = TestPaths.peerScripts + "/tansu.sh", directory = tansuDirectory, port = kafkaPort
        let result = try await offPool {
            try PeerCommand.run(script, ["start", directory], environment: ["TANSU_PORT": String(port)], timeout: .seconds(30))
        }
        guard result.status == 0 else { throw PeerError("tansu.sh start failed (exit \(result.status)):\n\(result.stderr)") }
    }

    func brokerPID() throws -> pid_t {
        guard let text = try? String(contentsOfFile: tansuDirectory + "/tansu.pid", encoding: .utf8),
              let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { throw PeerError("no tansu.pid in \(tansuDirectory)") }
        return pid
    }

    func dataDirectory(_ node: String) -> String { root + "/data-\(node)" }

    /// The environment `chapar` needs for Tansu (the newer librdkafka).
    var environment: [String: String] { [Self.tokenVariable: Self.token, "LD_LIBRARY_PATH": libraryPath] }

    /// Starts `chapar serve` as node `name` with its own port, on Kafka (or on the embedded log),
    /// with the data directory `data-<dataOf ?? name>`.
    func startNode(_ name: String, embedded: Bool = false, dataOf: String? = nil) throws -> Node {
        let port = try closedLoopbackPort()
        let config = root + "/\(name).yaml"
        try """
            server:
              listen: 127.0.0.1:\(port)
              tokens: [{env: \(Self.tokenVariable)}]
            log:
              partitions: 4
              backend: \(embedded ? "embedded" : "kafka")
            \(embedded ? "" : kafkaSection(name))
            notifier:
              members: 2
            delivery:
              commit-interval: 100ms
            channels:
              sms: {gateway: sink}
            gateways:
              sink:
                type: http-sms
                url: \(gateway.url("/slow/20?node=\(name)"))
                max-in-flight: 8
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let process = try ChaparCLI.start(
            ["serve", "--config", config, "--data-dir", dataDirectory(dataOf ?? name), "--templates", TestPaths.repositoryRoot + "/config/templates"],
            environment: environment)
        return Node(name: name, port: port, process: process)
    }

    /// `log.kafka` of node `name` (indented for the `log` section).
    private func kafkaSection(_ name: String) -> String {
        """
          kafka:
            bootstrap: \(bootstrap)
            client-id: node-\(name)
            replication-factor: 1
            session-timeout: 6s
            request-timeout: 3s
        """
    }

    func waitUntilListening(_ node: Node) async throws {
        let started = ContinuousClock.now
        defer { if ProcessInfo.processInfo.environment["CHAPAR_TEST_TIMING"] != nil { print("[\(started.duration(to: .now))] node \(node.name) listening") } }
        let up = try await offPool { node.process.wait(upTo: .seconds(90)) { node.process.stderr.contains("chapar serve: listening") } }
        try #require(up, "node \(node.name) did not start: \(node.process.stderr)")
    }

    func api(_ method: TransferRequest.Method, _ path: String, _ body: String? = nil, on node: Node) async throws -> (status: Int, text: String) {
        let r = try await APITestClient(baseURL: node.baseURL, engine: engine).call(method, path, body: Array((body ?? "").utf8), token: Self.token,
                                                                                     timeout: .seconds(60))
        return (r.status, String(decoding: r.body, as: UTF8.self))
    }

    func account(_ n: Int) -> String {
        IBAN.make(country: "DE", bban: "37040044" + String(format: "%010d", 533_000_000 + n))
    }

    /// `count` SMS customers, one account each, made through `node`'s API.
    func createCustomers(_ count: Int, on node: Node) async throws {
        for n in 1...count {
            let r = try await api(.post, "/v1/customers", """
                {"id":"K\(String(format: "%05d", n))","name":"Customer \(n)","language":"en","accounts":["\(account(n))"],
                 "channels":[{"channel":"sms","address":"+4916\(String(format: "%08d", n))"}]}
                """, on: node)
            try #require(r.status == 201, "customer \(n): \(r.text)")
        }
    }

    func customerCount(on node: Node) async throws -> Int {
        let r = try await api(.get, "/v1/customers?limit=1", on: node)
        let json = try JSONSerialization.jsonObject(with: Data(r.text.utf8)) as? [String: Any]
        return json?["total"] as? Int ?? -1
    }

    /// Debits on every customer's account, posted to `node`; returns the count (one SMS job each).
    func postEvents(customers: Int, perCustomer: Int, tag: String, on node: Node) async throws -> Int {
        try await postDebits(customers: customers, perCustomer: perCustomer, tag: tag, account: account) { try await api(.post, $0, $1, on: node) }
    }

    /// The gateway's POSTs by job id: distinct ids, duplicate requests, and the requests per id.
    func jobIDs() throws -> (distinct: Int, duplicates: Int, keys: [String: [GatewayRequest]]) {
        let posts = try gateway.requests().filter { $0.method == "POST" }
        let keys = Dictionary(grouping: posts) { $0.header("Idempotency-Key") ?? "" }
        return (keys.count, posts.count - keys.count, keys)
    }
}
