import ChaparModels
@testable import EventLog
import Testing

/// Checks `bytes` as a batch at position 0.
func checkBatch(_ bytes: [UInt8], expected: Int64? = nil, deep: Bool = true, maxBatchBytes: Int = 8 << 20) -> BatchFormat.Check {
    bytes.withUnsafeBytes { BatchFormat.check($0, expectedBaseOffset: expected, maxBatchBytes: maxBatchBytes, deep: deep) }
}

/// Decodes every record of the valid batch at the start of `bytes`.
func decodeBatch(_ bytes: [UInt8], offsets: Range<Int64> = 0..<Int64.max, limit: Int = .max) throws -> [ConsumerRecord] {
    guard case .valid(let header) = checkBatch(bytes) else {
        Issue.record("not a valid batch")
        return []
    }
    var records: [ConsumerRecord] = []
    try BatchFormat.decode(bytes, batchAt: 0, header: header, offsets: offsets, topic: "t", partition: PartitionID(3), into: &records, limit: limit)
    return records
}

/// Recomputes the CRC of a batch after a test edits the covered bytes.
func resealCRC(_ bytes: inout [UInt8]) {
    let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[16...])) }
    bytes.withUnsafeMutableBytes { $0.storeBytes(of: crc.littleEndian, toByteOffset: 12, as: UInt32.self) }
}

@Suite("BatchFormat")
struct BatchFormatTests {
    static let persianKey = "حساب-۱۲۳۴"
    static let persianValue = "برداشت ۱٬۲۵۰٬۰۰۰ ریال از حساب شما — موجودی: ۳٬۴۰۰٬۰۰۰"

    static var sample: [ProducerRecord] {
        [
            ProducerRecord(key: Array(persianKey.utf8), value: Array(persianValue.utf8), headers: [RecordHeader("trace-id", "abc123"), RecordHeader("نوع", "پیامک")]),
            ProducerRecord(key: nil, value: Array("no key".utf8), timestamp: Timestamp(milliseconds: 5_000)),
            ProducerRecord(key: [], value: [], headers: [RecordHeader("", []), RecordHeader("empty", [])], timestamp: Timestamp(milliseconds: 10)),
            ProducerRecord(key: Array("big".utf8), value: (0..<300).map { UInt8($0 % 251) }, timestamp: Timestamp(milliseconds: -7)),
            ProducerRecord(key: Array(repeating: 0xFF, count: 130), value: Array(repeating: 0, count: 20_000), timestamp: Timestamp(milliseconds: Int64(1) << 50)),
        ]
    }

    @Test("encode → check → decode round-trips every field")
    func roundTrip() throws {
        let records = Self.sample
        var encoded = BatchFormat.encode(records, now: 1_790_000_000_000)
        #expect(encoded.recordCount == records.count)
        #expect(encoded.timestamps == [1_790_000_000_000, 5_000, 10, -7, 1 << 50])
        #expect(encoded.firstTimestamp == 1_790_000_000_000)
        #expect(encoded.maxTimestamp == 1 << 50)
        BatchFormat.patchBaseOffset(42, in: &encoded.bytes)
        guard case .valid(let header) = checkBatch(encoded.bytes, expected: 42) else {
            Issue.record("round-trip batch is not valid: \(checkBatch(encoded.bytes, expected: 42))")
            return
        }
        #expect(header.baseOffset == 42)
        #expect(header.recordCount == records.count)
        #expect(header.totalSize == encoded.bytes.count)
        #expect(header.lastOffset == 46)
        #expect(header.nextOffset == 47)
        #expect(header.firstTimestamp == 1_790_000_000_000)
        #expect(header.maxTimestamp == 1 << 50)

        let decoded = try decodeBatch(encoded.bytes)
        #expect(decoded.count == records.count)
        for (i, (r, d)) in zip(records, decoded).enumerated() {
            #expect(d.offset == Offset(42 + Int64(i)))
            #expect(d.topic == "t")
            #expect(d.partition == PartitionID(3))
            #expect(d.timestamp.milliseconds == encoded.timestamps[i])
            #expect(d.key.map(Array.init) == r.key, "record \(i): a nil key stays nil and an empty key stays empty")
            #expect(Array(d.value) == r.value)
            #expect(d.headers == r.headers)
        }
        #expect(decoded[0].keyString == Self.persianKey)
        #expect(decoded[0].valueString == Self.persianValue)
        #expect(decoded[0].headers[1].key == "نوع")
        #expect(decoded[1].key == nil)
        #expect(decoded[2].key?.isEmpty == true)
        #expect(decoded[2].value.isEmpty)
    }

