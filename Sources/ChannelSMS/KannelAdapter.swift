public import ChaparModels
public import Delivery

/// Kannel's HTTP `sendsms` interface (smsbox), with delivery reports.
///
/// - Persian (or any text the notifier encoded as `ucs2`) goes as UCS-2 with
///   `coding=2&charset=utf-8`: without `coding=2` Kannel silently turns it into `?????` and still
///   answers 202.
/// - `dlr-mask=31` asks for every report (delivered, failed, buffered, SMSC ack, SMSC reject),
///   and `dlr-url` points back at Chapar's callback endpoint with the job id and the callback
///   secret, so a report moves the job to `delivered` or `failed` in the ledger.
/// - Kannel returns no message id: the job id is the reference (it is in the `dlr-url`), and it
///   also goes in an `Idempotency-Key` header for proxies that deduplicate.
public struct KannelAdapter: RequestResponseAdapter {
    public struct Configuration: Sendable, Hashable {
        /// The sendsms URL, e.g. `http://127.0.0.1:13013/cgi-bin/sendsms`.
        public var url: String
        public var username: String
        public var password: String
        /// The sender (`from`), e.g. a short code or `BANK`.
        public var from: String?
        /// Route through this SMSC id (`smsc`), if set.
        public var smsc: String?
        /// Where Kannel calls back with reports; nil turns delivery reports off.
        public var reportURL: String?
        public var reportSecret: String?

        public init(url: String, username: String, password: String, from: String? = nil, smsc: String? = nil,
                    reportURL: String? = nil, reportSecret: String? = nil) {
            self.url = url
            self.username = username
            self.password = password
            self.from = from
            self.smsc = smsc
            self.reportURL = reportURL
            self.reportSecret = reportSecret
        }
    }

    public let name: String
    public let configuration: Configuration
    public let timeouts: Timeouts
    public let tls: TLSOptions

    public init(name: String, configuration: Configuration, timeouts: Timeouts = Timeouts(), tls: TLSOptions = TLSOptions()) {
        self.name = name
        self.configuration = configuration
        self.timeouts = timeouts
        self.tls = tls
    }

    /// Builds the adapter from the configuration file: `url`, `username`, `password` (secret),
    /// optional `from`, `smsc`, and `delivery-reports` (default true when the process serves callbacks).
    public static let factory: AdapterFactory = { (settings, options, context) throws(ConfigurationProblem) in
        let reports = try options.bool("delivery-reports", default: context.callbackBaseURL != nil)
        if reports && context.callbackBaseURL == nil {
            throw ConfigurationProblem(key: "delivery-reports", "delivery reports need the callbacks section (listen address and public URL)")
        }
        let base = context.callbackBaseURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        return KannelAdapter(
            name: settings.name,
            configuration: Configuration(
                url: try options.url("url"), username: try options.string("username"), password: try options.string("password"),
                from: options.optional("from"), smsc: options.optional("smsc"),
                reportURL: reports ? base.map { "\($0)/v1/callbacks/kannel/\(URLCheck.encode(settings.name))" } : nil,
                reportSecret: context.callbackSecret),
            timeouts: settings.timeouts, tls: settings.tls)
    }

    public func request(for job: DeliveryJob, attempt: Int) throws(PermanentFailure) -> TransferRequest {
        guard case .sms(let text, let encoding, _) = job.content else {
            throw PermanentFailure("\(name) sends SMS only; job \(job.id) is \(job.channel)")
        }
        let to = job.address
        guard to.count >= 4, to.count <= 20, to.dropFirst(to.hasPrefix("+") ? 1 : 0).allSatisfy(\.isASCIIDigit) else {
            throw PermanentFailure("'\(AddressMask.mask(to))' is not a phone number Kannel can send to")
        }
        var items: [(String, String)] = [
            ("username", configuration.username), ("password", configuration.password), ("to", to), ("text", text),
        ]
        if let from = configuration.from { items.append(("from", from)) }
        if let smsc = configuration.smsc { items.append(("smsc", smsc)) }
        if encoding == "ucs2" {
            items.append(("coding", "2"))
        }
        items.append(("charset", "utf-8"))
        if let report = configuration.reportURL {
            // Kannel fills in %d (report type), %A (SMSC's answer), %T (time) when it calls back.
            var callback = URLCheck.query(report, [("job", job.id.rawValue)])
            if let secret = configuration.reportSecret { callback = URLCheck.query(callback, [("secret", secret)]) }
            callback += "&type=%d&answer=%A&ts=%T"
            items.append(("dlr-mask", "31"))
            items.append(("dlr-url", callback))
        }
        return TransferRequest(kind: .http(.get), url: URLCheck.query(configuration.url, items),
                               headers: ["Idempotency-Key: \(job.id.rawValue)"], timeouts: timeouts, tls: tls)
    }

    public func outcome(of result: TransferResult, for job: DeliveryJob) -> AttemptOutcome {
        // Kannel answers 202 "0: Accepted for delivery" (or "3: Queued for later delivery").
        HTTPOutcome.classify(result, gateway: name) { _ in job.id.rawValue }
    }
}

extension Character {
    var isASCIIDigit: Bool { asciiValue.map { $0 >= 0x30 && $0 <= 0x39 } ?? false }
}

extension KannelAdapter {
    /// `type: kannel` in the configuration file.
    public static let kind = AdapterKind(type: "kannel", channel: .sms, options: ["url", "username", "password", "from", "smsc", "delivery-reports"],
                                         secrets: ["password"], factory: factory)
}
