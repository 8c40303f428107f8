import Foundation
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `chapar ingest` while `chapar notify run` owns the data directory: the files go through the
/// owner's ingest socket, with the same summary, rejects, exit codes and dedupe as a local ingest.
@Suite(.serialized) struct IngestThroughOwnerTests {
    static let templates = NotifierCrashTests.templates

    /// A data directory with demo customers, and a running `notify run` that owns it.
    static func startOwner(_ dir: String) throws -> (Process, Reader) {
        let customers = dir + "/customers.csv"
        #expect(try CLI.run(["demo", "generate-customers", "--count", "200", "--seed", "5", "--output", customers]).status == 0)
        #expect(try CLI.run(["customers", "import", customers, "--data-dir", dir + "/data"]).status == 0)
        return try CLI.startBackground(["notify", "run", "--templates", templates, "--data-dir", dir + "/data"],
                                       what: "notify run never opened its ingest socket") { _ in
            FileManager.default.fileExists(atPath: dir + "/data/ingest.sock")
        }
    }

    static func stop(_ owner: Process, _ log: Reader) -> (Int32, String) {
        kill(owner.processIdentifier, SIGTERM)
        owner.waitUntilExit()
        return (owner.terminationStatus, log.finish())
    }

    @Test("through notify run: appended once, rejects located, strict refusal, dedupe shared with later local runs, and the notifier gets the events")
    func ingestWhileNotifierRuns() async throws {
        try await CLI.offPool { [self] in try self.ingestWhileNotifierRunsBlocking() }
    }

