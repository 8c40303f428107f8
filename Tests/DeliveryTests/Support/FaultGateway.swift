import Foundation

/// One request the fault gateway recorded (a line of its log; see scripts/peers/fault_gateway.py).
struct GatewayRequest: Decodable, Sendable {
    /// 1, 2, … in arrival order.
    let n: Int
    /// When it arrived, in milliseconds since the epoch.
    let t: Int64
    let method: String
    /// The decoded path, without the query.
    let path: String
    /// Query parameters (a repeated one keeps its last value).
    let query: [String: String]
    /// Headers with lower-cased names (repeated ones joined with ", ").
    let headers: [String: String]
    /// The body as UTF-8.
    let body: String

    /// The header `name` (any case), or nil.
    func header(_ name: String) -> String? { headers[name.lowercased()] }
}

/// scripts/peers/fault_gateway.py on a free loopback port: one HTTP server whose behaviour is
/// chosen by the request path (`/ok`, `/status/NNN`, `/retry-after/S`, `/unavailable/S`,
/// `/slow/MS`, `/hang`, `/reset`, `/flaky/N/…`, `/down-then-up/MS`, `/telegram/bot<T>/sendMessage`,
/// `/webhook…`), recording every request. Starts in about 0.1 s.
final class FaultGateway: Sendable {
    /// The port it listens on (127.0.0.1).
    let port: Int
    /// Its request log (one JSON line per request).
    let logPath: String
    private let directory: String
    private let process: PeerProcess

    private init(port: Int, logPath: String, directory: String, process: PeerProcess) {
        self.port = port
        self.logPath = logPath
        self.directory = directory
        self.process = process
    }

    deinit {
        stop()
        TestPaths.removePeerDirectory(directory)
    }

    /// Starts a gateway and waits (≤ 10 s) until it listens.
    static func start() throws -> FaultGateway {
        let script = TestPaths.peerScripts + "/fault_gateway.py"
        let directory = TestPaths.temporaryDirectory("fault-gateway")
        let logPath = directory + "/requests.jsonl"
        let process = try PeerProcess(
            try TestPaths.python(), [script, "--port", "0", "--log", logPath], name: "fault_gateway.py")
        return FaultGateway(port: process.port, logPath: logPath, directory: directory, process: process)
    }

    /// `http://127.0.0.1:<port>` + `path` (a leading "/" is added when missing).
    func url(_ path: String) -> String {
        "http://127.0.0.1:\(port)" + (path.hasPrefix("/") ? path : "/" + path)
    }

    /// Every request recorded so far, in arrival order. Each is logged before it is answered, so a
    /// request whose response the client has seen is always here.
    func requests() throws -> [GatewayRequest] {
        guard let data = FileManager.default.contents(atPath: logPath) else { return [] }
        let decoder = JSONDecoder()
        return try data.split(separator: UInt8(ascii: "\n")).map { line in
            do {
                return try decoder.decode(GatewayRequest.self, from: Data(line))
            } catch {
                throw PeerError("bad line in \(logPath): \(String(decoding: line, as: UTF8.self)) (\(error))")
            }
        }
    }

    /// Stops the gateway (SIGTERM, then SIGKILL after 5 s). Idempotent. The log stays readable
    /// until the gateway is released.
    func stop() {
        process.stop()
    }
}
