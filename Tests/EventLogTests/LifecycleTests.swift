import ChaparModels
@testable import EventLog
import Foundation
import Synchronization
import Testing

/// Runs `body` in an unstructured task and waits up to `limit` for it; a call that never
/// returns is recorded as an issue instead of hanging the whole test run.
func finishes<T: Sendable>(within limit: Duration = .seconds(5), _ what: String, sourceLocation: SourceLocation = #_sourceLocation,
                           _ body: @escaping @Sendable () async throws -> T) async -> Result<T, any Error>? {
    let outcome = Box<Result<T, any Error>?>(nil)
    Task {
        let r: Result<T, any Error>
        do { r = .success(try await body()) } catch { r = .failure(error) }
        outcome.withLock { $0 = r }
    }
    let deadline = ContinuousClock.now.advanced(by: limit)
    while ContinuousClock.now < deadline {
        if let r = outcome.value { return r }
        try? await Task.sleep(for: .milliseconds(5))
    }
    Issue.record("\(what) did not return within \(limit)", sourceLocation: sourceLocation)
    return nil
}

@Suite("Lifecycle: close, reopen, calls after close")
struct LifecycleTests {
    @Test("calls after close fail with .closed instead of hanging")
    func callsAfterClose() async throws {
        try await withTemporaryDirectory { dir in
            let log = try openLog(dir)
            _ = try await log.createTopic("t", configuration: TopicConfiguration(partitions: 1))
            _ = try await log.append([record(nil, "a")], to: "t")
            let member = try await log.joinGroup("g", topics: ["t"], options: GroupOptions())
            _ = try await member.poll(maxRecords: 10, timeout: .milliseconds(100))
            await log.close()
            let tp = TopicPartition("t", PartitionID(0))
            for (what, result) in [
                ("commit", await finishes("commit after close") { try await member.commit([tp: Offset(1)]) }),
                ("commitPolled", await finishes("commitPolled after close") { try await member.commitPolled() }),
                ("poll", await finishes("poll after close") { _ = try await member.poll(maxRecords: 1, timeout: .zero) }),
                ("append", await finishes("append after close") { _ = try await log.append([record(nil, "b")], to: "t") }),
                ("join", await finishes("join after close") { _ = try await log.joinGroup("h", topics: ["t"], options: GroupOptions()) }),
            ] {
                if case .failure(let error) = result {
                    #expect((error as? LogError)?.code == .closed, "\(what): \(error)")
                } else if result != nil {
                    Issue.record("\(what) succeeded after close")
                }
            }
            _ = await finishes("enforceRetention after close") { await log.enforceRetention() }
            await member.leave()
            if case .success = await finishes("resetOffsets after close", { try await log.resetOffsets("g", to: [tp: Offset(0)]) }) {
                Issue.record("resetOffsets succeeded after close")
            }
            _ = await finishes("a second close") { await log.close() }
        }
    }
}

extension LifecycleTests {
    @Test("closing while producers append: every acknowledged record is stored, every refused append got .closed, nothing else")
    func closeDuringAppends() async throws {
        try await withTemporaryDirectory { dir in
            var log = try openLog(dir)
            _ = try await log.createTopic("t", configuration: TopicConfiguration(partitions: 3, segmentBytes: 2048))
            let acked = Box<[TopicPartition: [Int64: String]]>([:])
            let errors = Box<[String]>([])
            let current = log
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<4 {
                    group.addTask {
                        for i in 0..<1000 {
                            let value = "t\(task)-\(i)"
                            do {
                                let positions = try await current.append([record("k\(task)", value)], to: "t")
                                acked.withLock { $0[TopicPartition(positions[0].topic, positions[0].partition), default: [:]][positions[0].offset.rawValue] = value }
                            } catch let error as LogError {
                                if error.code != .closed { errors.withLock { $0.append("\(error.code): \(error.message)") } }
                                return
                            }
                        }
                    }
                }
                group.addTask {
                    try await Task.sleep(for: .milliseconds(30))
                    await current.close()
                }
                try await group.waitForAll()
            }
            #expect(errors.value.isEmpty, "\(errors.value)")
            #expect(acked.value.values.reduce(0) { $0 + $1.count } > 0)
            log = try openLog(dir)
            #expect(log.recoveryReport.isClean, "\(log.recoveryReport.actions)")
            for p in 0..<3 {
                let expected = acked.value[TopicPartition("t", PartitionID(p))] ?? [:]
                let records = try await readAll(log, "t", p)
                #expect(records.map(\.offset.rawValue) == expected.keys.sorted(), "partition \(p)")
                for r in records { #expect(expected[r.offset.rawValue] == r.valueText) }
            }
            await log.close()
        }
    }

    @Test("a log released without close stops its I/O threads and releases the directory")
    func releasedWithoutClose() async throws {
        try await withTemporaryDirectory { dir in
            weak var executor: BlockingExecutor?
            weak var released: EventLog?
            do {
                let log = try openLog(dir)
                _ = try await log.createTopic(TopicName("t"), configuration: TopicConfiguration(partitions: 2))
                _ = try await log.append([ProducerRecord(key: nil, value: Array("a".utf8))], to: TopicName("t"))
                executor = log.executor
                released = log
                #expect(executor != nil)
            }
            #expect(released == nil, "something still holds the log")
            // The threads hold the executor until they exit: it goes away once they have.
            let deadline = ContinuousClock.now + .seconds(5)
            while executor != nil && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
            #expect(executor == nil, "the I/O threads of a released log are still running")
            let again = try openLog(dir)
            #expect(try await again.describeTopic(TopicName("t")).records == 1)
            await again.close()
        }
    }

