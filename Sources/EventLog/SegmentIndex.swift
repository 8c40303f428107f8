/// The sparse offset and time index of one segment: one entry per `indexIntervalBytes` of log,
/// at a batch boundary, mapping the batch's base offset to its file position, plus the largest
/// timestamp of everything before that position (which makes timestamp lookups a binary search).
///
/// File `<base>.index` (little-endian), written once when a segment is sealed, replaced
/// atomically, and rebuilt from the segment whenever it is missing, stale or corrupt:
///
///     0   u32 magic "CHIX"     4  u32 version 1
///     8   u64 baseOffset       16 u64 nextOffset (one past the segment's last record)
///     24  u64 logSize          (segment file size the index describes)
///     32  i64 maxTimestamp     40 u32 entryCount     44 u32 CRC32C of the entries
///     48  entries: u32 relativeOffset, u32 position, i64 maxTimestampBefore (16 bytes each)
struct SegmentIndex: Sendable, Equatable {
    var offsets: [Int64] = []
    var positions: [Int64] = []
    var maxTimestampsBefore: [Int64] = []

    static let magic: UInt32 = 0x5849_4843  // "CHIX" little-endian
    static let headerSize = 48
    static let entrySize = 16

    mutating func add(offset: Int64, position: Int64, maxTimestampBefore: Int64) {
        offsets.append(offset)
        positions.append(position)
        maxTimestampsBefore.append(maxTimestampBefore)
    }

    var count: Int { offsets.count }

    /// The file position of the last indexed batch starting at or before `offset` (0 if none).
    func position(floorOf offset: Int64) -> Int64 {
        var lo = 0, hi = offsets.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if offsets[mid] <= offset { lo = mid + 1 } else { hi = mid }
        }
        return lo == 0 ? 0 : positions[lo - 1]
    }

    /// A position from which scanning finds the first record with timestamp ≥ `timestamp`.
    func position(forTimestamp timestamp: Int64) -> Int64 {
        // maxTimestampsBefore is non-decreasing: nothing before entry j can match when it is < timestamp.
        var lo = 0, hi = maxTimestampsBefore.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if maxTimestampsBefore[mid] < timestamp { lo = mid + 1 } else { hi = mid }
        }
        return lo == 0 ? 0 : positions[lo - 1]
    }

    /// Drops entries at or beyond `position` (after a tail truncation).
    mutating func truncate(toPosition position: Int64) {
        while let last = positions.last, last >= position {
            offsets.removeLast()
            positions.removeLast()
            maxTimestampsBefore.removeLast()
        }
    }

    func serialize(baseOffset: Int64, nextOffset: Int64, logSize: Int64, maxTimestamp: Int64) -> [UInt8] {
        let total = Self.headerSize + Self.entrySize * count
        return [UInt8](unsafeUninitializedCapacity: total) { buffer, n in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            var w = Writer(base: raw.baseAddress!, position: Self.headerSize)
            for i in 0..<count {
                w.u32(UInt32(offsets[i] - baseOffset))
                w.u32(UInt32(positions[i]))
                w.u64(UInt64(bitPattern: maxTimestampsBefore[i]))
            }
            let crc = chaparCRC(UnsafeRawBufferPointer(rebasing: raw[Self.headerSize..<total]))
            var h = Writer(base: raw.baseAddress!, position: 0)
            h.u32(Self.magic)
            h.u32(1)
            h.u64(UInt64(bitPattern: baseOffset))
            h.u64(UInt64(bitPattern: nextOffset))
            h.u64(UInt64(bitPattern: logSize))
            h.u64(UInt64(bitPattern: maxTimestamp))
            h.u32(UInt32(count))
            h.u32(crc)
            n = total
        }
    }

    struct Loaded: Equatable {
        var index: SegmentIndex
        var nextOffset: Int64
        var logSize: Int64
        var maxTimestamp: Int64
    }

    /// Parses an index file; nil with a reason when it is not usable for this segment.
    static func parse(_ bytes: [UInt8], baseOffset: Int64, logSize: Int64) -> Result<Loaded, IndexProblem> {
        guard bytes.count >= headerSize else { return .failure(.init("shorter than its header")) }
        return bytes.withUnsafeBytes { raw -> Result<Loaded, IndexProblem> in
            func u32(_ at: Int) -> UInt32 { UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
            func i64(_ at: Int) -> Int64 { Int64(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt64.self))) }
            guard u32(0) == magic, u32(4) == 1 else { return .failure(.init("bad magic or version")) }
            guard i64(8) == baseOffset else { return .failure(.init("base offset \(i64(8)) does not match the segment's \(baseOffset)")) }
            let next = i64(16), size = i64(24), maxTs = i64(32)
            guard size == logSize else { return .failure(.init("describes \(size) bytes but the segment has \(logSize)")) }
            guard next >= baseOffset else { return .failure(.init("next offset before base offset")) }
            let count = Int(u32(40))
            guard bytes.count == headerSize + count * entrySize else { return .failure(.init("entry count does not match the file size")) }
            guard chaparCRC(UnsafeRawBufferPointer(rebasing: raw[headerSize...])) == u32(44) else { return .failure(.init("checksum mismatch")) }
            var index = SegmentIndex()
            var lastOffset: Int64 = -1, lastPosition: Int64 = -1, lastTs = Int64.min
            for i in 0..<count {
                let at = headerSize + i * entrySize
                let offset = baseOffset + Int64(u32(at)), position = Int64(u32(at + 4)), ts = i64(at + 8)
                guard offset > lastOffset, position > lastPosition, position < logSize, offset < next, ts >= lastTs else {
                    return .failure(.init("entry \(i) is out of order or out of range"))
                }
                index.add(offset: offset, position: position, maxTimestampBefore: ts)
                lastOffset = offset
                lastPosition = position
                lastTs = ts
            }
            return .success(Loaded(index: index, nextOffset: next, logSize: size, maxTimestamp: maxTs))
        }
    }
}

struct IndexProblem: Error, Equatable {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}
