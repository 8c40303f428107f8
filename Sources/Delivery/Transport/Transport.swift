/// Sends one request to a gateway and reports what happened. The production transport is
/// ``CurlEngine`` (one curl multi handle on its own thread); the protocol lets the pool's
/// decisions be tested with a scripted transport as well.
///
/// `perform` never throws: a transport failure (refused connection, timeout, TLS error, reset) is
/// a ``TransferResult/failure(_:)`` that the adapter and the retry policy classify.
public protocol Transport: Sendable {
    /// Sends `request` and returns the answer or why there was none. Returns
    /// ``TransportError/Kind/cancelled`` promptly when the calling task is cancelled.
    func perform(_ request: TransferRequest) async -> TransferResult
}

/// One request to a gateway: an HTTP(S) request, an SMTP(S) submission, or a file transfer to an
/// FTP-like server (HylaFAX's client protocol). The pool and the controls never look at the kind;
/// only the adapter that built the request and the transport do.
public struct TransferRequest: Sendable {
    /// The HTTP verb. `post` and `put` send ``TransferRequest/body``; `get` sends none.
    public enum Method: String, Sendable, Hashable {
        case get = "GET", post = "POST", put = "PUT", patch = "PATCH", delete = "DELETE"
    }

    /// The protocol and its verb.
    public enum Kind: Sendable, Hashable {
        /// HTTP/1.1 (HTTP/2 where TLS negotiates it) to an `http` or `https` URL.
        case http(Method)
        /// One message to an `smtp` or `smtps` URL (`smtp://host:port/ehlo-name`): ``TransferRequest/body``
        /// is the whole RFC 5322 message with CRLF line ends; libcurl adds the dot-stuffing and the
        /// final `.`. Connections (and their EHLO, STARTTLS and AUTH) are reused across messages.
        case smtp(SMTPEnvelope)
        /// A file transfer to an `ftp` URL on an FTP-like server such as HylaFAX's hfaxd.
        case file(FileTransfer)
    }

    /// What to send; HTTP POST by default.
    public var kind: Kind
    /// Full URL, e.g. `http://127.0.0.1:13013/cgi-bin/sendsms?...`; its scheme must fit ``kind``.
    public var url: String
    /// Header lines, `Name: value` (no CR/LF inside). HTTP only.
    public var headers: [String]
    /// The request body: sent as is for HTTP POST, PUT and PATCH (set `Content-Type` in
    /// ``headers``), the message for SMTP, the file for an upload.
    public var body: [UInt8]
    /// User name and password for SMTP AUTH or an FTP login; nil sends none.
    public var login: Login?
    /// Connect and total time limits.
    public var timeouts: Timeouts
    /// Certificate checks for `https`, `smtps` and STARTTLS.
    public var tls: TLSOptions

    /// A POST by default, with 5 s connect and 30 s total timeouts and TLS verification on.
    public init(kind: Kind = .http(.post), url: String, headers: [String] = [], body: [UInt8] = [], login: Login? = nil,
                timeouts: Timeouts = Timeouts(), tls: TLSOptions = TLSOptions()) {
        self.kind = kind
        self.url = url
        self.headers = headers
        self.body = body
        self.login = login
        self.timeouts = timeouts
        self.tls = tls
    }
}

/// An SMTP envelope: who the message is from and to, and whether the session must be encrypted.
public struct SMTPEnvelope: Sendable, Hashable {
    /// How the SMTP session is protected. `smtps://` URLs are TLS from the first byte whatever
    /// this says.
    public enum Security: String, Sendable, Hashable {
        /// No TLS (a relay on the same host or a test peer).
        case none
        /// STARTTLS, and the transfer fails if the server does not offer it.
        case startTLS = "starttls"
    }

    /// The envelope sender (`MAIL FROM`), an address without angle brackets; bounces go there.
    public var from: String
    /// The envelope recipients (`RCPT TO`), addresses without angle brackets.
    public var recipients: [String]
    public var security: Security

    public init(from: String, recipients: [String], security: Security = .none) {
        self.from = from
        self.recipients = recipients
        self.security = security
    }
}

/// A file transfer on an FTP-like connection, with protocol commands around it (HylaFAX's hfaxd
/// takes a document as a file, then `JNEW`, `JPARM …` and `JSUBM` to queue a job for it).
public struct FileTransfer: Sendable, Hashable {
    public enum Direction: Sendable, Hashable {
        /// Store ``TransferRequest/body`` at the URL's path.
        case upload
        /// Fetch the URL's path into the response body (a directory listing when it ends in `/`).
        case download
    }

