public import ChaparModels
public import Delivery

/// A fax provider's HTTP API: each job rendered into an A4 PDF and uploaded as
/// `multipart/form-data` in one POST: the fax number (field `number-field`, default `to`), the job
/// id (`id`, also the `Idempotency-Key` header), the language, and the PDF (field `file-field`,
/// default `file`, `<job id>.pdf`, `application/pdf`). The provider's answer is read like every
/// HTTP gateway's (2xx accepted, 429/5xx retried, other 4xx refused); its id for the fax comes from
/// the JSON field `reference-field`, if set.
public struct HTTPFaxAdapter: GatewayAdapter {
    public struct Configuration: Sendable, Hashable {
        public var url: String
        /// The whole `Authorization` header value, if the provider wants one.
        public var authorization: String?
        public var numberField: String
        public var fileField: String
        public var referenceField: String?

        public init(url: String, authorization: String? = nil, numberField: String = "to", fileField: String = "file", referenceField: String? = nil) {
            self.url = url
            self.authorization = authorization
            self.numberField = numberField
            self.fileField = fileField
            self.referenceField = referenceField
        }
    }

    public let name: String
    public let configuration: Configuration
    public let renderer: FaxRenderer
    public let timeouts: Timeouts
    public let tls: TLSOptions

    public init(name: String, configuration: Configuration, renderer: FaxRenderer, timeouts: Timeouts = Timeouts(), tls: TLSOptions = TLSOptions()) {
        self.name = name
        self.configuration = configuration
        self.renderer = renderer
        self.timeouts = timeouts
        self.tls = tls
    }

    /// `type: http-fax`: `url`, optional `authorization` (secret), `number-field`, `file-field`,
    /// `reference-field`, and the letterhead (`bank-name`, `address`, `contact`, `sender-fax`, `time-zone`).
    public static let factory: AdapterFactory = { (settings, options, _) throws(ConfigurationProblem) in
        HTTPFaxAdapter(name: settings.name,
                       configuration: Configuration(url: try options.url("url"), authorization: options.optional("authorization"),
                                                    numberField: options.optional("number-field") ?? "to", fileField: options.optional("file-field") ?? "file",
                                                    referenceField: options.optional("reference-field")),
                       renderer: try FaxSettings.renderer(options), timeouts: settings.timeouts, tls: settings.tls)
    }

    public func deliver(_ job: DeliveryJob, attempt: Int, via transport: any Transport) async -> AttemptResult {
        let (document, pdf): (FaxDocument, [UInt8])
        switch RenderedFax(job, renderer: renderer, gateway: name) {
        case .ready(let made, let bytes): (document, pdf) = (made, bytes)
        case .failed(let result): return result
        }
        var form = MultipartForm(boundary: "chapar-fax-\(job.id.rawValue)")
        form.field(configuration.numberField, document.to.rawValue)
        form.field("id", job.id.rawValue)
        form.field("language", job.language.rawValue)
        form.file(configuration.fileField, filename: "\(job.id.rawValue).pdf", contentType: "application/pdf", pdf)
        var headers = ["Content-Type: \(form.contentType)", "Idempotency-Key: \(job.id.rawValue)"]
        if let authorization = configuration.authorization { headers.append("Authorization: \(authorization)") }
        let result = await transport.perform(TransferRequest(kind: .http(.post), url: configuration.url, headers: headers, body: form.finish(),
                                                             timeouts: timeouts, tls: tls))
        let outcome = HTTPOutcome.classify(result, gateway: name) { r in
            configuration.referenceField.flatMap { JSONField.string(r.body, $0) } ?? job.id.rawValue
        }
        if case .response(let r) = result { return AttemptResult(outcome, status: r.status) }
        return AttemptResult(outcome)
    }
}

extension HTTPFaxAdapter {
    /// `type: http-fax` in the configuration file.
    public static let kind = AdapterKind(
        type: "http-fax", channel: .fax,
        options: Set(["url", "authorization", "number-field", "file-field", "reference-field"]).union(FaxSettings.letterheadOptions),
        secrets: ["authorization"], factory: factory)
}

/// A `multipart/form-data` body (RFC 7578), built in one buffer.
struct MultipartForm {
    let boundary: String
    private var bytes: [UInt8] = []

    init(boundary: String) {
        self.boundary = boundary
        bytes.reserveCapacity(32 * 1024)
    }

    var contentType: String { "multipart/form-data; boundary=\(boundary)" }

    mutating func field(_ name: String, _ value: String) {
        part(disposition: "form-data; name=\"\(Self.quoted(name))\"", contentType: nil, Array(value.utf8))
    }

    mutating func file(_ name: String, filename: String, contentType: String, _ data: [UInt8]) {
        part(disposition: "form-data; name=\"\(Self.quoted(name))\"; filename=\"\(Self.quoted(filename))\"", contentType: contentType, data)
    }

    private mutating func part(disposition: String, contentType: String?, _ data: [UInt8]) {
        append("--\(boundary)\r\nContent-Disposition: \(disposition)\r\n")
        if let contentType { append("Content-Type: \(contentType)\r\n") }
        append("\r\n")
        bytes.append(contentsOf: data)
        append("\r\n")
    }

    mutating func finish() -> [UInt8] {
        append("--\(boundary)--\r\n")
        return bytes
    }

    private mutating func append(_ text: String) { bytes.append(contentsOf: text.utf8) }

    /// Names and file names go in quotes: a quote, CR or LF inside would break the header.
    private static func quoted(_ text: String) -> String {
        String(text.unicodeScalars.map { $0 == "\"" || $0 == "\r" || $0 == "\n" ? "_" : Character($0) })
    }
}
