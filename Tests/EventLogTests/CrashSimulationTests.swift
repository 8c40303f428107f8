import ChaparModels
@testable import EventLog
import Foundation
import Synchronization
import Testing

/// Wraps an ``InMemoryFileSystem`` with a power switch. Once the power is off (by `powerOff()`
/// or after a chosen number of mutating calls), every call fails without touching the disk, so
/// the old log can neither write after the simulated crash nor release a lock the next log holds.
final class FencedFileSystem: FileSystem {
    struct Gate {
        var dead = false
        /// Mutating calls left before the power goes off by itself; nil never.
        var callsUntilCrash: Int?
        var mutatingCalls = 0
    }

    let base: InMemoryFileSystem
    let gate: Mutex<Gate>

    init(base: InMemoryFileSystem, crashAfter calls: Int? = nil) {
        self.base = base
        gate = Mutex(Gate(callsUntilCrash: calls))
    }

    func powerOff() { gate.withLock { $0.dead = true } }
    /// The power goes off at the `calls`-th mutating call from now.
    func arm(crashAfter calls: Int) { gate.withLock { $0.callsUntilCrash = calls } }
    var isDead: Bool { gate.withLock { $0.dead } }
    var mutatingCalls: Int { gate.withLock { $0.mutatingCalls } }

    /// Runs `body` while holding the gate, so `powerOff()` returns only after in-flight calls finish.
    func guarded<T: Sendable>(_ operation: String, _ path: String, mutating: Bool, _ body: () throws(FileSystemError) -> T) throws(FileSystemError) -> T {
        try gate.withLock { g throws(FileSystemError) -> T in
            if !g.dead, mutating, let left = g.callsUntilCrash {
                if left <= 0 { g.dead = true } else { g.callsUntilCrash = left - 1 }
            }
            if g.dead { throw FileSystemError(.io, operation: operation, path: path, detail: "power is off") }
            if mutating { g.mutatingCalls += 1 }
            return try body()
        }
    }

    func createDirectory(_ path: String) throws(FileSystemError) { try guarded("mkdir", path, mutating: true) { () throws(FileSystemError) in try base.createDirectory(path) } }
    func listDirectory(_ path: String) throws(FileSystemError) -> [String] { try guarded("opendir", path, mutating: false) { () throws(FileSystemError) in try base.listDirectory(path) } }
    func fileExists(_ path: String) -> Bool { (try? guarded("access", path, mutating: false) { base.fileExists(path) }) ?? false }
    func isDirectory(_ path: String) -> Bool { (try? guarded("stat", path, mutating: false) { base.isDirectory(path) }) ?? false }
    func openFile(_ path: String, create: Bool) throws(FileSystemError) -> any LogFile {
        let inner = try guarded("open", path, mutating: create) { () throws(FileSystemError) in try base.openFile(path, create: create) }
        return FencedFile(inner: inner, fs: self)
    }
    func rename(_ from: String, to: String) throws(FileSystemError) { try guarded("rename", to, mutating: true) { () throws(FileSystemError) in try base.rename(from, to: to) } }
    func removeFile(_ path: String) throws(FileSystemError) { try guarded("unlink", path, mutating: true) { () throws(FileSystemError) in try base.removeFile(path) } }
    func removeDirectory(_ path: String) throws(FileSystemError) { try guarded("rmdir", path, mutating: true) { () throws(FileSystemError) in try base.removeDirectory(path) } }
    func syncDirectory(_ path: String) throws(FileSystemError) { try guarded("fsync", path, mutating: true) { () throws(FileSystemError) in try base.syncDirectory(path) } }
    func lockFile(_ path: String) throws(FileSystemError) -> any FileLock {
        let inner = try guarded("lock", path, mutating: false) { () throws(FileSystemError) in try base.lockFile(path) }
        return FencedLock(inner: inner, fs: self)
    }
}

