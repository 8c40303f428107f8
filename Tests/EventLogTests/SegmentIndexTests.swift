import ChaparModels
@testable import EventLog
import Testing

/// Checks every sealed segment's index file against its log: each entry points at a batch
/// boundary holding that offset, with the right "max timestamp before", and the header's next
/// offset, size and max timestamp match a scan. Returns the number of indexes checked.
@discardableResult
func verifyIndexFiles(_ partitionDirectory: String, fileSystem: any FileSystem, _ label: String,
                      sourceLocation: SourceLocation = #_sourceLocation) throws -> Int {
    let names = try fileSystem.listDirectory(partitionDirectory)
    let bases = names.compactMap { Segment.baseOffset(fromFileName: $0, ext: "log") }.sorted()
    var checked = 0
    for base in bases.dropLast() {
        let logPath = Segment.path(partitionDirectory, base, "log")
        let log = try AtomicFile.read(logPath, fileSystem: fileSystem)
        let indexPath = Segment.path(partitionDirectory, base, "index")
        guard fileSystem.fileExists(indexPath) else {
            Issue.record("\(label): sealed segment \(base) has no index", sourceLocation: sourceLocation)
            continue
        }
        let bytes = try AtomicFile.read(indexPath, fileSystem: fileSystem)
        guard case .success(let loaded) = SegmentIndex.parse(bytes, baseOffset: base, logSize: Int64(log.count)) else {
            Issue.record("\(label): index of \(base) does not parse", sourceLocation: sourceLocation)
            continue
        }
        // Scan the log.
        var starts: [Int64: (offset: Int64, maxBefore: Int64)] = [:]
        var position = 0, next = base, maxTs = Int64.min
        while position < log.count, case .valid(let h) = checkBatch(Array(log[position...]), expected: next) {
            starts[Int64(position)] = (h.baseOffset, maxTs)
            maxTs = max(maxTs, h.maxTimestamp)
            next = h.nextOffset
            position += h.totalSize
        }
        #expect(position == log.count, "\(label): sealed segment \(base) has bytes that are not batches", sourceLocation: sourceLocation)
        #expect(loaded.nextOffset == next, "\(label): index of \(base) says next \(loaded.nextOffset), scan says \(next)", sourceLocation: sourceLocation)
        #expect(loaded.maxTimestamp == maxTs, "\(label): index of \(base) max timestamp", sourceLocation: sourceLocation)
        for i in 0..<loaded.index.count {
            let entry = starts[loaded.index.positions[i]]
            #expect(entry?.offset == loaded.index.offsets[i], "\(label): index of \(base) entry \(i) is not at its batch", sourceLocation: sourceLocation)
            #expect(entry?.maxBefore == loaded.index.maxTimestampsBefore[i], "\(label): index of \(base) entry \(i) timestamp", sourceLocation: sourceLocation)
        }
        #expect(loaded.index.positions.first == 0, "\(label): the first batch is always indexed", sourceLocation: sourceLocation)
        checked += 1
    }
    return checked
}

@Suite("SegmentIndex")
struct SegmentIndexTests {
    static func sample() -> SegmentIndex {
        var index = SegmentIndex()
        index.add(offset: 100, position: 0, maxTimestampBefore: .min)
        index.add(offset: 110, position: 4096, maxTimestampBefore: 5_000)
        index.add(offset: 125, position: 8300, maxTimestampBefore: 5_000)
        index.add(offset: 140, position: 12_500, maxTimestampBefore: 9_000)
        return index
    }

    @Test("serialize → parse round-trips")
    func roundTrip() throws {
        let index = Self.sample()
        let bytes = index.serialize(baseOffset: 100, nextOffset: 150, logSize: 16_000, maxTimestamp: 12_000)
        #expect(bytes.count == SegmentIndex.headerSize + 4 * SegmentIndex.entrySize)
        let loaded = try SegmentIndex.parse(bytes, baseOffset: 100, logSize: 16_000).get()
        #expect(loaded == SegmentIndex.Loaded(index: index, nextOffset: 150, logSize: 16_000, maxTimestamp: 12_000))
        let empty = SegmentIndex().serialize(baseOffset: 7, nextOffset: 7, logSize: 0, maxTimestamp: .min)
        #expect(try SegmentIndex.parse(empty, baseOffset: 7, logSize: 0).get().index.count == 0)
    }

    @Test("floor lookups return the last entry at or before an offset")
    func floor() {
        let index = Self.sample()
        #expect(index.position(floorOf: 0) == 0)
        #expect(index.position(floorOf: 100) == 0)
        #expect(index.position(floorOf: 109) == 0)
        #expect(index.position(floorOf: 110) == 4096)
        #expect(index.position(floorOf: 124) == 4096)
        #expect(index.position(floorOf: 125) == 8300)
        #expect(index.position(floorOf: 1_000_000) == 12_500)
        #expect(SegmentIndex().position(floorOf: 5) == 0)
    }

