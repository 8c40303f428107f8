public import ChaparModels

/// The byte format of a record batch; `docs/log-format.md` is the prose version of this.
///
/// All integers are little-endian. A segment file is a sequence of batches:
///
///     0   u64 baseOffset      offset of the first record (outside the CRC: assigned at append)
///     8   u32 batchLength     bytes that follow this field (crc .. end of records)
///     12  u32 crc             CRC32C of bytes 16 ..< 12 + batchLength
///     16  u8  magic           1
///     17  u8  attributes      0 (no compression)
///     18  u16 reserved        0
///     20  u32 recordCount     ≥ 1
///     24  i64 firstTimestamp  ms since epoch
///     32  i64 maxTimestamp    ms since epoch
///     40  records…
///
/// Each record: varint length of the rest, varint offsetDelta, zigzag varint timestampDelta
/// (from firstTimestamp), zigzag varint keyLength (−1 = no key), key bytes, varint valueLength,
/// value bytes, varint headerCount, then per header varint nameLength, UTF-8 name, varint
/// valueLength, value bytes. Varints are unsigned LEB128, as in Kafka and protobuf.
public enum BatchFormat {
    public static let headerSize = 40
    /// Bytes of the prefix not covered by `batchLength` (baseOffset + batchLength).
    public static let prefixSize = 12
    public static let magic: UInt8 = 1

    /// A batch encoded with base offset 0; ``patchBaseOffset(_:in:)`` sets the real one.
    public struct Encoded: Sendable {
        public var bytes: [UInt8]
        public let recordCount: Int
        public let firstTimestamp: Int64
        public let maxTimestamp: Int64
        /// Each record's timestamp, in order, for acknowledgements.
        public let timestamps: [Int64]
    }

    /// The parsed fixed header of a batch.
    public struct Header: Sendable, Equatable {
        public let baseOffset: Int64
        public let batchLength: Int
        public let crc: UInt32
        public let recordCount: Int
        public let firstTimestamp: Int64
        public let maxTimestamp: Int64
        public var totalSize: Int { BatchFormat.prefixSize + batchLength }
        public var lastOffset: Int64 { baseOffset + Int64(recordCount) - 1 }
        public var nextOffset: Int64 { baseOffset + Int64(recordCount) }
    }

    /// Encodes records into one batch. `now` stamps records that carry no timestamp.
    public static func encode(_ records: some Collection<ProducerRecord>, now: Int64) -> Encoded {
        encode(Array(records), indices: nil, now: now)
    }

    /// Encodes `records[indices]` (all of them when `indices` is nil), reading each record in
    /// place: mapping the chunk to a lazy sequence of records copied every record (and retained
    /// its four buffers) on each of the three passes.
    public static func encode(_ records: [ProducerRecord], indices: [Int]?, now: Int64) -> Encoded {
        let count = indices?.count ?? records.count
        precondition(count > 0, "a batch holds at least one record")
        return records.withUnsafeBufferPointer { encode($0, indices, count: count, now: now) }
    }

