/// Appends compact JSON to a byte buffer, fast enough for the hot paths (ingest, notifier) where
/// `JSONEncoder` would dominate. Field order is the call order, so output is deterministic.
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    /// One bit per open container (up to 64 deep): set once it has a first member.
    private var commaBits: UInt64 = 0

    public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    /// Empties the buffer, keeping its capacity, so one writer can encode many records.
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        commaBits = 0
    }

    /// The bytes written since `start` (a value of ``count`` read earlier), as a new exact-size array.
    public func copyBytes(from start: Int = 0) -> [UInt8] { Array(bytes[start...]) }

    /// Bytes written so far.
    public var count: Int { bytes.count }

    public mutating func beginObject() {
        separate()
        open(0x7B)
    }

    public mutating func endObject() { close(0x7D) }

    public mutating func beginArray(_ key: StaticString) {
        self.key(key)
        open(0x5B)
    }

    public mutating func endArray() { close(0x5D) }

    public mutating func beginObject(_ key: StaticString) {
        self.key(key)
        open(0x7B)
    }

    public mutating func field(_ key: StaticString, _ value: String) {
        self.key(key)
        appendString(value)
    }

    public mutating func field(_ key: StaticString, _ value: String?) {
        guard let value else { return }
        field(key, value)
    }

    public mutating func field(_ key: StaticString, _ value: Int64) {
        self.key(key)
        appendInteger(value)
    }

    public mutating func field(_ key: StaticString, _ value: Int64?) {
        guard let value else { return }
        field(key, value)
    }

    public mutating func field(_ key: StaticString, _ value: Int) { field(key, Int64(value)) }

    public mutating func field(_ key: StaticString, _ value: Bool) {
        self.key(key)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    /// A member already encoded as `"key":value`: constant fragments that hot paths prepare once.
    public mutating func member(encoded: [UInt8]) {
        separate()
        bytes.append(contentsOf: encoded)
    }

    /// A string field whose value is UTF-8 bytes (escaped like a `String` value).
    public mutating func field(_ key: StaticString, utf8 value: UnsafeBufferPointer<UInt8>) {
        self.key(key)
        appendString(utf8: value)
    }

    /// An array element that is a string.
    public mutating func element(_ value: String) {
        separate()
        appendString(value)
    }

    /// An array element that is a string given as UTF-8 bytes.
    public mutating func element(utf8 value: UnsafeBufferPointer<UInt8>) {
        separate()
        appendString(utf8: value)
    }

    private mutating func open(_ byte: UInt8) {
        bytes.append(byte)
        commaBits <<= 1
    }

    private mutating func close(_ byte: UInt8) {
        bytes.append(byte)
        commaBits >>= 1
    }

    /// A string field whose key is only known at run time (map entries); escaped like a value.
    public mutating func field(named key: String, _ value: String) {
        separate()
        appendString(key)
        bytes.append(0x3A)
        appendString(value)
    }

    /// An array member whose key is only known at run time (map entries); escaped like a value.
    public mutating func beginArray(named key: String) {
        separate()
        appendString(key)
        bytes.append(0x3A)
        open(0x5B)
    }

    /// Keys are literals in our code: copied as they are (they never need escaping).
    /// The separator, the quoted key and the colon go in with one append (a record has a dozen keys).
    private mutating func key(_ key: StaticString) {
        let n = key.utf8CodeUnitCount
        let comma = commaBits & 1 != 0
        commaBits |= 1
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: n + 4) { buffer in
            var i = 0
            if comma {
                buffer[0] = 0x2C
                i = 1
            }
            buffer[i] = 0x22
            UnsafeMutableRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(buffer)[(i + 1)...])
                .copyMemory(from: UnsafeRawBufferPointer(start: key.utf8Start, count: n))
            buffer[i + 1 + n] = 0x22
            buffer[i + 2 + n] = 0x3A
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[0..<(i + 3 + n)]))
        }
    }

    private mutating func separate() {
        if commaBits & 1 != 0 { bytes.append(0x2C) }
        commaBits |= 1
    }

    private mutating func appendInteger(_ value: Int64) {
        if value == 0 { bytes.append(0x30); return }
        var magnitude = value.magnitude
        if value < 0 { bytes.append(0x2D) }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of scratch, enough for 20 digits
        let count = withUnsafeMutableBytes(of: &digits) { raw -> Int in
            var i = raw.count
            while magnitude > 0 {
                i -= 1
                raw[i] = UInt8(truncatingIfNeeded: magnitude % 10) + 0x30
                magnitude /= 10
            }
            bytes.append(contentsOf: raw[i...])
            return raw.count - i
        }
        _ = count
    }

    private mutating func appendString(_ s: String) {
        var copy = s
        copy.withUTF8 { appendString(utf8: $0) }
    }

    private mutating func appendString(utf8: UnsafeBufferPointer<UInt8>) {
        bytes.append(0x22)
        do {
            var runStart = 0
            var i = 0
            let n = utf8.count
            while i < n {
                // Eight bytes at a time: skip words with no control character, quote or backslash.
                if i + 8 <= n {
                    let x = UnsafeRawPointer(utf8.baseAddress! + i).loadUnaligned(as: UInt64.self)
                    let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
                    let below20 = (x &- ones &* 0x20) & ~x & highs
                    let q = x ^ (ones &* 0x22), bs = x ^ (ones &* 0x5C)
                    let quote = (q &- ones) & ~q & highs
                    let backslash = (bs &- ones) & ~bs & highs
                    if below20 | quote | backslash == 0 {
                        i += 8
                        continue
                    }
                }
                let b = utf8[i]
                i += 1
                guard b < 0x20 || b == 0x22 || b == 0x5C else { continue }
                if runStart < i - 1 { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<(i - 1)])) }
                runStart = i
                switch b {
                case 0x22: bytes.append(0x5C); bytes.append(0x22)
                case 0x5C: bytes.append(0x5C); bytes.append(0x5C)
                case 0x0A: bytes.append(0x5C); bytes.append(0x6E)
                case 0x0D: bytes.append(0x5C); bytes.append(0x72)
                case 0x09: bytes.append(0x5C); bytes.append(0x74)
                default:
                    let hex: StaticString = "0123456789abcdef"
                    let h = hex.utf8Start
                    bytes.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, h[Int(b >> 4)], h[Int(b & 0xF)]])
                }
            }
            if runStart < utf8.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...])) }
        }
        bytes.append(0x22)
    }
}
