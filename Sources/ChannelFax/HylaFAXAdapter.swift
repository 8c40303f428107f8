public import ChaparModels
public import Delivery

/// Fax through a HylaFAX server: each job is rendered into an A4 PDF (``FaxRenderer``) and
/// submitted over hfaxd's client protocol (FTP-like) through the delivery engine's libcurl:
/// the document is stored as `tmp/<unique>.pdf`, then `JNEW`, the job's parameters, `JSUBM`.
/// HylaFAX's job id is the ledger reference; `JOBINFO` carries Chapar's job id, so `faxstat`
/// shows it.
///
/// HylaFAX dials later: the pool asks it every `report-interval` (``ReportPollingAdapter``) with
/// `JOB n` + `JPARM STATE`/`STATUS`: `DONE` → `delivered`; `FAILED` → the job is submitted again
/// after the gateway's retry backoff while attempts last, else `dead` with HylaFAX's status
/// (`Busy signal detected`, `Kill time expired`).
///
/// An invalid fax number or a document that cannot be laid out is `dead` at once with the reason;
/// a server that refuses the login, the upload or the submission is retried (and counts against
/// its breaker): that is the server's state, not the message's.
public struct HylaFAXAdapter: ReportPollingAdapter {
    public struct Configuration: Sendable, Hashable {
        /// `ftp://host:port` of hfaxd (port 4559 by default).
        public var url: String
        public var login: Login
        /// How long HylaFAX keeps trying before it gives a job up (`LASTTIME`), at least a minute.
        public var killTime: Duration
        /// Dial attempts HylaFAX makes per submission (`MAXDIALS`).
        public var maxDials: Int
        /// Where HylaFAX would mail its own notices (`NOTIFYADDR`; `NOTIFY none` keeps it quiet).
        public var notifyAddress: String
        public var reportInterval: Duration

        public init(url: String, login: Login = Login(username: "chapar", password: ""), killTime: Duration = .seconds(3 * 3600),
                    maxDials: Int = 12, notifyAddress: String? = nil, reportInterval: Duration = .seconds(30)) {
            self.url = url
            self.login = login
            self.killTime = killTime
            self.maxDials = maxDials
            self.notifyAddress = notifyAddress ?? "\(login.username)@localhost"
            self.reportInterval = reportInterval
        }
    }

    public let name: String
    public let configuration: Configuration
    public let renderer: FaxRenderer
    public let timeouts: Timeouts
    public let tls: TLSOptions
    private let base: String

    public init(name: String, configuration: Configuration, renderer: FaxRenderer, timeouts: Timeouts = Timeouts(), tls: TLSOptions = TLSOptions()) {
        self.name = name
        self.configuration = configuration
        self.renderer = renderer
        self.timeouts = timeouts
        self.tls = tls
        var base = configuration.url
        while base.hasSuffix("/") { base.removeLast() }
        self.base = base
    }

    public var reportInterval: Duration { configuration.reportInterval }

    /// `type: hylafax`: `url` (`ftp://host:4559`), optional `username` (default `chapar`),
    /// `password` (secret), `kill-time` (3h), `max-dials` (12), `notify-address`, `report-interval`
    /// (30s), and the letterhead: `bank-name`, `address`, `contact`, `sender-fax`, `time-zone`.
    public static let factory: AdapterFactory = { (settings, options, _) throws(ConfigurationProblem) in
        let url = try options.string("url")
        try URLCheck.check(url, key: "url", schemes: ["ftp"])
        return HylaFAXAdapter(
            name: settings.name,
            configuration: Configuration(
                url: url, login: Login(username: options.optional("username") ?? "chapar", password: options.optional("password") ?? ""),
                killTime: try options.duration("kill-time", default: .seconds(3 * 3600), range: .seconds(60)...(.seconds(99 * 86400))),
                maxDials: try options.integer("max-dials", default: 12, range: 1...99),
                notifyAddress: options.optional("notify-address"),
                reportInterval: try options.duration("report-interval", default: .seconds(30), range: .milliseconds(100)...(.seconds(3600)))),
            renderer: try FaxSettings.renderer(options),
            timeouts: settings.timeouts, tls: settings.tls)
    }