    @Test("decode keeps only the requested offsets and honours the record limit")
    func decodeRangeAndLimit() throws {
        var encoded = BatchFormat.encode((0..<10).map { record("k", "v\($0)") }, now: 1)
        BatchFormat.patchBaseOffset(100, in: &encoded.bytes)
        #expect(try decodeBatch(encoded.bytes, offsets: 103..<106).map(\.offset.rawValue) == [103, 104, 105])
        #expect(try decodeBatch(encoded.bytes, offsets: 103..<106).map(\.valueText) == ["v3", "v4", "v5"])
        #expect(try decodeBatch(encoded.bytes, offsets: 0..<Int64.max, limit: 2).map(\.offset.rawValue) == [100, 101])
        #expect(try decodeBatch(encoded.bytes, offsets: 110..<200).isEmpty)
    }

    @Test("batches are self-delimiting: two in a row check one after the other")
    func concatenated() {
        var a = BatchFormat.encode([record("a", "1"), record("a", "2")], now: 1)
        var b = BatchFormat.encode([record("b", "3")], now: 2)
        BatchFormat.patchBaseOffset(0, in: &a.bytes)
        BatchFormat.patchBaseOffset(2, in: &b.bytes)
        let both = a.bytes + b.bytes
        guard case .valid(let first) = checkBatch(both, expected: 0) else { Issue.record("first batch invalid"); return }
        #expect(first.totalSize == a.bytes.count)
        #expect(checkBatch(Array(both[first.totalSize...]), expected: first.nextOffset) == checkBatch(b.bytes, expected: 2))
    }

    @Test("every truncation is reported as incomplete, never valid or corrupt")
    func truncation() {
        var encoded = BatchFormat.encode(Self.sample, now: 1)
        BatchFormat.patchBaseOffset(7, in: &encoded.bytes)
        let total = encoded.bytes.count
        for length in 0..<total {
            let prefix = Array(encoded.bytes.prefix(length))
            let needed = length < BatchFormat.headerSize ? BatchFormat.headerSize : total
            #expect(checkBatch(prefix, expected: 7, deep: true) == .incomplete(needed: needed), "prefix \(length) of \(total)")
            #expect(checkBatch(prefix, expected: 7, deep: false) == .incomplete(needed: needed), "prefix \(length) of \(total)")
        }
    }

    @Test("every single flipped bit is detected")
    func bitFlips() {
        var encoded = BatchFormat.encode(Array(Self.sample.prefix(4)), now: 1)
        BatchFormat.patchBaseOffset(9, in: &encoded.bytes)
        let original = encoded.bytes
        for index in 0..<original.count {
            for bit in 0..<8 {
                var damaged = original
                damaged[index] ^= UInt8(1 << bit)
                let result = checkBatch(damaged, expected: 9)
                switch index {
                case 0..<8:
                    // The base offset is outside the CRC; the expected offset catches it.
                    guard case .corrupt(let reason) = result else { Issue.record("byte \(index) bit \(bit): \(result)"); continue }
                    #expect(reason.contains("base offset"))
                case 8..<12:
                    // A damaged length either points past the buffer (a torn tail) or fails the CRC / range check.
                    if case .valid = result { Issue.record("byte \(index) bit \(bit): damaged length accepted") }
                default:
                    guard case .corrupt = result else { Issue.record("byte \(index) bit \(bit): \(result)"); continue }
                }
                // Whatever the flip, the shallow check used by readers never accepts it either.
                if index >= 8, case .valid = checkBatch(damaged, expected: nil, deep: false) {
                    Issue.record("byte \(index) bit \(bit) accepted by the shallow check")
                }
            }
        }
    }

    @Test("a CRC mismatch names both checksums")
    func crcMessage() {
        var encoded = BatchFormat.encode([record("k", "value")], now: 1)
        encoded.bytes[encoded.bytes.count - 1] ^= 0x40
        guard case .corrupt(let reason) = checkBatch(encoded.bytes, expected: 0) else { Issue.record("not corrupt"); return }
        #expect(reason.contains("checksum mismatch"))
    }

    @Test("a batch at the wrong base offset is corrupt; without an expectation it is accepted as stored")
    func wrongBaseOffset() {
        var encoded = BatchFormat.encode([record("k", "v")], now: 1)
        BatchFormat.patchBaseOffset(100, in: &encoded.bytes)
        guard case .corrupt(let reason) = checkBatch(encoded.bytes, expected: 99) else { Issue.record("accepted"); return }
        #expect(reason.contains("base offset 100"))
        guard case .valid(let header) = checkBatch(encoded.bytes, expected: nil) else { Issue.record("rejected"); return }
        #expect(header.baseOffset == 100)
    }

