public import ChaparModels
public import Delivery

/// The Telegram Bot API's `sendMessage` (and any API compatible with it): POST
/// `{base}/bot{token}/sendMessage` with `chat_id` and `text`, for addresses `telegram:<chat id>`.
///
/// Telegram has no idempotency field: the job id goes in an `Idempotency-Key` header (for proxies
/// and test gateways). Answers: `{"ok":true,"result":{"message_id":…}}` accepted (the message id
/// is the reference); 429 with `parameters.retry_after` retried after that; 400 (bad request) and
/// 403 (bot blocked by the user) are refusals of this message, not faults of the gateway.
public struct TelegramAdapter: RequestResponseAdapter {
    public let name: String
    /// e.g. `https://api.telegram.org` (without the `/bot…` part).
    public let baseURL: String
    public let token: String
    public let timeouts: Timeouts
    public let tls: TLSOptions

    public init(name: String, baseURL: String, token: String, timeouts: Timeouts = Timeouts(), tls: TLSOptions = TLSOptions()) {
        self.name = name
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.token = token
        self.timeouts = timeouts
        self.tls = tls
    }

    /// Options: `url` (the API base), `token` (secret).
    public static let factory: AdapterFactory = { (settings, options, _) throws(ConfigurationProblem) in
        TelegramAdapter(name: settings.name, baseURL: try options.url("url"), token: try options.string("token"),
                        timeouts: settings.timeouts, tls: settings.tls)
    }

    public func request(for job: DeliveryJob, attempt: Int) throws(PermanentFailure) -> TransferRequest {
        guard case .im(let text, let format) = job.content else { throw PermanentFailure("\(name) sends IM only; job \(job.id) is \(job.channel)") }
        guard job.address.hasPrefix("telegram:"), let chat = Int64(job.address.dropFirst("telegram:".count)) else {
            throw PermanentFailure("'\(AddressMask.mask(job.address))' is not a telegram:<chat id> address")
        }
        var w = JSONWriter(capacity: text.utf8.count + 96)
        w.beginObject()
        w.field("chat_id", chat)
        w.field("text", text)
        switch format {
        case "html": w.field("parse_mode", "HTML")
        case "markdown": w.field("parse_mode", "Markdown")
        default: break
        }
        w.endObject()
        return TransferRequest(kind: .http(.post), url: "\(baseURL)/bot\(token)/sendMessage",
                               headers: ["Content-Type: application/json", "Idempotency-Key: \(job.id.rawValue)"],
                               body: w.bytes, timeouts: timeouts, tls: tls)
    }

    public func outcome(of result: TransferResult, for job: DeliveryJob) -> AttemptOutcome {
        guard case .response(let r) = result else { return HTTPOutcome.classify(result, gateway: name) }
        let description = JSONField.string(r.body, "description")
        switch r.status {
        case 200..<300:
            let id = TelegramAnswer.messageID(r.body)
            return .accepted(reference: id, response: "\(r.status) message_id \(id ?? "?")")
        case 429:
            let wait = TelegramAnswer.retryAfter(r.body).map { Duration.seconds($0) } ?? HTTPOutcome.retryAfter(r)
            return .retry(reason: "\(name) answered 429: \(description ?? "too many requests")", retryAfter: wait, gatewayFault: true)
        case 400, 403:
            return .rejected(reason: "\(name) answered \(r.status): \(description ?? r.bodyText(limit: 200))")
        default:
            return HTTPOutcome.classify(result, gateway: name)
        }
    }
}

/// Reads the nested fields of Telegram's answers.
enum TelegramAnswer {
    static func messageID(_ body: [UInt8]) -> String? { nested(body, "result", "message_id") }
    static func retryAfter(_ body: [UInt8]) -> Int64? { nested(body, "parameters", "retry_after").flatMap { Int64($0) } }

    private static func nested(_ body: [UInt8], _ outer: String, _ inner: String) -> String? {
        body.withUnsafeBufferPointer { buffer -> String? in
            var reader = JSONReader(buffer)
            var found: String?
            do {
                try reader.readObject { (r: inout JSONReader, key: String) throws(InvalidValue) in
                    guard key == outer else { return try r.skipValue() }
                    try r.readObject { (r: inout JSONReader, key: String) throws(InvalidValue) in
                        if key == inner { found = String(try r.readInt()) } else { try r.skipValue() }
                    }
                }
            } catch {
                return found
            }
            return found
        }
    }
}

extension TelegramAdapter {
    /// `type: telegram` in the configuration file.
    public static let kind = AdapterKind(type: "telegram", channel: .im, options: ["url", "token"], secrets: ["token"], scheme: "telegram", factory: factory)
}