final class FencedFile: LogFile {
    let inner: any LogFile
    let fs: FencedFileSystem
    var path: String { inner.path }
    init(inner: any LogFile, fs: FencedFileSystem) {
        self.inner = inner
        self.fs = fs
    }
    func size() throws(FileSystemError) -> Int64 { try fs.guarded("fstat", path, mutating: false) { () throws(FileSystemError) in try inner.size() } }
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(FileSystemError) -> Int {
        nonisolated(unsafe) let buffer = buffer
        return try fs.guarded("pread", path, mutating: false) { () throws(FileSystemError) in try inner.read(into: buffer, at: offset) }
    }
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(FileSystemError) {
        nonisolated(unsafe) let bytes = bytes
        try fs.guarded("pwrite", path, mutating: true) { () throws(FileSystemError) in try inner.write(bytes, at: offset) }
    }
    func sync() throws(FileSystemError) { try fs.guarded("fdatasync", path, mutating: true) { () throws(FileSystemError) in try inner.sync() } }
    func truncate(to size: Int64) throws(FileSystemError) { try fs.guarded("ftruncate", path, mutating: true) { () throws(FileSystemError) in try inner.truncate(to: size) } }
}

final class FencedLock: FileLock {
    let inner: any FileLock
    let fs: FencedFileSystem
    init(inner: any FileLock, fs: FencedFileSystem) {
        self.inner = inner
        self.fs = fs
    }
    func release() { try? fs.guarded("unlock", "LOCK", mutating: false) { inner.release() } }
}

@Suite("Crash simulation (InMemoryFileSystem)")
struct CrashSimulationTests {
    static let topic: TopicName = "crash"
    static let partitions = 3

    struct Attempt: Sendable {
        let key: String
        let value: String
        let header: String
    }

    /// One iteration: producers append until the power fails at a seeded point (or they finish),
    /// then the disk loses what was not synced, and a new log must hold every acknowledged record.
    struct Stats {
        var diedMidRun = false
        var acknowledged = 0
        var unacknowledgedSurvivors = 0
        var repaired = false
        var recoveryInterrupted = false
    }

