/// A small pull parser for the compact JSON that Chapar writes itself (events, jobs): objects,
/// arrays, strings with every escape, integers, booleans and null. Much faster than `JSONDecoder`
/// for these flat records, and strict: anything else is an ``InvalidValue`` naming the byte offset.
public struct JSONReader: ~Copyable {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0

    /// Reads from `bytes`, which must stay valid while the reader is used.
    public init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    private func fail(_ what: String) -> InvalidValue { InvalidValue("record", "invalid JSON at byte \(index): \(what)") }

    private mutating func skipSpace() {
        while index < bytes.count {
            let b = bytes[index]
            guard b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 else { return }
            index += 1
        }
    }

    private mutating func expect(_ byte: UInt8) throws(InvalidValue) {
        skipSpace()
        guard index < bytes.count, bytes[index] == byte else { throw fail("expected '\(Character(Unicode.Scalar(byte)))'") }
        index += 1
    }

    /// Whether the next value is `null`; consumes it if so.
    public mutating func readNull() -> Bool {
        skipSpace()
        if index + 4 <= bytes.count, bytes[index] == 0x6E, bytes[index + 1] == 0x75, bytes[index + 2] == 0x6C, bytes[index + 3] == 0x6C {
            index += 4
            return true
        }
        return false
    }

    /// Reads an object, calling `member` with each key; `member` must consume the value.
    public mutating func readObject(_ member: (inout JSONReader, String) throws(InvalidValue) -> Void) throws(InvalidValue) {
        try expect(0x7B)
        skipSpace()
        if index < bytes.count, bytes[index] == 0x7D { index += 1; return }
        while true {
            let key = try readString()
            try expect(0x3A)
            try member(&self, key)
            skipSpace()
            guard index < bytes.count else { throw fail("unterminated object") }
            if bytes[index] == 0x2C { index += 1; continue }
            if bytes[index] == 0x7D { index += 1; return }
            throw fail("expected ',' or '}'")
        }
    }

    /// Reads an object whose keys the caller knows in advance: `member` gets the key's position in
    /// `keys`, or nil for any other key. No `String` is made per key (an escaped key is decoded and
    /// then looked up, so `"\u0069d"` still means `id`).
    public mutating func readObject(keys: JSONKeys, _ member: (inout JSONReader, Int?) throws(InvalidValue) -> Void) throws(InvalidValue) {
        try expect(0x7B)
        skipSpace()
        if index < bytes.count, bytes[index] == 0x7D { index += 1; return }
        while true {
            let key = try readKey(keys)
            try expect(0x3A)
            try member(&self, key)
            skipSpace()
            guard index < bytes.count else { throw fail("unterminated object") }
            if bytes[index] == 0x2C { index += 1; continue }
            if bytes[index] == 0x7D { index += 1; return }
            throw fail("expected ',' or '}'")
        }
    }

    private mutating func readKey(_ keys: JSONKeys) throws(InvalidValue) -> Int? {
        try expect(0x22)
        let start = index
        while index < bytes.count {
            let b = bytes[index]
            if b == 0x22 {
                let key = UnsafeBufferPointer(rebasing: bytes[start..<index])
                index += 1
                return keys.position(of: key)
            }
            if b == 0x5C {
                index = start - 1  // back to the opening quote: read it the long way
                var decoded = try readString()
                return decoded.withUTF8 { keys.position(of: $0) }
            }
            if b < 0x20 { throw fail("control character in a string") }
            index += 1
        }
        throw fail("unterminated string")
    }

    /// Reads an array, calling `element` for each value; `element` must consume it.
    public mutating func readArray(_ element: (inout JSONReader) throws(InvalidValue) -> Void) throws(InvalidValue) {
        try expect(0x5B)
        skipSpace()
        if index < bytes.count, bytes[index] == 0x5D { index += 1; return }
        while true {
            try element(&self)
            skipSpace()
            guard index < bytes.count else { throw fail("unterminated array") }
            if bytes[index] == 0x2C { index += 1; continue }
            if bytes[index] == 0x5D { index += 1; return }
            throw fail("expected ',' or ']'")
        }
    }

    public mutating func readString() throws(InvalidValue) -> String {
        try expect(0x22)
        do {
            return try JSONStringBody.decode(bytes, index: &index)
        } catch {
            switch error {
            case .controlCharacter: throw fail("control character in a string")
            case .unterminated: throw fail("unterminated string")
            case .unterminatedEscape: throw fail("unterminated escape")
            case .unknownEscape: throw fail("unknown escape")
            case .shortUnicodeEscape: throw fail("short \\u escape")
            case .badHexDigit: throw fail("bad hex digit in \\u escape")
            case .unpairedSurrogate: throw fail("unpaired surrogate")
            }
        }
    }

