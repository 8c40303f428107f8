import Foundation

/// An `m.room.message` event as scripts/peers/matrix_messages.py prints it.
struct MatrixMessage: Decodable, Sendable {
    let sender: String
    let body: String
    let msgtype: String?
    let eventID: String
    /// The sender's transaction id: visible only when read with the sending device's token.
    let transactionID: String?

    enum CodingKeys: String, CodingKey {
        case sender, body, msgtype
        case eventID = "event_id"
        case transactionID = "txn_id"
    }
}

/// Matrix Synapse (SQLite, no federation) on a free loopback port, via scripts/peers/synapse.sh, in
/// a temp directory of its own: a bot user (admin), a recipient, and a private room both are in.
/// Starts in about 3–5 s. Synapse comes from the venv scripts/install-deps.sh makes.
final class SynapsePeer: Sendable {
    /// The peer's working directory (homeserver.yaml, logs, the SQLite database).
    let directory: String
    /// `http://127.0.0.1:<port>`: the client-server API.
    let url: String
    /// The bot's user id (`@chapar-bot:localhost`), an admin.
    let botUser: String
    let botToken: String
    /// The room the bot created and the recipient joined (don't parse it: no `:server` suffix).
    let roomID: String
    /// The recipient's user id (`@recipient:localhost`).
    let recipient: String
    let recipientToken: String
    private let stopped = PeerLock(false)

    private static var script: String { TestPaths.peerScripts + "/synapse.sh" }
    private static var venvPython: String { TestPaths.peersHome + "/synapse-venv/bin/python" }

    private init(directory: String, environment: [String: String]) throws {
        let file = directory + "/peer.env"
        self.directory = directory
        url = try environment.required("MATRIX_URL", in: file)
        botUser = try environment.required("MATRIX_BOT_USER", in: file)
        botToken = try environment.required("MATRIX_BOT_TOKEN", in: file)
        roomID = try environment.required("MATRIX_ROOM_ID", in: file)
        recipient = try environment.required("MATRIX_RECIPIENT", in: file)
        recipientToken = try environment.required("MATRIX_RECIPIENT_TOKEN", in: file)
    }

    deinit {
        stop()
        TestPaths.removePeerDirectory(directory)
    }

    /// Starts Synapse, waits for /health and sets up the users and the room. Throws, telling to run
    /// scripts/install-deps.sh, when Synapse's venv is missing.
    static func start() throws -> SynapsePeer {
        guard FileManager.default.isExecutableFile(atPath: venvPython) else {
            throw PeerError("Matrix Synapse is not installed (\(venvPython) is missing): run scripts/install-deps.sh")
        }
        return try startPeer("synapse.sh", name: "synapse", timeout: .seconds(120)) { try SynapsePeer(directory: $0, environment: $1) }
    }

    /// The room's messages, oldest first, read as the recipient (or with `token`).
    func messages(token: String? = nil) throws -> [MatrixMessage] {
        let result = try PeerCommand.run(
            Self.venvPython, [TestPaths.peerScripts + "/matrix_messages.py", url, token ?? recipientToken, roomID],
            timeout: .seconds(30))
        guard result.status == 0 else {
            throw PeerError("matrix_messages.py failed (exit \(result.status)): \(result.stderr)")
        }
        let decoder = JSONDecoder()
        return try result.stdout.split(separator: "\n").map { try decoder.decode(MatrixMessage.self, from: Data($0.utf8)) }
    }

    /// Stops Synapse by its PID and waits for it (bounded). Idempotent.
    func stop() {
        let first = stopped.withLock { value -> Bool in
            defer { value = true }
            return !value
        }
        guard first else { return }
        _ = try? PeerCommand.run(Self.script, ["stop", directory], timeout: .seconds(30))
    }
}