    private static func encode(_ all: UnsafeBufferPointer<ProducerRecord>, _ indices: [Int]?, count: Int, now: Int64) -> Encoded {
        @inline(__always) func at(_ k: Int) -> Int { indices?[k] ?? k }
        var timestamps: [Int64] = []
        timestamps.reserveCapacity(count)
        var first = Int64.max
        var maxTs = Int64.min
        for k in 0..<count {
            let ts = all[at(k)].timestamp?.milliseconds ?? now
            timestamps.append(ts)
            if first == .max { first = ts }
            maxTs = max(maxTs, ts)
        }
        // Size first, so the buffer is allocated once and filled with unchecked stores.
        var total = headerSize
        var bodySizes: [Int] = []
        bodySizes.reserveCapacity(count)
        for k in 0..<count {
            let i = at(k)
            var body = varintSize(UInt64(k)) + varintSize(zigzag(timestamps[k] &- first))
            if let n = all[i].key?.count { body += varintSize(zigzag(Int64(n))) + n } else { body += 1 }
            let v = all[i].value.count
            body += varintSize(UInt64(v)) + v
            body += varintSize(UInt64(all[i].headers.count))
            for h in all[i].headers {
                let n = h.key.utf8.count
                body += varintSize(UInt64(n)) + n + varintSize(UInt64(h.value.count)) + h.value.count
            }
            bodySizes.append(body)
            total += varintSize(UInt64(body)) + body
        }
        let bytes = [UInt8](unsafeUninitializedCapacity: total) { buffer, written in
            let raw = UnsafeMutableRawBufferPointer(buffer)
            var w = Writer(base: raw.baseAddress!, position: 0)
            w.u64(0)
            w.u32(UInt32(total - prefixSize))
            w.u32(0)  // crc, filled below
            w.u8(magic)
            w.u8(0)
            w.u16(0)
            w.u32(UInt32(count))
            w.u64(UInt64(bitPattern: first))
            w.u64(UInt64(bitPattern: maxTs))
            for k in 0..<count {
                let i = at(k)
                w.varint(UInt64(bodySizes[k]))
                w.varint(UInt64(k))
                w.varint(zigzag(timestamps[k] &- first))
                if let key = all[i].key {
                    w.varint(zigzag(Int64(key.count)))
                    w.bytes(key)
                } else {
                    w.varint(zigzag(-1))
                }
                w.varint(UInt64(all[i].value.count))
                w.bytes(all[i].value)
                w.varint(UInt64(all[i].headers.count))
                for h in all[i].headers {
                    w.varint(UInt64(h.key.utf8.count))
                    w.utf8(h.key)
                    w.varint(UInt64(h.value.count))
                    w.bytes(h.value)
                }
            }
            precondition(w.position == total, "batch size computed \(total) but wrote \(w.position)")
            let crc = chaparCRC(UnsafeRawBufferPointer(rebasing: raw[16..<total]))
            raw.storeBytes(of: crc.littleEndian, toByteOffset: 12, as: UInt32.self)
            written = total
        }
        return Encoded(bytes: bytes, recordCount: count, firstTimestamp: first, maxTimestamp: maxTs, timestamps: timestamps)
    }