    @Test("zero-filled bytes are never a batch", arguments: [0, 1, 39, 40, 41, 4096])
    func zeros(_ count: Int) {
        let zeros = [UInt8](repeating: 0, count: count)
        for expected in [nil, Int64(0), Int64(5)] {
            let result = checkBatch(zeros, expected: expected)
            if count < BatchFormat.headerSize {
                #expect(result == .incomplete(needed: BatchFormat.headerSize))
            } else {
                guard case .corrupt = result else { Issue.record("\(count) zeros, expected \(String(describing: expected)): \(result)"); continue }
            }
        }
    }

    @Test("random garbage is never accepted (seeded)")
    func garbage() {
        let seed: UInt64 = 0xC4A9_A11
        var rng = SplitMix64(seed: seed)
        var accepted = 0
        for _ in 0..<3000 {
            var bytes = randomBytes(Int(rng.next() % 600), &rng)
            if rng.next() % 3 == 0, bytes.count >= 12 {
                // Plausible framing: a small length, so the CRC is what must reject it.
                let length = UInt32(28 + rng.next() % UInt64(max(1, bytes.count - 40)))
                bytes.withUnsafeMutableBytes { $0.storeBytes(of: length.littleEndian, toByteOffset: 8, as: UInt32.self) }
            }
            if case .valid = checkBatch(bytes, expected: nil, deep: false) { accepted += 1 }
        }
        #expect(accepted == 0, "seed \(seed)")
    }

    @Test("a batch whose CRC matches but whose records are malformed fails the deep check and decoding")
    func malformedRecords() throws {
        var encoded = BatchFormat.encode([record("k", "v1"), record("k", "v2")], now: 1)
        // First record: byte 40 is its length varint, 41 its offset delta.
        var badDelta = encoded.bytes
        badDelta[41] = 5
        resealCRC(&badDelta)
        guard case .valid = checkBatch(badDelta, deep: false) else { Issue.record("shallow check should pass"); return }
        guard case .corrupt(let reason) = checkBatch(badDelta, deep: true) else { Issue.record("deep check accepted a bad delta"); return }
        #expect(reason.contains("record 0"))

        var badLength = encoded.bytes
        badLength[40] = 0x7F
        resealCRC(&badLength)
        guard case .corrupt = checkBatch(badLength, deep: true) else { Issue.record("deep check accepted a bad record length"); return }
        guard case .valid(let header) = checkBatch(badLength, deep: false) else { Issue.record("shallow check should pass"); return }
        var out: [ConsumerRecord] = []
        #expect(throws: LogError.self) {
            try BatchFormat.decode(badLength, batchAt: 0, header: header, offsets: 0..<10, topic: "t", partition: PartitionID(0), into: &out, limit: 10)
        }
        #expect(out.isEmpty, "nothing from a malformed batch is returned")

        // Claiming one record fewer leaves bytes over.
        var fewer = encoded.bytes
        fewer[20] = 1
        resealCRC(&fewer)
        guard case .corrupt(let leftover) = checkBatch(fewer, deep: true) else { Issue.record("leftover bytes accepted"); return }
        #expect(leftover.contains("left over"))

        // Wrong magic and zero records are rejected even with a good CRC.
        encoded.bytes[16] = 2
        resealCRC(&encoded.bytes)
        guard case .corrupt(let magic) = checkBatch(encoded.bytes, deep: false) else { Issue.record("bad magic accepted"); return }
        #expect(magic.contains("version"))
        var empty = BatchFormat.encode([record("k", "v")], now: 1).bytes
        empty.withUnsafeMutableBytes { $0.storeBytes(of: UInt32(0), toByteOffset: 20, as: UInt32.self) }
        resealCRC(&empty)
        guard case .corrupt(let none) = checkBatch(empty, deep: false) else { Issue.record("empty batch accepted"); return }
        #expect(none.contains("no records"))
    }

    @Test("batch lengths beyond the topic's maximum are rejected before reading them")
    func oversizeLength() {
        let encoded = BatchFormat.encode([record("k", String(repeating: "x", count: 3000))], now: 1)
        guard case .corrupt(let reason) = checkBatch(encoded.bytes, maxBatchBytes: 1024) else { Issue.record("accepted"); return }
        #expect(reason.contains("out of range"))
        guard case .valid = checkBatch(encoded.bytes, maxBatchBytes: 4096) else { Issue.record("rejected"); return }
    }

    @Test("the encoded size is exactly header + records")
    func sizes() {
        let one = BatchFormat.encode([ProducerRecord(key: nil, value: [])], now: 0)
        // length varint 1 + delta 1 + ts 1 + key(-1) 1 + value len 1 + header count 1 = 5 body bytes + 1 length byte.
        #expect(one.bytes.count == BatchFormat.headerSize + 6)
        let withKey = BatchFormat.encode([ProducerRecord(key: [1, 2, 3], value: [4])], now: 0)
        #expect(withKey.bytes.count == BatchFormat.headerSize + 1 + 1 + 1 + 1 + 3 + 1 + 1 + 1)
    }
}

