import ChaparModels
@testable import EventLog
import Foundation
import Testing

@Suite("RetentionPolicy (pure)")
struct RetentionPolicyTests {
    typealias Info = RetentionPolicy.SegmentInfo
    static let hour: Int64 = 3_600_000
    static let now: Int64 = 1_790_000_000_000

    static func segments(_ spec: [(size: Int64, ageHours: Int64?)]) -> [Info] {
        spec.enumerated().map { i, s in Info(baseOffset: Int64(i * 100), size: s.size, maxTimestamp: s.ageHours.map { now - $0 * hour } ?? Int64.min) }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let spec: [(size: Int64, ageHours: Int64?)]
        let ageHours: Int64?
        let bytes: Int64?
        let expected: [RetentionPolicy.Reason]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "no segments", spec: [], ageHours: 1, bytes: 0, expected: []),
        Case(name: "only the active segment, expired and oversize", spec: [(100, 99)], ageHours: 1, bytes: 0, expected: []),
        Case(name: "expired sealed segments go, the expired active one stays", spec: [(100, 50), (100, 40), (100, 30)], ageHours: 10, bytes: nil, expected: [.age, .age]),
        Case(name: "only leading expired segments go", spec: [(100, 50), (100, 1), (100, 50), (100, 0)], ageHours: 10, bytes: nil, expected: [.age]),
        Case(name: "exactly at the age limit is kept", spec: [(100, 10), (100, 0)], ageHours: 10, bytes: nil, expected: []),
        Case(name: "nothing expired", spec: [(100, 5), (100, 4), (100, 0)], ageHours: 10, bytes: nil, expected: []),
        Case(name: "empty sealed segment (no timestamp) is not aged out", spec: [(0, nil), (100, 0)], ageHours: 1, bytes: nil, expected: []),
        Case(name: "size: oldest go until the total fits", spec: [(100, 0), (100, 0), (100, 0), (100, 0)], ageHours: nil, bytes: 250, expected: [.size, .size]),
        Case(name: "size: exactly at the limit is kept", spec: [(100, 0), (100, 0)], ageHours: nil, bytes: 200, expected: []),
        Case(name: "size: whole segments only, never the active", spec: [(100, 0), (100, 0), (500, 0)], ageHours: nil, bytes: 0, expected: [.size, .size]),
        Case(name: "size: one byte over removes one whole segment", spec: [(100, 0), (100, 0), (100, 0)], ageHours: nil, bytes: 299, expected: [.size]),
        Case(name: "age first, then size", spec: [(100, 50), (100, 1), (100, 1), (100, 0)], ageHours: 10, bytes: 150, expected: [.age, .size, .size]),
        Case(name: "no limits", spec: [(100, 500), (100, 400), (100, 0)], ageHours: nil, bytes: nil, expected: []),
    ]

    @Test("segmentsToDelete", arguments: cases)
    func table(_ c: Case) {
        let result = RetentionPolicy.segmentsToDelete(Self.segments(c.spec), now: Self.now, retentionAgeMs: c.ageHours.map { $0 * Self.hour }, retentionBytes: c.bytes)
        #expect(result == c.expected)
    }

    @Test("never deletes the last segment, for any seeded input")
    func neverActive() {
        var rng = SplitMix64(seed: 77)
        for _ in 0..<2000 {
            let n = Int(rng.next() % 6)
            let spec: [(size: Int64, ageHours: Int64?)] = (0..<n).map { _ in (Int64(rng.next() % 1000), rng.next() % 5 == 0 ? nil : Int64(rng.next() % 100)) }
            let age: Int64? = rng.next() % 3 == 0 ? nil : Int64(rng.next() % 50) * Self.hour
            let bytes: Int64? = rng.next() % 3 == 0 ? nil : Int64(rng.next() % 3000)
            let infos = Self.segments(spec)
            let result = RetentionPolicy.segmentsToDelete(infos, now: Self.now, retentionAgeMs: age, retentionBytes: bytes)
            #expect(result.count < max(1, n), "seed 77: \(spec) \(String(describing: age)) \(String(describing: bytes)) → \(result)")
            // Whatever is kept by size fits the limit, unless only the active segment is left.
            if let bytes, result.count < n - 1 {
                let kept = infos.dropFirst(result.count).reduce(0) { $0 + $1.size }
                let nextIsExpired = age.map { a in infos[result.count].maxTimestamp != .min && Self.now - infos[result.count].maxTimestamp > a } ?? false
                #expect(kept <= bytes || nextIsExpired, "seed 77: kept \(kept) > \(bytes)")
            }
        }
    }
}

