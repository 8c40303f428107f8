import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// aiosmtpd (`scripts/peers/smtp.sh` → `smtp_peer.py --no-store`) on a free loopback port, for
/// `chapar bench delivery --channel email`: it answers every message `250` and counts it without
/// writing it. Started and stopped through the same script the tests use.
final class BenchSMTPSink {
    private let script: String
    private let directory: String
    /// `smtp://127.0.0.1:PORT`.
    let url: String
    private let pid: Int32?

    /// The peer script: `scripts/peers/smtp.sh` under the current directory.
    static func locateScript() throws -> String {
        let path = FileManager.default.currentDirectoryPath + "/scripts/peers/smtp.sh"
        guard FileManager.default.fileExists(atPath: path) else {
            throw CLIUsageFailure(code: 66, message: "scripts/peers/smtp.sh is not under the current directory; run from the repository root, or pass --sink-url smtp://HOST:PORT")
        }
        return path
    }

    /// Starts the server in `directory` (created) and waits until it listens (the script's bound: 15 s).
    init(script: String, directory: String, store: Bool) throws {
        self.script = script
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let status = try Self.runScript(script, ["start", directory] + (store ? [] : ["--no-store"]))
        guard status == 0 else {
            throw CLIUsageFailure(code: 1, message: "scripts/peers/smtp.sh start failed (exit \(status)); is python3-aiosmtpd installed? (scripts/install-deps.sh)")
        }
        let env = (try? String(contentsOfFile: directory + "/peer.env", encoding: .utf8)) ?? ""
        guard let line = env.split(separator: "\n").first(where: { $0.hasPrefix("SMTP_URL=") }) else {
            throw CLIUsageFailure(code: 1, message: "scripts/peers/smtp.sh wrote no SMTP_URL to \(directory)/peer.env")
        }
        url = String(line.dropFirst("SMTP_URL=".count))
        pid = (try? String(contentsOfFile: directory + "/smtp.pid", encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// Stops the server; returns how many messages it accepted in all (nil if it did not say).
    @discardableResult
    func stop() -> Int? {
        _ = try? Self.runScript(script, ["stop", directory])
        let out = (try? String(contentsOfFile: directory + "/smtp.out", encoding: .utf8)) ?? ""
        guard let line = out.split(separator: "\n").last(where: { $0.hasPrefix("stored ") }) else { return nil }
        return Int(line.split(separator: " ")[1])
    }

    /// CPU seconds (user + system) the server has used so far, from /proc.
    func cpuSeconds() -> Double? {
        guard let pid, let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    private static func runScript(_ script: String, _ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script] + arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}