    /// Reads an integer (no fraction or exponent) that fits in 64 bits.
    public mutating func readInt() throws(InvalidValue) -> Int64 {
        skipSpace()
        var negative = false
        if index < bytes.count, bytes[index] == 0x2D { negative = true; index += 1 }
        var v: Int64 = 0
        let start = index
        while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int64(bytes[index] - 0x30))
            if o1 || o2 { throw fail("integer out of range") }
            v = s
            index += 1
        }
        if index == start { throw fail("expected an integer") }
        if index < bytes.count, bytes[index] == 0x2E || bytes[index] == 0x65 || bytes[index] == 0x45 { throw fail("expected an integer, not a decimal") }
        return negative ? -v : v
    }

    public mutating func readBool() throws(InvalidValue) -> Bool {
        skipSpace()
        if index + 4 <= bytes.count, bytes[index] == 0x74, bytes[index + 1] == 0x72, bytes[index + 2] == 0x75, bytes[index + 3] == 0x65 {
            index += 4
            return true
        }
        if index + 5 <= bytes.count, bytes[index] == 0x66, bytes[index + 1] == 0x61, bytes[index + 2] == 0x6C, bytes[index + 3] == 0x73, bytes[index + 4] == 0x65 {
            index += 5
            return false
        }
        throw fail("expected true or false")
    }

    /// An object whose values are all strings.
    public mutating func readStringMap() throws(InvalidValue) -> [String: String] {
        var map: [String: String] = [:]
        try readObject { (r: inout JSONReader, key: String) throws(InvalidValue) in map[key] = try r.readString() }
        return map
    }

    public mutating func readStringArray() throws(InvalidValue) -> [String] {
        var items: [String] = []
        try readArray { (r: inout JSONReader) throws(InvalidValue) in items.append(try r.readString()) }
        return items
    }

    /// Skips any value (for fields added by newer versions).
    public mutating func skipValue() throws(InvalidValue) {
        skipSpace()
        guard index < bytes.count else { throw fail("expected a value") }
        switch bytes[index] {
        case 0x22: _ = try readString()
        case 0x7B: try readObject { (r: inout JSONReader, _: String) throws(InvalidValue) in try r.skipValue() }
        case 0x5B: try readArray { (r: inout JSONReader) throws(InvalidValue) in try r.skipValue() }
        case 0x74, 0x66: _ = try readBool()
        case 0x6E: if !readNull() { throw fail("expected null") }
        default:
            // Numbers, including decimals: consume the number's characters.
            let start = index
            while index < bytes.count, (0x30...0x39).contains(bytes[index]) || [0x2D, 0x2B, 0x2E, 0x65, 0x45].contains(bytes[index]) { index += 1 }
            if index == start { throw fail("unexpected character") }
        }
    }

    /// Fails unless only whitespace is left.
    public mutating func end() throws(InvalidValue) {
        skipSpace()
        if index != bytes.count { throw fail("trailing characters") }
    }
}

/// The keys a decoder expects, for ``JSONReader/readObject(keys:_:)``: matched as bytes, by
/// length first, so reading a record's keys costs no allocation and no `String` comparison.
public struct JSONKeys: Sendable {
    private let keys: [[UInt8]]

    /// Keys in the order their positions will be reported.
    public init(_ keys: [String]) { self.keys = keys.map { Array($0.utf8) } }

    func position(of key: UnsafeBufferPointer<UInt8>) -> Int? {
        for i in keys.indices where keys[i].count == key.count {
            if keys[i].withUnsafeBufferPointer({ $0.elementsEqual(key) }) { return i }
        }
        return nil
    }
}

/// The body of a JSON string (RFC 8259: every escape, surrogate pairs joined, raw control
/// characters refused), shared by ``JSONReader`` and the ingest JSON Lines parser, which phrase
/// the problems in their own words.
public enum JSONStringBody {
    /// Why a string body is not valid JSON.
    public enum Problem: Error, Sendable, Equatable {
        case controlCharacter
        /// The input ends before the closing quote.
        case unterminated
        /// The input ends right after a backslash.
        case unterminatedEscape
        case unknownEscape(UInt8)
        case shortUnicodeEscape
        case badHexDigit
        case unpairedSurrogate
    }

    /// Decodes the string whose body starts at `index` (just after the opening quote); on return
    /// `index` is just past the closing quote, or where the problem was found.
    public static func decode(_ p: UnsafeBufferPointer<UInt8>, index: inout Int) throws(Problem) -> String {
        let start = index
        // Fast path: no escapes.
        while index < p.count {
            let b = p[index]
            if b == 0x22 {
                let s = String(decoding: UnsafeBufferPointer(rebasing: p[start..<index]), as: UTF8.self)
                index += 1
                return s
            }
            if b == 0x5C { break }
            if b < 0x20 { throw .controlCharacter }
            index += 1
        }
        var out = Array(UnsafeBufferPointer(rebasing: p[start..<index]))
        while index < p.count {
            let b = p[index]
            index += 1
            switch b {
            case 0x22:
                return String(decoding: out, as: UTF8.self)
            case 0x5C:
                guard index < p.count else { throw .unterminatedEscape }
                let e = p[index]
                index += 1
                switch e {
                case 0x22, 0x5C, 0x2F: out.append(e)
                case 0x62: out.append(0x08)
                case 0x66: out.append(0x0C)
                case 0x6E: out.append(0x0A)
                case 0x72: out.append(0x0D)
                case 0x74: out.append(0x09)
                case 0x75:
                    var scalar = try hex4(p, &index)
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard index + 2 <= p.count, p[index] == 0x5C, p[index + 1] == 0x75 else { throw .unpairedSurrogate }
                        index += 2
                        let low = try hex4(p, &index)
                        guard (0xDC00..<0xE000).contains(low) else { throw .unpairedSurrogate }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        throw .unpairedSurrogate
                    }
                    // Non-surrogate values below 0x110000 are valid scalars.
                    out.append(contentsOf: String(Character(Unicode.Scalar(scalar)!)).utf8)
                default: throw .unknownEscape(e)
                }
            default:
                if b < 0x20 { throw .controlCharacter }
                out.append(b)
            }
        }
        throw .unterminated
    }

    private static func hex4(_ p: UnsafeBufferPointer<UInt8>, _ index: inout Int) throws(Problem) -> UInt32 {
        guard index + 4 <= p.count else { throw .shortUnicodeEscape }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = p[index]
            index += 1
            switch b {
            case 0x30...0x39: v = v << 4 | UInt32(b - 0x30)
            case 0x41...0x46: v = v << 4 | UInt32(b - 0x37)
            case 0x61...0x66: v = v << 4 | UInt32(b - 0x57)
            default: throw .badHexDigit
            }
        }
        return v
    }
}
