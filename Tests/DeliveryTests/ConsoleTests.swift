import Delivery
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The console in a real browser: the real `chapar serve --demo` binary on loopback, each page
/// loaded by headless Chromium (`--dump-dom` and `--screenshot` in one run), and the figures in
/// the rendered DOM compared with what the API answers around that run. The screenshots stay in
/// `.build/test-artifacts/console/` for a person to look at.
@Suite(.serialized, .timeLimit(.minutes(6)))
struct ConsoleTests {
    @Test func everyPageRendersTheServersFiguresInARealBrowser() async throws {
        let browser = try Browser.locate()
        let server = try await ConsoleServer.start()
        defer { server.stop() }

        // Overview: the event count lies between the API's before and after the browser ran.
        let eventsBefore = try await server.eventCount()
        let overview = try await browser.open(server, page: "overview")
        let eventsAfter = try await server.eventCount()
        let shownEvents = try #require(overview.number(id: "ov-events"), "no #ov-events in the overview")
        #expect(eventsBefore > 0, "the demo ingested nothing")
        #expect((eventsBefore...eventsAfter).contains(shownEvents), "overview shows \(shownEvents) events; the API said \(eventsBefore) then \(eventsAfter)")
        #expect(overview.number(id: "ov-notifier-lag") != nil)
        #expect(overview.number(id: "ov-events-rate") != nil)
        for channel in ["sms", "im", "email", "fax"] {
            #expect(overview.html.contains(#"<tr data-channel="\#(channel)">"#), "no \(channel) row in the overview")
        }
        #expect(overview.row(#"data-channel="sms""#)?.field("p99") != nil, "no p99 latency for sms")
        #expect(overview.html.contains("<polyline"), "no chart in the overview")

        // Topics: every topic with its partition count.
        let topics = try await server.json("/v1/topics") as? [[String: Any]] ?? []
        let topicsPage = try await browser.open(server, page: "topics")
        #expect(topics.count >= 3)
        for topic in topics {
            let name = topic["name"] as? String ?? ""
            let partitions = (topic["partitions"] as? [Any])?.count
            let row = topicsPage.row(#"data-topic="\#(name)""#)
            #expect(row?.field("partitions") == partitions, "topic \(name): the page shows \(String(describing: row?.field("partitions"))) partitions, the API \(String(describing: partitions))")
        }

        // One partition's records from the oldest offset: the same records, Persian readable.
        let transactions = try #require(topics.first { $0["name"] as? String == "transactions" })
        let partition = try #require((transactions["partitions"] as? [[String: Any]])?.max { ($0["endOffset"] as? Int ?? 0) < ($1["endOffset"] as? Int ?? 0) })
        let p = partition["partition"] as? Int ?? 0, start = partition["startOffset"] as? Int ?? 0
        let records = (try await server.json("/v1/topics/transactions/records?partition=\(p)&offset=\(start)&limit=5") as? [String: Any])?["records"] as? [[String: Any]] ?? []
        #expect(!records.isEmpty)
        let topicPage = try await browser.open(server, page: "topic", query: "topic=transactions&partition=\(p)&offset=\(start)&limit=10", shot: "topic-transactions")
        for record in records {
            let offset = record["offset"] as? Int ?? -1
            #expect(topicPage.html.contains(#"data-offset="\#(offset)""#), "record \(offset) is not on the page")
            let id = (record["headers"] as? [String: String])?["chapar.id"] ?? "?"
            #expect(topicPage.html.contains(id), "event \(id) is not on the page")
            let value = (try? JSONSerialization.jsonObject(with: Data((record["value"] as? String ?? "").utf8))) as? [String: Any]
            if let description = value?["description"] as? String {
                #expect(topicPage.html.contains(description), "the Persian description '\(description)' is not shown as text")
            }
        }

        // The same record found by its append time (binary search over offsets) and by its key.
        let probe = try #require(records.last)
        let probeOffset = probe["offset"] as? Int ?? -1, probeID = (probe["headers"] as? [String: String])?["chapar.id"] ?? "?"
        let at = ISO8601DateFormatter.withMilliseconds.string(from: Date(timeIntervalSince1970: Double(probe["timestamp"] as? Int ?? 0) / 1000))
        let byTime = try await browser.open(server, page: "topic", query: "topic=transactions&partition=\(p)&at=\(at)&limit=10", shot: "topic-by-time")
        let found = try #require(byTime.tag(id: "time-found"), "no search result for \(at)")
        #expect(found.contains(#"data-offset="\#(probeOffset)""#) || byTime.html.contains(#"data-offset="\#(probeOffset)""#),
                "the first record at or after \(at) should be offset \(probeOffset): \(found)")
        let key = try #require(probe["key"] as? String)
        let byKey = try await browser.open(server, page: "topic", query: "topic=transactions&key=\(key)", shot: "topic-by-key")
        #expect(byKey.html.contains(probeID), "the search for key \(key) did not find \(probeID)")
        #expect(!byKey.values(of: "data-count").contains("0"))

        // Consumer groups: each group, and the notifier's partitions with their lag.
        let groups = try await server.json("/v1/groups") as? [[String: Any]] ?? []
        let groupsPage = try await browser.open(server, page: "groups")
        #expect(!groups.isEmpty)
        for group in groups {
            let name = group["group"] as? String ?? ""
            let section = groupsPage.section(#"<section class="panel" data-group="\#(name)""#)
            #expect(section != nil, "group \(name) is not on the page")
            let partitions = (group["partitions"] as? [Any])?.count ?? -1
            #expect(section?.components(separatedBy: "data-partition=").count == partitions + 1, "group \(name): \(partitions) partitions in the API")
        }

        // Channels and gateways: breaker state and counters.
        let gatewaysBefore = try await server.json("/v1/gateways") as? [[String: Any]] ?? []
        let gatewaysPage = try await browser.open(server, page: "gateways")
        let gatewaysAfter = try await server.json("/v1/gateways") as? [[String: Any]] ?? []
        #expect(gatewaysBefore.count == 2, "the demo has an SMS and an IM gateway")
        for gateway in gatewaysBefore {
            let name = gateway["name"] as? String ?? ""
            let row = gatewaysPage.row(#"data-gateway="\#(name)""#)
            #expect(row?.html.contains(">\(gateway["breaker"] as? String ?? "?")<") == true, "gateway \(name): breaker not shown")
            let after = gatewaysAfter.first { $0["name"] as? String == name }?["accepted"] as? Int ?? Int.max
            let shown = row?.field("accepted") ?? -1
            #expect(((gateway["accepted"] as? Int ?? 0)...after).contains(shown), "gateway \(name): \(shown) accepted shown")
            #expect(row?.field("rate") == gateway["rate"] as? Int)
        }

        // Deliveries: every job on the page is one the ledger lists.
        let deliveriesPage = try await browser.open(server, page: "deliveries")
        let ledgerJobs = Set(((try await server.json("/v1/deliveries?limit=1000") as? [String: Any])?["jobs"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String })
        let shownJobs = deliveriesPage.values(of: "data-job")
        #expect(!shownJobs.isEmpty, "no job on the deliveries page")
        #expect(Set(shownJobs).isSubset(of: ledgerJobs), "jobs on the page the ledger does not list: \(Set(shownJobs).subtracting(ledgerJobs))")

        // Dead letters: the count and the replay buttons' panel.
        let deadBefore = try await server.deadCount()
        let deadPage = try await browser.open(server, page: "dead")
        let deadAfter = try await server.deadCount()
        let shownDead = try #require(deadPage.number(id: "dead-total"), "no #dead-total")
        #expect((min(deadBefore, deadAfter)...max(deadBefore, deadAfter)).contains(shownDead))
        #expect(deadPage.html.contains(#"id="replay""#))

        // A transaction's trace: the event on the log and every job the ledger has for it.
        let sent = (try await server.json("/v1/deliveries?status=sent&channel=sms&limit=50") as? [String: Any])?["jobs"] as? [[String: Any]] ?? []
        let event = try #require(sent.last?["event"] as? String, "no sent SMS job to trace")
        let trace = try #require(try await server.json("/v1/transactions/\(event)") as? [String: Any])
        let traceJobs = (trace["jobs"] as? [[String: Any]] ?? []).compactMap { ($0["job"] as? [String: Any])?["id"] as? String }
        let tracePage = try await browser.open(server, page: "trace", query: "tx=\(event)", shot: "trace-transaction")
        #expect(!traceJobs.isEmpty)
        for job in traceJobs { #expect(tracePage.html.contains(#"data-job="\#(job)""#), "job \(job) of \(event) is not in the trace") }
        #expect(tracePage.html.contains("attempt 1 → demo-sms: accepted"), "the SMS attempt is not in the trace")
        #expect(tracePage.tag(id: "trace-event")?.contains("data-offset=") == true, "the event on the log was not found")
        #expect(try await browser.open(server, page: "trace", shot: "trace").html.contains("Recent transactions"))

        // Customer lookup: the Persian name as text.
        let customer = try #require(try await server.json("/v1/customers/C0000021") as? [String: Any])
        let customerPage = try await browser.open(server, page: "customers", query: "id=C0000021", shot: "customer")
        #expect(customerPage.text(id: "customer-name") == customer["name"] as? String, "the customer's name differs from the API's \(customer["name"] ?? "")")
        let customersPage = try await browser.open(server, page: "customers")
        #expect(customersPage.number(id: "customer-total") == 1000, "the demo seeds 1,000 customers")

        // Demo inbox: what the gateways received, in Persian.
        let receivedBefore = try await server.json("/v1/demo/inbox") as? [String: Any]
        let inbox = try await browser.open(server, page: "inbox")
        let receivedAfter = try await server.json("/v1/demo/inbox") as? [String: Any]
        let shownReceived = try #require(inbox.number(id: "inbox-received"))
        let before = receivedBefore?["received"] as? Int ?? 0, after = receivedAfter?["received"] as? Int ?? 0
        #expect(before <= shownReceived && shownReceived <= after, "the inbox shows \(shownReceived) received; the API said \(before) then \(after)")
        let texts = (receivedAfter?["messages"] as? [[String: Any]] ?? []).compactMap { $0["text"] as? String }.filter { $0.contains("بانک چاپار") }
        #expect(!texts.isEmpty, "the demo sent no Persian message")
        #expect(texts.contains { inbox.html.contains($0) }, "no Persian message from the API appears whole on the page")
        #expect(inbox.html.contains(#"<div dir="auto" class="msg-text">بانک چاپار"#), "Persian messages do not get their own direction")

        // The token never shows in the page or its address; each page names itself when loaded.
        for page in [overview, topicsPage, topicPage, groupsPage, gatewaysPage, deliveriesPage, deadPage, tracePage, customerPage, inbox] {
            #expect(!page.html.contains(server.token), "the token is in the DOM of \(page.name)")
            #expect(page.html.contains(#"data-route="page=\#(page.name)"#), "\(page.name): the address still carries more than the page (token?)")
        }
    }

    @Test func deadLettersAreListedWithTheirReasonAndAReplayButtonPerChannel() async throws {
        let browser = try Browser.locate()
        // SMS goes to a gateway that answers 404 (a path of the server itself): every SMS job dies at once.
        let server = try await ConsoleServer.start { port in
            """
            channels:
              sms: {gateway: refusing}
            gateways:
              refusing:
                type: http-sms
                url: http://127.0.0.1:\(port)/console/no-such-gateway
            """
        }
        defer { server.stop() }
        _ = try await server.eventually("SMS jobs are dead") { try await server.deadCount() >= 5 ? true : nil }
        let before = try await server.deadCount()
        let page = try await browser.open(server, page: "dead", shot: "dead-letters-with-jobs")
        let after = try await server.deadCount()
        let shown = try #require(page.number(id: "dead-total"))
        #expect(before <= shown && shown <= after, "the page shows \(shown) dead letters; the API said \(before) then \(after)")
        #expect(page.html.contains(#"data-replay="sms""#), "no replay button for sms")
        #expect(page.html.contains(#"data-replay="all""#))
        let rows = page.values(of: "data-job")
        #expect(!rows.isEmpty)
        #expect(page.html.contains("refusing answered 404"), "the reason is not shown")

        // The trace of a dead job says why it was given up.
        let dead = (try await server.json("/v1/dead-letters?channel=sms&limit=1") as? [String: Any])?["jobs"] as? [[String: Any]] ?? []
        let event = try #require(dead.first?["event"] as? String)
        let trace = try await browser.open(server, page: "trace", query: "tx=\(event)", shot: "trace-dead-letter")
        #expect(trace.html.contains("gave up: dead"), "the trace does not say the job was given up")
        #expect(trace.html.contains("attempt 1 → refusing: rejected (404)"), "the refused attempt is not in the trace")
    }

    @Test func withoutAGoodTokenThePagesAskForOneAndShowNoData() async throws {
        let browser = try Browser.locate()
        let server = try await ConsoleServer.start()
        defer { server.stop() }
        // The shell holds no data and is served without a token, under a strict policy.
        let shell = try await server.get("/console/")
        #expect(shell.status == 200)
        let policy = shell.headers.first { $0.name.lowercased() == "content-security-policy" }?.value ?? ""
        #expect(policy.contains("default-src 'self'") && policy.contains("frame-ancestors 'none'"), "CSP: \(policy)")
        #expect(!String(decoding: shell.body, as: UTF8.self).contains("<script>"), "an inline script the CSP would block")

        let none = try await browser.open(server, page: "topics", token: nil, shot: "no-token")
        #expect(none.loaded == "token", "loaded: \(String(describing: none.loaded))")
        #expect(!none.html.contains("data-topic="), "topics shown without a token")
        #expect(!none.html.contains(#"id="token-panel" class="token-panel" hidden"#), "the token form is hidden")
        let wrong = try await browser.open(server, page: "overview", token: "not-the-token", shot: nil)
        #expect(wrong.loaded == "token")
        #expect(wrong.html.contains("wrong bearer token"), "the API's refusal is not shown")
        #expect(!wrong.html.contains(#"id="ov-events""#))
    }
}

/// Headless Chromium, as scripts/install-deps.sh installs it (Debian's `chromium`).
struct Browser {
    let executable: String
    static let artifacts = TestPaths.repositoryRoot + "/.build/test-artifacts/console"

    /// `$CHAPAR_CHROMIUM` when set (only that), else `chromium` / `chromium-browser` on PATH. A missing browser fails
    /// the test: the console would otherwise go untested without anyone noticing.
    static func locate() throws -> Browser {
        let environment = ProcessInfo.processInfo.environment
        var candidates: [String] = []
        if let chosen = environment["CHAPAR_CHROMIUM"] {
            candidates = [chosen]
        } else {
            for dir in (environment["PATH"] ?? "/usr/bin").split(separator: ":") { candidates += ["\(dir)/chromium", "\(dir)/chromium-browser"] }
        }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw PeerError("chromium is not installed, so the console cannot be tested: run scripts/install-deps.sh (it installs Debian's chromium package), or set CHAPAR_CHROMIUM")
        }
        try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
        return Browser(executable: found)
    }

    /// Loads `/console/#page=PAGE&QUERY&token=…` and returns the DOM once the page's scripts
    /// have run (virtual time: timers and fetches complete without waiting for the wall clock),
    /// keeping a 1280×900 screenshot named `shot` (default: the page). Retried once with more
    /// virtual time if the page had not drawn its data (a loaded machine).
    func open(_ server: ConsoleServer, page: String, query: String = "", token: String? = "", shot: String? = "") async throws -> RenderedPage {
        let fragment = (["page=\(page)"] + (query.isEmpty ? [] : [query]) + (token.map { ["token=\($0.isEmpty ? server.token : $0)"] } ?? [])).joined(separator: "&")
        let url = server.baseURL + "/console/#" + fragment
        let name = shot.map { $0.isEmpty ? page : $0 }
        var rendered = RenderedPage(name: page, html: "")
        for budget in [6_000, 20_000] {
            let html = try await offPool { try run(url: url, budget: budget, screenshot: name.map { "\(Browser.artifacts)/\($0).png" }) }
            rendered = RenderedPage(name: page, html: html)
            if rendered.loaded == page || (token != "" && rendered.loaded == "token") { break }
        }
        if token == "" { #expect(rendered.loaded == page, "\(page) did not finish drawing: data-loaded=\(rendered.loaded ?? "none"); \(rendered.errors)") }
        if let name {
            let png = (try? Data(contentsOf: URL(fileURLWithPath: "\(Browser.artifacts)/\(name).png"))) ?? Data()
            #expect(png.count > 5_000 && png.starts(with: [0x89, 0x50, 0x4E, 0x47]), "no screenshot of \(page) in \(Browser.artifacts)")
        }
        return rendered
    }

    /// One Chromium run, at most 60 s; its whole process group is killed afterwards (helpers included).
    private func run(url: String, budget: Int, screenshot: String?) throws -> String {
        let scratch = TestPaths.temporaryDirectory("chromium")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let out = Glibc.open(scratch + "/dom.html", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        let err = Glibc.open(scratch + "/stderr", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        defer {
            if out >= 0 { close(out) }
            if err >= 0 { close(err) }
        }
        guard out >= 0, err >= 0 else { throw PeerError("cannot create output files in \(scratch)") }
        // The flags of /work/shared/PEERS.md §6: as root Chromium refuses to start without --no-sandbox.
        var arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--user-data-dir=\(scratch)/profile", "--virtual-time-budget=\(budget)", "--window-size=1280,900"]
        if let screenshot { arguments.append("--screenshot=\(screenshot)") }
        arguments += ["--dump-dom", url]
        let child = try ChildProcess(executable, arguments, stdout: out, stderr: err)
        let finished = child.waitForExit(timeout: .seconds(60))
        // The child leads its own process group: take its renderer and zygote helpers with it.
        _ = Glibc.kill(-child.pid, SIGKILL)
        let status = child.waitForExit()
        let html = (try? String(contentsOfFile: scratch + "/dom.html", encoding: .utf8)) ?? ""
        guard finished else { throw PeerError("chromium did not finish \(url) within 60 s") }
        guard status == 0, !html.isEmpty else {
            let stderr = (try? String(contentsOfFile: scratch + "/stderr", encoding: .utf8)) ?? ""
            throw PeerError("chromium exited \(status) on \(url): \(stderr.suffix(2000))")
        }
        return html
    }
}

/// The DOM Chromium dumped, with small readers for the ids and `data-*` attributes the console
/// gives its figures.
struct RenderedPage {
    let name: String
    let html: String

    /// `document.body.dataset.loaded`.
    var loaded: String? { firstMatch(#"<body[^>]*\bdata-loaded="([^"]*)""#) }
    /// Error boxes the page shows (for failure messages).
    var errors: [String] { matches(#"class="error[^"]*"[^>]*>([^<]*)<"#) }

    /// The opening tag of the element with `id`.
    func tag(id: String) -> String? { firstMatch(#"(<[a-z0-9]+[^>]*\bid="\#(id)"[^>]*>)"#) }
    /// The `data-value` of the element with `id`.
    func number(id: String) -> Int? {
        guard let tag = tag(id: id), let range = tag.range(of: #"data-value="(-?[0-9.]+)""#, options: .regularExpression) else { return nil }
        return Double(tag[range].dropFirst("data-value=\"".count).dropLast()).map { Int($0) }
    }
    /// The text of the element with `id` (no child elements).
    func text(id: String) -> String? { firstMatch(#"<[a-z0-9]+[^>]*\bid="\#(id)"[^>]*>([^<]*)<"#) }
    /// Every value of attribute `name`.
    func values(of name: String) -> [String] { matches(#"\b\#(name)="([^"]*)""#) }
    /// The table row whose opening tag carries `attribute` (e.g. `data-topic="transactions"`).
    func row(_ attribute: String) -> RenderedPage? {
        firstMatch(#"(<tr [^>]*\#(attribute)[^>]*>.*?</tr>)"#).map { RenderedPage(name: name, html: $0) }
    }
    /// From `opening` to the next `</section>`.
    func section(_ opening: String) -> String? {
        guard let start = html.range(of: opening), let end = html.range(of: "</section>", range: start.upperBound..<html.endIndex) else { return nil }
        return String(html[start.lowerBound..<end.upperBound])
    }
    /// In a row: the `data-value` of the cell with `data-field="field"`.
    func field(_ field: String) -> Int? {
        firstMatch(#"data-field="\#(field)"[^>]*data-value="(-?[0-9.]+)""#).flatMap { Double($0) }.map { Int($0) }
    }

    private func firstMatch(_ pattern: String) -> String? { matches(pattern, limit: 1).first }
    private func matches(_ pattern: String, limit: Int = .max) -> [String] {
        guard let regex = try? NSRegularExpression(pattern: pattern, options: [.dotMatchesLineSeparators]) else { return [] }
        let ns = html as NSString
        var found: [String] = []
        for m in regex.matches(in: html, range: NSRange(location: 0, length: ns.length)) where found.count < limit {
            found.append(ns.substring(with: m.range(at: 1)))
        }
        return found
    }
}

/// The real `chapar serve --demo` on a free loopback port, with the token it prints.
final class ConsoleServer: Sendable {
    let process: ChaparProcess
    let baseURL: String
    let token: String
    let root: String
    let engine = APITestClient.makeEngine()

    private init(process: ChaparProcess, baseURL: String, token: String, root: String) {
        self.process = process
        self.baseURL = baseURL
        self.token = token
        self.root = root
    }

    /// Starts it; `configuration(port)` is an optional YAML configuration for it.
    static func start(configuration: ((Int) -> String)? = nil) async throws -> ConsoleServer {
        let root = TestPaths.temporaryDirectory("console")
        let port = try closedLoopbackPort()
        var arguments = ["serve", "--demo", "--listen", "127.0.0.1:\(port)", "--data-dir", root + "/data",
                         "--templates", TestPaths.repositoryRoot + "/config/templates"]
        if let configuration {
            try configuration(port).write(toFile: root + "/chapar.yaml", atomically: true, encoding: .utf8)
            arguments += ["--config", root + "/chapar.yaml"]
        }
        let process = try ChaparCLI.start(arguments)
        let printed = try await offPool { process.wait(upTo: .seconds(90)) { process.stderr.contains("/console/#token=") } }
        guard printed, let line = process.stderr.split(separator: "\n").first(where: { $0.contains("console: ") }),
              let url = line.split(separator: " ").last, let hash = url.range(of: "/console/#token=") else {
            process.kill()
            throw PeerError("chapar serve --demo printed no console line within 90 s; stderr: \(process.stderr)")
        }
        let server = ConsoleServer(process: process, baseURL: String(url[..<hash.lowerBound]), token: String(url[hash.upperBound...]), root: root)
        // A few seconds of demo traffic, so that every page has something to show (with a
        // configuration of its own the test waits for what it needs).
        let deadline = ContinuousClock.now.advanced(by: .seconds(configuration == nil ? 60 : 0))
        while ContinuousClock.now < deadline {
            let inbox = try? await server.json("/v1/demo/inbox") as? [String: Any]
            if (inbox?["received"] as? Int ?? 0) >= 20 { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        return server
    }

    /// Kills the server (SIGKILL; the data directory is scratch) and removes its files.
    func stop() {
        process.kill()
        engine.shutdown()
        TestPaths.removePeerDirectory(root)
    }

    /// GET `path` with the token; the decoded JSON (throws on a non-200 answer).
    func json(_ path: String) async throws -> Any {
        let r = try await get(path)
        guard r.status == 200 else { throw PeerError("GET \(path): \(r.status) \(String(decoding: r.body, as: UTF8.self).prefix(500))") }
        return try JSONSerialization.jsonObject(with: Data(r.body))
    }

    /// GET `path` with the token, through libcurl.
    func get(_ path: String) async throws -> TransferResponse {
        try await APITestClient(baseURL: baseURL, engine: engine).call(.get, path, token: token)
    }

    /// Polls `probe` every 250 ms for up to 60 s until it returns a value.
    func eventually<T>(_ what: String, _ probe: () async throws -> T?) async throws -> T {
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while ContinuousClock.now < deadline {
            if let value = try await probe() { return value }
            try await Task.sleep(for: .milliseconds(250))
        }
        throw PeerError("timed out waiting until \(what)")
    }

    /// Records on `transactions` and `messages` (the overview's event count).
    func eventCount() async throws -> Int {
        (try await json("/v1/overview") as? [String: Any])?["events"] as? Int ?? -1
    }

    func deadCount() async throws -> Int {
        let counts = (try await json("/v1/dead-letters?limit=1") as? [String: Any])?["counts"] as? [String: [String: Int]] ?? [:]
        return counts.values.reduce(0) { $0 + ($1["dead"] ?? 0) }
    }
}

extension ISO8601DateFormatter {
    /// `2026-12-03T13:39:32.296Z`, as the console's time search takes it.
    static var withMilliseconds: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}