    public func deliver(_ job: DeliveryJob, attempt: Int, via transport: any Transport) async -> AttemptResult {
        let (document, pdf): (FaxDocument, [UInt8])
        switch RenderedFax(job, renderer: renderer, gateway: name) {
        case .ready(let made, let bytes): (document, pdf) = (made, bytes)
        case .failed(let result): return result
        }
        // A name hfaxd has not seen: it refuses to store over an earlier upload.
        let file = "tmp/chapar-\(job.id.rawValue)-\(attempt)-\(UInt32.random(in: 0...UInt32.max)).pdf"
        let commands = [
            "JNEW",
            "JPARM FROMUSER \(configuration.login.username)",
            "JPARM LASTTIME \(Self.lastTime(configuration.killTime))",
            "JPARM MAXDIALS \(configuration.maxDials)",
            "JPARM DIALSTRING \(document.to.rawValue)",
            "JPARM NOTIFYADDR \(configuration.notifyAddress)",
            "JPARM NOTIFY none",
            "JPARM VRES 196",
            "JPARM PAGEWIDTH 209",
            "JPARM PAGELENGTH 296",
            "JPARM JOBINFO chapar:\(job.id.rawValue)",
            "JPARM DOCUMENT \(file)",
            "JSUBM",
        ]
        let request = TransferRequest(kind: .file(FileTransfer(.upload, commandsAfter: commands)), url: "\(base)/\(file)", body: pdf,
                                      login: configuration.login, timeouts: timeouts, tls: tls)
        let result = await transport.perform(request)
        switch result {
        case .failure(let error):
            let reason = "\(name): \(error.kind.rawValue): \(error.description)"
            return AttemptResult(error.isRetriable ? .retry(reason: reason, retryAfter: nil, gatewayFault: error.kind != .cancelled) : .rejected(reason: reason))
        case .response(let r):
            guard r.status < 400, let id = Self.jobID(in: r.replies) else {
                let said = r.replies.last(where: { $0.hasPrefix("\(r.status)") }) ?? r.replies.last ?? "\(r.status)"
                let hint = r.status == 530 ? " (login refused: check the gateway's username and password, and hfaxd's hosts.hfaxd)" : ""
                return AttemptResult(.retry(reason: "\(name) answered \(said)\(hint)", retryAfter: nil, gatewayFault: true), status: r.status)
            }
            return AttemptResult(.accepted(reference: id, response: "HylaFAX job \(id) queued for \(AddressMask.mask(document.to.rawValue)) (\(pdf.count) bytes PDF)"),
                                 status: r.status)
        }
    }

    /// HylaFAX's job id from `200 New job created: jobid: 4 groupid: 4.`
    static func jobID(in replies: [String]) -> String? {
        for line in replies {
            guard let range = line.firstRange(of: "jobid: ") else { continue }
            let digits = line[range.upperBound...].prefix { $0.isNumber }
            if !digits.isEmpty { return String(digits) }
        }
        return nil
    }

    /// `LASTTIME` is `DDHHMM` from now.
    static func lastTime(_ duration: Duration) -> String {
        let minutes = max(1, Int(duration.components.seconds / 60))
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(min(n, 99))" }
        return two(minutes / 1440) + two(minutes / 60 % 24) + two(minutes % 60)
    }

    // MARK: Reports

    public func reports(for references: [String], via transport: any Transport) async -> [String: PolledReport] {
        var result: [String: PolledReport] = [:]
        // In groups, so one session's command list stays short. A `*` lets the session go on
        // past a job hfaxd no longer knows (`500 … job does not exist`).
        var start = 0
        while start < references.count {
            let group = Array(references[start..<min(references.count, start + 50)])
            start += group.count
            let commands = group.flatMap { ["*JOB \($0)", "*JPARM STATE", "*JPARM STATUS"] }
            let request = TransferRequest(kind: .file(FileTransfer(.download, commandsBefore: commands)), url: "\(base)/",
                                          login: configuration.login, timeouts: timeouts, tls: tls)
            guard case .response(let r) = await transport.perform(request), r.status < 400 else { continue }
            for (id, state) in Self.jobStates(in: r.replies) {
                switch state.state {
                case "DONE":
                    result[id] = PolledReport(.delivered, detail: "HylaFAX job \(id) done" + (state.status.isEmpty ? "" : ": \(state.status)"))
                case "FAILED":
                    result[id] = PolledReport(.failed(retry: true), detail: state.status.isEmpty ? "HylaFAX job \(id) failed" : state.status)
                default:
                    break   // PENDING, SLEEPING, BLOCKED, READY, ACTIVE, SUSPENDED: not settled yet
                }
            }
        }
        return result
    }

