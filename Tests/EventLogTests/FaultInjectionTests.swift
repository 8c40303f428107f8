import ChaparModels
@testable import EventLog
import Testing

@Suite("Fault injection (FaultInjectingFileSystem)")
struct FaultInjectionTests {
    static let firstSegment = "/data/t-0/00000000000000000000.log"

    @Test("a full disk fails the append with diskFull, cuts the file back, and appends resume once space is freed")
    func diskFullDuringAppend() async throws {
        let disk = InMemoryFileSystem()
        let fs = FaultInjectingFileSystem(base: disk)
        var log = try openLog("/data", fileSystem: fs)
        _ = try await log.createTopic("t", configuration: TopicConfiguration(partitions: 1))
        _ = try await log.append((0..<5).map { record("k", "before-\($0)") }, to: "t")
        let sizeBefore = try #require(disk.contents(of: Self.firstSegment)).count

        fs.update { $0.writeBudget = 50; $0.pathFilter = ".log" }
        let error = await expectLogError(.diskFull) {
            try await log.append((0..<10).map { record("k", "lost-\($0)-" + String(repeating: "x", count: 100)) }, to: "t")
        }
        #expect(error?.isRetriable == true)
        #expect(disk.contents(of: Self.firstSegment)?.count == sizeBefore, "the partial write was cut back")
        #expect(try await log.describeTopic("t").partitions[0].endOffset == Offset(5))
        #expect(try await readAll(log, "t", 0).map(\.valueText) == (0..<5).map { "before-\($0)" })
        // Still full: still refused, still nothing half-written.
        await expectLogError(.diskFull) { try await log.append([record("k", "also-lost")], to: "t") }
        #expect(disk.contents(of: Self.firstSegment)?.count == sizeBefore)

        fs.update { $0.writeBudget = nil }
        let positions = try await log.append([record("k", "after-0"), record("k", "after-1")], to: "t")
        #expect(positions.map(\.offset.rawValue) == [5, 6], "offsets continue with no gap for the failed appends")
        let expected = (0..<5).map { "before-\($0)" } + ["after-0", "after-1"]
        #expect(try await readAll(log, "t", 0).map(\.valueText) == expected)
        await log.close()

        log = try openLog("/data", fileSystem: fs)
        #expect(log.recoveryReport.isClean, "\(log.recoveryReport.actions)")
        #expect(try await readAll(log, "t", 0).map(\.valueText) == expected)
        await log.close()
    }

