import ChaparModels
@testable import EventLog
import Foundation
import Testing

/// A closed data directory holding topic `t` (one partition, 4 KiB segments) with known contents.
struct RecoveryFixture {
    let dir: String
    /// Value of each record, indexed by offset.
    let values: [String]
    /// Base offset of each appended batch, in order.
    let batchBases: [Int64]
    var partitionDir: String { dir + "/t-0" }
    static let config = TopicConfiguration(partitions: 1, segmentBytes: 4096, indexIntervalBytes: 256)

    static func make(_ dir: String, batches: Int = 40) async throws -> RecoveryFixture {
        let log = try openLog(dir)
        _ = try await log.createTopic("t", configuration: config)
        var values: [String] = []
        var bases: [Int64] = []
        for b in 0..<batches {
            let batch = (0..<5).map { i in record("key-\(i)", "r\(values.count + i)-batch\(b)-" + String(repeating: "·", count: 40 + (b * 7 + i) % 60)) }
            let positions = try await log.append(batch, to: "t")
            #expect(positions.first?.offset.rawValue == Int64(values.count))
            bases.append(Int64(values.count))
            values += batch.map { String(decoding: $0.value, as: UTF8.self) }
        }
        await log.close()
        return RecoveryFixture(dir: dir, values: values, batchBases: bases)
    }

    func segmentFiles() throws -> [Int64] { try segmentBases(partitionDir) }
    func logPath(_ base: Int64) -> String { Segment.path(partitionDir, base, "log") }
    func indexPath(_ base: Int64) -> String { Segment.path(partitionDir, base, "index") }