@Suite("Varints, zigzag and CRC32C")
struct VarintTests {
    @Test("varint sizes and round trips at every length boundary", arguments: [
        (UInt64(0), 1), (1, 1), (127, 1), (128, 2), (300, 2), (16383, 2), (16384, 3), (2_097_151, 3), (2_097_152, 4),
        (UInt64(UInt32.max), 5), (UInt64(Int64.max), 9), (UInt64(1) << 63, 10), (UInt64.max, 10),
    ])
    func varint(_ value: UInt64, _ size: Int) {
        #expect(varintSize(value) == size)
        let bytes = [UInt8](unsafeUninitializedCapacity: 10) { buffer, count in
            var w = Writer(base: UnsafeMutableRawPointer(buffer.baseAddress!), position: 0)
            w.varint(value)
            count = w.position
        }
        #expect(bytes.count == size)
        #expect(bytes.last! < 0x80, "the last byte has no continuation bit")
        #expect(bytes.dropLast().allSatisfy { $0 >= 0x80 })
        bytes.withUnsafeBytes { raw in
            var reader = Reader(buffer: raw, position: 0)
            #expect(reader.varint() == value)
            #expect(reader.position == size)
        }
        // Any strict prefix is truncated, never a (wrong) value.
        for cut in 0..<size {
            Array(bytes.prefix(cut)).withUnsafeBytes { raw in
                var reader = Reader(buffer: raw, position: 0)
                #expect(reader.varint() == nil, "prefix \(cut) of \(value)")
            }
        }
    }

    @Test("over-long varints (more than 64 bits of continuation) are rejected")
    func overlong() {
        let bytes = [UInt8](repeating: 0x80, count: 10) + [0x00]
        bytes.withUnsafeBytes { raw in
            var reader = Reader(buffer: raw, position: 0)
            #expect(reader.varint() == nil)
        }
    }

    @Test("zigzag maps small magnitudes to small codes and round-trips the extremes", arguments: [
        (Int64(0), UInt64(0)), (-1, 1), (1, 2), (-2, 3), (2, 4), (-64, 127), (64, 128),
        (Int64(Int32.max), UInt64(UInt32.max) - 1), (Int64(Int32.min), UInt64(UInt32.max)),
        (Int64.max, UInt64.max - 1), (Int64.min, UInt64.max),
    ])
    func zigzagPairs(_ value: Int64, _ code: UInt64) {
        #expect(zigzag(value) == code)
        #expect(unzigzag(code) == value)
    }

    @Test("record parsing rejects key lengths below -1 and records that overrun their length")
    func recordGuards() {
        func parse(_ body: [UInt8]) -> Reader.RecordSpans? {
            let bytes = [UInt8(body.count)] + body
            return bytes.withUnsafeBytes { raw in
                var reader = Reader(buffer: raw, position: 0)
                return reader.record()
            }
        }
        // delta 0, ts 0, key -1 (1), value len 1 'x', 0 headers
        #expect(parse([0, 0, 1, 1, 0x78, 0])?.key == nil)
        #expect(parse([0, 0, 1, 1, 0x78, 0])?.value == 5..<6)
        #expect(parse([0, 0, 3, 1, 0x78, 0]) == nil, "key length -2")
        #expect(parse([0, 0, 1, 5, 0x78, 0]) == nil, "value longer than the record")
        #expect(parse([0, 0, 1, 1, 0x78, 0, 0]) == nil, "a byte left over inside the record")
        #expect(parse([0, 0, 1, 1, 0x78, 1, 1, 0x61, 9]) == nil, "header value overruns")
    }

    @Test("CRC32C (Castagnoli) matches the standard check value")
    func crc32c() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8]()) == 0)
        // 32 zero bytes, from RFC 3720 B.4.
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum(Array(0...31)) == 0x46DD_794E)
        // Large, unaligned input (exercises the hardware path's 8-byte loop and tail).
        let big = (0..<100_003).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        #expect(big.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[1...])) } == referenceCRC32C(Array(big[1...])))
    }
}

/// Bitwise CRC32C, independent of the library's implementation.
func referenceCRC32C(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for b in bytes {
        crc ^= UInt32(b)
        for _ in 0..<8 { crc = (crc >> 1) ^ (0x82F6_3B78 & (0 &- (crc & 1))) }
    }
    return ~crc
}