    func ingestWhileNotifierRunsBlocking() throws {
        let dir = CLI.temporaryDirectory("ingest-owner")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (owner, ownerLog) = try Self.startOwner(dir)
        var stopped = false
        defer { if !stopped { _ = Self.stop(owner, ownerLog) } }
        let pid = "\(owner.processIdentifier)"
        let file = dir + "/tx.csv"
        #expect(try CLI.run(["demo", "generate-transactions", "--count", "3000", "--accounts", "200", "--seed", "5",
                             "--messages-percent", "0", "--output", file]).status == 0)

        let first = try CLI.run(["ingest", file, "--data-dir", dir + "/data"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.hasPrefix("read 3000, appended 3000, duplicates 0, rejected 0 in "), "\(first.stdout)")
        #expect(first.stderr.contains("in use by process \(pid); ingesting through it"), "\(first.stderr)")

        // Rejects come back located, into --rejects too; the exit code is the local one.
        let bad = IngestCLITests.write(dir, "bad.csv", IngestCLITests.header
            + "B1,\(IngestCLITests.acct),debit,100,IRR,2026-11-24,ok\n"
            + "B2,\(IngestCLITests.acct),debit,1O0,IRR,2026-11-24,typo\n")
        let rejects = dir + "/rejects.txt"
        let mixed = try CLI.run(["ingest", bad, "--rejects", rejects, "--data-dir", dir + "/data"])
        #expect(mixed.status == 65)
        #expect(mixed.stdout.hasPrefix("read 2, appended 1, duplicates 0, rejected 1 in "), "\(mixed.stdout)")
        #expect(mixed.stderr.contains("\(bad):3: amount: '1O0' is not a valid amount"), "\(mixed.stderr)")
        #expect((try? String(contentsOfFile: rejects, encoding: .utf8))?.hasPrefix("\(bad):3: amount:") == true)

        // --strict: nothing appended from a file with a reject.
        let strictFile = IngestCLITests.write(dir, "strict.csv", IngestCLITests.header
            + "S1,\(IngestCLITests.acct),debit,100,IRR,2026-11-24,ok\n"
            + "S2,\(IngestCLITests.acct),debit,100,IRR,2026-13-01,bad date\n")
        let strict = try CLI.run(["ingest", strictFile, "--strict", "--data-dir", dir + "/data"])
        #expect(strict.status == 65)
        #expect(strict.stderr.contains("refused (--strict)"), "\(strict.stderr)")

        // Two concurrent re-sends of the same file: nothing appended twice.
        let results = Mutex<[CLI.Result]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            if let r = try? CLI.run(["ingest", file, "--quiet", "--data-dir", dir + "/data"]) { results.withLock { $0.append(r) } }
        }
        for r in results.withLock({ $0 }) {
            #expect(r.status == 0)
            #expect(r.stdout.hasPrefix("read 3000, appended 0, duplicates 3000, rejected 0 in "), "\(r.stdout)")
        }

        // The running notifier saw the events.
        let (status, text) = Self.stop(owner, ownerLog)
        stopped = true
        #expect(status == 0, "\(text)")
        #expect(text.contains("notifier: 3001 events"), "\(text)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/data/ingest.sock"), "the socket is removed when the owner stops")

        // With the owner gone, a local ingest uses the same dedupe index.
        let local = try CLI.run(["ingest", file, bad, "--data-dir", dir + "/data"])
        #expect(local.stdout.contains("read 3002, appended 0, duplicates 3001, rejected 1 in "), "\(local.stdout)")
        let consumed = try CLI.run(["log", "consume", "transactions", "--from-beginning", "--exit-at-end", "--format", "%o\\n", "--data-dir", dir + "/data"])
        #expect(consumed.stdout.split(separator: "\n").count == 3001)
    }

    @Test("a client killed mid-file: the owner stops that file, keeps what it appended, and a re-ingest completes it exactly once")
    func killedClient() async throws {
        try await CLI.offPool { [self] in try self.killedClientBlocking() }
    }

    func killedClientBlocking() throws {
        let dir = CLI.temporaryDirectory("ingest-owner-kill")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (owner, ownerLog) = try Self.startOwner(dir)
        let file = dir + "/big.csv"
        let count = 200_000
        #expect(try CLI.run(["demo", "generate-transactions", "--count", "\(count)", "--accounts", "200", "--seed", "9",
                             "--messages-percent", "0", "--output", file]).status == 0)
        let client = Process()
        client.executableURL = URL(fileURLWithPath: CLI.binary)
        client.arguments = ["ingest", file, "--data-dir", dir + "/data"]
        client.standardOutput = FileHandle.nullDevice
        let err = Pipe()
        client.standardError = err
        let sawProgress = DispatchSemaphore(value: 0)
        try client.run()
        let clientLog = Reader(err.fileHandleForReading.fileDescriptor) { line in
            if line.contains("ingesting through it") { sawProgress.signal() }
        }
        _ = sawProgress.wait(timeout: .now() + 30)
        usleep(150_000)
        kill(client.processIdentifier, SIGKILL)
        client.waitUntilExit()
        _ = clientLog.finish()
        // The owner may still be finishing the batch in flight; the next request waits for it.
        let again = try CLI.run(["ingest", file, "--data-dir", dir + "/data"], timeout: .seconds(120))
        #expect(again.status == 0, "\(again.stderr)")
        let parts = again.stdout.split(separator: " ")
        let appended = Int(parts[3].dropLast()) ?? -1, duplicates = Int(parts[5].dropLast()) ?? -1
        #expect(appended + duplicates == count, "\(again.stdout)")
        #expect(appended > 0 && duplicates > 0, "the kill landed mid-file: \(again.stdout)")
        let (status, text) = Self.stop(owner, ownerLog)
        #expect(status == 0, "\(text)")
        let consumed = try CLI.run(["log", "consume", "transactions", "--from-beginning", "--exit-at-end", "--format", "%o\\n", "--data-dir", dir + "/data"],
                                   timeout: .seconds(120))
        #expect(consumed.stdout.split(separator: "\n").count == count, "every entry exactly once in the log")
    }

    @Test("two chapar ingest at once on one directory: the second goes through the first (or waits for it); every entry appended once")
    func concurrentIngests() async throws {
        try await CLI.offPool { [self] in try self.concurrentIngestsBlocking() }
    }

    func concurrentIngestsBlocking() throws {
        let dir = CLI.temporaryDirectory("ingest-concurrent")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var files: [String] = []
        for seed in [11, 12] {
            let f = dir + "/tx\(seed).csv"
            #expect(try CLI.run(["demo", "generate-transactions", "--count", "20000", "--accounts", "300", "--seed", "\(seed)",
                                 "--messages-percent", "0", "--output", f]).status == 0)
            files.append(f)
        }
        // Different files at once, then the same file from both sides at once.
        for round in [files, [files[0], files[0]]] {
            let results = Mutex<[CLI.Result]>([])
            DispatchQueue.concurrentPerform(iterations: 2) { i in
                if let r = try? CLI.run(["ingest", round[i], "--quiet", "--data-dir", dir + "/data"]) { results.withLock { $0.append(r) } }
            }
            let rs = results.withLock { $0 }
            #expect(rs.count == 2)
            for r in rs { #expect(r.status == 0, "\(r.stderr)") }
            let appended = rs.compactMap { r in Int(r.stdout.split(separator: " ")[3].dropLast()) }.reduce(0, +)
            #expect(appended == (round[0] == round[1] ? 0 : 40_000), "\(rs.map(\.stdout))")
        }
        let consumed = try CLI.run(["log", "consume", "transactions", "--from-beginning", "--exit-at-end", "--format", "%o\\n", "--data-dir", dir + "/data"])
        #expect(consumed.stdout.split(separator: "\n").count == 40_000)
    }
}
