import ChaparModels
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `scripts/peers/http_sink.py` as a child process on a free loopback port, for `chapar bench delivery`.
///
/// Started with `--exit-on-stdin-eof` and a pipe for stdin: if the bench dies without reaching
/// ``stop()``, the pipe closes and the sink exits on its own.
final class BenchHTTPSink {
    private let process = Process()
    private let stdinPipe = Pipe()
    private let stdoutPipe = Pipe()
    /// The port it listens on, on 127.0.0.1.
    let port: Int

    var baseURL: String { "http://127.0.0.1:\(port)" }

    /// The sink script: `explicit` if given, else `scripts/peers/http_sink.py` under the current directory.
    static func locateScript(_ explicit: String?) throws -> String {
        let path = explicit ?? FileManager.default.currentDirectoryPath + "/scripts/peers/http_sink.py"
        guard FileManager.default.fileExists(atPath: path) else {
            throw CLIUsageFailure(code: 66, message: explicit == nil
                ? "scripts/peers/http_sink.py is not under the current directory; run from the repository root, or pass --sink-script PATH or --sink-url URL"
                : "--sink-script \(path) does not exist")
        }
        return path
    }

    /// Starts the sink and waits (at most `timeout`) for its `ready <port>` line.
    init(script: String, timeout: Duration = .seconds(10)) throws {
        // Debian's own interpreter first: a pyenv `python3` shim forks, so terminating the
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

    /// CPU seconds (user + system) the sink has used so far, from /proc (nil where there is none).
    func cpuSeconds() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        // After "pid (comm)": state is field 3; utime and stime are fields 14 and 15, in clock ticks.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    private static func readReadyLine(_ fd: Int32, timeout: Duration) throws -> Int {
        let deadline = ContinuousClock.now + timeout
        var bytes: [UInt8] = []
        while true {
            if let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: bytes[..<newline], as: UTF8.self)
                guard line.hasPrefix("ready "), let port = Int(line.dropFirst(6)) else {
                    throw CLIUsageFailure(code: 1, message: "http_sink.py said \(line.debugDescription) instead of `ready <port>`")
                }
                return port
            }
            let left = deadline - ContinuousClock.now
            guard left > .zero else { throw CLIUsageFailure(code: 1, message: "http_sink.py was not ready within \(timeout)") }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, Int32(left.milliseconds) + 1) > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 256)
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { throw CLIUsageFailure(code: 1, message: "http_sink.py exited before it was ready (is python3 >= 3.9 installed?)") }
            bytes += chunk[..<n]
        }
    }
}