    @Test("timestamp lookups start at the last entry before which nothing can match")
    func timestamps() {
        let index = Self.sample()
        #expect(index.position(forTimestamp: .min) == 0)
        #expect(index.position(forTimestamp: 4_999) == 0)
        #expect(index.position(forTimestamp: 5_000) == 0, "something before entry 1 may already be 5000")
        #expect(index.position(forTimestamp: 5_001) == 8300, "entries 1 and 2 have nothing ≥ 5001 before them")
        #expect(index.position(forTimestamp: 9_000) == 8300)
        #expect(index.position(forTimestamp: 9_001) == 12_500)
    }

    @Test("truncate drops entries at or after a position")
    func truncate() {
        var index = Self.sample()
        index.truncate(toPosition: 8300)
        #expect(index.offsets == [100, 110])
        index.truncate(toPosition: 0)
        #expect(index.count == 0)
    }

    @Test("unusable index files are rejected with a reason")
    func rejects() {
        let good = Self.sample().serialize(baseOffset: 100, nextOffset: 150, logSize: 16_000, maxTimestamp: 12_000)
        func reason(_ bytes: [UInt8], base: Int64 = 100, size: Int64 = 16_000) -> String? {
            if case .failure(let p) = SegmentIndex.parse(bytes, baseOffset: base, logSize: size) { return p.reason }
            return nil
        }
        #expect(reason(Array(good.prefix(47)))?.contains("shorter") == true)
        #expect(reason(good, base: 101)?.contains("base offset") == true)
        #expect(reason(good, size: 16_001)?.contains("describes") == true)
        #expect(reason(good + [0])?.contains("entry count") == true)
        var badMagic = good
        badMagic[0] ^= 1
        #expect(reason(badMagic)?.contains("magic") == true)
        var badCRC = good
        badCRC[SegmentIndex.headerSize + 5] ^= 1
        #expect(reason(badCRC)?.contains("checksum") == true)
        // Entries out of order (with a valid checksum) are rejected too.
        var disordered = SegmentIndex()
        disordered.add(offset: 100, position: 0, maxTimestampBefore: .min)
        disordered.add(offset: 120, position: 500, maxTimestampBefore: 10)
        disordered.add(offset: 110, position: 900, maxTimestampBefore: 10)
        #expect(reason(disordered.serialize(baseOffset: 100, nextOffset: 150, logSize: 1000, maxTimestamp: 10), size: 1000)?.contains("out of order") == true)
        var beyond = SegmentIndex()
        beyond.add(offset: 100, position: 2000, maxTimestampBefore: .min)
        #expect(reason(beyond.serialize(baseOffset: 100, nextOffset: 150, logSize: 1000, maxTimestamp: 10), size: 1000) != nil, "a position past the log")
        var pastNext = SegmentIndex()
        pastNext.add(offset: 160, position: 0, maxTimestampBefore: .min)
        #expect(reason(pastNext.serialize(baseOffset: 100, nextOffset: 150, logSize: 1000, maxTimestamp: 10), size: 1000) != nil, "an offset past the segment")
    }

    @Test("segment file names use 20 zero-padded digits and parse back")
    func fileNames() {
        #expect(Segment.path("/d", 0, "log") == "/d/00000000000000000000.log")
        #expect(Segment.path("/d", 1234, "index") == "/d/00000000000000001234.index")
        #expect(Segment.baseOffset(fromFileName: "00000000000000001234.log", ext: "log") == 1234)
        #expect(Segment.baseOffset(fromFileName: "00000000000000001234.index", ext: "log") == nil)
        #expect(Segment.baseOffset(fromFileName: "1234.log", ext: "log") == nil)
        #expect(Segment.baseOffset(fromFileName: "0000000000000000123x.log", ext: "log") == nil)
        #expect(Segment.baseOffset(fromFileName: "00000000000000001234.log.tmp", ext: "log") == nil)
        #expect(Segment.baseOffset(fromFileName: "99999999999999999999.log", ext: "log") == nil, "past Int64")
        #expect(Segment.baseOffset(fromFileName: "0000000000000000١٢٣٤.log", ext: "log") == nil, "non-ASCII digits")
    }

    @Test("indexes written while appending match a scan of their segments")
    func indexesMatchSegments() async throws {
        try await withTemporaryDirectory { dir in
            let clock = ManualClock()
            let log = try openLog(dir, clock: clock)
            _ = try await log.createTopic("t", configuration: TopicConfiguration(partitions: 1, segmentBytes: 2048, indexIntervalBytes: 100))
            var rng = SplitMix64(seed: 99)
            for i in 0..<200 {
                let n = 1 + Int(rng.next() % 4)
                _ = try await log.append((0..<n).map { j in record("k", "v\(i).\(j)" + String(repeating: "i", count: Int(rng.next() % 80)),
                                                                  timestamp: clock.now().milliseconds - Int64(rng.next() % 1000)) }, to: "t")
                clock.advance(by: .milliseconds(Int64(rng.next() % 50)))
            }
            await log.close()
            #expect(try verifyIndexFiles(dir + "/t-0", fileSystem: PosixFileSystem(), "seed 99") >= 5)
        }
    }
}
