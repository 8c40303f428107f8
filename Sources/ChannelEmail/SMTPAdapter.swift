public import ChaparModels
public import Delivery

/// Email through an SMTP server (a bank's relay, a provider's submission port) with libcurl's SMTP,
/// on the same engine and connection cache as every other gateway: a connection, its EHLO, STARTTLS
/// and AUTH are reused across messages.
///
/// - `smtp://host:port` with `starttls: true` (the default) requires STARTTLS; `starttls: false` is
///   plain SMTP (a relay on the same host, a test peer); `smtps://host:465` is TLS from the start.
/// - AUTH with `username` and `password` (a secret from the environment or a file) when set.
/// - Each job becomes one ``MailMessage``: `multipart/alternative` text and HTML from the email
///   templates, RFC 2047 Persian subject and sender name, `Message-ID: <JOBID@domain>` (a retry
///   carries the same id), `Date` from the job's creation, and on bulk mail `List-Unsubscribe`.
/// - Replies map onto the engine's paths: 2xx accepted (the server's `queued as` id kept as the
///   reference); 4xx retried (421/451/452/454 count against the server's breaker); 5xx rejected
///   for good; 530/534/535 (AUTH refused) rejected with a message naming the credentials. No reply
///   at all (refused connection, timeout, connection dropped mid-DATA) is retried.
public struct SMTPAdapter: RequestResponseAdapter {
    public struct Configuration: Sendable, Hashable {
        /// `smtp://host[:port]` or `smtps://host[:port]`, without a path.
        public var url: String
        /// STARTTLS required on `smtp://` (ignored for `smtps://`, which is TLS already).
        public var startTLS: Bool
        public var login: Login?
        /// The `From:` mailbox.
        public var from: Mailbox
        /// The envelope sender (`MAIL FROM`, where bounces go); `from`'s address by default.
        public var envelopeFrom: String
        public var replyTo: Mailbox?
        /// The right-hand side of `Message-ID`; `from`'s domain by default.
        public var messageIDDomain: String
        /// The name sent in EHLO; `messageIDDomain` by default.
        public var ehloName: String
        /// `List-Unsubscribe` target on bulk mail (`https://…` or `mailto:…`); nil adds
        /// `mailto:` `from`'s address with the subject `unsubscribe`.
        public var unsubscribe: String?

        public init(url: String, startTLS: Bool = true, login: Login? = nil, from: Mailbox, envelopeFrom: String? = nil, replyTo: Mailbox? = nil,
                    messageIDDomain: String? = nil, ehloName: String? = nil, unsubscribe: String? = nil) {
            self.url = url
            self.startTLS = startTLS
            self.login = login
            self.from = from
            self.envelopeFrom = envelopeFrom ?? from.address
            self.replyTo = replyTo
            self.messageIDDomain = messageIDDomain ?? from.domain
            self.ehloName = ehloName ?? messageIDDomain ?? from.domain
            self.unsubscribe = unsubscribe
        }
    }

    public let name: String
    public let configuration: Configuration
    public let timeouts: Timeouts
    public let tls: TLSOptions
    /// `smtp://host:port/ehlo-name`: libcurl sends the path as the EHLO name.
    private let requestURL: String

    public init(name: String, configuration: Configuration, timeouts: Timeouts = Timeouts(), tls: TLSOptions = TLSOptions()) {
        self.name = name
        self.configuration = configuration
        self.timeouts = timeouts
        self.tls = tls
        var base = configuration.url
        while base.hasSuffix("/") { base.removeLast() }
        requestURL = base + "/" + URLCheck.encode(configuration.ehloName)
    }

    /// `type: smtp`: `url` (`smtp://` or `smtps://`), `from`, optional `starttls` (default true),
    /// `username` and `password` (secret), `envelope-from`, `reply-to`, `message-id-domain`,
    /// `ehlo-name`, `unsubscribe`.
    public static let factory: AdapterFactory = { (settings, options, _) throws(ConfigurationProblem) in
        SMTPAdapter(name: settings.name, configuration: try configuration(options), timeouts: settings.timeouts, tls: settings.tls)
    }

    /// The SMTP settings from a gateway's options (also read by the email-to-fax adapter).
    public static func configuration(_ options: GatewayOptions) throws(ConfigurationProblem) -> Configuration {
        let url = try options.string("url")
        guard try URLCheck.check(url, key: "url", schemes: ["smtp", "smtps"]).allSatisfy({ $0 == "/" }) else {
            throw ConfigurationProblem(key: "url", "'\(url)' has a path; give smtp://host:port and set ehlo-name for the EHLO name")
        }
        let fromText = try options.string("from")
        let from: Mailbox
        do throws(InvalidValue) { from = try Mailbox(parsing: fromText) } catch {
            throw ConfigurationProblem(key: "from", "'\(fromText)' is not a mailbox like 'Bank <alerts@bank.example>': \(error.reason)")
        }
        func mailbox(_ key: String) throws(ConfigurationProblem) -> Mailbox? {
            guard let text = options.optional(key) else { return nil }
            do throws(InvalidValue) { return try Mailbox(parsing: text) } catch { throw ConfigurationProblem(key: key, "'\(text)' is not a mailbox: \(error.reason)") }
        }
        let username = options.optional("username")
        let password = options.optional("password")
        if (username == nil) != (password == nil) {
            throw ConfigurationProblem(key: username == nil ? "username" : "password", "SMTP AUTH needs both username and password")
        }
        let unsubscribe = options.optional("unsubscribe")
        if let unsubscribe, !(unsubscribe.hasPrefix("https://") || unsubscribe.hasPrefix("mailto:")) {
            throw ConfigurationProblem(key: "unsubscribe", "'\(unsubscribe)' is not an https:// or mailto: URL")
        }
        return Configuration(
            url: url, startTLS: try options.bool("starttls", default: true),
            login: username.map { Login(username: $0, password: password ?? "") },
            from: from, envelopeFrom: try mailbox("envelope-from")?.address, replyTo: try mailbox("reply-to"),
            messageIDDomain: options.optional("message-id-domain"), ehloName: options.optional("ehlo-name"), unsubscribe: unsubscribe)
    }

