import Foundation
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `chapar ingest` through the real binary: exit codes, summary lines, rejects files, the lock,
/// and memory that stays flat on a large file.
@Suite struct IngestCLITests {
    static let header = "id,account,direction,amount,currency,booked_at,description\n"
    static let acct = "IR490170000000000000000002"

    static func write(_ dir: String, _ name: String, _ text: String) -> String {
        let path = dir + "/" + name
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    @Test func missingFileExits66AndTouchesNothing() throws {
        let dir = CLI.temporaryDirectory("ingest-missing")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try CLI.run(["ingest", dir + "/nope.csv", "--data-dir", dir + "/data"])
        #expect(r.status == 66)
        #expect(r.stderr.contains("nope.csv: no such file"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/data"))
    }

    @Test(arguments: [
        (["--format", "xls"], Int32(64), "'xls' is not a format"),
        (["--encoding", "ebcdic"], Int32(64), "not a supported encoding"),
        (["--timezone", "Mars/Olympus"], Int32(64), "is not a time zone"),
        (["--strict", "--dry-run"], Int32(64), "exclude each other"),
    ])
    func usageErrors(args: [String], status: Int32, message: String) throws {
        let dir = CLI.temporaryDirectory("ingest-usage")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let f = Self.write(dir, "a.csv", Self.header + "T1,\(Self.acct),debit,100,IRR,2026-11-24,x\n")
        let r = try CLI.run(["ingest", f, "--data-dir", dir + "/data"] + args)
        #expect(r.status == status, "\(r.stderr)")
        #expect(r.stderr.contains(message), "\(r.stderr)")
    }

    /// Until the camt.054 / MT940 parsers are wired into `InputFormat.makeParser`, asking for them
    /// is a usage error (64) saying so; once they are, a CSV file given to them is not in their
    /// format (65). Either way: a clear message, nothing appended.
    @Test(arguments: ["camt054", "mt940"])
    func xmlAndSwiftFormatsGiveAClearErrorOnACSVFile(format: String) throws {
        let dir = CLI.temporaryDirectory("ingest-format")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let f = Self.write(dir, "a.csv", Self.header + "T1,\(Self.acct),debit,100,IRR,2026-11-24,x\n")
        let r = try CLI.run(["ingest", f, "--format", format, "--data-dir", dir + "/data"])
        #expect(r.status == 65, "\(r.stderr)")
        #expect(r.stderr.contains("a.csv"), "\(r.stderr)")
        #expect(r.stdout.isEmpty || r.stdout.contains("appended 0"), "\(r.stdout)")
    }

    @Test func rejectsExit65WithFileLineMessagesAndReingestAppendsNothing() throws {
        let dir = CLI.temporaryDirectory("ingest-rejects")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let f = Self.write(dir, "a.csv", Self.header
            + "T1,\(Self.acct),debit,100,IRR,2026-11-24,ok\n"
            + "T2,\(Self.acct),debit,1O0,IRR,2026-11-24,typo\n"
            + "T3,\(Self.acct),credit,5,EUR,2026-11-24,ok\n")
        let rejects = dir + "/rejects.txt"
        let first = try CLI.run(["ingest", f, "--rejects", rejects, "--data-dir", dir + "/data"])
        #expect(first.status == 65)
        #expect(first.stdout.hasPrefix("read 3, appended 2, duplicates 0, rejected 1 in "), "\(first.stdout)")
        #expect(first.stderr.contains("\(f):3: amount: '1O0' is not a valid amount"), "\(first.stderr)")
        let written = try String(contentsOfFile: rejects, encoding: .utf8)
        #expect(written.split(separator: "\n").count == 1)
        #expect(written.hasPrefix("\(f):3: amount:"))
        let again = try CLI.run(["ingest", f, "--data-dir", dir + "/data"])
        #expect(again.stdout.hasPrefix("read 3, appended 0, duplicates 2, rejected 1 in "), "\(again.stdout)")
        let consumed = try CLI.run(["log", "consume", "transactions", "--from-beginning", "--exit-at-end", "--data-dir", dir + "/data"])
        #expect(consumed.stdout.split(separator: "\n").count == 2)
    }

    /// Issue 13: a statement whose closing balance does not match is a warning, not a rejected
    /// entry: every entry is appended and the exit code is 0.
    @Test func aClosingBalanceMismatchIsAWarningAndExitsZero() throws {
        let dir = CLI.temporaryDirectory("ingest-warnings")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let f = Self.write(dir, "stmt.sta", [":20:T1", ":25:IR270170000000100324200001", ":28C:1/1", ":60F:C240320IRR1000,",
                                             ":61:2403200320C1,NTRFNONREF//GOOD1", ":86:good", ":61:2403200320D250,NTRFNONREF//REF1", ":86:x",
                                             ":61:2403200320D1,NTRFNONREF//GOOD2", ":62F:C240320IRR751,", "-", ""].joined(separator: "\n"))
        let rejects = dir + "/rejects.txt"
        let r = try CLI.run(["ingest", f, "--rejects", rejects, "--timezone", "UTC", "--data-dir", dir + "/data"])
        #expect(r.status == 0, "warnings alone do not fail the run: \(r.stderr)")
        #expect(r.stdout.hasPrefix("read 3, appended 3, duplicates 0, rejected 0, warnings 1 in "), "\(r.stdout)")
        #expect(r.stderr.contains("\(f):10: warning: closing balance :62F: 751.00 IRR does not equal the opening balance plus the entries (750.00 IRR)"), "\(r.stderr)")
        #expect(try String(contentsOfFile: rejects, encoding: .utf8).isEmpty, "a warning is not a rejected entry")
        let dry = try CLI.run(["ingest", f, "--dry-run", "--timezone", "UTC"])
        #expect(dry.status == 0 && dry.stdout.contains("rejected 0, warnings 1 in "), "\(dry.stdout) \(dry.stderr)")
    }

    @Test func strictRefusesAndDryRunValidatesOnly() throws {
        let dir = CLI.temporaryDirectory("ingest-modes")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bad = Self.write(dir, "bad.csv", Self.header + "T1,\(Self.acct),debit,100,IRR,2026-11-24,ok\nT2,\(Self.acct),debit,100,IRR,2026-13-01,bad date\n")
        let good = Self.write(dir, "good.jsonl", #"{"id":"J1","account":"\#(Self.acct)","direction":"debit","amount":"100","currency":"IRR","booked_at":"2026-11-24"}"# + "\n")
        let dry = try CLI.run(["ingest", bad, good, "--dry-run", "--data-dir", dir + "/data"])
        #expect(dry.status == 65)
        #expect(dry.stdout.contains("read 3, appended 0, duplicates 0, rejected 1 in "), "\(dry.stdout)")
        #expect(dry.stdout.contains("dry run"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/data"), "--dry-run must not create the data directory")
        let strict = try CLI.run(["ingest", bad, good, "--strict", "--data-dir", dir + "/data"])
        #expect(strict.status == 65)
        #expect(strict.stdout.contains("bad.csv: read 2, appended 0, duplicates 0, rejected 1"), "\(strict.stdout)")
        #expect(strict.stdout.contains("good.jsonl: read 1, appended 1"), "\(strict.stdout)")
        #expect(strict.stderr.contains("refused (--strict)"))
        let ok = try CLI.run(["ingest", good, "--strict", "--data-dir", dir + "/data"])
        #expect(ok.status == 0)
        #expect(ok.stdout.hasPrefix("read 1, appended 0, duplicates 1, rejected 0 in "))
    }

    @Test func lockedDataDirectoryExits75NamingTheHolder() throws {
        let dir = CLI.temporaryDirectory("ingest-locked")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try CLI.run(["log", "create", "t", "--data-dir", dir + "/data"]).status == 0)
        let holder = try CLI.startDirectoryHolder(dir + "/data")
        defer {
            kill(holder.processIdentifier, SIGTERM)
            holder.waitUntilExit()
        }
        let f = Self.write(dir, "a.csv", Self.header + "T1,\(Self.acct),debit,100,IRR,2026-11-24,x\n")
        let r = try CLI.run(["ingest", f, "--data-dir", dir + "/data"])
        let pid = "\(holder.processIdentifier)"
        #expect(r.status == 75, "\(r.stderr)")
        #expect(r.stderr.contains("in use by"), "\(r.stderr)")
        #expect(r.stderr.contains(pid), "the message names the holder: \(r.stderr)")
        #expect(r.stderr.contains("does not accept ingest"), "the message says why it cannot go through the holder: \(r.stderr)")
    }

    /// `chapar demo generate-transactions` is registered by the coordinator under `chapar demo`.
    @Test
    func generatedDataIngestsCleanlyAndIsReproducible() throws {
        let dir = CLI.temporaryDirectory("ingest-demo")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for format in ["csv", "jsonl"] {
            let a = dir + "/a.\(format)", b = dir + "/b.\(format)"
            #expect(try CLI.run(["demo", "generate-transactions", "--count", "3000", "--accounts", "50", "--seed", "7", "--format", format, "--output", a]).status == 0)
            #expect(try CLI.run(["demo", "generate-transactions", "--count", "3000", "--accounts", "50", "--seed", "7", "--format", format, "--output", b]).status == 0)
            #expect(FileManager.default.contentsEqual(atPath: a, andPath: b), "the same seed must give the same file")
            let r = try CLI.run(["ingest", a, "--data-dir", dir + "/data-\(format)"])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.hasPrefix("read 3000, appended 3000, duplicates 0, rejected 0"), "\(r.stdout)")
            let text = try String(contentsOfFile: a, encoding: .utf8)
            #expect(text.contains("IR") && text.contains("برداشت از خودپرداز") || text.contains("خرید"))
            #expect(text.contains("C00000"), "some direct messages for customers C + 7 digits")
        }
    }

