import ChaparModels
import Delivery
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

// End-to-end tests of `chapar deliver run` and `chapar deliveries …`: the real binary on a real data
// directory, jobs put on notify.sms with `chapar log produce`, and the fault-injecting gateway
// (scripts/peers/fault_gateway.py) on 127.0.0.1 as the `http-sms` gateway. Every command runs with a
// time bound; every process a test starts is stopped by its pid (ChaparProcess, FaultGateway).
// Blocking work (child processes, polling) runs off the cooperative pool (offPool); assertions run in
// the test's own task.

@Suite(.serialized, .timeLimit(.minutes(5)))
struct DeliverCLITests {
    // MARK: 1. Configuration problems

    /// A configuration with one mistake: where it is (the first line containing `marker`), the key
    /// path the message must name, and a fragment of the message.
    struct BadConfig: Sendable, CustomTestStringConvertible {
        let name: String
        /// The file, with `PORT` for the fault gateway's port.
        let yaml: String
        let marker: String
        let key: String
        let message: String
        /// Text that must never appear in the output (a literal secret).
        var secretText: String?

        var testDescription: String { name }

        func line(in text: String) -> Int? {
            text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains(marker) }.map { $0 + 1 }
        }

        /// A working configuration with `replace` swapped for `with`, or `append` added to the gateway.
        static func variant(_ name: String, replace: String? = nil, with: String = "", append: String = "",
                            marker: String, key: String, message: String, secretText: String? = nil) -> BadConfig {
            var yaml = Configs.single(url: "http://127.0.0.1:PORT/ok") + append
            if let replace {
                precondition(yaml.contains(replace), "the base configuration has no '\(replace)'")
                yaml = yaml.replacingOccurrences(of: replace, with: with)
            }
            return BadConfig(name: name, yaml: yaml, marker: marker, key: key, message: message, secretText: secretText)
        }