    /// Writes `baseOffset` into the batch that starts at `position` of `bytes`.
    public static func patchBaseOffset(_ baseOffset: Int64, in bytes: inout [UInt8], at position: Int = 0) {
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: UInt64(bitPattern: baseOffset).littleEndian, toByteOffset: position, as: UInt64.self) }
    }

    /// The outcome of checking the bytes at some position.
    public enum Check: Equatable, Sendable {
        /// A whole batch with a good checksum and well-formed records.
        case valid(Header)
        /// Fewer bytes than a batch needs: a torn write at the tail, or a read that stopped short.
        case incomplete(needed: Int)
        /// Bytes that are not a valid batch; the reason names what failed.
        case corrupt(String)
    }

    /// Checks the batch at the start of `buffer`. `deep` also walks every record, which recovery
    /// does so that a batch that passes here can never fail to decode later.
    public static func check(_ buffer: UnsafeRawBufferPointer, expectedBaseOffset: Int64?, maxBatchBytes: Int, deep: Bool) -> Check {
        guard buffer.count >= headerSize else { return .incomplete(needed: headerSize) }
        let base = Int64(bitPattern: UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: 0, as: UInt64.self)))
        let length = Int(UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: 8, as: UInt32.self)))
        if let expected = expectedBaseOffset, base != expected {
            return .corrupt("base offset \(base) where \(expected) was expected")
        }
        guard length >= headerSize - prefixSize, length <= maxBatchBytes + 1024 else {
            return .corrupt("batch length \(length) out of range")
        }
        guard buffer.count >= prefixSize + length else { return .incomplete(needed: prefixSize + length) }
        let crc = UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
        let actual = chaparCRC(UnsafeRawBufferPointer(rebasing: buffer[16..<(prefixSize + length)]))
        guard crc == actual else { return .corrupt("checksum mismatch (stored \(hex(crc)), computed \(hex(actual)))") }
        guard buffer[16] == magic else { return .corrupt("unknown batch format version \(buffer[16])") }
        let count = Int(UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: 20, as: UInt32.self)))
        guard count >= 1 else { return .corrupt("batch with no records") }
        let first = Int64(bitPattern: UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: 24, as: UInt64.self)))
        let maxTs = Int64(bitPattern: UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: 32, as: UInt64.self)))
        let header = Header(baseOffset: base, batchLength: length, crc: crc, recordCount: count, firstTimestamp: first, maxTimestamp: maxTs)
        if deep {
            var reader = Reader(buffer: UnsafeRawBufferPointer(rebasing: buffer[0..<header.totalSize]), position: headerSize)
            for i in 0..<count {
                guard let r = reader.record(), r.offsetDelta == i else { return .corrupt("record \(i) of the batch is malformed") }
            }
            guard reader.position == header.totalSize else { return .corrupt("bytes left over after the last record") }
        }
        return .valid(header)
    }

    /// Decodes the records of a checked batch that starts at `start` in `bytes`, keeping those
    /// with offsets in `range`. Keys and values are slices of `bytes`.
    static func decode(
        _ bytes: [UInt8], batchAt start: Int, header: Header, offsets range: Range<Int64>,
        topic: TopicName, partition: PartitionID, into records: inout [ConsumerRecord], limit: Int
    ) throws(LogError) {
        let end = start + header.totalSize
        var spans: [(offset: Int64, ts: Int64, key: Range<Int>?, value: Range<Int>, headers: [RecordHeader])] = []
        let ok: Bool = bytes.withUnsafeBytes { raw in
            var reader = Reader(buffer: UnsafeRawBufferPointer(rebasing: raw[0..<end]), position: start + headerSize)
            for _ in 0..<header.recordCount {
                guard let r = reader.record() else { return false }
                let offset = header.baseOffset + Int64(r.offsetDelta)
                if offset >= range.upperBound || records.count + spans.count >= limit { break }
                if offset < range.lowerBound { continue }
                var headers: [RecordHeader] = []
                if r.headerCount > 0 {
                    var hr = Reader(buffer: reader.buffer, position: r.headersStart)
                    for _ in 0..<r.headerCount {
                        guard let (k, v) = hr.header() else { return false }
                        headers.append(RecordHeader(String(decoding: UnsafeRawBufferPointer(rebasing: raw[k]), as: UTF8.self), Array(raw[v])))
                    }
                }
                spans.append((offset, header.firstTimestamp &+ r.timestampDelta, r.key, r.value, headers))
            }
            return true
        }
        guard ok else { throw LogError(.corrupt, "batch at offset \(header.baseOffset) of \(topic)-\(partition) is malformed") }
        for s in spans {
            records.append(ConsumerRecord(
                topic: topic, partition: partition, offset: Offset(s.offset), timestamp: Timestamp(milliseconds: s.ts),
                key: s.key.map { bytes[$0] }, value: bytes[s.value], headers: s.headers))
        }
    }
}

@inline(__always)
func chaparCRC(_ buffer: UnsafeRawBufferPointer) -> UInt32 { CRC32C.checksum(buffer) }

func hex(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: 8 - s.count) + s
}

@inline(__always) func zigzag(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v << 1) ^ (v >> 63)) }
@inline(__always) func unzigzag(_ v: UInt64) -> Int64 { Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1) }

@inline(__always) func varintSize(_ v: UInt64) -> Int {
    var n = 1
    var x = v >> 7
    while x != 0 {
        n += 1
        x >>= 7
    }
    return n
}

/// Unchecked little-endian stores into a buffer sized in advance.
struct Writer {
    let base: UnsafeMutableRawPointer
    var position: Int

