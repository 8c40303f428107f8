import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `scripts/peers/http_sink.py` as a child process on a free loopback port.
///
/// Started with `--exit-on-stdin-eof` and a pipe for stdin: if the test process dies without
/// reaching `stop()`, the pipe closes and the sink exits on its own.
final class HTTPSinkProcess {
    let process = Process()
    let port: Int
    private let stdinPipe = Pipe()
    private let stdoutPipe = Pipe()

    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// The repository root, from this file's path (Tests/DeliveryTests/<file>).
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// Starts the sink and waits (at most `timeout`) for its `ready <port>` line.
    init(timeout: Duration = .seconds(10)) throws {
        let script = Self.repoRoot.appendingPathComponent("scripts/peers/http_sink.py").path
        // Debian's own interpreter first: the pyenv `python3` shim forks, so terminating the
        // process we started would leave the real sink running.
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = [script, "--port", "0", "--exit-on-stdin-eof"]
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", script, "--port", "0", "--exit-on-stdin-eof"]
        }
        process.standardInput = stdinPipe
        process.standardOutput = stdoutPipe
        try process.run()
        do {
            port = try Self.readReadyLine(stdoutPipe.fileHandleForReading.fileDescriptor, timeout: timeout)
        } catch {
            process.terminate()
            try? stdinPipe.fileHandleForWriting.close()
            process.waitUntilExit()
            throw error
        }
    }

    /// SIGTERM, close its stdin, and reap it.
    func stop() {
        if process.isRunning { process.terminate() }
        try? stdinPipe.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    struct NotReady: Error, CustomStringConvertible {
        var description: String
    }

    private static func readReadyLine(_ fd: Int32, timeout: Duration) throws -> Int {
        let deadline = ContinuousClock.now + timeout
        var bytes: [UInt8] = []
        while true {
            if let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: bytes[..<newline], as: UTF8.self)
                guard line.hasPrefix("ready "), let port = Int(line.dropFirst(6)) else {
                    throw NotReady(description: "http_sink.py said \(line.debugDescription) instead of `ready <port>`")
                }
                return port
            }
            let left = deadline - ContinuousClock.now
            guard left > .zero else { throw NotReady(description: "http_sink.py was not ready within \(timeout)") }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ms = Int32(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000) + 1
            guard poll(&pfd, 1, ms) > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 256)
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { throw NotReady(description: "http_sink.py exited before it was ready") }
            bytes += chunk[..<n]
        }
    }
}

/// Runs `body` with a fresh sink and stops the sink afterwards, whether `body` returned or threw.
func withHTTPSink<T>(_ body: (HTTPSinkProcess) async throws -> T) async throws -> T {
    let sink = try HTTPSinkProcess()
    defer { sink.stop() }
    return try await body(sink)
}

/// A loopback port nobody listens on: bind, read the port, close.
func deadLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    try #require(fd >= 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    try #require(bound)
    return Int(UInt16(bigEndian: addr.sin_port))
}
