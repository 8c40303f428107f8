public import ChaparModels
public import Delivery

/// A generic JSON HTTP SMS API: POST (or PUT) a body made from a template to a URL, with an
/// optional authorization header. Covers the many SMS providers whose API is "POST this JSON".
///
/// The body template is JSON with placeholders that are replaced by JSON-escaped values:
/// `{{id}}` (job id), `{{to}}` (E.164 number), `{{text}}`, `{{encoding}}` (`gsm7`/`ucs2`),
/// `{{segments}}`, `{{language}}`, `{{event}}`. The default is
/// `{"id":"{{id}}","to":"{{to}}","text":"{{text}}","encoding":"{{encoding}}"}`.
/// Every request also carries `Idempotency-Key: <job id>`.
public struct HTTPSMSAdapter: RequestResponseAdapter {
    public static let defaultTemplate = #"{"id":"{{id}}","to":"{{to}}","text":"{{text}}","encoding":"{{encoding}}"}"#

    public let name: String
    public let url: String
    public let method: TransferRequest.Method
    /// e.g. `Authorization: Bearer …` (from a secret).
    public let authorization: String?
    public let template: String
    /// The top-level field of the answer that holds the provider's message id (e.g. `id`).
    public let referenceField: String?
    public let timeouts: Timeouts
    public let tls: TLSOptions

    public init(name: String, url: String, method: TransferRequest.Method = .post, authorization: String? = nil,
                template: String = HTTPSMSAdapter.defaultTemplate, referenceField: String? = nil,
                timeouts: Timeouts = Timeouts(), tls: TLSOptions = TLSOptions()) {
        self.name = name
        self.url = url
        self.method = method
        self.authorization = authorization
        self.template = template
        self.referenceField = referenceField
        self.timeouts = timeouts
        self.tls = tls
    }

    /// Options: `url`, optional `method` (POST|PUT), `authorization` (secret: the whole header
    /// value), `body-template`, `reference-field`.
    public static let factory: AdapterFactory = { (settings, options, _) throws(ConfigurationProblem) in
        let method: TransferRequest.Method
        switch options.optional("method")?.uppercased() ?? "POST" {
        case "POST": method = .post
        case "PUT": method = .put
        case let other: throw ConfigurationProblem(key: "method", "'\(other)' is not POST or PUT")
        }
        let template = options.optional("body-template") ?? defaultTemplate
        if let problem = JSONTemplate.problem(template) { throw ConfigurationProblem(key: "body-template", problem) }
        return HTTPSMSAdapter(name: settings.name, url: try options.url("url"), method: method, authorization: options.optional("authorization"),
                              template: template, referenceField: options.optional("reference-field"),
                              timeouts: settings.timeouts, tls: settings.tls)
    }

    public func request(for job: DeliveryJob, attempt: Int) throws(PermanentFailure) -> TransferRequest {
        guard case .sms(let text, let encoding, let segments) = job.content else {
            throw PermanentFailure("\(name) sends SMS only; job \(job.id) is \(job.channel)")
        }
        let body = JSONTemplate.fill(template, [
            "id": job.id.rawValue, "to": job.address, "text": text, "encoding": encoding, "segments": String(segments),
            "language": job.language.rawValue, "event": job.event.rawValue,
        ])
        var headers = ["Content-Type: application/json", "Idempotency-Key: \(job.id.rawValue)"]
        if let authorization { headers.append("Authorization: \(authorization)") }
        return TransferRequest(kind: .http(method), url: url, headers: headers, body: Array(body.utf8), timeouts: timeouts, tls: tls)
    }

    public func outcome(of result: TransferResult, for job: DeliveryJob) -> AttemptOutcome {
        HTTPOutcome.classify(result, gateway: name) { r in
            referenceField.flatMap { JSONField.string(r.body, $0) } ?? job.id.rawValue
        }
    }
}

extension HTTPSMSAdapter {
    /// `type: http-sms` in the configuration file.
    public static let kind = AdapterKind(type: "http-sms", channel: .sms, options: ["url", "method", "authorization", "body-template", "reference-field"],
                                         secrets: ["authorization"], factory: factory)
}