@Suite("Retention on a live log")
struct RetentionTests {
    static let value = String(repeating: "r", count: 150)

    @Test("only expired sealed segments are deleted; the start offset advances; the active segment survives even when expired")
    func ageRetention() async throws {
        try await withTemporaryDirectory { dir in
            let clock = ManualClock()
            let config = TopicConfiguration(partitions: 1, segmentBytes: 1024, segmentMaxAge: .seconds(3600), retentionAge: .seconds(3600), indexIntervalBytes: 64)
            var log = try openLog(dir, clock: clock)
            _ = try await log.createTopic("t", configuration: config)
            let p = PartitionID(0)
            for i in 0..<30 { _ = try await log.append([record("k", "old-\(i)-" + Self.value)], to: "t") }
            let oldSegments = try await log.describeTopic("t").partitions[0].segments
            #expect(oldSegments >= 4)
            #expect(await log.enforceRetention().isEmpty, "nothing is old yet")

            clock.advance(by: .seconds(2 * 3600))
            // The first new append rolls the (now old) active segment: age-based roll.
            for i in 0..<20 { _ = try await log.append([record("k", "new-\(i)-" + Self.value)], to: "t") }
            let before = try await log.describeTopic("t").partitions[0]
            let lines = await log.enforceRetention()
            #expect(lines.count == oldSegments, "\(lines)")
            #expect(lines.allSatisfy { $0.contains("by age") })
            let after = try await log.describeTopic("t").partitions[0]
            #expect(after.startOffset == Offset(30), "every old record was in an expired segment, no new one was")
            #expect(after.endOffset == Offset(50))
            #expect(after.segments == before.segments - oldSegments)
            #expect(try segmentBases(dir + "/t-0").first == 30, "the files are gone")
            #expect(!FileManager.default.fileExists(atPath: Segment.path(dir + "/t-0", 0, "index")))
            await expectLogError(.offsetOutOfRange) { try await log.fetch("t", partition: p, from: Offset(0), limits: FetchLimits()) }
            await expectLogError(.offsetOutOfRange) { try await log.fetch("t", partition: p, from: Offset(29), limits: FetchLimits()) }
            let remaining = try await readAll(log, "t", 0)
            #expect(remaining.map(\.offset.rawValue) == Array(30..<50))
            #expect(remaining.first?.valueText.hasPrefix("new-0-") == true)
            #expect(try await log.offset(for: Timestamp(milliseconds: 0), topic: "t", partition: p) == Offset(30))

            // Much later everything is expired: all sealed segments go, the active one stays with its records.
            clock.advance(by: .seconds(10 * 3600))
            let activeBase = try #require(try segmentBases(dir + "/t-0").last)
            await log.enforceRetention()
            let final = try await log.describeTopic("t").partitions[0]
            #expect(final.segments == 1)
            #expect(final.startOffset == Offset(activeBase))
            #expect(final.endOffset == Offset(50))
            #expect(try await readAll(log, "t", 0).map(\.offset.rawValue) == Array(activeBase..<50))
            #expect(await log.enforceRetention().isEmpty, "idempotent")
            // Appends continue at the same offsets, and a reopen keeps the new start.
            #expect(try await log.append([record("k", "last")], to: "t").map(\.offset) == [Offset(50)])
            await log.close()
            log = try openLog(dir, clock: clock)
            #expect(log.recoveryReport.isClean)
            let reopened = try await log.describeTopic("t").partitions[0]
            #expect(reopened.startOffset == Offset(activeBase))
            #expect(reopened.endOffset == Offset(51))
            await log.close()
        }
    }