    static func runIteration(seed: UInt64, durability: DurabilityPolicy = .always) async throws -> Stats {
        var stats = Stats()
        var rng = SplitMix64(seed: seed)
        let disk = InMemoryFileSystem()
        let clock = ManualClock()
        let config = TopicConfiguration(partitions: partitions, durability: durability, segmentBytes: [1024, 2048, 8192][Int(rng.next() % 3)],
                                        indexIntervalBytes: 64)
        // Set up the topic with the power on, then arm the crash point.
        let setupFS = FencedFileSystem(base: disk)
        let setup = try openLog("/data", fileSystem: setupFS, clock: clock, ioThreads: 1 + Int(rng.next() % 2))
        _ = try await setup.createTopic(topic, configuration: config)
        await setup.close()

        let fs = FencedFileSystem(base: disk)
        let log = try openLog("/data", fileSystem: fs, clock: clock)
        fs.arm(crashAfter: Int(rng.next() % 160))
        let acked = Box<[TopicPartition: [Int64: Attempt]]>([:])
        let attempted = Box<[String: Attempt]>([:])
        let producers = 2 + Int(rng.next() % 3)
        let seeds = (0..<producers).map { _ in rng.next() }
        await withTaskGroup(of: Void.self) { group in
            for (task, taskSeed) in seeds.enumerated() {
                group.addTask {
                    var prng = SplitMix64(seed: taskSeed)
                    for i in 0..<25 {
                        let count = 1 + Int(prng.next() % 4)
                        let batch = (0..<count).map { j -> Attempt in
                            let key = "acct-\(task)-\(prng.next() % 3)"
                            let pad = String(repeating: "x", count: Int(prng.next() % 200))
                            return Attempt(key: key, value: "s\(seed)-t\(task)-\(i)-\(j)-\(pad)", header: "h\(task).\(i).\(j)")
                        }
                        attempted.withLock { a in for b in batch { a[b.value] = b } }
                        do {
                            let positions = try await log.append(batch.map { ProducerRecord(key: Array($0.key.utf8), value: Array($0.value.utf8), headers: [RecordHeader("id", $0.header)]) }, to: topic)
                            acked.withLock { a in
                                for (p, b) in zip(positions, batch) { a[TopicPartition(p.topic, p.partition), default: [:]][p.offset.rawValue] = b }
                            }
                        } catch {
                            return  // the power failed: this producer stops
                        }
                        if prng.next() % 4 == 0 { await Task.yield() }
                    }
                }
            }
        }
        // Power cut: nothing from the old log reaches the disk after this point.
        stats.diedMidRun = fs.isDead
        fs.powerOff()
        disk.simulateCrash(seed: rng.next())
        await log.close()  // only releases its threads; every call it makes fails

        if rng.next() % 4 == 0 {
            // Sometimes the power fails again during recovery itself.
            let recoveryFS = FencedFileSystem(base: disk, crashAfter: Int(rng.next() % 12))
            if let interrupted = try? openLog("/data", fileSystem: recoveryFS, clock: clock) {
                await interrupted.close()
            }
            stats.recoveryInterrupted = recoveryFS.isDead
            recoveryFS.powerOff()
            disk.simulateCrash(seed: rng.next())
        }

        let reopened = try openLog("/data", fileSystem: FencedFileSystem(base: disk), clock: clock)
        #expect(reopened.recoveryReport.partitions == partitions, "seed \(seed)")
        stats.repaired = !reopened.recoveryReport.isClean
        let ackedNow = acked.value
        let attemptedNow = attempted.value
        var ends: [Int64] = []
        for p in 0..<partitions {
            let tp = TopicPartition(topic, PartitionID(p))
            let records = try await readAll(reopened, topic, p)
            let end = try await reopened.describeTopic(topic).partitions[p].endOffset.rawValue
            ends.append(end)
            #expect(records.map(\.offset.rawValue) == Array(0..<end), "seed \(seed) partition \(p): offsets must be contiguous")
            var byOffset: [Int64: ConsumerRecord] = [:]
            var seen: Set<String> = []
            for r in records {
                byOffset[r.offset.rawValue] = r
                // Unacknowledged records may survive, but only ones that were really appended, intact, once.
                let attempt = attemptedNow[r.valueText]
                #expect(attempt != nil, "seed \(seed) partition \(p) offset \(r.offset): a record nobody appended")
                #expect(attempt.map { $0.key } == r.keyText, "seed \(seed): key mismatch at \(r.offset)")
                #expect(r.header("id") == attempt.map { Array($0.header.utf8) }, "seed \(seed): header mismatch at \(r.offset)")
                #expect(seen.insert(r.valueText).inserted, "seed \(seed): duplicate record at \(r.offset)")
                #expect(Partitioner.partition(forKey: Array(r.keyText!.utf8), count: partitions).rawValue == p)
            }
            stats.acknowledged += ackedNow[tp]?.count ?? 0
            stats.unacknowledgedSurvivors += records.count - (ackedNow[tp]?.count ?? 0)
            for (offset, attempt) in ackedNow[tp] ?? [:] {
                let found = byOffset[offset]
                if durability == .always {
                    #expect(found?.valueText == attempt.value, "seed \(seed) partition \(p): acknowledged offset \(offset) lost or changed")
                } else if let found {
                    // Without fsync on every append a power cut may lose acknowledged records, but only a suffix.
                    #expect(found.valueText == attempt.value, "seed \(seed) \(durability) partition \(p): offset \(offset) changed")
                }
            }
        }
        // Offsets continue contiguously after the recovered end.
        let again = (0..<partitions).map { record(nil, "post-crash-\($0)", partition: $0) }
        let positions = try await reopened.append(again, to: topic)
        #expect(positions.map(\.offset.rawValue) == ends, "seed \(seed)")
        // A second crash with everything synced loses nothing.
        await reopened.close()
        disk.simulateCrash(seed: rng.next())
        let third = try openLog("/data", fileSystem: FencedFileSystem(base: disk), clock: clock)
        for p in 0..<partitions {
            let records = try await readAll(third, topic, p)
            #expect(records.last?.valueText == "post-crash-\(p)", "seed \(seed): a synced append was lost in a second crash")
            #expect(Int64(records.count) == ends[p] + 1)
        }
        await third.close()
        for p in 0..<partitions {
            try verifyIndexFiles("/data/\(topic)-\(p)", fileSystem: disk, "seed \(seed)")
        }
        return stats
    }