    @Test("concurrent producers hitting a full disk: the log holds exactly the acknowledged records (seeded)",
          arguments: Array(UInt64(1)...8), [".log", nil] as [String?])
    func diskFullConcurrent(_ seed: UInt64, _ filter: String?) async throws {
        print("diskFullConcurrent seed \(seed) filter \(filter ?? "none")")
        var rng = SplitMix64(seed: seed)
        let disk = InMemoryFileSystem()
        let fs = FaultInjectingFileSystem(base: disk)
        var log = try openLog("/data", fileSystem: fs)
        _ = try await log.createTopic("t", configuration: TopicConfiguration(partitions: 2, segmentBytes: 2048, indexIntervalBytes: 64))
        fs.update { $0.writeBudget = 3000 + Int(rng.next() % 6000); $0.pathFilter = filter }
        let acked = Box<[TopicPartition: [Int64: String]]>([:])
        let failures = Box<[LogError.Code]>([])
        let seeds = (0..<4).map { _ in rng.next() }
        let current = log
        await withTaskGroup(of: Void.self) { group in
            for (task, taskSeed) in seeds.enumerated() {
                group.addTask {
                    var prng = SplitMix64(seed: taskSeed)
                    for i in 0..<20 {
                        // One key per append: an append spanning partitions can fail in one partition after
                        // the other partition's part became durable, and the error cannot say which.
                        let key = "key-\(prng.next() % 5)"
                        let batch = (0..<(1 + Int(prng.next() % 3))).map { j in
                            record(key, "t\(task)-\(i)-\(j)-" + String(repeating: "z", count: Int(prng.next() % 120)))
                        }
                        do {
                            let positions = try await current.append(batch, to: "t")
                            acked.withLock { a in
                                for (p, r) in zip(positions, batch) { a[TopicPartition(p.topic, p.partition), default: [:]][p.offset.rawValue] = String(decoding: r.value, as: UTF8.self) }
                            }
                        } catch let error as LogError {
                            failures.withLock { $0.append(error.code) }
                        } catch {
                            failures.withLock { $0.append(.storage) }
                        }
                    }
                }
            }
        }
        #expect(!failures.value.isEmpty, "seed \(seed): the budget should run out")
        #expect(failures.value.allSatisfy { $0 == .diskFull }, "seed \(seed): \(failures.value)")

        func check(_ log: EventLog, _ label: String) async throws -> [Int64] {
            var ends: [Int64] = []
            for p in 0..<2 {
                let expected = acked.value[TopicPartition("t", PartitionID(p))] ?? [:]
                let records = try await readAll(log, "t", p)
                #expect(records.map(\.offset.rawValue) == expected.keys.sorted(), "seed \(seed) \(label) partition \(p): exactly the acknowledged offsets")
                for r in records { #expect(expected[r.offset.rawValue] == r.valueText, "seed \(seed) \(label)") }
                ends.append(Int64(records.count))
            }
            return ends
        }
        let ends = try await check(log, "while full")
        fs.update { $0.writeBudget = nil }
        let more = try await log.append([record(nil, "p0", partition: 0), record(nil, "p1", partition: 1)], to: "t")
        #expect(more.map(\.offset.rawValue) == ends, "seed \(seed)")
        acked.withLock { a in
            for (p, v) in zip(more, ["p0", "p1"]) { a[TopicPartition(p.topic, p.partition), default: [:]][p.offset.rawValue] = v }
        }
        await log.close()
        log = try openLog("/data", fileSystem: fs)
        #expect(!log.recoveryReport.actions.contains { $0.kind == .truncatedTail || $0.kind == .warning }, "seed \(seed): \(log.recoveryReport.actions)")
        _ = try await check(log, "after reopen")
        await log.close()
    }

    @Test("a failed fsync fails the append with storage; the partition refuses appends until reopen, which recovers")
    func failedSync() async throws {
        let disk = InMemoryFileSystem()
        let fs = FaultInjectingFileSystem(base: disk)
        var log = try openLog("/data", fileSystem: fs)
        _ = try await log.createTopic("t", configuration: TopicConfiguration(partitions: 2))
        _ = try await log.append((0..<3).map { record(nil, "ok-\($0)", partition: 0) }, to: "t")

        fs.update { $0.failSync = true; $0.pathFilter = "t-0/" }
        let error = await expectLogError(.storage) { try await log.append([record(nil, "unsure", partition: 0)], to: "t") }
        #expect(error?.isRetriable == false)
        #expect(error?.message.contains("restart") == true)
        fs.update { $0.failSync = false }
        // Sticky: even with a healthy disk the partition refuses until it is reopened and recovered.
        await expectLogError(.storage) { try await log.append([record(nil, "refused", partition: 0)], to: "t") }
        // Reads of acknowledged records still work, and nothing unacknowledged is visible.
        #expect(try await readAll(log, "t", 0).map(\.valueText) == ["ok-0", "ok-1", "ok-2"])
        #expect(try await log.describeTopic("t").partitions[0].endOffset == Offset(3))
        // Other partitions are unaffected.
        #expect(try await log.append([record(nil, "fine", partition: 1)], to: "t").map(\.offset) == [Offset(0)])
        await log.close()

        log = try openLog("/data", fileSystem: fs)
        let values = try await readAll(log, "t", 0).map(\.valueText)
        // The unsynced record may or may not have survived; nothing else may appear.
        #expect(values == ["ok-0", "ok-1", "ok-2"] || values == ["ok-0", "ok-1", "ok-2", "unsure"], "\(values)")
        let next = try await log.append([record(nil, "after", partition: 0)], to: "t")
        #expect(next.map(\.offset.rawValue) == [Int64(values.count)])
        #expect(try await readAll(log, "t", 0).map(\.valueText) == values + ["after"])
        await log.close()
    }

    @Test("a failed fsync under the interval policy also stops the partition")
    func failedIntervalSync() async throws {
        let fs = FaultInjectingFileSystem(base: InMemoryFileSystem())
        let log = try openLog("/data", fileSystem: fs)
        _ = try await log.createTopic("t", configuration: TopicConfiguration(partitions: 1, durability: .interval(.milliseconds(10))))
        fs.update { $0.failSync = true }
        // Acknowledged at write time; the background fsync then fails.
        _ = try await log.append([record(nil, "written")], to: "t")
        var refused: LogError?
        for _ in 0..<500 where refused == nil {
            try await Task.sleep(for: .milliseconds(10))
            do { _ = try await log.append([record(nil, "more")], to: "t") } catch let e as LogError { refused = e }
        }
        #expect(refused?.code == .storage, "the partition kept accepting appends after fsync failed")
        await log.close()
    }

    @Test("failed reads surface as storage errors and recover when the disk does")
    func failedRead() async throws {
        let fs = FaultInjectingFileSystem(base: InMemoryFileSystem())
        let log = try openLog("/data", fileSystem: fs)
        _ = try await log.createTopic("t", configuration: TopicConfiguration())
        _ = try await log.append([record(nil, "a"), record(nil, "b")], to: "t")
        fs.update { $0.failRead = true }
        await expectLogError(.storage) { try await log.fetch("t", partition: PartitionID(0), from: Offset(0), limits: FetchLimits()) }
        fs.update { $0.failRead = false }
        #expect(try await readAll(log, "t", 0).map(\.valueText) == ["a", "b"])
        await log.close()
    }

    @Test("creating a topic on a full disk fails with diskFull and leaves no half-created topic")
    func createTopicDiskFull() async throws {
        let fs = FaultInjectingFileSystem(base: InMemoryFileSystem())
        var log = try openLog("/data", fileSystem: fs)
        fs.update { $0.writeBudget = 5; $0.pathFilter = "/topics/" }
        await expectLogError(.diskFull) { try await log.createTopic("t", configuration: TopicConfiguration(partitions: 2)) }
        await expectLogError(.unknownTopic) { try await log.describeTopic("t") }
        fs.update { $0.writeBudget = nil }
        _ = try await log.createTopic("t", configuration: TopicConfiguration(partitions: 2))
        _ = try await log.append([record(nil, "x", partition: 1)], to: "t")
        await log.close()
        log = try openLog("/data", fileSystem: fs)
        #expect(try await log.describeTopic("t").partitions.map(\.endOffset) == [Offset(0), Offset(1)])
        await log.close()
    }

    @Test("an offset commit on a full disk fails with diskFull and the previous commit stays intact")
    func commitDiskFull() async throws {
        let fs = FaultInjectingFileSystem(base: InMemoryFileSystem())
        var log = try openLog("/data", fileSystem: fs)
        _ = try await log.createTopic("t", configuration: TopicConfiguration(partitions: 2))
        _ = try await log.append((0..<10).map { record(nil, "v\($0)", partition: $0 % 2) }, to: "t")
        let member = try await log.joinGroup("g", topics: ["t"], options: GroupOptions(startPosition: .earliest))
        let polled = try await member.poll(maxRecords: 100, timeout: .seconds(2))
        #expect(polled.count == 10)
        let tp0 = TopicPartition("t", PartitionID(0)), tp1 = TopicPartition("t", PartitionID(1))
        try await member.commit([tp0: Offset(3), tp1: Offset(2)])
        #expect(log.committedOffsets("g") == [tp0: Offset(3), tp1: Offset(2)])

        for budget in [0, 10, 40] {
            fs.update { $0.writeBudget = budget; $0.pathFilter = "/groups/" }
            await expectLogError(.diskFull, "budget \(budget)") { try await member.commit([tp0: Offset(5)]) }
            await expectLogError(.diskFull, "budget \(budget)") { try await member.commitPolled() }
            #expect(log.committedOffsets("g") == [tp0: Offset(3), tp1: Offset(2)], "budget \(budget)")
        }
        await member.leave()
        await log.close()

        fs.update { $0.writeBudget = nil }
        log = try openLog("/data", fileSystem: fs)
        #expect(log.committedOffsets("g") == [tp0: Offset(3), tp1: Offset(2)], "the previous commit survived the failed ones")
        #expect(log.recoveryReport.isClean)
        let again = try await log.joinGroup("g", topics: ["t"], options: GroupOptions())
        let resumed = try await again.poll(maxRecords: 100, timeout: .seconds(2))
        #expect(Set(resumed.map(\.valueText)) == Set(["v6", "v8", "v5", "v7", "v9"]), "delivery resumes at the committed offsets")
        try await again.commitPolled()
        #expect(log.committedOffsets("g") == [tp0: Offset(5), tp1: Offset(5)])
        await again.leave()
        await log.close()
    }
}