    @inline(__always) mutating func u8(_ v: UInt8) {
        base.storeBytes(of: v, toByteOffset: position, as: UInt8.self)
        position += 1
    }
    @inline(__always) mutating func u16(_ v: UInt16) {
        base.storeBytes(of: v.littleEndian, toByteOffset: position, as: UInt16.self)
        position += 2
    }
    @inline(__always) mutating func u32(_ v: UInt32) {
        base.storeBytes(of: v.littleEndian, toByteOffset: position, as: UInt32.self)
        position += 4
    }
    @inline(__always) mutating func u64(_ v: UInt64) {
        base.storeBytes(of: v.littleEndian, toByteOffset: position, as: UInt64.self)
        position += 8
    }
    @inline(__always) mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            base.storeBytes(of: UInt8(truncatingIfNeeded: v) | 0x80, toByteOffset: position, as: UInt8.self)
            position += 1
            v >>= 7
        }
        base.storeBytes(of: UInt8(v), toByteOffset: position, as: UInt8.self)
        position += 1
    }
    /// A string's UTF-8 bytes, without making an array of them.
    @inline(__always) mutating func utf8(_ text: String) {
        var text = text
        text.withUTF8 { b in
            guard let p = b.baseAddress, b.count > 0 else { return }
            (base + position).copyMemory(from: p, byteCount: b.count)
            position += b.count
        }
    }

    @inline(__always) mutating func bytes(_ b: [UInt8]) {
        let n = b.count
        if n == 0 { return }
        b.withUnsafeBytes { (base + position).copyMemory(from: $0.baseAddress!, byteCount: n) }
        position += n
    }
}

/// Bounds-checked reads; every method returns nil instead of reading past the end.
struct Reader {
    let buffer: UnsafeRawBufferPointer
    var position: Int

    struct RecordSpans {
        let offsetDelta: Int
        let timestampDelta: Int64
        let key: Range<Int>?
        let value: Range<Int>
        let headerCount: Int
        let headersStart: Int
    }

    @inline(__always) mutating func varint() -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while position < buffer.count && shift < 64 {
            let b = buffer[position]
            position += 1
            result |= UInt64(b & 0x7f) << shift
            if b < 0x80 { return result }
            shift += 7
        }
        return nil
    }

    @inline(__always) mutating func span(_ n: Int) -> Range<Int>? {
        guard n >= 0, n <= buffer.count - position else { return nil }
        defer { position += n }
        return position..<(position + n)
    }

    /// Reads one record and leaves `position` after it.
    mutating func record() -> RecordSpans? {
        guard let length = varint(), length <= UInt64(buffer.count - position) else { return nil }
        let end = position + Int(length)
        guard let delta = varint(), delta <= UInt64(Int32.max), let tsRaw = varint(), let keyRaw = varint() else { return nil }
        let keyLength = unzigzag(keyRaw)
        var key: Range<Int>? = nil
        if keyLength >= 0 {
            guard keyLength <= Int64(end - position), let k = span(Int(keyLength)) else { return nil }
            key = k
        } else if keyLength != -1 {
            return nil
        }
        guard let valueLength = varint(), valueLength <= UInt64(end - position), let value = span(Int(valueLength)) else { return nil }
        guard let headerCount = varint(), headerCount <= UInt64(end - position) else { return nil }
        let headersStart = position
        for _ in 0..<Int(headerCount) {
            guard header() != nil else { return nil }
        }
        guard position == end else { return nil }
        return RecordSpans(offsetDelta: Int(delta), timestampDelta: unzigzag(tsRaw), key: key, value: value, headerCount: Int(headerCount), headersStart: headersStart)
    }

    mutating func header() -> (Range<Int>, Range<Int>)? {
        guard let kn = varint(), kn <= UInt64(buffer.count - position), let k = span(Int(kn)) else { return nil }
        guard let vn = varint(), vn <= UInt64(buffer.count - position), let v = span(Int(vn)) else { return nil }
        return (k, v)
    }
}