    @Test("acknowledged records survive a power cut at any point (200 seeded iterations)")
    func seededCrashes() async throws {
        let baseSeed: UInt64 = 0xC4A5_0001
        print("crash simulation base seed \(baseSeed); iteration i uses seed base + i")
        var all: [Stats] = []
        for i in 0..<200 {
            let seed = baseSeed + UInt64(i)
            all.append(try await Self.runIteration(seed: seed))
        }
        let died = all.filter(\.diedMidRun).count
        let repaired = all.filter(\.repaired).count
        let survivors = all.reduce(0) { $0 + $1.unacknowledgedSurvivors }
        let interrupted = all.filter(\.recoveryInterrupted).count
        print("crash simulation: \(died) power cuts mid-run, \(repaired) recoveries repaired something, \(interrupted) recoveries interrupted, \(all.reduce(0) { $0 + $1.acknowledged }) records acknowledged, \(survivors) unacknowledged survived")
        // The schedule must really exercise crashes, not only clean stops.
        #expect(died >= 100)
        #expect(repaired >= 20)
        #expect(interrupted >= 10)
    }

    @Test("without fsync per append a power cut loses at most a suffix of each partition (seeded)",
          arguments: [DurabilityPolicy.never, .interval(.milliseconds(2))])
    func relaxedPolicies(_ durability: DurabilityPolicy) async throws {
        let baseSeed: UInt64 = 0x5EED_0002
        print("crash simulation (\(durability)) base seed \(baseSeed); iteration i uses seed base + i")
        for i in 0..<40 {
            _ = try await Self.runIteration(seed: baseSeed + UInt64(i), durability: durability)
        }
    }

    @Test("simulateCrash keeps synced bytes and a prefix of the rest")
    func crashModel() throws {
        let disk = InMemoryFileSystem()
        try disk.createDirectory("/d")
        let file = try disk.openFile("/d/f", create: true)
        try file.write(Array("synced".utf8), at: 0)
        try file.sync()
        try file.write(Array("-pending-bytes".utf8), at: 6)
        var prefixes: Set<Int> = []
        for seed in UInt64(0)..<64 {
            let copy = InMemoryFileSystem()
            try copy.createDirectory("/d")
            copy.setContents(of: "/d/f", Array("synced".utf8))
            let f = try copy.openFile("/d/f", create: false)
            try f.write(Array("-pending-bytes".utf8), at: 6)
            copy.simulateCrash(seed: seed)
            let after = try #require(copy.contents(of: "/d/f"))
            #expect(after.starts(with: Array("synced".utf8)), "seed \(seed)")
            #expect(after.count <= 20)
            prefixes.insert(after.count)
        }
        #expect(prefixes.count > 5, "different seeds keep different prefixes: \(prefixes.sorted())")
        #expect(disk.contents(of: "/d/f")?.count == 20)
    }

    @Test("an in-memory lock is exclusive, and a stale handle never releases someone else's lock")
    func inMemoryLocks() async throws {
        let disk = InMemoryFileSystem()
        var first: EventLog? = try openLog("/data", fileSystem: disk)
        await expectLogError(.locked) { try openLog("/data", fileSystem: disk) }
        await first!.close()
        let second = try openLog("/data", fileSystem: disk)
        first = nil  // the closed log's deinit releases its (already released) lock again
        await expectLogError(.locked, "the second log still holds the directory") { try openLog("/data", fileSystem: disk) }
        // After a simulated crash locks are gone; the dead log's handle must not free the new holder's lock.
        disk.simulateCrash(seed: 1)
        let third = try openLog("/data", fileSystem: disk)
        await second.close()
        await expectLogError(.locked, "the third log still holds the directory") { try openLog("/data", fileSystem: disk) }
        await third.close()
        let fourth = try openLog("/data", fileSystem: disk)
        await fourth.close()
    }
}