    /// The message this adapter sends for `job` (also what a test or the console can show).
    public func message(for job: DeliveryJob) throws(PermanentFailure) -> MailMessage {
        guard case .email(let subject, let text, let html) = job.content else {
            throw PermanentFailure("\(name) sends email only; job \(job.id) is \(job.channel)")
        }
        let to: Mailbox
        do {
            to = Mailbox(address: try ContactAddress(.email, job.address).value)
        } catch {
            throw PermanentFailure("'\(AddressMask.mask(job.address))' is not an email address: \(error.reason)")
        }
        var extra: [(String, String)] = [
            // RFC 3834: an automatic notification, so auto-responders do not answer it.
            ("Auto-Submitted", "auto-generated"),
            ("X-Chapar-Job", job.id.rawValue),
        ]
        if job.priority == .bulk {
            let target = configuration.unsubscribe ?? "mailto:\(configuration.from.address)?subject=unsubscribe"
            extra.append(("List-Unsubscribe", "<\(target)>"))
            if target.hasPrefix("https://") { extra.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")) }
            extra.append(("Precedence", "bulk"))
        }
        return MailMessage(from: configuration.from, to: [to], replyTo: configuration.replyTo, subject: subject, text: text, html: html,
                           date: job.createdAt, messageID: "\(job.id.rawValue)@\(configuration.messageIDDomain)",
                           language: job.language.rawValue, extraHeaders: extra, boundaryToken: job.id.rawValue)
    }

    public func request(for job: DeliveryJob, attempt: Int) throws(PermanentFailure) -> TransferRequest {
        request(message: try message(for: job))
    }

    /// The SMTP transfer of `message` through this gateway (the email-to-fax adapter sends its own messages).
    public func request(message: MailMessage) -> TransferRequest {
        TransferRequest(
            kind: .smtp(SMTPEnvelope(from: configuration.envelopeFrom, recipients: message.to.map(\.address),
                                     security: configuration.startTLS ? .startTLS : .none)),
            url: requestURL, body: message.encoded(), login: configuration.login, timeouts: timeouts, tls: tls)
    }

    public func outcome(of result: TransferResult, for job: DeliveryJob) -> AttemptOutcome {
        SMTPOutcome.classify(result, gateway: name)
    }
}

/// How an SMTP exchange ends an attempt.
public enum SMTPOutcome {
    public static func classify(_ result: TransferResult, gateway: String) -> AttemptOutcome {
        switch result {
        case .failure(let error):
            let reason = "\(gateway): \(error.kind.rawValue): \(error.description)"
            return error.isRetriable ? .retry(reason: reason, retryAfter: nil, gatewayFault: error.kind != .cancelled) : .rejected(reason: reason)
        case .response(let r):
            let reply = finalReply(r)
            switch r.status {
            case 200..<400:
                return .accepted(reference: queueID(in: reply), response: reply)
            case 530 where reply.lowercased().contains("starttls"):
                return .rejected(reason: "\(gateway) requires TLS: \(reply) (set starttls: true, or use an smtps:// URL)")
            case 530, 534, 535, 538:
                return .rejected(reason: "\(gateway) refused the login: \(reply) (check the gateway's username and password)")
            case 450:
                // The recipient's mailbox is busy: this message's problem, not the server's.
                return .retry(reason: "\(gateway) answered \(reply)", retryAfter: nil, gatewayFault: false)
            case 400..<500:
                return .retry(reason: "\(gateway) answered \(reply)", retryAfter: nil, gatewayFault: true)
            default:
                return .rejected(reason: "\(gateway) answered \(reply)")
            }
        }
    }

    /// The reply that decided the outcome: the last reply with the transfer's status code (after
    /// a refusal libcurl still sends QUIT, whose `221` comes later) and the lines of the same
    /// multi-line reply before it (`550-…`, `550 …`), joined by spaces and cut to 300 characters.
    static func finalReply(_ r: TransferResponse) -> String {
        let code = String(r.status)
        guard let index = r.replies.lastIndex(where: { $0.hasPrefix(code + " ") || $0 == code }) else {
            return r.replies.last ?? code
        }
        var lines = [r.replies[index]]
        for line in r.replies[..<index].reversed() {
            guard line.hasPrefix(code + "-") else { break }
            lines.insert(line, at: 0)
        }
        let text = lines.joined(separator: " ")
        return text.count > 300 ? String(text.prefix(300)) + "…" : text
    }

    /// The server's id for the message from `250 … queued as ABC123` (Postfix, aiosmtpd, Exim say so).
    static func queueID(in reply: String) -> String? {
        guard let range = reply.firstRange(of: "queued as ") else { return nil }
        let id = reply[range.upperBound...].prefix { !$0.isWhitespace && $0 != ")" && $0 != ";" }
        return id.isEmpty ? nil : String(id)
    }
}

extension SMTPAdapter {
    /// `type: smtp` in the configuration file.
    public static let kind = AdapterKind(
        type: "smtp", channel: .email,
        options: ["url", "starttls", "username", "password", "from", "envelope-from", "reply-to", "message-id-domain", "ehlo-name", "unsubscribe"],
        secrets: ["password"], factory: factory)
}
