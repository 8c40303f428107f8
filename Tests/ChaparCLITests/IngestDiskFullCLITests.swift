import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `chapar ingest` (and `chapar customers`) on a disk that really fills up (issue 13): a small
/// tmpfs holds the data directory. Mounting needs root (CAP_SYS_ADMIN); elsewhere the test is skipped and
/// `IngestorDiskFullTests` covers the same path in-process with a fault-injecting file system.
@Suite struct IngestDiskFullCLITests {
    /// A small tmpfs at `path`, made bigger by ``grow(_:)`` ("free space") and unmounted by ``unmount(_:)``.
    enum SmallDisk {
        static func mount(_ path: String, size: String) -> Bool {
            try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            return run("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", path])
        }
        static func grow(_ path: String, to size: String) -> Bool { run("/usr/bin/mount", ["-o", "remount,size=\(size)", path]) }
        static func unmount(_ path: String) { _ = run("/usr/bin/umount", ["-l", path]) }

        /// Whether this process may mount a tmpfs (root in a namespace that allows it).
        static let available: Bool = {
            guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/mount") else { return false }
            let probe = FileManager.default.temporaryDirectory.appendingPathComponent("chapar-tmpfs-probe-\(getpid())").path
            defer { try? FileManager.default.removeItem(atPath: probe) }
            guard mount(probe, size: "64k") else { return false }
            unmount(probe)
            return true
        }()