    @Test("reads racing retention return intact records or offsetOutOfRange, nothing else")
    func readsDuringRetention() async throws {
        try await withTemporaryDirectory { dir in
            let clock = ManualClock()
            let config = TopicConfiguration(partitions: 1, segmentBytes: 1024, segmentMaxAge: .seconds(60), retentionAge: .seconds(60))
            let log = try openLog(dir, clock: clock)
            _ = try await log.createTopic("t", configuration: config)
            var values: [String] = []
            for round in 0..<10 {
                for i in 0..<15 {
                    values.append("r\(round)-\(i)-" + Self.value)
                    _ = try await log.append([record("k", values.last!)], to: "t")
                }
                clock.advance(by: .seconds(30))
            }
            let expected = values
            let unexpected = Box<[String]>([])
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for _ in 0..<10 {
                        clock.advance(by: .seconds(30))
                        await log.enforceRetention()
                        try await Task.sleep(for: .milliseconds(2))
                    }
                }
                for reader in 0..<2 {
                    group.addTask {
                        for attempt in 0..<60 {
                            let from = Offset(Int64((attempt * 7 + reader * 13) % expected.count))
                            do {
                                let r = try await log.fetch("t", partition: PartitionID(0), from: from, limits: FetchLimits(maxRecords: 50))
                                for rec in r.records where rec.valueText != expected[Int(rec.offset.rawValue)] {
                                    unexpected.withLock { $0.append("offset \(rec.offset) changed") }
                                }
                            } catch let error as LogError where error.code == .offsetOutOfRange {
                                continue
                            } catch {
                                unexpected.withLock { $0.append("\(error)") }
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(unexpected.value.isEmpty, "\(unexpected.value.prefix(5))")
            #expect(try await log.describeTopic("t").partitions[0].startOffset > Offset(0))
            await log.close()
        }
    }

    @Test("size retention removes the oldest whole segments")
    func sizeRetention() async throws {
        try await withTemporaryDirectory { dir in
            let config = TopicConfiguration(partitions: 1, segmentBytes: 1024, retentionAge: nil, retentionBytes: 3000)
            let log = try openLog(dir)
            _ = try await log.createTopic("t", configuration: config)
            for i in 0..<60 { _ = try await log.append([record("k", "v\(i)-" + Self.value)], to: "t") }
            let before = try await log.describeTopic("t").partitions[0]
            #expect(before.bytes > 3000)
            let lines = await log.enforceRetention()
            #expect(!lines.isEmpty)
            #expect(lines.allSatisfy { $0.contains("by size") })
            let after = try await log.describeTopic("t").partitions[0]
            #expect(after.bytes <= 3000)
            #expect(after.bytes + 1200 > 3000, "only as many segments as needed were removed")
            #expect(after.endOffset == Offset(60))
            let records = try await readAll(log, "t", 0)
            #expect(records.first?.offset == after.startOffset)
            #expect(records.map(\.valueText) == (Int(after.startOffset.rawValue)..<60).map { "v\($0)-" + Self.value })
            await log.close()
        }
    }

    @Test("a group whose committed position was removed by retention resumes at the new start")
    func groupPositionBeforeStart() async throws {
        try await withTemporaryDirectory { dir in
            let clock = ManualClock()
            let config = TopicConfiguration(partitions: 1, segmentBytes: 1024, segmentMaxAge: .seconds(60), retentionAge: .seconds(60))
            let log = try openLog(dir, clock: clock)
            _ = try await log.createTopic("t", configuration: config)
            for i in 0..<20 { _ = try await log.append([record("k", "a\(i)-" + Self.value)], to: "t") }
            try await log.resetOffsets("g", to: [TopicPartition("t", PartitionID(0)): Offset(2)])
            clock.advance(by: .seconds(120))
            _ = try await log.append([record("k", "fresh")], to: "t")
            await log.enforceRetention()
            let start = try await log.describeTopic("t").partitions[0].startOffset
            #expect(start == Offset(20))
            let member = try await log.joinGroup("g", topics: ["t"], options: GroupOptions())
            let wall = ContinuousClock()
            let started = wall.now
            let got = try await member.poll(maxRecords: 10, timeout: .seconds(10))
            #expect(got.map(\.valueText) == ["fresh"])
            #expect(started.duration(to: wall.now) < .seconds(5), "the reset position is read at once, not after the poll timeout")
            await member.leave()
            await log.close()
        }
    }
}
