public import ChaparModels
public import Delivery
import Foundation

/// A generic webhook: POSTs each IM job as JSON to the bank's own endpoint, signed so the receiver
/// can check it came from Chapar unaltered. Serves addresses `webhook:<name>`.
///
/// Body: `{"id","event","customer","to","language","text","format","createdAt"}` (`to` is the
/// `<name>` of the address). Headers:
/// - `Idempotency-Key: <job id>` (a retry or re-send carries the same id);
/// - `X-Chapar-Timestamp: <unix seconds>`;
/// - `X-Chapar-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
/// Receivers recompute the HMAC over the timestamp, a dot and the raw body, compare in constant
/// time, and reject timestamps more than 5 minutes old (replays). `docs/delivery.md` has the recipe.
public struct WebhookAdapter: RequestResponseAdapter {
    public let name: String
    public let url: String
    public let secret: [UInt8]
    public let timeouts: Timeouts
    public let tls: TLSOptions
    private let clock: @Sendable () -> Int64

    public init(name: String, url: String, secret: String, timeouts: Timeouts = Timeouts(), tls: TLSOptions = TLSOptions(),
                clock: @escaping @Sendable () -> Int64 = WebhookAdapter.unixSeconds) {
        self.name = name
        self.url = url
        self.secret = Array(secret.utf8)
        self.timeouts = timeouts
        self.tls = tls
        self.clock = clock
    }

    /// The system clock in Unix seconds (the default timestamp source).
    public static let unixSeconds: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }

    /// Options: `url`, `secret` (at least 16 characters).
    public static let factory: AdapterFactory = { (settings, options, _) throws(ConfigurationProblem) in
        let secret = try options.string("secret")
        guard secret.utf8.count >= 16 else { throw ConfigurationProblem(key: "secret", "a webhook secret needs at least 16 characters") }
        return WebhookAdapter(name: settings.name, url: try options.url("url"), secret: secret, timeouts: settings.timeouts, tls: settings.tls)
    }

    /// The signature header value for a timestamp and body (what receivers recompute).
    public static func signature(secret: some Collection<UInt8>, timestamp: Int64, body: some Collection<UInt8>) -> String {
        "v1=" + HMACSHA256.mac(key: secret, message: Array("\(timestamp).".utf8) + Array(body)).hexString
    }

    public func request(for job: DeliveryJob, attempt: Int) throws(PermanentFailure) -> TransferRequest {
        guard case .im(let text, let format) = job.content else { throw PermanentFailure("\(name) sends IM only; job \(job.id) is \(job.channel)") }
        let to = job.address.hasPrefix("webhook:") ? String(job.address.dropFirst("webhook:".count)) : job.address
        var w = JSONWriter(capacity: text.utf8.count + 256)
        w.beginObject()
        w.field("id", job.id.rawValue)
        w.field("event", job.event.rawValue)
        w.field("customer", job.customer.rawValue)
        w.field("to", to)
        w.field("language", job.language.rawValue)
        w.field("text", text)
        w.field("format", format)
        w.field("createdAt", job.createdAt.milliseconds)
        w.endObject()
        let timestamp = clock()
        return TransferRequest(kind: .http(.post), url: url, headers: [
            "Content-Type: application/json", "Idempotency-Key: \(job.id.rawValue)", "X-Chapar-Timestamp: \(timestamp)",
            "X-Chapar-Signature: \(Self.signature(secret: secret, timestamp: timestamp, body: w.bytes))",
        ], body: w.bytes, timeouts: timeouts, tls: tls)
    }

    public func outcome(of result: TransferResult, for job: DeliveryJob) -> AttemptOutcome {
        HTTPOutcome.classify(result, gateway: name) { _ in job.id.rawValue }
    }
}

extension WebhookAdapter {
    /// `type: webhook` in the configuration file.
    public static let kind = AdapterKind(type: "webhook", channel: .im, options: ["url", "secret"], secrets: ["secret"], scheme: "webhook", factory: factory)
}