        private static func run(_ tool: String, _ args: [String]) -> Bool {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: tool)
            p.arguments = args
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            guard (try? p.run()) != nil else { return false }
            p.waitUntilExit()
            return p.terminationStatus == 0
        }
    }

    @Test("disk full: exit 75, the summary says what is durable and to re-run; the next attempt says disk full, not damaged; after freeing space the re-run appends exactly the rest",
          .enabled(if: SmallDisk.available, "needs root to mount a small tmpfs"), .timeLimit(.minutes(2)))
    func diskFullThenFreeSpaceThenRerun() async throws {
        try await CLI.offPool { try Self.diskFullThenFreeSpaceThenRerunBlocking() }
    }

    static func diskFullThenFreeSpaceThenRerunBlocking() throws {
        let dir = CLI.temporaryDirectory("ingest-disk-full")
        let disk = dir + "/small"
        try #require(SmallDisk.mount(disk, size: "2m"), "cannot mount a tmpfs at \(disk)")
        defer {
            SmallDisk.unmount(disk)
            try? FileManager.default.removeItem(atPath: dir)
        }
        // About 4 MB in the log: twice what the disk holds.
        let rows = 20_000
        var text = IngestCLITests.header
        for i in 0..<rows {
            text += "F\(i),\(IngestCLITests.acct),\(i % 2 == 0 ? "debit" : "credit"),\(1000 + i),IRR,2026-11-24T10:00:00,خرید از فروشگاه شماره \(i)\n"
        }
        let file = IngestCLITests.write(dir, "big.csv", text)
        let data = disk + "/data"

        let full = try CLI.run(["ingest", file, "--quiet", "--data-dir", data])
        #expect(full.status == 75, "disk full is EX_TEMPFAIL (75): \(full.stderr)")
        #expect(full.stderr.contains("disk full: free space and re-run"), "\(full.stderr)")
        #expect(full.stderr.contains("re-running is safe, the dedupe index skips"), "\(full.stderr)")
        #expect(!full.stderr.contains("delete") && !full.stderr.contains("damaged ("), "\(full.stderr)")
        let appended = try #require(Self.count("appended", in: full.stdout), "summary: \(full.stdout)")
        #expect(appended > 0 && appended < rows, "\(full.stdout)")
        #expect(full.stdout.contains("(stopped by a full disk: the \(appended) appended entries are durable; run it again to append the rest)"), "\(full.stdout)")
        #expect(full.stderr.contains(": \(appended) are durable in the log"), "\(full.stderr)")
        #expect(full.stderr.contains("skips the \(appended) entries already in the log"), "\(full.stderr)")

        // Still full: the same command says disk full again (here on its first append)…
        let again = try CLI.run(["ingest", file, "--quiet", "--data-dir", data])
        #expect(again.status == 75, "\(again.stderr)")
        #expect(again.stderr.contains("disk full: free space and re-run"), "\(again.stderr)")
        #expect(again.stdout.contains("appended 0, duplicates \(appended),"), "\(again.stdout)")
        #expect(again.stderr.contains("skips the \(appended) entries already in the log"), "\(again.stderr)")
        // …and with not a byte left (the dedupe index cannot even open), says disk full, not damaged.
        let filler = disk + "/filler"
        let fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        try #require(fd >= 0)
        let block = [UInt8](repeating: 0, count: 64 << 10)
        while block.withUnsafeBytes({ Glibc.write(fd, $0.baseAddress, $0.count) }) > 0 {}
        close(fd)
        let noByteLeft = try CLI.run(["ingest", file, "--quiet", "--data-dir", data])
        #expect(noByteLeft.status == 75, "\(noByteLeft.stderr)")
        #expect(noByteLeft.stderr.contains("disk full"), "\(noByteLeft.stderr)")
        #expect(noByteLeft.stderr.contains("free space"), "\(noByteLeft.stderr)")
        for r in [again, noByteLeft] {
            #expect(!r.stderr.contains("delete") && !r.stderr.contains("damaged ("), "never suggest deleting state that is fine: \(r.stderr)")
        }

        // Space freed: the re-run appends exactly what the first run did not.
        try FileManager.default.removeItem(atPath: filler)
        try #require(SmallDisk.grow(disk, to: "64m"))
        let rerun = try CLI.run(["ingest", file, "--quiet", "--data-dir", data])
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(rerun.stdout.hasPrefix("read \(rows), appended \(rows - appended), duplicates \(appended), rejected 0 in "),
                "first run reported \(appended) durable: \(rerun.stdout)")
        let consumed = try CLI.run(["log", "consume", "transactions", "--from-beginning", "--exit-at-end", "--data-dir", data])
        #expect(consumed.status == 0, "\(consumed.stderr)")
        #expect(consumed.stdout.split(separator: "\n").count == rows, "every entry exactly once in the log")
    }

    @Test("customers on a full disk: exit 75 and 'disk full', like ingest", .enabled(if: SmallDisk.available, "needs root to mount a small tmpfs"),
          .timeLimit(.minutes(1)))
    func customersOnAFullDiskExit75() async throws {
        try await CLI.offPool {
            let dir = CLI.temporaryDirectory("customers-disk-full")
            let disk = dir + "/small"
            try #require(SmallDisk.mount(disk, size: "1m"), "cannot mount a tmpfs at \(disk)")
            defer {
                SmallDisk.unmount(disk)
                try? FileManager.default.removeItem(atPath: dir)
            }
            let first = try CLI.run(["customers", "add", "C1", "--name", "a", "--language", "fa", "--phone", "09120000001", "--data-dir", disk + "/data"])
            #expect(first.status == 0, "\(first.stderr)")
            let fd = open(disk + "/filler", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            try #require(fd >= 0)
            let block = [UInt8](repeating: 0, count: 64 << 10)
            while block.withUnsafeBytes({ Glibc.write(fd, $0.baseAddress, $0.count) }) > 0 {}
            close(fd)
            let full = try CLI.run(["customers", "add", "C2", "--name", "b", "--language", "fa", "--phone", "09120000002", "--data-dir", disk + "/data"])
            #expect(full.status == 75, "\(full.stderr)")
            #expect(full.stderr.contains("disk full; nothing is damaged: free space and run the same command again"), "\(full.stderr)")
            try FileManager.default.removeItem(atPath: disk + "/filler")
            let again = try CLI.run(["customers", "add", "C2", "--name", "b", "--language", "fa", "--phone", "09120000002", "--data-dir", disk + "/data"])
            #expect(again.status == 0, "the same command works once space is freed: \(again.stderr)")
        }
    }

    /// `N` in `… NAME N, …` of a summary line.
    static func count(_ name: String, in line: String) -> Int? {
        guard let r = line.range(of: "\(name) ") else { return nil }
        return Int(line[r.upperBound...].prefix { $0.isNumber })
    }
}
