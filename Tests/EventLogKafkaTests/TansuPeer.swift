import CKafka
import EventLogKafka
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A Tansu broker started by scripts/peers/tansu.sh in a temp directory, stopped by `stop()`.
/// Each test starts its own (about 0.2 s): Tansu keeps everything in memory, so tests share nothing.
struct TansuPeer {
    let directory: String
    /// `127.0.0.1:PORT`.
    let bootstrap: String

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path + "/scripts/peers/tansu.sh"

    /// Starts Tansu; two tries, since the free port the script picked can be taken before Tansu binds it.
    static func start() throws -> TansuPeer {
        try requireNewLibrary()
        var failure = "tansu.sh did not start"
        for _ in 1...2 {
            let directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("chapar-tansu-\(UUID().uuidString.prefix(8))").path
            let (status, output) = try runScript([script, "start", directory], timeout: .seconds(30))
            if status == 0, let env = try? String(contentsOfFile: directory + "/peer.env", encoding: .utf8),
               let line = env.split(separator: "\n").first(where: { $0.hasPrefix("KAFKA_BOOTSTRAP=") }) {
                return TansuPeer(directory: directory, bootstrap: String(line.dropFirst("KAFKA_BOOTSTRAP=".count)))
            }
            failure = "scripts/peers/tansu.sh start \(directory) failed (exit \(status)):\n\(output)"
            _ = try? runScript([script, "stop", directory], timeout: .seconds(30))
            try? FileManager.default.removeItem(atPath: directory)
        }
        throw TansuError(failure)
    }

    /// Stops the broker and removes its directory (kept when CHAPAR_KEEP_PEERS=1, for its log).
    func stop() {
        _ = try? runScript([Self.script, "stop", directory], timeout: .seconds(30))
        if ProcessInfo.processInfo.environment["CHAPAR_KEEP_PEERS"] == "1" {
            print("kept peer directory \(directory)")
        } else {
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// Tansu needs librdkafka ≥ 2.1; the test bundle's runpath (Package.swift) loads the one
    /// scripts/install-deps.sh links into the peers directory. Fail clearly when it did not.
    static func requireNewLibrary() throws {
        let version = rd_kafka_version()
        guard version >= 0x0201_0000 else {
            throw TansuError("the test process loaded librdkafka \(String(cString: rd_kafka_version_str())), which cannot talk to Tansu: run scripts/install-deps.sh (it links librdkafka 2.16 into ${CHAPAR_PEERS_HOME:-/var/cache/chapar-peers}/kafka/lib) and rebuild the tests")
        }
    }
}

/// Starts Tansu, opens a KafkaLog on it, runs `body`, and always closes and stops both. KDEBUG=…
/// turns on librdkafka's debug contexts (e.g. `KDEBUG=cgrp,fetch`).
func withTansu(_ body: (KafkaLog) async throws -> Void) async throws {
    let peer = try await offPool { try TansuPeer.start() }
    defer { peer.stop() }
    let log = try KafkaLog(configuration: .init(
        bootstrapServers: peer.bootstrap, clientID: "chapar-tests", replicationFactor: 1,
        requestTimeout: .seconds(10), deliveryTimeout: .seconds(15), properties: ProcessInfo.processInfo.environment["KDEBUG"].map { ["debug": $0] } ?? [:]))
    do {
        try await body(log)
    } catch {
        await log.close()
        throw error
    }
    await log.close()
}

/// A peer could not be started or stopped; the message says what to do.
struct TansuError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs a short command to completion (SIGKILL after `timeout`) and returns its exit status and
/// output. posix_spawn, not Foundation's Process: the child gets every signal unblocked (test
/// runner threads block SIGTERM, which the broker would inherit) and only descriptors 0–2.
func runScript(_ argv: [String], timeout: Duration) throws -> (status: Int32, output: String) {
    let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("chapar-cmd-\(UUID().uuidString.prefix(8))").path
    defer { unlink(outputPath) }
    let fd = open(outputPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw TansuError("cannot create \(outputPath)") }
    defer { close(fd) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, fd, 1)
    posix_spawn_file_actions_adddup2(&actions, fd, 2)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var none = sigset_t(), all = sigset_t()
    sigemptyset(&none)
    sigfillset(&all)
    posix_spawnattr_setsigmask(&attributes, &none)
    posix_spawnattr_setsigdefault(&attributes, &all)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    let args = argv.map { strdup($0) } + [nil]
    defer { args.forEach { free($0) } }
    var pid: pid_t = 0
    let error = posix_spawn(&pid, argv[0], &actions, &attributes, args, environ)
    guard error == 0 else { throw TansuError("cannot run \(argv[0]): \(String(cString: strerror(error)))") }
    let deadline = ContinuousClock.now.advanced(by: timeout)
    var raw: Int32 = 0
    while waitpid(pid, &raw, WNOHANG) == 0 {
        if ContinuousClock.now > deadline {
            kill(pid, SIGKILL)
            waitpid(pid, &raw, 0)
            throw TansuError("\(argv.joined(separator: " ")) did not finish within \(timeout)")
        }
        usleep(10_000)
    }
    let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    return ((raw & 0x7f) == 0 ? (raw >> 8) & 0xff : 128 + (raw & 0x7f), output)
}

/// Runs a blocking body (child processes, waits) on its own thread, off the cooperative pool.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    let result = await withCheckedContinuation { (c: CheckedContinuation<Result<T, any Error>, Never>) in
        Thread { c.resume(returning: Result { try body() }) }.start()
    }
    return try result.get()
}
