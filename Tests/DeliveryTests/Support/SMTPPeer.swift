import Foundation

/// One message as aiosmtpd stored it and Python's email package decoded it
/// (scripts/peers/maildir_dump.py): an independent reader of what Chapar wrote.
struct StoredMail: Decodable, Sendable {
    struct Attachment: Decodable, Sendable {
        let filename: String
        let type: String
        let size: Int
        /// Where the attachment was written (``SMTPPeer/messages(savingAttachmentsTo:)``), else empty.
        let saved: String
    }

    let file: String
    /// The SMTP envelope as the server saw it.
    let mail_from: String
    let rcpt_to: [String]
    /// Decoded (RFC 2047) header values.
    let subject: String
    let from: String
    let to: String
    let message_id: String
    let date: String
    /// Every header, lower-case names, decoded values.
    let headers: [String: String]
    /// Content types in walk order: `multipart/alternative`, `text/plain`, `text/html`.
    let structure: [String]
    let text: String
    let html: String
    let attachments: [Attachment]
    /// The longest raw line in bytes (RFC 5322 allows at most 998).
    let max_line: Int
}

/// aiosmtpd on a free loopback port writing a Maildir, via scripts/peers/smtp.sh, in a temp
/// directory of its own. Starts in well under a second. Faults by recipient: see smtp_peer.py.
final class SMTPPeer: Sendable {
    let directory: String
    /// `smtp://127.0.0.1:<port>`.
    let url: String
    let maildir: String
    /// The self-signed certificate of a TLS peer (trust it with `TLSOptions(caFile:)`), else nil.
    let caFile: String?
    private let stopped = PeerLock(false)

    private static var script: String { TestPaths.peerScripts + "/smtp.sh" }

    private init(directory: String, environment: [String: String]) throws {
        let file = directory + "/peer.env"
        self.directory = directory
        url = try environment.required("SMTP_URL", in: file)
        maildir = try environment.required("SMTP_MAILDIR", in: file)
        caFile = environment["SMTP_CA_FILE"].flatMap { $0.isEmpty ? nil : $0 }
    }

    deinit {
        stop()
        TestPaths.removePeerDirectory(directory)
    }

    /// Starts the server; `auth` (`user:password`) makes AUTH required; `tls` (`starttls` or
    /// `smtps`) makes TLS required, with a self-signed certificate (``caFile``).
    static func start(auth: String? = nil, tls: String? = nil) throws -> SMTPPeer {
        let arguments = (auth.map { ["--auth", $0] } ?? []) + (tls.map { ["--tls", $0] } ?? [])
        return try startPeer("smtp.sh", name: "smtp", arguments: arguments, timeout: .seconds(30)) {
            try SMTPPeer(directory: $0, environment: $1)
        }
    }

    /// Every stored message, decoded by Python's email package; with `directory`, their attachments
    /// are written there too.
    func messages(savingAttachmentsTo directory: String? = nil) throws -> [StoredMail] {
        let result = try PeerCommand.run("/usr/bin/python3", [TestPaths.peerScripts + "/maildir_dump.py", maildir] + (directory.map { [$0] } ?? []),
                                         timeout: .seconds(60))
        guard result.status == 0 else { throw PeerError("maildir_dump.py failed: \(result.stderr)") }
        let decoder = JSONDecoder()
        return try result.stdout.split(separator: "\n").map { try decoder.decode(StoredMail.self, from: Data($0.utf8)) }
    }

    /// Polls until at least `count` messages are stored; throws with what arrived when `timeout` passes.
    @discardableResult
    func waitForMessages(count: Int, timeout: Duration = .seconds(20)) throws -> [StoredMail] {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            let stored = storedCount()
            if stored >= count { return try messages() }
            if ContinuousClock.now > deadline { throw PeerError("the SMTP peer stored \(stored) of \(count) messages within \(timeout)") }
            usleep(20_000)
        }
    }

    /// Files in Maildir/new (cheap, for polling).
    func storedCount() -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: maildir + "/new")) ?? []).count
    }

    /// How many EHLO greetings the server has seen: one per SMTP connection.
    func ehloCount() -> Int {
        let output = (try? String(contentsOfFile: directory + "/smtp.out", encoding: .utf8)) ?? ""
        return output.split(separator: "\n").filter { $0.hasPrefix("ehlo ") }.count
    }

    /// Stops the server by PID (bounded). Idempotent.
    func stop() {
        let first = stopped.withLock { value -> Bool in
            defer { value = true }
            return !value
        }
        guard first else { return }
        _ = try? PeerCommand.run(Self.script, ["stop", directory], timeout: .seconds(30))
    }
}
