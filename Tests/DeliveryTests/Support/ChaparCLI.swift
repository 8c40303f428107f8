import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The real `chapar` executable as a child process, for end-to-end CLI tests in this target.
///
/// Locates the binary as Tests/ChaparCLITests/CLIHarness.swift does (that target cannot be
/// imported here), but runs it through ``ChildProcess``: the child gets every signal unblocked
/// and at its default (the test runner's threads block SIGTERM, which a `Process` child would
/// inherit), its own process group, and output to files rather than pipes.
enum ChaparCLI {
    /// The built executable: $CHAPAR_BIN, or `chapar` next to the test bundle, or .build/debug/chapar.
    static let binary: String = {
        if let env = ProcessInfo.processInfo.environment["CHAPAR_BIN"] { return env }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("chapar").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return TestPaths.repositoryRoot + "/.build/debug/chapar"
    }()

    /// Runs `chapar args…` to completion, at most `timeout` (then SIGKILL, and throws). With
    /// `stdinFile`, the command reads that file on stdin (else /dev/null).
    static func run(_ args: [String], stdinFile: String? = nil, environment: [String: String] = [:],
                    timeout: Duration = .seconds(60)) throws -> PeerCommandResult {
        guard let stdinFile else { return try PeerCommand.run(binary, args, environment: environment, timeout: timeout) }
        // ChildProcess always gives /dev/null as stdin: let a shell redirect, then become chapar.
        var env = environment
        env["CHAPAR_TEST_STDIN"] = stdinFile
        return try PeerCommand.run("/bin/sh", ["-c", "exec \"$0\" \"$@\" < \"$CHAPAR_TEST_STDIN\"", binary] + args,
                                   environment: env, timeout: timeout)
    }

    /// Starts `chapar args…` in the background; stdout and stderr go to files read by
    /// ``ChaparProcess/stderr``. The process is killed (SIGKILL) when released.
    static func start(_ args: [String], environment: [String: String] = [:]) throws -> ChaparProcess {
        try ChaparProcess(binary, args, environment: environment)
    }
}

/// A `chapar` running in the background (see ``ChaparCLI/start(_:environment:)``).
final class ChaparProcess: Sendable {
    let arguments: [String]
    private let child: ChildProcess
    private let scratch: String

    var pid: Int32 { child.pid }

    fileprivate init(_ executable: String, _ arguments: [String], environment: [String: String]) throws {
        scratch = TestPaths.temporaryDirectory("chapar-bg")
        let out = open(scratch + "/stdout", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        let err = open(scratch + "/stderr", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        defer {
            if out >= 0 { close(out) }
            if err >= 0 { close(err) }
        }
        guard out >= 0, err >= 0 else { throw PeerError("cannot create output files in \(scratch)") }
        self.arguments = arguments
        child = try ChildProcess(executable, arguments, environment: environment, stdout: out, stderr: err)
    }

    deinit {
        kill()
        try? FileManager.default.removeItem(atPath: scratch)
    }

    /// What it printed on stderr so far.
    var stderr: String { (try? String(contentsOfFile: scratch + "/stderr", encoding: .utf8)) ?? "" }
    /// What it printed on stdout so far.
    var stdout: String { (try? String(contentsOfFile: scratch + "/stdout", encoding: .utf8)) ?? "" }

    var isRunning: Bool { child.isRunning }

    /// Sends `signal` (to this pid only; nothing once it has been reaped).
    func signal(_ signal: Int32) { child.kill(signal) }

    /// Waits up to `timeout` for the exit: its status (exit code, or 128 + signal), or nil if it still runs.
    func waitForExit(timeout: Duration) -> Int32? {
        guard child.waitForExit(timeout: timeout) else { return nil }
        return child.waitForExit()
    }

    /// SIGKILL (if it still runs) and reap it. Idempotent.
    func kill() {
        child.kill(SIGKILL)
        child.waitForExit()
    }

    /// Polls `condition` every 20 ms for at most `timeout`; true once it holds. Gives up early
    /// (false) when the process exits first.
    func wait(upTo timeout: Duration, for condition: () throws -> Bool) rethrows -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if try condition() { return true }
            if !isRunning { return try condition() }
            usleep(20_000)
        }
        return try condition()
    }
}
