import ChaparModels
@testable import EventLog
import Foundation
import Testing

@Suite("Append and fetch on real files")
struct AppendFetchTests {
    @Test("offsets are contiguous from 0 and survive a clean reopen")
    func contiguousOffsets() async throws {
        try await withTemporaryDirectory { dir in
            let log = try openLog(dir)
            let created = try await log.createTopic("events", configuration: TopicConfiguration(partitions: 1))
            #expect(created.partitions.map(\.endOffset) == [Offset(0)])
            #expect(try await log.append([], to: "events").isEmpty)
            var expected: [String] = []
            for b in 0..<5 {
                let records = (0..<10).map { record("k\($0 % 3)", "b\(b)-r\($0)") }
                let positions = try await log.append(records, to: "events")
                #expect(positions.map(\.offset.rawValue) == Array(Int64(b * 10)..<Int64(b * 10 + 10)))
                #expect(positions.allSatisfy { $0.partition == PartitionID(0) && $0.topic == "events" })
                expected += records.map { String(decoding: $0.value, as: UTF8.self) }
            }
            let all = try await readAll(log, "events", 0)
            #expect(all.map(\.offset.rawValue) == Array(0..<50))
            #expect(all.map(\.valueText) == expected)
            #expect(all.map(\.keyText) == (0..<50).map { "k\($0 % 10 % 3)" })
            let described = try await log.describeTopic("events")
            #expect(described.partitions[0].endOffset == Offset(50))
            #expect(described.partitions[0].startOffset == Offset(0))
            #expect(described.records == 50)
            await log.close()

            let reopened = try openLog(dir)
            #expect(reopened.recoveryReport.isClean, "\(reopened.recoveryReport.actions)")
            #expect(reopened.recoveryReport.partitions == 1)
            #expect(try await readAll(reopened, "events", 0).map(\.valueText) == expected)
            #expect(try await reopened.listTopics().map(\.name) == ["events"])
            let next = try await reopened.append([record("k", "after")], to: "events")
            #expect(next.map(\.offset) == [Offset(50)])
            await reopened.close()
        }
    }