    /// Reopens the directory and checks that exactly offsets `0..<survivors` are readable with
    /// their original contents, that the report lists `repair`, that appends continue at
    /// `survivors`, and that a further reopen is clean.
    @discardableResult
    func verifyRecovery(survivors: Int, repair: RecoveryReport.Action.Kind?, sourceLocation: SourceLocation = #_sourceLocation) async throws -> RecoveryReport {
        let log = try openLog(dir)
        let report = log.recoveryReport
        if let repair {
            #expect(report.actions.contains { $0.kind == repair }, "report: \(report.actions)", sourceLocation: sourceLocation)
            #expect(!report.isClean, sourceLocation: sourceLocation)
        } else {
            #expect(report.isClean, "report: \(report.actions)", sourceLocation: sourceLocation)
        }
        let records = try await readAll(log, "t", 0)
        #expect(records.map(\.offset.rawValue) == Array(0..<Int64(survivors)), sourceLocation: sourceLocation)
        #expect(records.map(\.valueText) == Array(values.prefix(survivors)), "contents changed", sourceLocation: sourceLocation)
        #expect(try await log.describeTopic("t").partitions[0].endOffset == Offset(Int64(survivors)), sourceLocation: sourceLocation)
        // Random access into every batch still works (indexes are consistent with the files).
        for base in batchBases where base < survivors {
            let r = try await log.fetch("t", partition: PartitionID(0), from: Offset(base + 1), limits: FetchLimits(maxRecords: 1))
            if base + 1 < survivors { #expect(r.records.map(\.valueText) == [values[Int(base) + 1]], sourceLocation: sourceLocation) }
        }
        let added = try await log.append([record("new", "after-recovery-1"), record("new", "after-recovery-2")], to: "t")
        #expect(added.map(\.offset.rawValue) == [Int64(survivors), Int64(survivors) + 1], "appends continue where the valid log ends", sourceLocation: sourceLocation)
        await log.close()

        try verifyIndexFiles(partitionDir, fileSystem: PosixFileSystem(), "after recovery", sourceLocation: sourceLocation)
        let again = try openLog(dir)
        #expect(again.recoveryReport.isClean, "the repair did not stick: \(again.recoveryReport.actions)", sourceLocation: sourceLocation)
        let all = try await readAll(again, "t", 0)
        #expect(all.map(\.valueText) == Array(values.prefix(survivors)) + ["after-recovery-1", "after-recovery-2"], sourceLocation: sourceLocation)
        await again.close()
        return report
    }
}

@Suite("Recovery on real files")
struct RecoveryTests {
    @Test("a clean close reopens clean, with every sealed index loaded rather than rebuilt")
    func cleanReopen() async throws {
        try await withTemporaryDirectory { dir in
            let fixture = try await RecoveryFixture.make(dir)
            let segments = try fixture.segmentFiles()
            #expect(segments.count >= 4, "the fixture should roll several segments, got \(segments)")
            for base in segments.dropLast() { #expect(FileManager.default.fileExists(atPath: fixture.indexPath(base))) }
            let report = try await fixture.verifyRecovery(survivors: fixture.values.count, repair: nil)
            #expect(report.segmentsScanned == 1, "only the active segment is scanned")
            #expect(report.bytesTruncated == 0)
        }
    }

    @Test("a tail cut in the middle of the last batch loses only that batch")
    func truncatedMidBatch() async throws {
        try await withTemporaryDirectory { dir in
            let fixture = try await RecoveryFixture.make(dir)
            let last = try #require(try fixture.segmentFiles().last)
            let path = fixture.logPath(last)
            let size = try fileSize(path)
            try truncateFile(path, to: size - 10)
            let report = try await fixture.verifyRecovery(survivors: Int(fixture.batchBases.last!), repair: .truncatedTail)
            #expect(report.bytesTruncated > 0)
            #expect(try fileSize(path) < size - 10, "the torn batch was cut off the file")
        }
    }

    @Test("a tail cut inside the last batch's header is repaired too")
    func truncatedInHeader() async throws {
        try await withTemporaryDirectory { dir in
            let fixture = try await RecoveryFixture.make(dir)
            let last = try #require(try fixture.segmentFiles().last)
            let path = fixture.logPath(last)
            // Find where the last batch starts by scanning the file as the log would.
            let bytes = try readFile(path)
            var position = 0
            var lastStart = 0
            while position < bytes.count, case .valid(let h) = checkBatch(Array(bytes[position...])) {
                lastStart = position
                position += h.totalSize
            }
            try truncateFile(path, to: Int64(lastStart + 17))
            try await fixture.verifyRecovery(survivors: Int(fixture.batchBases.last!), repair: .truncatedTail)
        }
    }

    @Test("a flipped bit in the last batch drops that batch and nothing before it")
    func bitFlipLastBatch() async throws {
        try await withTemporaryDirectory { dir in
            let fixture = try await RecoveryFixture.make(dir)
            let last = try #require(try fixture.segmentFiles().last)
            var bytes = try readFile(fixture.logPath(last))
            bytes[bytes.count - 20] ^= 0x08
            try writeFile(fixture.logPath(last), bytes)
            let report = try await fixture.verifyRecovery(survivors: Int(fixture.batchBases.last!), repair: .truncatedTail)
            #expect(report.actions.contains { $0.detail.contains("checksum") }, "\(report.actions)")
        }
    }

    @Test("a flipped bit in an earlier batch of the active segment cuts the log back to that batch")
    func bitFlipEarlierBatch() async throws {
        try await withTemporaryDirectory { dir in
            let fixture = try await RecoveryFixture.make(dir)
            let last = try #require(try fixture.segmentFiles().last)
            let batchesInLast = fixture.batchBases.filter { $0 >= last }
            try #require(batchesInLast.count >= 2, "the active segment should hold several batches")
            var bytes = try readFile(fixture.logPath(last))
            // The first batch of the active segment: damage its value bytes.
            guard case .valid(let first) = checkBatch(bytes, expected: last) else { Issue.record("fixture broken"); return }
            bytes[first.totalSize - 5] ^= 0x01
            try writeFile(fixture.logPath(last), bytes)
            try await fixture.verifyRecovery(survivors: Int(last), repair: .truncatedTail)
        }
    }

    @Test("4 KiB of zeros after the last batch are cut off; every record survives")
    func zeroFilledTail() async throws {
        try await withTemporaryDirectory { dir in
            let fixture = try await RecoveryFixture.make(dir)
            let last = try #require(try fixture.segmentFiles().last)
            try appendBytes([UInt8](repeating: 0, count: 4096), toFile: fixture.logPath(last))
            let report = try await fixture.verifyRecovery(survivors: fixture.values.count, repair: .truncatedTail)
            #expect(report.bytesTruncated == 4096)
        }
    }

    @Test("fewer zeros than a batch header are cut off as a torn tail")
    func shortZeroTail() async throws {
        try await withTemporaryDirectory { dir in
            let fixture = try await RecoveryFixture.make(dir)
            let last = try #require(try fixture.segmentFiles().last)
            try appendBytes([UInt8](repeating: 0, count: 7), toFile: fixture.logPath(last))
            let report = try await fixture.verifyRecovery(survivors: fixture.values.count, repair: .truncatedTail)
            #expect(report.bytesTruncated == 7)
        }
    }

    @Test("random garbage after the last batch is cut off (seeded)")
    func garbageTail() async throws {
        let seed: UInt64 = 0xBAD_5EED
        print("garbageTail seed \(seed)")
        try await withTemporaryDirectory { dir in
            let fixture = try await RecoveryFixture.make(dir)
            let last = try #require(try fixture.segmentFiles().last)
            var rng = SplitMix64(seed: seed)
            try appendBytes(randomBytes(1000, &rng), toFile: fixture.logPath(last))
            let report = try await fixture.verifyRecovery(survivors: fixture.values.count, repair: .truncatedTail)
            #expect(report.bytesTruncated == 1000, "seed \(seed)")
        }
    }

    @Test("a copy of a valid batch appended again (wrong offset) is cut off, not served twice")
    func duplicatedBatchTail() async throws {
        try await withTemporaryDirectory { dir in
            let fixture = try await RecoveryFixture.make(dir)
            let last = try #require(try fixture.segmentFiles().last)
            let bytes = try readFile(fixture.logPath(last))
            guard case .valid(let first) = checkBatch(bytes, expected: last) else { Issue.record("fixture broken"); return }
            try appendBytes(Array(bytes.prefix(first.totalSize)), toFile: fixture.logPath(last))
            let report = try await fixture.verifyRecovery(survivors: fixture.values.count, repair: .truncatedTail)
            #expect(report.actions.contains { $0.detail.contains("base offset") }, "\(report.actions)")
        }
    }

    @Test("a missing index of a sealed segment is rebuilt")
    func missingIndex() async throws {
        try await withTemporaryDirectory { dir in
            let fixture = try await RecoveryFixture.make(dir)
            let segments = try fixture.segmentFiles()
            try #require(segments.count >= 3)
            let victim = segments[1]
            let original = try readFile(fixture.indexPath(victim))
            try FileManager.default.removeItem(atPath: fixture.indexPath(victim))
            let report = try await fixture.verifyRecovery(survivors: fixture.values.count, repair: .rebuiltIndex)
            #expect(report.actions.contains { $0.detail.contains("missing") })
            #expect(report.segmentsScanned == 2, "the rebuilt segment and the active one")
            #expect(try readFile(fixture.indexPath(victim)) == original, "the rebuilt index is byte-identical to the one written at roll")
        }
    }

    @Test("a garbage index of a sealed segment is rebuilt (seeded)", arguments: [0, 20, 48, 4096])
    func garbageIndex(_ length: Int) async throws {
        let seed = UInt64(0x1DE7 + length)
        try await withTemporaryDirectory { dir in
            let fixture = try await RecoveryFixture.make(dir)
            let segments = try fixture.segmentFiles()
            var rng = SplitMix64(seed: seed)
            try writeFile(fixture.indexPath(segments[0]), randomBytes(length, &rng))
            let report = try await fixture.verifyRecovery(survivors: fixture.values.count, repair: .rebuiltIndex)
            #expect(report.actions.contains { $0.detail.contains("unusable") }, "seed \(seed): \(report.actions)")
        }
    }

    @Test("an index whose entries were damaged (checksum mismatch) is rebuilt")
    func damagedIndexEntries() async throws {
        try await withTemporaryDirectory { dir in
            let fixture = try await RecoveryFixture.make(dir)
            let segments = try fixture.segmentFiles()
            var bytes = try readFile(fixture.indexPath(segments[0]))
            try #require(bytes.count > SegmentIndex.headerSize, "the index should have entries")
            bytes[SegmentIndex.headerSize + 4] ^= 0x10  // an entry's position
            try writeFile(fixture.indexPath(segments[0]), bytes)
            let report = try await fixture.verifyRecovery(survivors: fixture.values.count, repair: .rebuiltIndex)
            #expect(report.actions.contains { $0.detail.contains("checksum") }, "\(report.actions)")
        }
    }

    @Test("a stale index (describing a different segment size) is rebuilt")
    func staleIndex() async throws {
        try await withTemporaryDirectory { dir in
            let fixture = try await RecoveryFixture.make(dir)
            let segments = try fixture.segmentFiles()
            let base = segments[1]
            let size = try fileSize(fixture.logPath(base))
            // An index as it would have been written when the segment held only its first batch.
            var index = SegmentIndex()
            index.add(offset: base, position: 0, maxTimestampBefore: .min)
            let stale = index.serialize(baseOffset: base, nextOffset: base + 5, logSize: size / 3, maxTimestamp: 0)
            try writeFile(fixture.indexPath(base), stale)
            let report = try await fixture.verifyRecovery(survivors: fixture.values.count, repair: .rebuiltIndex)
            #expect(report.actions.contains { $0.detail.contains("describes") }, "\(report.actions)")
            // The index of another segment copied over this one is rejected by its base offset.
            try writeFile(fixture.indexPath(base), try readFile(fixture.indexPath(segments[0])))
            let second = try openLog(dir)
            #expect(second.recoveryReport.actions.contains { $0.kind == .rebuiltIndex && $0.detail.contains("base offset") }, "\(second.recoveryReport.actions)")
            #expect(try await readAll(second, "t", 0).count == fixture.values.count + 2)
            await second.close()
        }
    }

    @Test("leftover temporary files are removed and do not make the open unclean")
    func temporaryFiles() async throws {
        try await withTemporaryDirectory { dir in
            let fixture = try await RecoveryFixture.make(dir)
            let segments = try fixture.segmentFiles()
            try writeFile(fixture.indexPath(segments[0]) + ".tmp", [1, 2, 3])
            try writeFile(dir + "/topics/half.json.tmp", Array("{".utf8))
            let log = try openLog(dir)
            #expect(log.recoveryReport.isClean)
            #expect(log.recoveryReport.actions.filter { $0.kind == .removedTemporary }.count == 2)
            #expect(!FileManager.default.fileExists(atPath: fixture.indexPath(segments[0]) + ".tmp"))
            #expect(!FileManager.default.fileExists(atPath: dir + "/topics/half.json.tmp"))
            #expect(try await log.listTopics().map(\.name) == ["t"])
            await log.close()
        }
    }

    @Test("a damaged batch inside a sealed segment is never served: reads stop with a corrupt error")
    func sealedCorruptionWithIndex() async throws {
        try await withTemporaryDirectory { dir in
            let fixture = try await RecoveryFixture.make(dir)
            let segments = try fixture.segmentFiles()
            let base = segments[1]
            let next = segments[2]
            let batches = fixture.batchBases.filter { $0 >= base && $0 < next }
            try #require(batches.count >= 3)
            // Damage the value of the third batch in the segment, keeping the file size (the index stays valid).
            var bytes = try readFile(fixture.logPath(base))
            var position = 0
            for _ in 0..<2 {
                guard case .valid(let h) = checkBatch(Array(bytes[position...])) else { Issue.record("fixture broken"); return }
                position += h.totalSize
            }
            bytes[position + 60] ^= 0x80
            try writeFile(fixture.logPath(base), bytes)
            let damaged = batches[2]

            let log = try openLog(dir)
            let p = PartitionID(0)
            let before = try await log.fetch("t", partition: p, from: Offset(base), limits: FetchLimits(maxRecords: Int(damaged - base)))
            #expect(before.records.map(\.valueText) == Array(fixture.values[Int(base)..<Int(damaged)]))
            // Reading into the damaged batch fails loudly instead of returning garbage.
            await expectLogError(.corrupt) { try await log.fetch("t", partition: p, from: Offset(damaged), limits: FetchLimits()) }
            // A read that starts before the damage returns what is intact, never the damaged records.
            if let partial = try? await log.fetch("t", partition: p, from: Offset(base), limits: FetchLimits()) {
                #expect(partial.records.allSatisfy { $0.offset.rawValue < damaged })
            }
            // Later segments are unaffected.
            let later = try await log.fetch("t", partition: p, from: Offset(next), limits: FetchLimits(maxRecords: 5))
            #expect(later.records.map(\.valueText) == Array(fixture.values[Int(next)..<Int(next) + 5]))
            await log.close()
        }
    }

    @Test("a damaged sealed segment without an index is rescanned: intact records stay, the loss is reported")
    func sealedCorruptionWithoutIndex() async throws {
        try await withTemporaryDirectory { dir in
            let fixture = try await RecoveryFixture.make(dir)
            let segments = try fixture.segmentFiles()
            let base = segments[1]
            let next = segments[2]
            var bytes = try readFile(fixture.logPath(base))
            guard case .valid(let first) = checkBatch(bytes, expected: base) else { Issue.record("fixture broken"); return }
            bytes[first.totalSize + 50] ^= 0x02  // inside the second batch
            try writeFile(fixture.logPath(base), bytes)
            try FileManager.default.removeItem(atPath: fixture.indexPath(base))
            let lostFrom = base + Int64(first.recordCount)

            let log = try openLog(dir)
            let report = log.recoveryReport
            #expect(report.actions.contains { $0.kind == .warning && $0.detail.contains("damaged") }, "\(report.actions)")
            #expect(report.actions.contains { $0.kind == .rebuiltIndex })
            let all = try await readAll(log, "t", 0)
            let expected = (0..<fixture.values.count).filter { Int64($0) < lostFrom || Int64($0) >= next }
            #expect(all.map(\.offset.rawValue) == expected.map(Int64.init), "exactly the damaged segment's tail is missing")
            for r in all { #expect(r.valueText == fixture.values[Int(r.offset.rawValue)]) }
            // The sealed segment's file is left alone for an operator; appends still go to the end.
            #expect(try fileSize(fixture.logPath(base)) == Int64(bytes.count))
            let added = try await log.append([record(nil, "tail")], to: "t")
            #expect(added.map(\.offset.rawValue) == [Int64(fixture.values.count)])
            await log.close()
        }
    }

    @Test("an empty last segment after a damaged one is removed and the damaged one becomes active again")
    func emptySegmentAfterDamagedTail() async throws {
        try await withTemporaryDirectory { dir in
            let fixture = try await RecoveryFixture.make(dir)
            let segments = try fixture.segmentFiles()
            let previous = segments[segments.count - 2], last = segments.last!
            // The state a crash right after a roll could leave if the sealed segment's tail never
            // reached the disk: the sealed segment is torn mid-batch and has no index, the new one is empty.
            try truncateFile(fixture.logPath(previous), to: try fileSize(fixture.logPath(previous)) - 30)
            try FileManager.default.removeItem(atPath: fixture.indexPath(previous))
            try truncateFile(fixture.logPath(last), to: 0)
            let tornBatch = fixture.batchBases.last { $0 < last }!
            let report = try await fixture.verifyRecovery(survivors: Int(tornBatch), repair: .removedSegment)
            #expect(!FileManager.default.fileExists(atPath: fixture.logPath(last)))
            #expect(report.actions.contains { $0.kind == .truncatedTail }, "the torn tail of the segment that became active is cut: \(report.actions)")
        }
    }

    @Test("a bit flip mid-way through a sealed segment followed by an empty segment: later batches of it never come back")
    func emptySegmentAfterMidSegmentDamage() async throws {
        try await withTemporaryDirectory { dir in
            let fixture = try await RecoveryFixture.make(dir)
            let segments = try fixture.segmentFiles()
            let previous = segments[segments.count - 2], last = segments.last!
            var bytes = try readFile(fixture.logPath(previous))
            guard case .valid(let first) = checkBatch(bytes, expected: previous) else { Issue.record("fixture broken"); return }
            bytes[first.totalSize + 45] ^= 0x04  // inside the segment's second batch; valid batches follow it
            try writeFile(fixture.logPath(previous), bytes)
            try FileManager.default.removeItem(atPath: fixture.indexPath(previous))
            try truncateFile(fixture.logPath(last), to: 0)
            let report = try await fixture.verifyRecovery(survivors: Int(previous) + first.recordCount, repair: .removedSegment)
            #expect(report.actions.contains { $0.kind == .truncatedTail }, "\(report.actions)")
            #expect(try fileSize(fixture.logPath(previous)) < Int64(bytes.count))
        }
    }

    @Test("unreadable topic metadata or committed offsets fail the open with corrupt, and release the directory")
    func corruptMetadata() async throws {
        try await withTemporaryDirectory { dir in
            var log = try openLog(dir)
            _ = try await log.createTopic("t", configuration: TopicConfiguration(partitions: 2))
            try await log.resetOffsets("g", to: [TopicPartition("t", PartitionID(0)): Offset(0)])
            await log.close()
            for path in [dir + "/topics/t.json", dir + "/groups/g.json"] {
                let original = try readFile(path)
                try writeFile(path, Array("{\"name\": ".utf8))
                let error = await expectLogError(.corrupt, "\(path)") { try openLog(dir) }
                #expect(error?.message.contains(path) == true, "the message names the file")
                try writeFile(path, original)
                log = try openLog(dir)  // the failed open released the lock
                #expect(try await log.describeTopic("t").partitions.count == 2)
                #expect(log.committedOffsets("g") == [TopicPartition("t", PartitionID(0)): Offset(0)])
                await log.close()
            }
        }
    }

    @Test("an empty data directory and an empty active segment open cleanly")
    func emptyPartitions() async throws {
        try await withTemporaryDirectory { dir in
            var log = try openLog(dir)
            _ = try await log.createTopic("empty", configuration: TopicConfiguration(partitions: 3))
            await log.close()
            log = try openLog(dir)
            #expect(log.recoveryReport.isClean)
            #expect(log.recoveryReport.partitions == 3)
            #expect(try await log.describeTopic("empty").records == 0)
            let positions = try await log.append([record(nil, "first", partition: 2)], to: "empty")
            #expect(positions.map(\.offset) == [Offset(0)])
            await log.close()
        }
    }
}