    public var direction: Direction
    /// Commands sent before the transfer (after login), in order.
    public var commandsBefore: [String]
    /// Commands sent after the transfer, in order. A refused command fails the transfer.
    public var commandsAfter: [String]

    public init(_ direction: Direction, commandsBefore: [String] = [], commandsAfter: [String] = []) {
        self.direction = direction
        self.commandsBefore = commandsBefore
        self.commandsAfter = commandsAfter
    }
}

/// A user name and password (SMTP AUTH, FTP USER/PASS). Never logged.
public struct Login: Sendable, Hashable {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }
}

/// Connect and total timeouts of one transfer.
public struct Timeouts: Sendable, Hashable {
    /// Time to establish the TCP (and TLS) connection.
    public var connect: Duration
    /// Time for the whole transfer, connect included.
    public var total: Duration

    /// Defaults: 5 s to connect, 30 s for the whole transfer.
    public init(connect: Duration = .seconds(5), total: Duration = .seconds(30)) {
        self.connect = connect
        self.total = total
    }
}

/// TLS settings. Verification is on by default; `caFile` names a PEM bundle for a private gateway CA.
public struct TLSOptions: Sendable, Hashable {
    /// Check the peer's certificate chain and host name. Turn off only for a test peer.
    public var verify: Bool
    /// PEM bundle of the CAs to trust instead of the system's.
    public var caFile: String?

    /// Verification on, the system CA bundle.
    public init(verify: Bool = true, caFile: String? = nil) {
        self.verify = verify
        self.caFile = caFile
    }
}

/// A response the gateway sent (any status), or why none arrived.
public enum TransferResult: Sendable {
    /// The gateway answered (with any status).
    case response(TransferResponse)
    /// No answer arrived.
    case failure(TransportError)
}

/// What the gateway answered.
///
/// For SMTP and FTP-like transfers, a server that refused a step (a 4xx or 5xx reply to MAIL,
/// RCPT, DATA, AUTH or a command) is an answer too: `status` is that reply's code and ``replies``
/// ends with it. Only a transfer that got no such reply (refused connection, timeout, a
/// connection dropped mid-DATA) is a ``TransferResult/failure(_:)``.
public struct TransferResponse: Sendable {
    /// The HTTP status, or the last SMTP/FTP reply code for other kinds.
    public var status: Int
    /// Response header fields in order received (names as sent).
    public var headers: [HeaderField]
    /// The response body (at most the transport's limit; see ``bodyTruncated``). Empty for SMTP
    /// and uploads.
    public var body: [UInt8]
    /// The server's reply lines in order, for SMTP and FTP-like transfers (`250 OK`,
    /// `200 New job created: jobid: 4 groupid: 4.`), without line ends. Empty for HTTP.
    public var replies: [String]
    /// Wall time from the start of the transfer to its end.
    public var duration: Duration
    /// True when the gateway sent more body than the transport keeps (``CurlEngine`` keeps
    /// ``CurlEngine/Configuration/maxResponseBodyBytes``, 64 KiB by default): `body` is then only
    /// the start of it, and a parser that fails on it should say so rather than blame the gateway.
    public var bodyTruncated: Bool

    /// A response as a transport (or a test's scripted transport) reports it.
    public init(status: Int, headers: [HeaderField] = [], body: [UInt8] = [], replies: [String] = [], duration: Duration = .zero,
                bodyTruncated: Bool = false) {
        self.status = status
        self.headers = headers
        self.body = body
        self.replies = replies
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

/// One response header field.
public struct HeaderField: Sendable, Hashable {
    /// The name as the peer sent it (compare case-insensitively).
    public var name: String
    /// The value, without surrounding spaces.
    public var value: String

    /// A field from its name and value.
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
        /// The transfer was cancelled: by its caller's task, or by the transport's shutdown.
        case cancelled
        /// Anything else libcurl reports (out of memory, an internal error).
        case other
    }

    /// What went wrong, for the retry policy.
    public var kind: Kind
    /// libcurl's CURLcode, or 0 when the failure did not come from curl.
    public var code: Int32
    /// What happened, for people (never holds the URL's path or query, which may carry a token).
    public var message: String

    /// An error of `kind`; `code` is the CURLcode when libcurl reported it.
    public init(_ kind: Kind, code: Int32 = 0, _ message: String) {
        self.kind = kind
        self.code = code
        self.message = message
    }

    /// False only for ``Kind/invalidRequest``: the same request would fail the same way.
    public var isRetriable: Bool { kind != .invalidRequest }

    /// The message, with libcurl's code when there is one.
    public var description: String { code == 0 ? message : "\(message) (curl \(code))" }
}
