import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Runs the real `chapar` executable as a child process.
enum CLI {
    /// The built executable: $CHAPAR_BIN, or `chapar` next to the test bundle.
    static let binary: String = {
        if let env = ProcessInfo.processInfo.environment["CHAPAR_BIN"] { return env }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("chapar").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/chapar").path
    }()

    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// Runs `chapar args…` with `input` on stdin and waits (bounded by `timeout`).
    static func run(_ args: [String], input: String = "", timeout: Duration = .seconds(60)) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = args
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        ignoreSIGPIPE()
        let data = Array(input.utf8)
        _ = data.withUnsafeBytes { write(stdin.fileHandleForWriting.fileDescriptor, $0.baseAddress, $0.count) }
        try stdin.fileHandleForWriting.close()
        let out = Reader(stdout.fileHandleForReading.fileDescriptor), err = Reader(stderr.fileHandleForReading.fileDescriptor)
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while process.isRunning {
            if ContinuousClock.now > deadline {
                kill(process.processIdentifier, SIGKILL)
                Issue.record("chapar \(args.joined(separator: " ")) did not finish within \(timeout)")
                break
            }
            usleep(2000)
        }
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: out.finish(), stderr: err.finish())
    }

    /// Starts `chapar log consume` on `dir` as a process that holds the data directory, and returns
    /// once it owns it (the lock file names its pid). Probing earlier races its start-up: the
    /// probe may win the lock and the holder be the one refused.
    static func startDirectoryHolder(_ dir: String) throws -> Process {
        try startBackground(["log", "consume", "t", "--data-dir", dir], what: "the holder never took the lock") {
            // LOCK holds the holder's pid, then its command line.
            (try? String(contentsOfFile: dir + "/LOCK", encoding: .utf8))?.hasPrefix("\($0)\n") == true
        }.process
    }

    /// Starts `chapar args…` in the background and returns once `ready(pid)` holds (polled every
    /// 10 ms, up to 30 s); if it exits or times out first, records `what` with its stderr.
    static func startBackground(_ args: [String], what: String, ready: (Int32) -> Bool) throws -> (process: Process, stderr: Reader) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = args
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        let err = Pipe()
        process.standardError = err
        try process.run()
        let log = Reader(err.fileHandleForReading.fileDescriptor)
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while !ready(process.processIdentifier) {
            guard process.isRunning, ContinuousClock.now < deadline else {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                Issue.record("\(what): exit \(process.terminationStatus), stderr: \(log.finish())")
                break
            }
            usleep(10_000)
        }
        return (process, log)
    }

    static func ignoreSIGPIPE() { signal(SIGPIPE, SIG_IGN) }

    /// Runs a long, blocking test body (child processes, waits) on its own thread. Swift Testing
    /// runs synchronous tests on the cooperative pool, which has one thread per core: two long
    /// blocking tests there starve every async test of the run (seen on 2 cores under load).
    static func offPool(_ body: @escaping @Sendable () throws -> Void) async throws {
        let result = await withCheckedContinuation { (c: CheckedContinuation<Swift.Result<Void, any Error>, Never>) in
            let thread = Thread { c.resume(returning: Swift.Result { try body() }) }
            thread.stackSize = 4 << 20
            thread.start()
        }
        try result.get()
    }

    static func temporaryDirectory(_ name: String) -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("chapar-\(name)-\(UUID().uuidString.prefix(8))").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// Drains a pipe on its own thread so the child never blocks on a full pipe.
final class Reader: @unchecked Sendable {
    // Safe: `data` is written by the reading thread and read only after `done` is signalled.
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ fd: Int32, onLine: (@Sendable (String) -> Void)? = nil) {
        let thread = Thread { [self] in
            var buffer = [UInt8](repeating: 0, count: 65536)
            var pending = Data()
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
                if n <= 0 { break }
                data.append(contentsOf: buffer[0..<n])
                if let onLine {
                    pending.append(contentsOf: buffer[0..<n])
                    while let nl = pending.firstIndex(of: 0x0A) {
                        onLine(String(decoding: pending[pending.startIndex..<nl], as: UTF8.self))
                        pending.removeSubrange(pending.startIndex...nl)
                    }
                }
            }
            done.signal()
        }
        thread.start()
    }

    func finish() -> String {
        done.wait()
        return String(decoding: data, as: UTF8.self)
    }
}
