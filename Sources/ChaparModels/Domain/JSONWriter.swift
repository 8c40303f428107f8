/// Appends compact JSON to a byte buffer, fast enough for the hot paths (ingest, notifier) where
/// `JSONEncoder` would dominate. Field order is the call order, so output is deterministic.
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    private var needsComma: [Bool] = [false]

    public init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    public mutating func beginObject() {
        separate()
        bytes.append(0x7B)
        needsComma.append(false)
    }

    public mutating func endObject() {
        bytes.append(0x7D)
        needsComma.removeLast()
    }

    public mutating func beginArray(_ key: String) {
        self.key(key)
        bytes.append(0x5B)
        needsComma.append(false)
    }

    public mutating func endArray() {
        bytes.append(0x5D)
        needsComma.removeLast()
    }

    public mutating func beginObject(_ key: String) {
        self.key(key)
        bytes.append(0x7B)
        needsComma.append(false)
    }

    public mutating func field(_ key: String, _ value: String) {
        self.key(key)
        appendString(value)
    }

    public mutating func field(_ key: String, _ value: String?) {
        guard let value else { return }
        field(key, value)
    }

    public mutating func field(_ key: String, _ value: Int64) {
        self.key(key)
        bytes.append(contentsOf: String(value).utf8)
    }

    public mutating func field(_ key: String, _ value: Int64?) {
        guard let value else { return }
        field(key, value)
    }

    public mutating func field(_ key: String, _ value: Int) { field(key, Int64(value)) }

    public mutating func field(_ key: String, _ value: Bool) {
        self.key(key)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    /// An array element that is a string.
    public mutating func element(_ value: String) {
        separate()
        appendString(value)
    }

    private mutating func key(_ key: String) {
        separate()
        appendString(key)
        bytes.append(0x3A)
    }

    private mutating func separate() {
        if needsComma[needsComma.count - 1] { bytes.append(0x2C) }
        needsComma[needsComma.count - 1] = true
    }

    private mutating func appendString(_ s: String) {
        bytes.append(0x22)
        let hex = Array("0123456789abcdef".utf8)
        for b in s.utf8 {
            switch b {
            case 0x22: bytes.append(0x5C); bytes.append(0x22)
            case 0x5C: bytes.append(0x5C); bytes.append(0x5C)
            case 0x0A: bytes.append(0x5C); bytes.append(0x6E)
            case 0x0D: bytes.append(0x5C); bytes.append(0x72)
            case 0x09: bytes.append(0x5C); bytes.append(0x74)
            case 0x00..<0x20:
                bytes.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 0xF)]])
            default: bytes.append(b)
            }
        }
        bytes.append(0x22)
    }
}