    @Test("close is idempotent and releases the directory")
    func closeTwice() async throws {
        try await withTemporaryDirectory { dir in
            let log = try openLog(dir)
            await log.close()
            await log.close()
            let again = try openLog(dir)
            await again.close()
        }
    }
}

/// Durable vs written bytes of the segment files of `dir` in an in-memory file system.
func segmentDurability(_ disk: InMemoryFileSystem, _ dir: String) throws -> [(name: String, written: Int, durable: Int)] {
    try disk.listDirectory(dir).filter { $0.hasSuffix(".log") }.map { name in
        let path = InMemoryFileSystem.normalize(dir + "/" + name)
        return disk.state.withLock { s in (name, s.files[path]!.data.count, s.files[path]!.durable.count) }
    }
}

@Suite("Durability policies")
struct DurabilityPolicyTests {
    @Test("always: an append returns only once its bytes are synced")
    func always() async throws {
        let disk = InMemoryFileSystem()
        let log = try openLog("/data", fileSystem: disk)
        _ = try await log.createTopic("t", configuration: TopicConfiguration(durability: .always, segmentBytes: 1024))
        for i in 0..<40 {
            _ = try await log.append([record(nil, "v\(i)-" + String(repeating: "a", count: 60))], to: "t")
            for f in try segmentDurability(disk, "/data/t-0") { #expect(f.written == f.durable, "\(f.name) after append \(i)") }
        }
        await log.close()
    }

    @Test("interval: acknowledged before the fsync, which follows within the interval")
    func interval() async throws {
        let disk = InMemoryFileSystem()
        let log = try openLog("/data", fileSystem: disk)
        _ = try await log.createTopic("t", configuration: TopicConfiguration(durability: .interval(.milliseconds(30))))
        for round in 0..<3 {
            _ = try await log.append([record(nil, "round-\(round)")], to: "t")
            var synced = false
            let deadline = ContinuousClock.now.advanced(by: .seconds(5))
            while !synced && ContinuousClock.now < deadline {
                synced = try segmentDurability(disk, "/data/t-0").allSatisfy { $0.written == $0.durable }
                if !synced { try await Task.sleep(for: .milliseconds(5)) }
            }
            #expect(synced, "round \(round): the interval fsync never happened")
        }
        await log.close()
    }

    @Test("never: sealed segments are synced when they roll, and close syncs the active one")
    func never() async throws {
        let disk = InMemoryFileSystem()
        let log = try openLog("/data", fileSystem: disk)
        _ = try await log.createTopic("t", configuration: TopicConfiguration(durability: .never, segmentBytes: 1024))
        for i in 0..<40 { _ = try await log.append([record(nil, "v\(i)-" + String(repeating: "n", count: 60))], to: "t") }
        let files = try segmentDurability(disk, "/data/t-0")
        #expect(files.count >= 3)
        for f in files.dropLast() { #expect(f.written == f.durable, "sealed \(f.name)") }
        await log.close()
        for f in try segmentDurability(disk, "/data/t-0") { #expect(f.written == f.durable, "after close \(f.name)") }
    }

    @Test("a killed process (no power loss) keeps every acknowledged record under every policy (seeded)",
          arguments: [DurabilityPolicy.never, .interval(.milliseconds(5)), .always], Array(UInt64(1)...5))
    func processKill(_ policy: DurabilityPolicy, _ seed: UInt64) async throws {
        var rng = SplitMix64(seed: seed)
        let disk = InMemoryFileSystem()
        let fs = FencedFileSystem(base: disk)
        let log = try openLog("/data", fileSystem: fs)
        _ = try await log.createTopic("t", configuration: TopicConfiguration(partitions: 2, durability: policy, segmentBytes: 1024))
        fs.arm(crashAfter: Int(rng.next() % 120))
        let acked = Box<[TopicPartition: [Int64: String]]>([:])
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<3 {
                group.addTask {
                    for i in 0..<40 {
                        let value = "t\(task)-\(i)-" + String(repeating: "k", count: (task * 31 + i * 7) % 90)
                        guard let positions = try? await log.append([record("key\(task)", value)], to: "t") else { return }
                        acked.withLock { $0[TopicPartition(positions[0].topic, positions[0].partition), default: [:]][positions[0].offset.rawValue] = value }
                    }
                }
            }
        }
        fs.powerOff()  // the process dies; the operating system keeps what was written
        disk.state.withLock { $0.locks.removeAll() }  // and the kernel drops its lock
        await log.close()
        let reopened = try openLog("/data", fileSystem: FencedFileSystem(base: disk))
        for p in 0..<2 {
            let expected = acked.value[TopicPartition("t", PartitionID(p))] ?? [:]
            let records = try await readAll(reopened, "t", p)
            #expect(records.map(\.offset.rawValue) == Array(0..<Int64(records.count)), "\(policy) seed \(seed)")
            var byOffset: [Int64: String] = [:]
            for r in records { byOffset[r.offset.rawValue] = r.valueText }
            for (o, v) in expected { #expect(byOffset[o] == v, "\(policy) seed \(seed) partition \(p): acknowledged offset \(o) lost") }
        }
        await reopened.close()
    }
}
