import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One HylaFAX job as its queue file (`spool/sendq/qN` or `spool/doneq/qN`) describes it.
struct HylaFAXJob: Sendable, CustomStringConvertible {
    /// faxq's job states (the `state:` line); sendq jobs without a modem stay `ready` (faxstat's W).
    enum State: Int, Sendable {
        case suspended = 1, pending, sleeping, blocked, ready, active, done, failed
    }

    let id: Int
    /// `number:`, the dialstring as submitted.
    let number: String
    /// `state:`, nil when faxq wrote a value this type does not know.
    let state: State?
    /// `status:`, why the job last failed (empty while it waits), e.g. `Kill time expired`.
    let status: String
    /// The job's documents in the spool (absolute paths of files in `docq`), from its document lines
    /// such as `pdf:0::docq/doc12.pdf.1`.
    let documents: [String]
    /// Every `key:value` line, for anything else a test wants to see.
    let fields: [String: String]

    var description: String { "job \(id) to \(number): state \(state.map { "\($0)" } ?? fields["state"] ?? "?") '\(status)' \(documents)" }

    /// Parses a queue file; nil when it has no `jobid:` (a partly written file).
    init?(queueFile text: String, spool: String) {
        var fields: [String: String] = [:]
        var documents: [String] = []
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = String(line[..<colon]), value = String(line[line.index(after: colon)...])
            fields[key] = value
            // Document lines: `<type>:<dirnum>:<...>:docq/<file>` (type pdf, tiff, postscript…, `!` for
            // one still to be converted).
            if let path = value.split(separator: ":", omittingEmptySubsequences: false).last, path.hasPrefix("docq/") {
                documents.append(spool + "/" + path)
            }
        }
        guard let id = fields["jobid"].flatMap({ Int($0) }) else { return nil }
        self.id = id
        number = fields["number"] ?? ""
        state = fields["state"].flatMap { Int($0) }.flatMap(State.init(rawValue:))
        status = fields["status"] ?? ""
        self.documents = documents
        self.fields = fields
    }
}

/// HylaFAX (faxq + hfaxd, no modem) on a free loopback port with a private spool, via
/// scripts/peers/hylafax.sh, in a temp directory of its own. Starts in about 0.3 s.
///
/// Jobs submitted over hfaxd's client protocol queue in `sendq` and wait for a modem forever
/// (state ready, faxstat's W); with `JPARM LASTTIME 000001` faxq kills them and they move to
/// `doneq` as failed. Any user name logs in from 127.0.0.1 without a password.
final class HylaFAXPeer: Sendable {
    /// The peer's working directory (spool/, logs, pid files).
    let directory: String
    /// `127.0.0.1:<port>`, as sendfax -h and faxstat -h take it.
    let hostPort: String
    /// `ftp://127.0.0.1:<port>`: hfaxd speaks an FTP-like protocol (libcurl needs `--ftp-method nocwd`).
    let url: String
    let user: String
    /// The private spool: sendq/, doneq/, docq/, etc/, log/.
    let spool: String
    private let stopped = PeerLock(false)

    private static var script: String { TestPaths.peerScripts + "/hylafax.sh" }

    private init(directory: String, environment: [String: String]) throws {
        let file = directory + "/peer.env"
        self.directory = directory
        hostPort = try environment.required("HYLAFAX_HOST_PORT", in: file)
        url = try environment.required("HYLAFAX_URL", in: file)
        user = try environment.required("HYLAFAX_USER", in: file)
        spool = try environment.required("HYLAFAX_SPOOL", in: file)
    }

    deinit {
        stop()
        TestPaths.removePeerDirectory(directory)
    }

    /// Starts faxq and hfaxd and waits until hfaxd greets. Throws, telling to run
    /// scripts/install-deps.sh, when HylaFAX is not installed.
    static func start() throws -> HylaFAXPeer {
        for binary in ["/usr/sbin/faxq", "/usr/sbin/hfaxd"] where !FileManager.default.isExecutableFile(atPath: binary) {
            throw PeerError("HylaFAX is not installed (\(binary) is missing): run scripts/install-deps.sh")
        }
        return try startPeer("hylafax.sh", name: "hylafax", timeout: .seconds(60)) { try HylaFAXPeer(directory: $0, environment: $1) }
    }

    /// The jobs waiting in `sendq`, by id.
    func sendq() -> [HylaFAXJob] { jobs(in: "sendq") }

    /// The finished (done or failed) jobs in `doneq`, by id.
    func doneq() -> [HylaFAXJob] { jobs(in: "doneq") }

    /// Job `id` wherever it is now (sendq first).
    func job(_ id: Int) -> HylaFAXJob? {
        (sendq() + doneq()).first { $0.id == id }
    }

