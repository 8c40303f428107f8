import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

// The shared machinery for the real test peers (scripts/peers/): paths, errors, child processes.
// The peers themselves: FaultGateway.swift, KannelPeer.swift, SynapsePeer.swift, HylaFAXPeer.swift; an HTTP client
// for tests that must not go through the code under test: TestCurl.swift.

/// Where the repository and the test scratch space are.
enum TestPaths {
    /// The repository root, found from this file's path (Tests/DeliveryTests/Support/Peers.swift).
    static let repositoryRoot: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    /// scripts/peers in the repository.
    static var peerScripts: String { repositoryRoot + "/scripts/peers" }

    /// A new, empty directory under the system temp directory, named `chapar-<name>-<random>`.
    static func temporaryDirectory(_ name: String) -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("chapar-\(name)-\(UUID().uuidString.prefix(8))").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A Python 3 for the stdlib-only peer scripts: $CHAPAR_PYTHON, Debian's /usr/bin/python3, or
    /// the first python3 on PATH.
    static func python() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        if let python = environment["CHAPAR_PYTHON"] { return python }
        var candidates = ["/usr/bin/python3"]
        for dir in (environment["PATH"] ?? "").split(separator: ":") { candidates.append("\(dir)/python3") }
        guard let python = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw PeerError("no python3 found (tried /usr/bin/python3 and PATH): run scripts/install-deps.sh")
        }
        return python
    }

    /// Removes a released peer's working directory, unless CHAPAR_KEEP_PEERS=1 asks to keep it
    /// (then its path is printed) for a look at the logs.
    static func removePeerDirectory(_ path: String) {
        if ProcessInfo.processInfo.environment["CHAPAR_KEEP_PEERS"] == "1" {
            print("kept peer directory \(path)")
        } else {
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    /// The directory scripts/install-deps.sh installs Synapse's venv into.
    static var peersHome: String {
        ProcessInfo.processInfo.environment["CHAPAR_PEERS_HOME"] ?? "/var/cache/chapar-peers"
    }
}

/// A peer could not be started, queried or stopped. The message says what happened and what to do.
struct PeerError: Error, CustomStringConvertible {
    let message: String
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// Runs a blocking test body (child processes, waits, polling) on its own thread. Swift Testing
/// runs tests on the cooperative pool, which has one thread per core: a few blocking tests there
/// starve every async test of the run.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    let result = await withCheckedContinuation { (c: CheckedContinuation<Result<T, any Error>, Never>) in
        let thread = Thread { c.resume(returning: Result { try body() }) }
        thread.stackSize = 4 << 20
        thread.start()
    }
    return try result.get()
}

/// A short-lived command run to completion: its exit status and what it printed.
struct PeerCommandResult: Sendable {
    /// The exit code, or 128 + the signal number when a signal ended it.
    let status: Int32
    let stdout: String
    let stderr: String
}