        static let all: [BadConfig] = [
            variant("typo in a gateway key", replace: "    max-in-flight: 32", with: "    max-inflight: 32",
                    marker: "max-inflight", key: "gateways.primary.max-inflight", message: "unknown key for a http-sms gateway"),
            variant("typo in a delivery key", replace: "  commit-interval: 100ms", with: "  comit-interval: 100ms",
                    marker: "comit-interval", key: "delivery.comit-interval", message: "unknown key"),
            variant("unknown gateway type", replace: "    type: http-sms", with: "    type: smpp",
                    marker: "type: smpp", key: "gateways.primary.type", message: "unknown gateway type 'smpp'"),
            variant("failover to an unknown gateway", append: "    failover: bakup\n",
                    marker: "failover: bakup", key: "gateways.primary.failover", message: "no gateway named 'bakup'"),
            variant("failover to itself", append: "    failover: primary\n",
                    marker: "failover: primary", key: "gateways.primary.failover", message: "failovers loop back to 'primary'"),
            variant("channel to an unknown gateway", replace: "    gateway: primary", with: "    gateway: primry",
                    marker: "gateway: primry", key: "channels.sms.gateway", message: "no gateway named 'primry'"),
            variant("missing env secret", replace: "{env: \(DeliverFixture.secretVariable)}", with: "{env: CHAPAR_DELIVER_CLI_TEST_UNSET}",
                    marker: "CHAPAR_DELIVER_CLI_TEST_UNSET", key: "gateways.primary.authorization",
                    message: "environment variable CHAPAR_DELIVER_CLI_TEST_UNSET is not set"),
            variant("literal secret in the file", replace: "{env: \(DeliverFixture.secretVariable)}", with: "Bearer literal-s3cret-value",
                    marker: "literal-s3cret-value", key: "gateways.primary.authorization", message: "secrets are never written in the file",
                    secretText: "literal-s3cret-value"),
            variant("invalid YAML", replace: "    max-in-flight: 32", with: "    max-in-flight: 32: 4",
                    marker: "max-in-flight: 32: 4", key: "", message: "not valid YAML"),
            variant("gateway URL that is not http(s)", replace: "http://127.0.0.1:PORT/ok", with: "ftp://127.0.0.1:PORT/ok",
                    marker: "ftp://", key: "gateways.primary.url", message: "is not an http:// or https:// URL"),
        ]
    }

    /// Each mistake stops `deliver run` with exit 65 and `FILE:LINE: key: …` at the mistake's line,
    /// before anything is created in the data directory.
    @Test(arguments: BadConfig.all)
    func badConfigurationIsRefusedWithItsLine(_ bad: BadConfig) async throws {
        let f = try await DeliverFixture.start()
        let yaml = bad.yaml.replacingOccurrences(of: "PORT", with: String(f.gateway.port))
        try f.writeConfig(yaml)
        let line = try #require(bad.line(in: yaml), "the test's marker '\(bad.marker)' is not in its configuration")
        let r = try await f.deliver(untilIdle: 1, timeout: .seconds(30))
        #expect(r.status == 65, "stderr: \(r.stderr)")
        let location = "\(f.configPath):\(line): "
        let problem = r.stderr.split(separator: "\n").first { $0.hasPrefix(location) }
        #expect(problem != nil, "expected a problem at \(location) in: \(r.stderr)")
        if let problem {
            if !bad.key.isEmpty { #expect(problem.hasPrefix(location + bad.key + ": "), "\(problem)") }
            #expect(problem.contains(bad.message), "\(problem)")
        }
        if let secret = bad.secretText { #expect(!r.stderr.contains(secret) && !r.stdout.contains(secret), "the secret was printed: \(r.stderr)") }
        #expect(!FileManager.default.fileExists(atPath: f.dataDir), "a refused configuration created \(f.dataDir)")
        // Nothing was sent: the configuration was refused before the reachability check.
        #expect(try f.gateway.requests().isEmpty)
    }

    @Test func missingConfigurationFileNamesItsPath() async throws {
        let f = try await DeliverFixture.start()
        let missing = f.root + "/no-such-dir/chapar.yaml"
        let r = try await f.chapar(["deliver", "run", "--data-dir", f.dataDir, "--config", missing, "--until-idle", "1"], timeout: .seconds(30))
        #expect(r.status == 65, "stderr: \(r.stderr)")
        #expect(r.stderr.contains(missing), "stderr: \(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: f.dataDir))
    }

    /// A gateway that is down at start is a warning, not a refusal: the process runs, and SIGTERM
    /// ends it cleanly.
    @Test func unreachableGatewayAtStartIsAWarning() async throws {
        let f = try await DeliverFixture.start()
        let port = try closedLoopbackPort()
        try f.writeConfig(Configs.single(url: "http://127.0.0.1:\(port)/sms"))
        let p = try f.startDeliver()
        defer { p.kill() }
        let running = try await offPool { p.wait(upTo: .seconds(30)) { p.stderr.contains("deliver: running sms") } }
        #expect(running, "not running: \(p.stderr)")
        #expect(p.stderr.contains("deliver: warning: gateway primary (http://127.0.0.1:\(port)/) is not reachable now"), "stderr: \(p.stderr)")
        #expect(p.isRunning)
        // The signal handler is installed by a task started just before the "running" line.
        try await Task.sleep(for: .milliseconds(500))
        p.signal(SIGTERM)
        let status = try await offPool { p.waitForExit(timeout: .seconds(10)) }
        #expect(status == 0, "exit \(String(describing: status)); stderr: \(p.stderr)")
        #expect(p.stderr.contains("deliver: sms: sent 0"), "stderr: \(p.stderr)")
    }

    // MARK: 2. Happy path

    @Test func deliversEveryJobOnceAndTheLedgerTellsTheStory() async throws {
        let f = try await DeliverFixture.start()
        try f.writeConfig(Configs.single(url: f.gateway.url("/slow/100")))
        let jobs = TestJob.batch(200, tag: "happy")
        try await f.produce(jobs)

        let run = try await f.deliver()
        #expect(run.status == 0, "stderr: \(run.stderr)")
        #expect(run.stderr.contains("deliver: sms: sent 200, retries 0, dead 0"), "stderr: \(run.stderr)")

        let posts = try f.posts()
        #expect(posts.count == 200)
        #expect(Set(posts.compactMap { $0.header("Idempotency-Key") }) == Set(jobs.map(\.id.rawValue)))
        #expect(posts.allSatisfy { $0.path == "/slow/100" && $0.header("Authorization") == DeliverFixture.secret })
        // The body is the http-sms default template: the job's address and text.
        let first = try #require(posts.first { $0.header("Idempotency-Key") == jobs[0].id.rawValue })
        #expect(first.body.contains(jobs[0].address) && first.body.contains(jobs[0].text), "\(first.body)")

        let sent = try await f.ledger(["--status", "sent"])
        #expect(sent.count == 200)
        #expect(Set(sent.map(\.id)) == Set(jobs.map(\.id.rawValue)))
        #expect(sent.allSatisfy { $0.gateway == "primary" && $0.attempts == 1 && $0.channel == "sms" })
        #expect(try await f.ledger([]).count == 200, "jobs in a state other than sent")

        let job = jobs[7]
        let show = try await f.chapar(["deliveries", "show", job.id.rawValue, "--data-dir", f.dataDir])
        #expect(show.status == 0, "stderr: \(show.stderr)")
        #expect(show.stdout.contains("job \(job.id)  sent"), "\(show.stdout)")
        #expect(show.stdout.contains("transaction \(job.event), customer \(job.customer), sms normal"), "\(show.stdout)")
        #expect(show.stdout.contains("attempt 1 at ") && show.stdout.contains(" via primary: accepted 202 in "), "\(show.stdout)")
        #expect(!show.stdout.contains(job.address), "the full address was printed: \(show.stdout)")

        // Each transaction notified two customers: both jobs are shown.
        let both = jobs.filter { $0.event == job.event }
        #expect(both.count == 2)
        let tx = try await f.chapar(["deliveries", "show", "--transaction", job.event.rawValue, "--json", "--data-dir", f.dataDir])
        #expect(tx.status == 0, "stderr: \(tx.stderr)")
        let traces = try JSONDecoder().decode([LedgerTrace].self, from: Data(tx.stdout.utf8))
        #expect(Set(traces.map(\.job.id)) == Set(both.map(\.id.rawValue)))
        #expect(traces.allSatisfy { $0.job.status == .sent && $0.attempts.count == 1 && $0.attempts[0].status == 202 })

        let unknown = try await f.chapar(["deliveries", "show", "--transaction", "TX-none", "--data-dir", f.dataDir])
        #expect(unknown.status == 66, "stderr: \(unknown.stderr)")

        // A second run finds nothing to do.
        let again = try await f.deliver()
        #expect(again.status == 0, "stderr: \(again.stderr)")
        #expect(again.stderr.contains("deliver: sms: sent 0"), "stderr: \(again.stderr)")
        #expect(try f.posts().count == 200, "the second run sent again")
    }

    // MARK: 3. SIGKILL mid-flight, then restart

    @Test func killedMidFlightThenRestartedDeliversEveryJob() async throws {
        let f = try await DeliverFixture.start()
        let maxInFlight = 32
        try f.writeConfig(Configs.single(url: f.gateway.url("/slow/300"), maxInFlight: maxInFlight))
        let jobs = TestJob.batch(300, tag: "kill")
        try await f.produce(jobs)

        let p = try f.startDeliver()
        defer { p.kill() }
        let reached = try await offPool { p.wait(upTo: .seconds(60)) { f.gateway.requestCount() >= 100 } }
        #expect(reached, "the gateway never saw 100 requests: \(p.stderr)")
        p.kill()
        #expect(p.waitForExit(timeout: .seconds(5)) == 128 + SIGKILL)
        let beforeRestart = try f.posts()
        print("SIGKILL after \(beforeRestart.count) requests had reached the gateway")
        #expect(beforeRestart.count < jobs.count, "everything was sent before the kill; the test proves nothing")

        let run = try await f.deliver()
        #expect(run.status == 0, "stderr: \(run.stderr)")

        // Every job is final (sent) in the ledger, and nothing else is there.
        let all = try await f.ledger([])
        #expect(all.count == jobs.count)
        #expect(all.allSatisfy { $0.status == .sent }, "\(Dictionary(grouping: all, by: \.status).mapValues(\.count))")
        #expect(Set(all.map(\.id)) == Set(jobs.map(\.id.rawValue)))

        // Every job reached the gateway at least once, always under its own id.
        let posts = try f.posts()
        let byKey = Dictionary(grouping: posts) { $0.header("Idempotency-Key") ?? "" }
        #expect(Set(byKey.keys) == Set(jobs.map(\.id.rawValue)), "requests without a job's id as their Idempotency-Key")
        let duplicated = byKey.filter { $0.value.count > 1 }
        let duplicates = duplicated.values.reduce(0) { $0 + $1.count - 1 }
        print("SIGKILL restart: \(posts.count) requests for \(jobs.count) jobs; \(duplicated.count) jobs sent more than once (\(duplicates) duplicate requests)")
        // A duplicate carries the same job: same key, same body.
        for (_, requests) in duplicated { #expect(Set(requests.map(\.body)).count == 1) }
        // The bound. A job is sent again after the restart only if the killed process handed it to
        // the gateway but its `sent` row never reached the ledger database: (a) its request was in
        // flight at the kill — at most max-in-flight (32) — or (b) its answer had come but the row
        // still sat in the ledger writer's queue, which commits each batch as soon as it is queued
        // (not per commit-interval), so it holds at most about one in-flight window more (32).
        // Offsets committed late (every commit-interval) cause no sends: the restart re-reads those
        // jobs, finds them final in the ledger and skips them. Hence ≤ 2 × max-in-flight = 64.
        #expect(duplicates <= 2 * maxInFlight, "\(duplicates) duplicate requests")
        #expect(duplicated.count <= maxInFlight * 2)
        // Only jobs the first process had started can be duplicated.
        let firstKeys = Set(beforeRestart.compactMap { $0.header("Idempotency-Key") })
        #expect(Set(duplicated.keys).isSubset(of: firstKeys))
    }

    // MARK: 4. SIGTERM drains

    @Test func sigtermFinishesInFlightRequestsAndRecordsThem() async throws {
        let f = try await DeliverFixture.start()
        try f.writeConfig(Configs.single(url: f.gateway.url("/slow/500"), maxInFlight: 16))
        let jobs = TestJob.batch(120, tag: "term")
        try await f.produce(jobs)

        let p = try f.startDeliver()
        defer { p.kill() }
        let reached = try await offPool { p.wait(upTo: .seconds(60)) { f.gateway.requestCount() >= 24 } }
        #expect(reached, "the gateway never saw 24 requests: \(p.stderr)")
        let signalled = ContinuousClock.now
        p.signal(SIGTERM)
        let status = try await offPool { p.waitForExit(timeout: .seconds(10)) }
        let took = ContinuousClock.now - signalled
        print("SIGTERM drain took \(took)")
        #expect(status == 0, "exit \(String(describing: status)) after \(took); stderr: \(p.stderr)")

        // Everything the gateway received was recorded as sent (in-flight requests finished), and
        // nothing else was.
        let received = Set(try f.posts().compactMap { $0.header("Idempotency-Key") })
        #expect(!received.isEmpty && received.count < jobs.count, "\(received.count) received before the drain ended")
        let sent = try await f.ledger(["--status", "sent"])
        #expect(Set(sent.map(\.id)) == received)
        #expect(try await f.ledger([]).count == received.count, "jobs recorded in another state")
        #expect(p.stderr.contains("deliver: sms: sent \(received.count),"), "stderr: \(p.stderr)")

        // A restart delivers the rest, and none of the first ones again.
        let run = try await f.deliver()
        #expect(run.status == 0, "stderr: \(run.stderr)")
        #expect(run.stderr.contains("deliver: sms: sent \(jobs.count - received.count),"), "stderr: \(run.stderr)")
        let posts = try f.posts()
        #expect(posts.count == jobs.count, "\(posts.count) requests for \(jobs.count) jobs")
        #expect(Set(posts.compactMap { $0.header("Idempotency-Key") }) == Set(jobs.map(\.id.rawValue)))
        #expect(try await f.ledger(["--status", "sent"]).count == jobs.count)
    }

    // MARK: 5. Dead letters and their replay

    @Test func deadLettersAreListedOnTheDeadTopicAndReplayedWithTheirIDs() async throws {
        let f = try await DeliverFixture.start()
        let failing = Configs.single(url: f.gateway.url("/status/500"),
                                     extra: "    retry: {attempts: 2, backoff: 50ms}\n    breaker: {failures: 1000}\n")
        try f.writeConfig(failing)
        let jobs = TestJob.batch(10, tag: "dead")
        let ids = Set(jobs.map(\.id.rawValue))
        try await f.produce(jobs)

        let run = try await f.deliver()
        #expect(run.status == 0, "stderr: \(run.stderr)")
        #expect(run.stderr.contains("deliver: sms: sent 0, retries 10, dead 10"), "stderr: \(run.stderr)")
        let failed = try f.posts()
        #expect(failed.count == 20, "two attempts per job")
        #expect(failed.allSatisfy { $0.path == "/status/500" })

        let dead = try await f.chapar(["deliveries", "dead", "list", "--json", "--data-dir", f.dataDir])
        #expect(dead.status == 0, "stderr: \(dead.stderr)")
        let deadJobs = try JSONDecoder().decode([LedgerJob].self, from: Data(dead.stdout.utf8))
        #expect(Set(deadJobs.map(\.id)) == ids)
        #expect(deadJobs.allSatisfy { $0.status == .dead && $0.attempts == 2 && ($0.reason ?? "").contains("500") }, "\(deadJobs.map(\.reason))")

        let topic = try await f.chapar(["log", "consume", "notify.dead", "--from-beginning", "--exit-at-end", "--json", "--data-dir", f.dataDir])
        #expect(topic.status == 0, "stderr: \(topic.stderr)")
        struct Line: Decodable { let key: String?; let value: String }
        let letters = try topic.stdout.split(separator: "\n").map { try JSONDecoder().decode(Line.self, from: Data($0.utf8)) }
        #expect(letters.count == jobs.count)
        let letterIDs = Set(letters.compactMap { try? JobCodec.decode(Array($0.value.utf8)).id.rawValue })
        #expect(letterIDs == ids, "dead letters: \(topic.stdout)")
        #expect(Set(letters.compactMap(\.key)) == Set(jobs.map(\.customer.rawValue)))

        // The gateway is fixed: replay, and the same jobs go out under the same ids.
        try f.writeConfig(Configs.single(url: f.gateway.url("/ok")))
        let replay = try await f.chapar(["deliveries", "dead", "replay", "--channel", "sms", "--data-dir", f.dataDir])
        #expect(replay.status == 0, "stderr: \(replay.stderr)")
        #expect(replay.stdout.contains("replayed 10 dead jobs"), "\(replay.stdout)")
        #expect(try await f.ledger(["--status", "dead"]).isEmpty, "replayed jobs are still dead")
        #expect(try await f.ledger(["--status", "scheduled"]).count == jobs.count)

        let again = try await f.deliver()
        #expect(again.status == 0, "stderr: \(again.stderr)")
        #expect(again.stderr.contains("deliver: sms: sent 10,"), "stderr: \(again.stderr)")
        let sent = try await f.ledger(["--status", "sent"])
        #expect(Set(sent.map(\.id)) == ids)
        #expect(sent.allSatisfy { $0.attempts == 3 }, "\(sent.map(\.attempts))")
        let ok = try f.posts().filter { $0.path == "/ok" }
        #expect(ok.count == jobs.count)
        #expect(Set(ok.compactMap { $0.header("Idempotency-Key") }) == ids)
    }

    // MARK: 6. Retry-After, breaker and failover

    /// A 429 with Retry-After: 1 is honoured over the 50 ms backoff, and the reason names the 429.
    @Test func retryAfterIsHonoured() async throws {
        let f = try await DeliverFixture.start()
        try f.writeConfig(Configs.single(url: f.gateway.url("/retry-after/1"),
                                         extra: "    retry: {attempts: 2, backoff: 50ms}\n    breaker: {failures: 1000}\n"))
        let jobs = TestJob.batch(6, tag: "429")
        try await f.produce(jobs)
        let run = try await f.deliver()
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let byKey = Dictionary(grouping: try f.posts()) { $0.header("Idempotency-Key") ?? "" }
        #expect(Set(byKey.keys) == Set(jobs.map(\.id.rawValue)))
        for (key, requests) in byKey {
            #expect(requests.count == 2, "\(key): \(requests.count) requests")
            if requests.count == 2 {
                let gap = requests[1].t - requests[0].t
                #expect(gap >= 950, "\(key): retried after \(gap) ms, not after Retry-After: 1")
            }
        }
        let dead = try await f.ledger(["--status", "dead"])
        #expect(dead.count == jobs.count)
        #expect(dead.allSatisfy { ($0.reason ?? "").contains("429") }, "\(dead.map(\.reason))")
    }

    /// The primary answers 503: after two failures its breaker opens and every job, including
    /// those that failed on the primary, is sent through the failover.
    @Test func breakerOpensAndJobsGoThroughTheFailover() async throws {
        let f = try await DeliverFixture.start()
        let maxInFlight = 8
        try f.writeConfig("""
            delivery:
              commit-interval: 100ms
            channels:
              sms:
                gateway: primary
            gateways:
              primary:
                type: http-sms
                url: \(f.gateway.url("/status/503"))
                authorization: {env: \(DeliverFixture.secretVariable)}
                max-in-flight: \(maxInFlight)
                retry: {attempts: 5, backoff: 50ms}
                breaker: {failures: 2, open-for: 10s}
                failover: backup
              backup:
                type: http-sms
                url: \(f.gateway.url("/ok/backup"))
                authorization: {env: \(DeliverFixture.secretVariable)}

            """)
        let jobs = TestJob.batch(40, tag: "failover")
        try await f.produce(jobs)
        let run = try await f.deliver()
        #expect(run.status == 0, "stderr: \(run.stderr)")
        #expect(run.stderr.contains("gateways: primary, backup"), "stderr: \(run.stderr)")

        let sent = try await f.ledger(["--status", "sent"])
        #expect(Set(sent.map(\.id)) == Set(jobs.map(\.id.rawValue)))
        #expect(sent.allSatisfy { $0.gateway == "backup" }, "\(Dictionary(grouping: sent, by: { $0.gateway ?? "-" }).mapValues(\.count))")

        let posts = try f.posts()
        let primary = posts.filter { $0.path == "/status/503" }
        let backup = posts.filter { $0.path == "/ok/backup" }
        // Only requests started before the breaker opened reached the primary: at most one in-flight window.
        #expect((2...maxInFlight).contains(primary.count), "\(primary.count) requests to the primary")
        #expect(backup.count == jobs.count)
        #expect(Set(backup.compactMap { $0.header("Idempotency-Key") }) == Set(jobs.map(\.id.rawValue)))

        // A job that failed on the primary shows both attempts.
        let key = try #require(primary.first?.header("Idempotency-Key"))
        let show = try await f.chapar(["deliveries", "show", key, "--json", "--data-dir", f.dataDir])
        let trace = try #require(try JSONDecoder().decode([LedgerTrace].self, from: Data(show.stdout.utf8)).first)
        #expect(trace.attempts.map(\.gateway) == ["primary", "backup"], "\(trace.attempts)")
        #expect(trace.attempts.first?.status == 503)
    }
}

// MARK: - Support

/// Configuration files for the tests.
enum Configs {
    /// One SMS gateway, `primary`, of type http-sms at `url`, its authorization from the environment.
    static func single(url: String, maxInFlight: Int = 32, extra: String = "") -> String {
        """
        delivery:
          commit-interval: 100ms
        channels:
          sms:
            gateway: primary
        gateways:
          primary:
            type: http-sms
            url: \(url)
            authorization: {env: \(DeliverFixture.secretVariable)}
            max-in-flight: \(maxInFlight)

        """ + extra
    }
}

/// A job as the notifier writes it on notify.sms (docs/events.md), keyed by customer.
struct TestJob: Sendable {
    let id: JobID
    let event: EventID
    let customer: CustomerID
    let address: String
    let text: String

    /// `count` jobs; each transaction (`TX-<tag>-<k>`) notifies two customers.
    static func batch(_ count: Int, tag: String) -> [TestJob] {
        (0..<count).map { n in
            let event = try! EventID("TX-\(tag)-\(n / 2)")  // literal ids: always valid
            let customer = try! CustomerID("C\(String(format: "%07d", n))")
            return TestJob(id: JobID(event: event, customer: customer, channel: .sms), event: event, customer: customer,
                           address: "+98912\(String(format: "%07d", n))", text: "Debit \(n) IRR from account 0001")
        }
    }

    /// `KEY|JSON` for `chapar log produce --key-separator '|'`.
    var line: String {
        """
        \(customer)|{"id":"\(id)","event":"\(event)","customer":"\(customer)","channel":"sms","priority":"normal","kind":"debit",\
        "address":"\(address)","language":"en","content":{"text":"\(text)","encoding":"gsm7","segments":1},"createdAt":1790000000000}
        """
    }
}

/// A scratch directory (configuration, data directory, job files) and a fault gateway, both removed
/// when released.
final class DeliverFixture: Sendable {
    static let secretVariable = "CHAPAR_DELIVER_CLI_TEST_AUTH"
    static let secret = "Bearer cli-test-token-7f3a"

    let root: String
    let gateway: FaultGateway
    var dataDir: String { root + "/data" }
    var configPath: String { root + "/chapar.yaml" }
    private var environment: [String: String] { [Self.secretVariable: Self.secret] }

    private init(root: String, gateway: FaultGateway) {
        self.root = root
        self.gateway = gateway
    }

    static func start() async throws -> DeliverFixture {
        try await offPool { DeliverFixture(root: TestPaths.temporaryDirectory("deliver-cli"), gateway: try FaultGateway.start()) }
    }

    deinit {
        gateway.stop()
        TestPaths.removePeerDirectory(root)
    }

    func writeConfig(_ text: String) throws {
        try text.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// `chapar args…` to completion (bounded by `timeout`).
    func chapar(_ args: [String], stdinFile: String? = nil, timeout: Duration = .seconds(60)) async throws -> PeerCommandResult {
        let environment = environment
        return try await offPool { try ChaparCLI.run(args, stdinFile: stdinFile, environment: environment, timeout: timeout) }
    }

    /// `chapar deliver run --until-idle …` to completion.
    func deliver(untilIdle: Double = 1, timeout: Duration = .seconds(90)) async throws -> PeerCommandResult {
        try await chapar(["deliver", "run", "--data-dir", dataDir, "--config", configPath, "--until-idle", String(untilIdle)], timeout: timeout)
    }

    /// `chapar deliver run` in the background (until a signal).
    func startDeliver() throws -> ChaparProcess {
        try ChaparCLI.start(["deliver", "run", "--data-dir", dataDir, "--config", configPath], environment: environment)
    }

    /// Creates notify.sms (4 partitions) unless it exists, and appends `jobs` with `chapar log produce`.
    func produce(_ jobs: [TestJob]) async throws {
        try await produce(lines: jobs.map(\.line), to: "notify.sms")
    }

    /// Creates `topic` (4 partitions) unless it exists, and appends `KEY|JSON` lines with `chapar log produce`.
    func produce(lines: [String], to topic: String) async throws {
        let create = try await chapar(["log", "create", topic, "--partitions", "4", "--data-dir", dataDir])
        try #require(create.status == 0 || create.status == 73, "log create: \(create.stderr)")
        let file = root + "/jobs-\(UUID().uuidString.prefix(8)).txt"
        try lines.map { $0 + "\n" }.joined().write(toFile: file, atomically: true, encoding: .utf8)
        let produce = try await chapar(["log", "produce", topic, "--key-separator", "|", "--data-dir", dataDir], stdinFile: file)
        try #require(produce.status == 0, "log produce: \(produce.stderr)")
        try #require(produce.stderr.contains("appended \(lines.count) record(s) to \(topic)"), "log produce: \(produce.stderr)")
    }

    /// `chapar deliveries list --json` with `filter` (e.g. `--status sent`), every row.
    func ledger(_ filter: [String]) async throws -> [LedgerJob] {
        let r = try await chapar(["deliveries", "list", "--json", "--limit", "100000", "--data-dir", dataDir] + filter)
        try #require(r.status == 0, "deliveries list: \(r.stderr)")
        return try JSONDecoder().decode([LedgerJob].self, from: Data(r.stdout.utf8))
    }

    /// The delivery requests the gateway received (POSTs; `deliver run`'s reachability probe is a GET).
    func posts() throws -> [GatewayRequest] {
        try gateway.requests().filter { $0.method == "POST" }
    }
}

extension FaultGateway {
    /// How many requests are in the log so far (complete lines only; safe while it is written).
    func requestCount() -> Int {
        guard let data = FileManager.default.contents(atPath: logPath) else { return 0 }
        return data.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
    }
}

/// A loopback port nothing listens on (bound, then released).
func closedLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw PeerError("socket: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw PeerError("bind: \(String(cString: strerror(errno)))") }
    return Int(UInt16(bigEndian: address.sin_port))
}