    /// Polls until job `id` is in doneq, at most `timeout`.
    func waitUntilDone(_ id: Int, timeout: Duration) throws -> HylaFAXJob {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            if let done = doneq().first(where: { $0.id == id }) { return done }
            if ContinuousClock.now > deadline {
                throw PeerError("HylaFAX job \(id) is not in doneq after \(timeout): \(job(id).map(\.description) ?? "no such job")")
            }
            usleep(200_000)
        }
    }

    /// Runs `faxstat -h <host:port> arguments…` (e.g. `-s` for sendq, `-d` for doneq) and returns
    /// what it printed.
    func faxstat(_ arguments: [String] = ["-s"]) throws -> String {
        let faxstat = "/usr/bin/faxstat"
        guard FileManager.default.isExecutableFile(atPath: faxstat) else {
            throw PeerError("\(faxstat) is missing: run scripts/install-deps.sh (Debian package hylafax-client)")
        }
        let result = try PeerCommand.run(faxstat, ["-h", hostPort] + arguments, timeout: .seconds(30))
        guard result.status == 0 else { throw PeerError("faxstat \(arguments) failed (exit \(result.status)): \(result.stderr)") }
        return result.stdout
    }

    /// Submits `document` for `number` with the curl CLI, as a test client independent of the code
    /// under test: store it in hfaxd's tmp/, then JNEW, the job parameters sendfax sends, JSUBM.
    /// `lastTime` is the kill time from now as HHMMSS (`000001` makes faxq fail the job). Returns
    /// the job id hfaxd answered `200 Job N submitted.` with.
    func submitWithCurl(_ document: String, number: String, lastTime: String = "000259") throws -> Int {
        let name = "tmp/chapar-\(UUID().uuidString).pdf"
        let commands = ["JNEW", "JPARM FROMUSER \(user)", "JPARM LASTTIME \(lastTime)", "JPARM MAXDIALS 12",
                        "JPARM DIALSTRING \(number)", "JPARM NOTIFYADDR \(user)@localhost", "JPARM VRES 196",
                        "JPARM PAGEWIDTH 209", "JPARM PAGELENGTH 296", "JPARM NOTIFY none", "JPARM DOCUMENT \(name)", "JSUBM"]
        // `-Q -CMD`: after the upload. The answers are only in the verbose trace, whose protocol
        // lines end in CR LF (one Character in Swift: split at isNewline, not at "\n").
        let result = try curl(["-T", document, "\(url)/\(name)"] + commands.flatMap { ["-Q", "-" + $0] })
        guard result.status == 0, let line = result.stderr.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("< 200 Job ") }),
              let id = line.split(separator: " ").dropFirst(3).first.flatMap({ Int($0) })
        else {
            throw PeerError("curl could not submit \(document) to hfaxd (exit \(result.status)):\n\(result.stderr)")
        }
        return id
    }

    /// hfaxd's job listing of `queue` (`sendq` or `doneq`) in `format` (JOBFMT, e.g. `%j|%a|%s`),
    /// fetched with the curl CLI: one line per job.
    func listWithCurl(_ queue: String, format: String) throws -> [String] {
        let result = try curl(["-Q", "JOBFMT \(format)", "\(url)/\(queue)/"])
        guard result.status == 0 else { throw PeerError("curl LIST \(queue) failed (exit \(result.status)):\n\(result.stderr)") }
        return result.stdout.split(whereSeparator: \.isNewline).map(String.init)
    }

    /// `JOB id` then `JPARM name` for each of `parameters` over hfaxd's protocol, with the curl CLI:
    /// the values from the `213` answers.
    func jobParametersWithCurl(_ id: Int, _ parameters: [String]) throws -> [String: String] {
        let result = try curl(["-Q", "JOB \(id)"] + parameters.flatMap { ["-Q", "JPARM \($0)"] } + ["--list-only", "\(url)/sendq/"])
        guard result.status == 0 else { throw PeerError("curl JOB \(id) failed (exit \(result.status)):\n\(result.stderr)") }
        let answers = result.stderr.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("< 213") }
        guard answers.count == parameters.count else {
            throw PeerError("hfaxd answered \(answers.count) of \(parameters.count) JPARM queries:\n\(result.stderr)")
        }
        var values: [String: String] = [:]
        for (name, answer) in zip(parameters, answers) { values[name] = String(answer.dropFirst(6)).trimmingCharacters(in: .whitespaces) }
        return values
    }

    /// `JOB id` then `JKILL` with the curl CLI: faxq moves the job to doneq as failed at once
    /// (`Job aborted by request`), as if it had given up dialling.
    func killWithCurl(_ id: Int) throws {
        let result = try curl(["-Q", "JOB \(id)", "-Q", "JKILL", "--list-only", "\(url)/sendq/"])
        guard result.status == 0 else { throw PeerError("curl JOB \(id) + JKILL failed (exit \(result.status)):\n\(result.stderr)") }
    }

    /// Stops hfaxd and faxq by PID and waits for them (bounded). Idempotent. The directory stays
    /// until the peer is released (and then too with CHAPAR_KEEP_PEERS=1).
    func stop() {
        let first = stopped.withLock { value -> Bool in
            defer { value = true }
            return !value
        }
        guard first else { return }
        _ = try? PeerCommand.run(Self.script, ["stop", directory], timeout: .seconds(60))
    }

    private func jobs(in queue: String) -> [HylaFAXJob] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: spool + "/" + queue)) ?? []
        return names.filter { $0.hasPrefix("q") && Int($0.dropFirst()) != nil }
            .compactMap { name in
                (try? String(contentsOfFile: spool + "/" + queue + "/" + name, encoding: .utf8)).flatMap { HylaFAXJob(queueFile: $0, spool: spool) }
            }
            .sorted { $0.id < $1.id }
    }

    private func curl(_ arguments: [String]) throws -> PeerCommandResult {
        let curl = "/usr/bin/curl"
        guard FileManager.default.isExecutableFile(atPath: curl) else { throw PeerError("\(curl) is missing: run scripts/install-deps.sh") }
        return try PeerCommand.run(curl, ["-sS", "-v", "--max-time", "30", "--ftp-method", "nocwd", "--user", "\(user):"] + arguments,
                                   timeout: .seconds(40))
    }

    private static func runScript(_ command: String, _ directory: String, timeout: Duration) throws {
        let result = try PeerCommand.run(script, [command, directory], timeout: timeout)
        guard result.status == 0 else {
            throw PeerError("scripts/peers/hylafax.sh \(command) \(directory) failed (exit \(result.status)):\n\(result.stderr)")
        }
    }
}