    @Test("records with the same key keep their order and partition under concurrent producers")
    func perKeyOrder() async throws {
        try await withTemporaryDirectory { dir in
            let log = try openLog(dir)
            _ = try await log.createTopic("tx", configuration: TopicConfiguration(partitions: 4))
            let acknowledged = Box<[TopicPartition: [Int64: String]]>([:])
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<5 {
                    group.addTask {
                        let keys = ["acct-\(task)-a", "acct-\(task)-b"]
                        var seq = [0, 0]
                        for i in 0..<30 {
                            var batch: [ProducerRecord] = []
                            for j in 0..<(1 + (i + task) % 3) {
                                let k = (i + j) % 2
                                batch.append(record(keys[k], "\(keys[k])|\(seq[k])"))
                                seq[k] += 1
                            }
                            let positions = try await log.append(batch, to: "tx")
                            acknowledged.withLock { a in
                                for (p, r) in zip(positions, batch) { a[TopicPartition(p.topic, p.partition), default: [:]][p.offset.rawValue] = String(decoding: r.value, as: UTF8.self) }
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            var perKey: [String: [Int]] = [:]
            var total = 0
            for p in 0..<4 {
                let records = try await readAll(log, "tx", p)
                total += records.count
                #expect(records.map(\.offset.rawValue) == Array(0..<Int64(records.count)), "partition \(p) has gaps")
                let acked = acknowledged.value[TopicPartition("tx", PartitionID(p))] ?? [:]
                #expect(acked.count == records.count)
                for r in records {
                    #expect(acked[r.offset.rawValue] == r.valueText, "the position returned by append points at the record")
                    let key = try #require(r.keyText)
                    #expect(Partitioner.partition(forKey: Array(key.utf8), count: 4) == PartitionID(p))
                    let parts = r.valueText.split(separator: "|")
                    #expect(parts.first.map(String.init) == key)
                    perKey[key, default: []].append(Int(parts[1])!)
                }
            }
            #expect(perKey.count == 10)
            for (key, seqs) in perKey {
                #expect(seqs == Array(0..<seqs.count), "order of \(key)")
            }
            #expect(total == perKey.values.reduce(0) { $0 + $1.count })
            await log.close()
        }
    }

    @Test("keyless records go round-robin per append; explicit partitions override keys")
    func routing() async throws {
        try await withTemporaryDirectory { dir in
            let log = try openLog(dir)
            _ = try await log.createTopic("rr", configuration: TopicConfiguration(partitions: 3))
            var used: Set<Int> = []
            for i in 0..<3 {
                let positions = try await log.append([record(nil, "x\(i)"), record(nil, "y\(i)")], to: "rr")
                #expect(Set(positions.map(\.partition)).count == 1, "one keyless append stays in one partition")
                used.insert(positions[0].partition.rawValue)
            }
            #expect(used == [0, 1, 2])
            let key = "pinned"
            let natural = Partitioner.partition(forKey: Array(key.utf8), count: 3).rawValue
            let other = (natural + 1) % 3
            let positions = try await log.append([record(key, "a", partition: other), record(key, "b")], to: "rr")
            #expect(positions.map(\.partition.rawValue) == [other, natural])
            await log.close()
        }
    }

    @Test("fetch honours maxRecords, across batch boundaries and from the middle of a batch")
    func maxRecords() async throws {
        try await withTemporaryDirectory { dir in
            let log = try openLog(dir)
            _ = try await log.createTopic("t", configuration: TopicConfiguration(partitions: 1))
            for b in 0..<3 { _ = try await log.append((0..<10).map { record(nil, "v\(b * 10 + $0)") }, to: "t") }
            let p = PartitionID(0)
            var r = try await log.fetch("t", partition: p, from: Offset(0), limits: FetchLimits(maxRecords: 3))
            #expect(r.records.map(\.offset.rawValue) == [0, 1, 2])
            #expect(r.nextOffset == Offset(3))
            #expect(r.highWatermark == Offset(30))
            #expect(r.logStartOffset == Offset(0))
            r = try await log.fetch("t", partition: p, from: Offset(5), limits: FetchLimits(maxRecords: 10))
            #expect(r.records.map(\.offset.rawValue) == Array(5..<15))
            #expect(r.records.map(\.valueText) == (5..<15).map { "v\($0)" })
            #expect(r.nextOffset == Offset(15))
            r = try await log.fetch("t", partition: p, from: Offset(29), limits: FetchLimits())
            #expect(r.records.map(\.valueText) == ["v29"])
            #expect(r.nextOffset == Offset(30))
            r = try await log.fetch("t", partition: p, from: Offset(7), limits: FetchLimits(maxRecords: 0))
            #expect(r.records.isEmpty)
            #expect(r.nextOffset == Offset(7))
            r = try await log.fetch("t", partition: p, from: Offset(30), limits: FetchLimits())
            #expect(r.records.isEmpty)
            #expect(r.nextOffset == Offset(30))
            await log.close()
        }
    }

    @Test("fetch stops near maxBytes but always returns at least one whole batch")
    func maxBytes() async throws {
        try await withTemporaryDirectory { dir in
            let log = try openLog(dir)
            _ = try await log.createTopic("t", configuration: TopicConfiguration(partitions: 1))
            let p = PartitionID(0)
            // 100 small batches of one record each.
            for i in 0..<100 { _ = try await log.append([record("k", String(format: "small-%03d", i))], to: "t") }
            let batchSize = BatchFormat.encode([record("k", "small-000")], now: 0).bytes.count
            var r = try await log.fetch("t", partition: p, from: Offset(0), limits: FetchLimits(maxBytes: 500))
            #expect(!r.records.isEmpty)
            #expect(r.records.count * batchSize <= 500 + batchSize, "returned \(r.records.count) batches of \(batchSize) bytes for maxBytes 500")
            #expect(r.nextOffset == Offset(Int64(r.records.count)))
            r = try await log.fetch("t", partition: p, from: Offset(0), limits: FetchLimits(maxBytes: 1))
            #expect(r.records.map(\.valueText) == ["small-000"], "one batch even when it is larger than maxBytes")

            // A 20-record batch of ~20 KiB, fetched with maxBytes 100: the whole batch comes back.
            let mid = (0..<20).map { record("m", "m\($0)-" + String(repeating: "x", count: 1000)) }
            _ = try await log.append(mid, to: "t")
            r = try await log.fetch("t", partition: p, from: Offset(100), limits: FetchLimits(maxBytes: 100))
            #expect(r.records.map(\.offset.rawValue) == Array(100..<120))
            // A 50-record batch of ~100 KiB (larger than the 64 KiB read chunk).
            let big = (0..<50).map { record("b", "b\($0)-" + String(repeating: "y", count: 2000)) }
            _ = try await log.append(big, to: "t")
            r = try await log.fetch("t", partition: p, from: Offset(120), limits: FetchLimits(maxBytes: 1024))
            #expect(r.records.map(\.offset.rawValue) == Array(120..<170))
            #expect(r.records.last?.valueText.hasPrefix("b49-") == true)
            // From the middle of the big batch: the rest of it.
            r = try await log.fetch("t", partition: p, from: Offset(145), limits: FetchLimits(maxBytes: 10))
            #expect(r.records.map(\.offset.rawValue) == Array(145..<170))
            #expect(r.records.first?.valueText.hasPrefix("b25-") == true)
            await log.close()
        }
    }

    @Test("an append larger than maxBatchBytes is split into several batches, in order, at contiguous offsets")
    func splitsLargeAppends() async throws {
        try await withTemporaryDirectory { dir in
            let log = try openLog(dir)
            _ = try await log.createTopic("t", configuration: TopicConfiguration(partitions: 1, maxBatchBytes: 4096))
            let records = (0..<50).map { record("k", "v\($0)-" + String(repeating: "s", count: 300)) }
            let positions = try await log.append(records, to: "t")
            #expect(positions.map(\.offset.rawValue) == Array(0..<50))
            #expect(try await readAll(log, "t", 0).map(\.valueText) == records.map { String(decoding: $0.value, as: UTF8.self) })
            await log.close()
            let bytes = try readFile(dir + "/t-0/00000000000000000000.log")
            var position = 0, batches = 0
            while position < bytes.count, case .valid(let h) = checkBatch(Array(bytes[position...])) {
                #expect(h.totalSize <= 4096 + 1024)
                position += h.totalSize
                batches += 1
            }
            #expect(position == bytes.count)
            #expect(batches >= 4, "50 × 300 bytes cannot fit in one 4 KiB batch")
        }
    }

    @Test("readers following a partition with long polls see every record once, in order, while writers append")
    func tailingReaders() async throws {
        try await withTemporaryDirectory { dir in
            let log = try openLog(dir)
            _ = try await log.createTopic("t", configuration: TopicConfiguration(partitions: 2, segmentBytes: 4096, indexIntervalBytes: 128))
            let perPartition = 300
            let seen = Box<[Int: [[String]]]>([:])
            try await withThrowingTaskGroup(of: Void.self) { group in
                for p in 0..<2 {
                    for writer in 0..<2 {
                        group.addTask {
                            for i in 0..<(perPartition / 2) {
                                _ = try await log.append([record(nil, "p\(p)-w\(writer)-\(i)", partition: p)], to: "t")
                            }
                        }
                    }
                    for _ in 0..<2 {
                        group.addTask {
                            var next = Offset(0)
                            var values: [String] = []
                            while values.count < perPartition {
                                let r = try await log.fetch("t", partition: PartitionID(p), from: next, limits: FetchLimits(maxRecords: 37, maxBytes: 2000, maxWait: .seconds(5)))
                                #expect(r.records.map(\.offset.rawValue) == Array(next.rawValue..<(next.rawValue + Int64(r.records.count))))
                                #expect(r.nextOffset.rawValue == next.rawValue + Int64(r.records.count))
                                #expect(r.highWatermark >= r.nextOffset)
                                if r.records.isEmpty { Issue.record("a 5 s long poll came back empty while writers were active"); return }
                                values += r.records.map(\.valueText)
                                next = r.nextOffset
                            }
                            seen.withLock { $0[p, default: []].append(values) }
                        }
                    }
                }
                try await group.waitForAll()
            }
            for p in 0..<2 {
                let stored = try await readAll(log, "t", p).map(\.valueText)
                #expect(stored.count == perPartition)
                for w in 0..<2 { #expect(stored.filter { $0.hasPrefix("p\(p)-w\(w)-") } == (0..<(perPartition / 2)).map { "p\(p)-w\(w)-\($0)" }, "each writer's order") }
                for values in seen.value[p] ?? [] { #expect(values == stored, "a tailing reader saw a different sequence") }
                #expect(seen.value[p]?.count == 2)
            }
            await log.close()
        }
    }

    @Test("a fetch at the end waits and wakes when another task appends")
    func longPollWakes() async throws {
        try await withTemporaryDirectory { dir in
            let log = try openLog(dir)
            _ = try await log.createTopic("t", configuration: TopicConfiguration(partitions: 2))
            _ = try await log.append([record(nil, "first", partition: 0)], to: "t")
            let clock = ContinuousClock()
            let started = clock.now
            async let waiting = log.fetch("t", partition: PartitionID(0), from: Offset(1), limits: FetchLimits(maxWait: .seconds(20)))
            try await Task.sleep(for: .milliseconds(100))
            _ = try await log.append([record(nil, "other partition", partition: 1)], to: "t")
            try await Task.sleep(for: .milliseconds(50))
            _ = try await log.append([record(nil, "late", partition: 0)], to: "t")
            let result = try await waiting
            let elapsed = started.duration(to: clock.now)
            #expect(result.records.map(\.valueText) == ["late"])
            #expect(result.records.map(\.offset) == [Offset(1)])
            #expect(result.nextOffset == Offset(2))
            #expect(elapsed < .seconds(10), "woke after \(elapsed)")
            #expect(elapsed >= .milliseconds(140))
            await log.close()
        }
    }

    @Test("a fetch at the end returns empty after maxWait")
    func longPollTimesOut() async throws {
        try await withTemporaryDirectory { dir in
            let log = try openLog(dir)
            _ = try await log.createTopic("t", configuration: TopicConfiguration(partitions: 2))
            _ = try await log.append([record(nil, "a", partition: 0)], to: "t")
            let clock = ContinuousClock()
            let started = clock.now
            async let waiting = log.fetch("t", partition: PartitionID(0), from: Offset(1), limits: FetchLimits(maxWait: .milliseconds(300)))
            // Appends to another partition must not end the wait with nothing.
            _ = try await log.append([record(nil, "b", partition: 1)], to: "t")
            let result = try await waiting
            let elapsed = started.duration(to: clock.now)
            #expect(result.records.isEmpty)
            #expect(result.nextOffset == Offset(1))
            #expect(result.highWatermark == Offset(1))
            #expect(elapsed >= .milliseconds(290), "returned after \(elapsed)")
            #expect(elapsed < .seconds(5))
            // maxWait zero returns at once.
            let quick = try await log.fetch("t", partition: PartitionID(0), from: Offset(1), limits: FetchLimits(maxWait: .zero))
            #expect(quick.records.isEmpty)
            await log.close()
        }
    }

    @Test("offset(for:) finds the first record at or after a time, matching a brute-force scan (seeded)")
    func offsetForTimestamp() async throws {
        let seed: UInt64 = 20_251_124
        print("offsetForTimestamp seed \(seed)")
        try await withTemporaryDirectory { dir in
            let clock = ManualClock()
            let base = clock.now().milliseconds
            var rng = SplitMix64(seed: seed)
            let config = TopicConfiguration(partitions: 1, segmentBytes: 1024, indexIntervalBytes: 64)
            var log = try openLog(dir, clock: clock)
            _ = try await log.createTopic("t", configuration: config)
            var timestamps: [Int64] = []
            for _ in 0..<120 {
                var batch: [ProducerRecord] = []
                for _ in 0..<(1 + Int(rng.next() % 4)) {
                    // Mostly rising with the clock, sometimes a late (older) event, sometimes stamped by the log.
                    let choice = rng.next() % 5
                    let ts: Int64? = choice == 0 ? nil : (choice == 1 ? base - Int64(rng.next() % 5000) : clock.now().milliseconds + Int64(rng.next() % 3000))
                    batch.append(record("k", "v\(timestamps.count + batch.count)", timestamp: ts))
                }
                let positions = try await log.append(batch, to: "t")
                timestamps += positions.map(\.timestamp.milliseconds)
                clock.advance(by: .milliseconds(Int64(rng.next() % 2000)))
            }
            let stored = try await readAll(log, "t", 0).map(\.timestamp.milliseconds)
            #expect(stored == timestamps)
            #expect(try await log.describeTopic("t").partitions[0].segments > 3, "the test needs several segments")
            var queries: Set<Int64> = [Int64.min, Int64.max, base - 10_000, timestamps.max()! + 1]
            for t in timestamps { queries.formUnion([t - 1, t, t + 1]) }
            func brute(_ q: Int64) -> Offset? { timestamps.firstIndex { $0 >= q }.map { Offset(Int64($0)) } }
            for q in queries.sorted() {
                #expect(try await log.offset(for: Timestamp(milliseconds: q), topic: "t", partition: PartitionID(0)) == brute(q), "query \(q) seed \(seed)")
            }
            await log.close()
            // Again with sealed segments' indexes loaded from disk.
            log = try openLog(dir, clock: clock)
            for q in queries.sorted() where q % 3 == 0 {
                #expect(try await log.offset(for: Timestamp(milliseconds: q), topic: "t", partition: PartitionID(0)) == brute(q), "after reopen, query \(q) seed \(seed)")
            }
            await log.close()
        }
    }

    @Test("the log stamps records with its clock when they carry no timestamp")
    func manualClockStamps() async throws {
        try await withTemporaryDirectory { dir in
            let clock = ManualClock(Timestamp(milliseconds: 1_000_000))
            let log = try openLog(dir, clock: clock)
            _ = try await log.createTopic("t", configuration: TopicConfiguration())
            for _ in 0..<5 {
                _ = try await log.append([record(nil, "x")], to: "t")
                clock.advance(by: .seconds(1))
            }
            let records = try await readAll(log, "t", 0)
            #expect(records.map(\.timestamp.milliseconds) == [1_000_000, 1_001_000, 1_002_000, 1_003_000, 1_004_000])
            let p = PartitionID(0)
            #expect(try await log.offset(for: Timestamp(milliseconds: 1_002_000), topic: "t", partition: p) == Offset(2))
            #expect(try await log.offset(for: Timestamp(milliseconds: 1_002_001), topic: "t", partition: p) == Offset(3))
            #expect(try await log.offset(for: Timestamp(milliseconds: 0), topic: "t", partition: p) == Offset(0))
            #expect(try await log.offset(for: Timestamp(milliseconds: 1_004_001), topic: "t", partition: p) == nil)
            await log.close()
        }
    }

    @Test("errors carry the right codes")
    func errorCodes() async throws {
        try await withTemporaryDirectory { dir in
            let log = try openLog(dir)
            _ = try await log.createTopic("t", configuration: TopicConfiguration(partitions: 2, maxBatchBytes: 4096))
            _ = try await log.append([record(nil, "a", partition: 0), record(nil, "b", partition: 0)], to: "t")
            let p0 = PartitionID(0)
            await expectLogError(.unknownTopic) { try await log.fetch("nope", partition: p0, from: Offset(0), limits: FetchLimits()) }
            await expectLogError(.unknownTopic) { try await log.append([record(nil, "x")], to: "nope") }
            await expectLogError(.unknownTopic) { try await log.describeTopic("nope") }
            await expectLogError(.unknownTopic) { try await log.offset(for: Timestamp(milliseconds: 0), topic: "nope", partition: p0) }
            await expectLogError(.unknownTopic) { try await log.joinGroup("g", topics: ["nope"], options: GroupOptions()) }
            await expectLogError(.unknownPartition) { try await log.fetch("t", partition: PartitionID(2), from: Offset(0), limits: FetchLimits()) }
            await expectLogError(.unknownPartition) { try await log.fetch("t", partition: PartitionID(-1), from: Offset(0), limits: FetchLimits()) }
            await expectLogError(.unknownPartition) { try await log.append([record(nil, "x", partition: 9)], to: "t") }
            await expectLogError(.unknownPartition) { try await log.offset(for: Timestamp(milliseconds: 0), topic: "t", partition: PartitionID(5)) }
            await expectLogError(.invalidArgument) { try await log.fetch("t", partition: p0, from: Offset(-1), limits: FetchLimits()) }
            await expectLogError(.offsetOutOfRange) { try await log.fetch("t", partition: p0, from: Offset(3), limits: FetchLimits()) }
            await expectLogError(.offsetOutOfRange) { try await log.fetch("t", partition: p0, from: Offset(1000), limits: FetchLimits(maxWait: .milliseconds(50))) }
            #expect(try await log.fetch("t", partition: p0, from: Offset(2), limits: FetchLimits()).records.isEmpty, "the end itself is a valid position")
            await expectLogError(.topicExists) { try await log.createTopic("t", configuration: TopicConfiguration()) }
            await expectLogError(.invalidArgument) { try await log.createTopic("zero", configuration: TopicConfiguration(partitions: 0)) }
            await expectLogError(.invalidArgument) { try await log.createTopic("huge", configuration: TopicConfiguration(segmentBytes: 8 << 30)) }
            await expectLogError(.invalidArgument) { try await log.append([record(nil, String(repeating: "z", count: 8000))], to: "t") }
            await expectLogError(.invalidArgument) { try await log.joinGroup("g", topics: [], options: GroupOptions()) }
            for bad in ["", "__internal", ".dot", "has space", "slash/name", "پیام"] {
                await expectLogError(.invalidArgument, "name '\(bad)'") { try TopicName(bad) }
            }
            // A failed create leaves nothing behind, and the partition that was refused still holds only what was acknowledged.
            #expect(try await log.listTopics().map(\.name) == ["t"])
            #expect(try await log.describeTopic("t").partitions.map(\.endOffset) == [Offset(2), Offset(0)])
            // ensureTopic is idempotent.
            #expect(try await log.ensureTopic("t", configuration: TopicConfiguration(partitions: 9)).partitions.count == 2)
            #expect(try await log.ensureTopic("u", configuration: TopicConfiguration(partitions: 3)).partitions.count == 3)
            await log.close()
            await expectLogError(.closed) { try await log.append([record(nil, "x")], to: "t") }
            await expectLogError(.closed) { try await log.fetch("t", partition: p0, from: Offset(0), limits: FetchLimits()) }
            await expectLogError(.closed) { try await log.createTopic("later", configuration: TopicConfiguration()) }
        }
    }

    @Test("racing creates of one topic: exactly one wins, and its configuration is the one stored")
    func concurrentCreate() async throws {
        try await withTemporaryDirectory { dir in
            for round in 0..<8 {
                let topic = try TopicName("race-\(round)")
                let racing = try openLog(dir)
                let a = TopicConfiguration(partitions: 3), b = TopicConfiguration(partitions: 5)
                async let first = Result(catching: { try await racing.createTopic(topic, configuration: a) })
                async let second = Result(catching: { try await racing.createTopic(topic, configuration: b) })
                let results = await [first, second]
                var log = racing
                let winners = results.compactMap { try? $0.get() }
                #expect(winners.count == 1, "round \(round): \(results)")
                for case .failure(let error) in results { #expect((error as? LogError)?.code == .topicExists, "round \(round): \(error)") }
                let live = try await log.describeTopic(topic).partitions.count
                await log.close()
                log = try openLog(dir)
                #expect(try await log.describeTopic(topic).partitions.count == live, "round \(round): the stored configuration is not the live one")
                await log.close()
            }
        }
    }

    @Test("topics and their configuration survive reopening")
    func topicPersistence() async throws {
        try await withTemporaryDirectory { dir in
            let config = TopicConfiguration(partitions: 3, durability: .interval(.milliseconds(20)), segmentBytes: 2048, segmentMaxAge: .seconds(60),
                                            retentionAge: nil, retentionBytes: 1 << 20, indexIntervalBytes: 128, maxBatchBytes: 1 << 20)
            var log = try openLog(dir)
            _ = try await log.createTopic("b.topic", configuration: config)
            _ = try await log.createTopic("a-topic", configuration: TopicConfiguration(durability: .never))
            _ = try await log.append((0..<30).map { record("k\($0)", "v\($0)") }, to: "b.topic")
            _ = try await log.append([record(nil, "n")], to: "a-topic")
            await log.close()
            log = try openLog(dir)
            let topics = try await log.listTopics()
            #expect(topics.map(\.name) == ["a-topic", "b.topic"])
            #expect(topics[1].configuration == config)
            #expect(topics[0].configuration.durability == .never)
            #expect(topics[1].records == 30)
            #expect(topics[0].records == 1)
            await log.close()
        }
    }

    @Test("a second open of the same directory is refused with the holder's pid until the first closes")
    func directoryLock() async throws {
        try await withTemporaryDirectory { dir in
            let first = try openLog(dir)
            _ = try await first.createTopic("t", configuration: TopicConfiguration())
            let error = await expectLogError(.locked) { try openLog(dir) }
            let pid = ProcessInfo.processInfo.processIdentifier
            #expect(error?.message.contains("process \(pid)") == true, "\(error?.message ?? "")")
            #expect(error?.message.contains(dir) == true)
            #expect(error?.isRetriable == false)
            // The refused open did not disturb the first one.
            _ = try await first.append([record(nil, "still works")], to: "t")
            await first.close()
            let second = try openLog(dir)
            #expect(try await readAll(second, "t", 0).map(\.valueText) == ["still works"])
            await second.close()
        }
    }
}