    /// Reads the replies of `JOB n`, `JPARM STATE`, `JPARM STATUS` triples: `200 Current job:
    /// jobid: n …` selects n; `500 …` (unknown job) selects none, so the JPARM answers after it,
    /// which describe the previously selected job, are ignored.
    static func jobStates(in replies: [String]) -> [String: (state: String, status: String)] {
        var states: [String: (state: String, status: String)] = [:]
        var current: String?
        var answers: [String] = []
        func close() {
            if let current, answers.count >= 1 { states[current] = (answers[0], answers.count > 1 ? answers[1] : "") }
            answers.removeAll()
        }
        for line in replies {
            if line.hasPrefix("200 Current job:") {
                close()
                current = jobID(in: [line])
            } else if line.hasPrefix("500 ") && line.contains("job") {
                close()
                current = nil
            } else if line.hasPrefix("213"), current != nil, answers.count < 2 {
                answers.append(String(line.dropFirst(3).drop { $0 == " " || $0 == "-" }))
            }
        }
        close()
        return states
    }
}

extension HylaFAXAdapter {
    /// `type: hylafax` in the configuration file.
    public static let kind = AdapterKind(
        type: "hylafax", channel: .fax,
        options: Set(["url", "username", "password", "kill-time", "max-dials", "notify-address", "report-interval"]).union(FaxSettings.letterheadOptions),
        secrets: ["password"], factory: factory)
}

/// What every fax adapter's configuration shares: the letterhead options and the renderer.
enum FaxSettings {
    static let letterheadOptions: Set<String> = ["bank-name", "address", "contact", "sender-fax", "time-zone"]

    /// The renderer from `bank-name`, `address`, optional `contact` and `sender-fax`, `time-zone`.
    static func renderer(_ options: GatewayOptions) throws(ConfigurationProblem) -> FaxRenderer {
        let bank = try options.string("bank-name")
        let lines = [try options.string("address")] + (options.optional("contact").map { [$0] } ?? [])
        do throws(FaxError) {
            let sender = try options.optional("sender-fax").map { text throws(FaxError) in try FaxNumber(text) }
            var configuration = FaxRenderer.Configuration()
            if let zone = options.optional("time-zone") { configuration.timeZone = zone }
            return try FaxRenderer(letterhead: try FaxLetterhead(bankName: bank, lines: lines, senderFax: sender), configuration: configuration)
        } catch {
            let key = switch error.code {
            case .invalidNumber: "sender-fax"
            case .configuration: options.optional("time-zone") != nil && error.message.lowercased().contains("zone") ? "time-zone" : "bank-name"
            default: "bank-name"
            }
            throw ConfigurationProblem(key: key, error.message)
        }
    }

}

/// A job's fax as every fax adapter starts an attempt: its document and PDF, or the result that
/// ends the attempt when they cannot be made. The job's fault (bad number, unrenderable text)
/// rejects it; the machine's (fonts missing, Cairo failing) is retried and counts against the gateway.
enum RenderedFax {
    case ready(FaxDocument, [UInt8])
    case failed(AttemptResult)

    init(_ job: DeliveryJob, renderer: FaxRenderer, gateway: String) {
        do throws(FaxError) {
            let document = try FaxDocument(job: job)
            self = .ready(document, try renderer.render(document))
        } catch {
            switch error.code {
            case .invalidNumber, .invalidDocument:
                self = .failed(AttemptResult(.rejected(reason: error.message)))
            case .configuration, .font, .rendering:
                self = .failed(AttemptResult(.retry(reason: "\(gateway): the fax could not be rendered: \(error.message)", retryAfter: nil, gatewayFault: true)))
            }
        }
    }
}