    @Test func largeFileIngestsInFlatMemory() async throws {
        try await CLI.offPool { [self] in try self.largeFileIngestsInFlatMemoryBlocking() }
    }

    func largeFileIngestsInFlatMemoryBlocking() throws {
        let dir = CLI.temporaryDirectory("ingest-memory")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // About 200 MB: 100,000 entries with 2 KB narratives each.
        let path = dir + "/big.csv"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        try #require(fd >= 0)
        var chunk = Array(Self.header.utf8)
        let narrative = String(repeating: "واریز حقوق آبان ", count: 2048 / 28)
        let rows = 100_000
        for i in 0..<rows {
            chunk += Array("M\(i),IR\(i % 1000),\(i % 2 == 0 ? "debit" : "credit"),\(1000 + i),IRR,2026-11-24T10:00:00,\(narrative)\n".utf8)
            if chunk.count > 1 << 20 || i == rows - 1 {
                _ = chunk.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                chunk.removeAll(keepingCapacity: true)
            }
        }
        close(fd)
        let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0
        #expect(size > 150_000_000)
        let (status, maxRSSKiB, output) = try Self.runMeasuringMemory(["ingest", path, "--quiet", "--data-dir", dir + "/data"], dir: dir)
        #expect(status == 0, "\(output)")
        #expect(output.contains("read \(rows), appended \(rows), duplicates 0, rejected 0"), "\(output)")
        print("ingest of \(size) bytes: peak RSS \(maxRSSKiB / 1024) MiB")
        #expect(maxRSSKiB < 100 * 1024, "peak RSS \(maxRSSKiB) KiB while ingesting \(size) bytes")
    }

