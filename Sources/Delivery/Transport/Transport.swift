/// Sends one request to a gateway and reports what happened. The production transport is
/// ``CurlEngine`` (one curl multi handle on its own thread); the protocol lets the pool's
/// decisions be tested with a scripted transport as well.
///
/// `perform` never throws: a transport failure (refused connection, timeout, TLS error, reset) is
/// a ``TransferResult/failure(_:)`` that the adapter and the retry policy classify.
public protocol Transport: Sendable {
    func perform(_ request: TransferRequest) async -> TransferResult
}

/// One request to a gateway: HTTP(S) today; SMTP and HylaFAX (FTP-like) transfers are added as
/// further ``Kind``s by the email and fax channels.
public struct TransferRequest: Sendable {
    public enum Method: String, Sendable, Hashable {
        case get = "GET", post = "POST", put = "PUT"
    }

    public enum Kind: Sendable, Hashable {
        case http(Method)
    }

    public var kind: Kind
    /// Full URL, e.g. `http://127.0.0.1:13013/cgi-bin/sendsms?...`. Only `http` and `https` for ``Kind/http(_:)``.
    public var url: String
    /// Header lines, `Name: value` (no CR/LF inside).
    public var headers: [String]
    public var body: [UInt8]
    public var timeouts: Timeouts
    public var tls: TLSOptions

    public init(kind: Kind = .http(.post), url: String, headers: [String] = [], body: [UInt8] = [],
                timeouts: Timeouts = Timeouts(), tls: TLSOptions = TLSOptions()) {
        self.kind = kind
        self.url = url
        self.headers = headers
        self.body = body
        self.timeouts = timeouts
        self.tls = tls
    }
}

/// Connect and total timeouts of one transfer.
public struct Timeouts: Sendable, Hashable {
    /// Time to establish the TCP (and TLS) connection.
    public var connect: Duration
    /// Time for the whole transfer, connect included.
    public var total: Duration

    public init(connect: Duration = .seconds(5), total: Duration = .seconds(30)) {
        self.connect = connect
        self.total = total
    }
}

/// TLS settings. Verification is on by default; `caFile` names a PEM bundle for a private gateway CA.
public struct TLSOptions: Sendable, Hashable {
    public var verify: Bool
    public var caFile: String?

    public init(verify: Bool = true, caFile: String? = nil) {
        self.verify = verify
        self.caFile = caFile
    }
}

/// A response the gateway sent (any status), or why none arrived.
public enum TransferResult: Sendable {
    case response(TransferResponse)
    case failure(TransportError)
}

/// What the gateway answered.
public struct TransferResponse: Sendable {
    /// The HTTP status (or the last SMTP/FTP reply code for other kinds).
    public var status: Int
    /// Response header fields in order received (names as sent).
    public var headers: [HeaderField]
    public var body: [UInt8]
    /// Wall time from the start of the transfer to its end.
    public var duration: Duration
    /// True when the gateway sent more body than the transport keeps (``CurlEngine`` keeps
    /// ``CurlEngine/Configuration/maxResponseBodyBytes``, 64 KiB by default): `body` is then only
    /// the start of it, and a parser that fails on it should say so rather than blame the gateway.
    public var bodyTruncated: Bool

    public init(status: Int, headers: [HeaderField] = [], body: [UInt8] = [], duration: Duration = .zero,
                bodyTruncated: Bool = false) {
        self.status = status
        self.headers = headers
        self.body = body
        self.duration = duration
        self.bodyTruncated = bodyTruncated
    }

    /// The first header with this name, case-insensitively.
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name.lowercased() == lower }?.value
    }

    /// The body as text (lossy UTF-8), cut to `limit` characters for the ledger and logs.
    public func bodyText(limit: Int = 300) -> String {
        let text = String(decoding: body.prefix(limit * 4), as: UTF8.self)
        return text.count > limit ? String(text.prefix(limit)) + "…" : text
    }
}

public struct HeaderField: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// No response: the transfer failed below HTTP. Every kind is worth a retry except a bad request
/// (our own malformed URL or option), which the same request would hit again.
public struct TransportError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// Connection refused, host unreachable, DNS failure.
        case connect
        /// Connect or total timeout.
        case timeout
        /// Certificate or handshake failure.
        case tls
        /// The peer closed or reset the connection mid-transfer, or sent garbage.
        case broken
        /// Our request could not be built (bad URL, unsupported option): not retriable.
        case invalidRequest
        /// The transfer was cancelled (shutdown).
        case cancelled
        case other
    }

    public var kind: Kind
    /// libcurl's CURLcode, or 0 when the failure did not come from curl.
    public var code: Int32
    public var message: String

    public init(_ kind: Kind, code: Int32 = 0, _ message: String) {
        self.kind = kind
        self.code = code
        self.message = message
    }

    public var isRetriable: Bool { kind != .invalidRequest }

    public var description: String { code == 0 ? message : "\(message) (curl \(code))" }
}