/// Short-lived commands (peer start/stop scripts, curl). Output goes to temp files, not pipes, so
/// daemons a script leaves running can never hold our pipe open.
enum PeerCommand {
    /// Runs `executable arguments…` and waits for it, at most `timeout` (then SIGKILL and throw).
    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:],
        timeout: Duration
    ) throws -> PeerCommandResult {
        let scratch = TestPaths.temporaryDirectory("command")
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let outPath = scratch + "/stdout", errPath = scratch + "/stderr"
        let out = open(outPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        let err = open(errPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        defer {
            if out >= 0 { close(out) }
            if err >= 0 { close(err) }
        }
        guard out >= 0, err >= 0 else { throw PeerError("cannot create output files in \(scratch)") }
        let child = try ChildProcess(executable, arguments, environment: environment, stdout: out, stderr: err)
        let timedOut = !child.waitForExit(timeout: timeout)
        if timedOut { child.kill(SIGKILL) }
        let status = child.waitForExit()
        let stdout = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        if timedOut {
            throw PeerError("\(executable) \(arguments.joined(separator: " ")) did not finish within \(timeout); stderr: \(stderr)")
        }
        return PeerCommandResult(status: status, stdout: stdout, stderr: stderr)
    }
}

/// A child process started with posix_spawn, reaped with waitpid.
///
/// Not Foundation's `Process`: that one passes the child a socket it watches to learn of the
/// exit, so a daemon the child leaves running (Kannel's bearerbox from kannel.sh) keeps the exit
/// unnoticed; and children inherit the spawning thread's signal mask, where the test runner's
/// threads block SIGTERM, so daemons would ignore `stop`. Here the child gets stdin from
/// /dev/null, no descriptor but 0–2, every signal at its default and unblocked, its own process
/// group, and loopback-safe environment (no proxy).
final class ChildProcess: Sendable {
    let pid: pid_t
    private let exitStatus = PeerLock<Int32?>(nil)

    init(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:],
        stdout: Int32, stderr: Int32
    ) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        if let closeFrom = Self.addCloseFrom { _ = closeFrom(&actions, 3) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t(), allSignals = sigset_t()
        sigemptyset(&noSignals)
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = Self.environment(environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let error = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard error == 0 else {
            throw PeerError("cannot run \(executable): \(String(cString: strerror(error)))")
        }
        self.pid = pid
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34+; a GNU extension Swift's Glibc
    /// module does not show), so that the child inherits nothing but 0–2.
    private static let addCloseFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(
            symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    deinit {
        if exitStatus.withLock({ $0 == nil }) {
            kill(SIGKILL)
            _ = waitForExit()
        }
    }

    /// Whether the child still runs (reaping it once it has exited).
    var isRunning: Bool { poll() == nil }

    /// Sends `signal` to the child unless it has been reaped (its pid may be reused by then).
    func kill(_ signal: Int32) {
        exitStatus.withLock { status in
            if status == nil { _ = Glibc.kill(pid, signal) }
        }
    }

    /// Waits up to `timeout` for the child to exit; true when it has.
    func waitForExit(timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while poll() == nil {
            if ContinuousClock.now > deadline { return false }
            usleep(5_000)
        }
        return true
    }

    /// Waits for the child to exit and returns its status (exit code, or 128 + signal).
    @discardableResult
    func waitForExit() -> Int32 {
        while true {
            if let status = poll() { return status }
            usleep(5_000)
        }
    }

    private func poll() -> Int32? {
        exitStatus.withLock { status in
            if let status { return status }
            var raw: Int32 = 0
            let result = waitpid(pid, &raw, WNOHANG)
            guard result == pid else {
                // ECHILD: reaped elsewhere; nothing more to learn.
                if result < 0, errno == ECHILD { status = -1 }
                return status
            }
            let signal = raw & 0x7f
            status = signal == 0 ? (raw >> 8) & 0xff : 128 + signal
            return status
        }
    }

    /// Ours, plus `extra`, with loopback never sent to a proxy.
    static func environment(_ extra: [String: String]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        for key in ["http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"] {
            environment[key] = nil
        }
        environment["NO_PROXY"] = "*"
        environment["no_proxy"] = "*"
        environment["PYTHONUNBUFFERED"] = "1"
        environment.merge(extra) { _, new in new }
        return environment
    }
}

/// A long-running child process that announces itself with a `ready <port>` line on stdout (as
/// scripts/peers/fault_gateway.py does). Its stdout and stderr are drained on their own threads so
/// the pipes never fill; `stop()` (and deinit) end it with SIGTERM, then SIGKILL after a bound.
final class PeerProcess: Sendable {
    /// The port from the `ready <port>` line.
    let port: Int
    /// The child's process id.
    var pid: Int32 { child.pid }
    private let child: ChildProcess
    private let name: String
    private let log: PeerLock<String>
    private let stopped = PeerLock(false)

    /// Starts `executable arguments…` and waits up to `readyTimeout` for its `ready <port>` line.
    /// Throws (after killing the child) when it exits or stays silent instead. `name` is for
    /// messages (default: the executable's file name).
    init(
        _ executable: String, _ arguments: [String], name: String? = nil, environment: [String: String] = [:],
        readyTimeout: Duration = .seconds(10)
    ) throws {
        let name = name ?? URL(fileURLWithPath: executable).lastPathComponent
        var out: [Int32] = [-1, -1], err: [Int32] = [-1, -1]
        guard pipe(&out) == 0 else { throw PeerError("pipe: \(String(cString: strerror(errno)))") }
        guard pipe(&err) == 0 else {
            close(out[0])
            close(out[1])
            throw PeerError("pipe: \(String(cString: strerror(errno)))")
        }
        // Close-on-exec, so that no other child started meanwhile keeps a write end (and our drain
        // from seeing EOF); our child gets its copies through dup2, which clears the flag.
        for fd in out + err { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        let child: ChildProcess
        do {
            child = try ChildProcess(executable, arguments, environment: environment, stdout: out[1], stderr: err[1])
        } catch {
            [out[0], out[1], err[0], err[1]].forEach { close($0) }
            throw error
        }
        // The parent's copies of the write ends would keep the drains from ever seeing EOF.
        close(out[1])
        close(err[1])

        let log = PeerLock("")
        let announced = PeerLock<Int?>(nil)
        let ready = DispatchSemaphore(value: 0)
        Self.drain(out[0], into: log) { line in
            guard line.hasPrefix("ready "), let port = Int(line.dropFirst(6).trimmingCharacters(in: .whitespaces)) else { return }
            let first = announced.withLock { value -> Bool in
                guard value == nil else { return false }
                value = port
                return true
            }
            if first { ready.signal() }
        }
        Self.drain(err[0], into: log, onLine: nil)

        let deadline = ContinuousClock.now.advanced(by: readyTimeout)
        while ready.wait(timeout: .now() + .milliseconds(20)) == .timedOut {
            let exited = !child.isRunning
            if exited || ContinuousClock.now > deadline {
                child.kill(SIGKILL)
                let status = child.waitForExit()
                usleep(50_000)  // let the drains collect the last words
                let output = log.withLock { $0 }
                throw PeerError(
                    exited
                        ? "\(name) exited (status \(status)) before printing 'ready <port>'; output:\n\(output)"
                        : "\(name) printed no 'ready <port>' within \(readyTimeout); output:\n\(output)")
            }
        }
        self.port = announced.withLock { $0! }  // set before `ready` was signalled
        self.child = child
        self.name = name
        self.log = log
    }

    deinit { stop() }

    /// Whether the child still runs.
    var isRunning: Bool { child.isRunning }

    /// Everything the child printed so far (stdout and stderr interleaved by arrival).
    var output: String { log.withLock { $0 } }

    /// SIGTERM, wait up to `timeout` for the exit, then SIGKILL. Safe to call more than once.
    func stop(timeout: Duration = .seconds(5)) {
        let first = stopped.withLock { value -> Bool in
            defer { value = true }
            return !value
        }
        guard first else { return }
        child.kill(SIGTERM)
        if !child.waitForExit(timeout: timeout) {
            child.kill(SIGKILL)
        }
        child.waitForExit()
    }

    /// Reads `fd` to EOF on a thread of its own, appending to `log` and calling `onLine` per line.
    private static func drain(_ fd: Int32, into log: PeerLock<String>, onLine: (@Sendable (String) -> Void)?) {
        let thread = Thread {
            var buffer = [UInt8](repeating: 0, count: 16_384)
            var pending: [UInt8] = []
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
                if n < 0, errno == EINTR { continue }
                if n <= 0 { break }
                let chunk = buffer[0..<n]
                log.withLock { $0 += String(decoding: chunk, as: UTF8.self) }
                guard let onLine else { continue }
                pending.append(contentsOf: chunk)
                while let newline = pending.firstIndex(of: 0x0A) {
                    onLine(String(decoding: pending[..<newline], as: UTF8.self))
                    pending.removeSubrange(...newline)
                }
            }
            close(fd)
        }
        thread.start()
    }
}

/// Reads a `peer.env` file written by the peer scripts: `NAME=value` or `NAME='value'` lines.
/// Starts a peer with `scripts/peers/<script> start DIR arguments…` in a new temp directory and
/// builds it from the directory and its `peer.env`. Two tries: a free port the script picked can
/// be taken by another process before the daemon binds it (tests start peers side by side). A
/// failed try is stopped (`<script> stop DIR`) and its directory removed.
func startPeer<Peer>(_ script: String, name: String, arguments: [String] = [], timeout: Duration,
                     _ make: (_ directory: String, _ environment: [String: String]) throws -> Peer) throws -> Peer {
    let path = TestPaths.peerScripts + "/" + script
    var failure: any Error = PeerError("scripts/peers/\(script) did not start")
    for _ in 1...2 {
        let directory = TestPaths.temporaryDirectory(name)
        do {
            let result = try PeerCommand.run(path, ["start", directory] + arguments, timeout: timeout)
            guard result.status == 0 else {
                throw PeerError("scripts/peers/\(script) start \(directory) failed (exit \(result.status)):\n\(result.stderr)")
            }
            return try make(directory, readPeerEnvironment(directory + "/peer.env"))
        } catch {
            _ = try? PeerCommand.run(path, ["stop", directory], timeout: .seconds(30))
            TestPaths.removePeerDirectory(directory)
            failure = error
        }
    }
    throw failure
}

func readPeerEnvironment(_ path: String) throws -> [String: String] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
        throw PeerError("cannot read \(path)")
    }
    var values: [String: String] = [:]
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
        guard let equals = line.firstIndex(of: "=") else { continue }
        var value = String(line[line.index(after: equals)...])
        if value.count >= 2, value.hasPrefix("'") || value.hasPrefix("\""), value.last == value.first {
            value = String(value.dropFirst().dropLast())
        }
        values[String(line[..<equals])] = value
    }
    return values
}

extension [String: String] {
    /// The value for `key`, or a PeerError naming the file it should have come from.
    func required(_ key: String, in file: String) throws -> String {
        guard let value = self[key], !value.isEmpty else { throw PeerError("\(file) has no \(key)") }
        return value
    }
}

/// A value behind a lock, shareable with threads and escaping closures (a `Mutex` cannot be
/// captured by one, being non-copyable).
final class PeerLock<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R {
        mutex.withLock { body(&$0) }
    }
}