    /// Runs chapar in a child and returns its exit status, its peak RSS (VmHWM, KiB) and its output.
    static func runMeasuringMemory(_ args: [String], dir: String) throws -> (Int32, Int, String) {
        let outPath = dir + "/child.out"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([CLI.binary] + args).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, CLI.binary, &actions, nil, argv, environ)
        try #require(rc == 0, "posix_spawn failed: \(rc)")
        // Low priority: this child keeps both cores busy for seconds, and tests running in
        // parallel with short timeouts (consumer-group sessions) must not be starved by it.
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(pid), 19)
        // Poll the child's own VmHWM: wait4's ru_maxrss is no good here, because a posix_spawn'ed
        // child shares the parent's memory until exec and Linux carries that high-water mark over.
        let child = pid
        let peak = Mutex(0)
        let sampler = Thread {
            while let text = try? String(contentsOfFile: "/proc/\(child)/status", encoding: .utf8),
                  let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) {
                let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0
                peak.withLock { $0 = max($0, kib) }
                usleep(10_000)
            }
        }
        sampler.start()
        var status: Int32 = 0
        var usage = rusage()
        // Sample once more before reaping: a zombie no longer has /proc/PID/status memory lines.
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR {}
        if let text = try? String(contentsOfFile: "/proc/\(child)/status", encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) {
            let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0
            peak.withLock { $0 = max($0, kib) }
        }
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        let exit = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        let output = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let measured = peak.withLock { $0 }
        #expect(measured > 0, "could not sample the child's VmHWM")
        return (exit, measured, output)
    }
}

/// Where the public bank-format samples are: `$CHAPAR_SAMPLES`, else `shared/samples` beside the
/// repository, else `/work/shared/samples`. Tests that need them are skipped, saying why, without them.
enum PublicSamples {
    /// `$CHAPAR_SAMPLES`, else `shared/samples` beside the repository, else `/work/shared/samples`.
    static let path: String = {
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment["CHAPAR_SAMPLES"] { candidates.append(env) }
        candidates.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/samples").path)
        candidates.append("/work/shared/samples")
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/SOURCES.md") } ?? candidates[0]
    }()
    static let available = FileManager.default.fileExists(atPath: path + "/SOURCES.md")
}

/// The bank formats through the CLI, on the public samples read in place.
@Suite("chapar ingest: camt.054 and MT940 end to end",
       .enabled(if: PublicSamples.available, "the public samples are not beside the repository; set CHAPAR_SAMPLES to their folder"))
struct IngestBankFormatCLITests {
    @Test("auto-detected sample files ingest, and a second ingest appends nothing", arguments: [
        "camt054/camt054.v2.xml", "camt054/camt054.v4.xml", "mt940/mt942.sta",
    ])
    func samplesIngestIdempotently(sample: String) throws {
        let dir = CLI.temporaryDirectory("ingest-bank")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = PublicSamples.path + "/" + sample
        try #require(FileManager.default.fileExists(atPath: path), "sample \(path) is missing")
        let first = try CLI.run(["ingest", path, "--data-dir", dir])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("appended") && !first.stdout.contains("appended 0,"), "\(first.stdout)")
        let second = try CLI.run(["ingest", path, "--data-dir", dir])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains("appended 0,"), "re-ingest must append nothing: \(second.stdout)")
    }
}
