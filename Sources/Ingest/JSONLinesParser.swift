import ChaparModels

/// Reads transactions and direct messages from JSON Lines: one JSON object per line, with the same
/// field names as the CSV columns (``EntryField``, `docs/ingest.md`).
///
/// Amounts may be JSON strings (`"1250.50"`, preferred) or numbers (`1250.50`); numbers are read
/// from their text, never through floating point. `vars` is an object of strings (or a CSV-style
/// `key=value;…` string). Unknown fields are rejected so that typos do not pass silently.
public struct JSONLinesParser: EntryParser, ProgressReporting {
    private let reader: LineReader
    private let displayName: String
    private var transcoder: TextTranscoder
    private var builder: EntryBuilder

    /// Opens `path`; `displayName` is the name used in `FILE:LINE` messages.
    public init(path: String, displayName: String, options: ParserOptions) throws(IngestError) {
        try self.init(path: path, displayName: displayName, options: options, maxLineBytes: 1 << 20)
    }

    /// As above with an explicit line limit (tests use small ones).
    public init(path: String, displayName: String, options: ParserOptions, maxLineBytes: Int) throws(IngestError) {
        reader = try LineReader(path: path, maxLineBytes: maxLineBytes)
        self.displayName = displayName
        transcoder = TextTranscoder(options.encoding)
        builder = try EntryBuilder(options: options)
    }

    /// Bytes of the file consumed so far.
    public var bytesRead: Int64 { reader.bytesConsumed }

    public mutating func next() throws(IngestError) -> ParsedEntry? {
        while true {
            guard let line = try reader.next() else { return nil }
            switch line {
            case .tooLong(let number, let length):
                return .rejected(EntryError(EntryLocation(file: displayName, line: number),
                                            "line is \(length) bytes, longer than the limit of \(reader.maxLineBytes) bytes; each entry must be one JSON object on one line"))
            case .line(let bytes, let number):
                if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                let location = EntryLocation(file: displayName, line: number)
                let parsed = try transcoder.withUTF8(bytes) { (p) throws(IngestError) -> Result<RawEntry, InvalidJSON> in
                    var json = MiniJSON(p)
                    do throws(InvalidJSON) {
                        return .success(try JSONLinesParser.entry(try json.parseDocument()))
                    } catch {
                        return .failure(error)
                    }
                }
                switch parsed {
                case .failure(let e): return .rejected(EntryError(location, e.message))
                case .success(.failure(let e)): return .rejected(EntryError(location, e.message))
                case .success(.success(let raw)): return builder.build(raw, location: location)
                }
            }
        }
    }

    /// Maps a parsed object onto entry fields.
    static func entry(_ value: JSONValue) throws(InvalidJSON) -> RawEntry {
        guard case .object(let members) = value else {
            throw InvalidJSON("each line must be a JSON object such as {\"account\":\"IR…\",\"direction\":\"debit\",\"amount\":\"1200000\",…}")
        }
        var raw = RawEntry()
        var seen = Set<EntryField>()
        for (key, v) in members {
            guard let field = EntryField.byName[key] else {
                throw InvalidJSON("unknown field '\(key)'; the fields are \(EntryField.allNames)")
            }
            guard seen.insert(field).inserted else { throw InvalidJSON("field '\(key)' appears twice") }
            switch v {
            case .null: continue
            case .string(let s): raw[field] = s
            case .number(let n): raw[field] = n
            case .bool: throw InvalidJSON("\(key): true/false is not allowed here; give a string")
            case .array: throw InvalidJSON("\(key): an array is not allowed here")
            case .object(let inner):
                guard field == .vars else { throw InvalidJSON("\(key): an object is allowed only for vars") }
                var vars: [String: String] = [:]
                for (k, iv) in inner {
                    do { try EntryBuilder.checkVariableName(k) } catch { throw InvalidJSON(error.description) }
                    switch iv {
                    case .string(let s): vars[k] = s
                    case .number(let n): vars[k] = n
                    case .bool(let b): vars[k] = b ? "true" : "false"
                    default: throw InvalidJSON("vars: variable '\(k)' must be a string or number")
                    }
                }
                raw.variables = vars
            }
        }
        return raw
    }
}

/// A syntax or shape error in one JSON line.
struct InvalidJSON: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// A JSON value with numbers kept as their text, so amounts never pass through `Double`.
indirect enum JSONValue {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in document order.
    case object([(String, JSONValue)])
}

/// A small strict JSON (RFC 8259) parser over UTF-8 bytes, enough for one line of JSON Lines.
struct MiniJSON {
    private let p: UnsafeBufferPointer<UInt8>
    private var i = 0
    private var depth = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) { p = bytes }

    /// One value followed only by whitespace.
    mutating func parseDocument() throws(InvalidJSON) -> JSONValue {
        let v = try value()
        skipSpace()
        if i < p.count { throw error("unexpected text after the JSON object") }
        return v
    }

    private func error(_ what: String) -> InvalidJSON {
        InvalidJSON("invalid JSON at column \(i + 1): \(what)")
    }

    private mutating func skipSpace() {
        while i < p.count, p[i] == 0x20 || p[i] == 0x09 || p[i] == 0x0D || p[i] == 0x0A { i += 1 }
    }

    private mutating func value() throws(InvalidJSON) -> JSONValue {
        skipSpace()
        guard i < p.count else { throw error("the line ends where a value was expected") }
        switch p[i] {
        case 0x7B: return try object()
        case 0x5B: return try array()
        case 0x22: return .string(try string())
        case 0x74: try literal("true"); return .bool(true)
        case 0x66: try literal("false"); return .bool(false)
        case 0x6E: try literal("null"); return .null
        case 0x2D, 0x30...0x39: return .number(try number())
        default: throw error("unexpected character '\(Unicode.Scalar(p[i]))'")
        }
    }

    private mutating func literal(_ word: StaticString) throws(InvalidJSON) {
        let n = word.utf8CodeUnitCount
        guard i + n <= p.count else { throw error("truncated literal") }
        for k in 0..<n where p[i + k] != word.utf8Start[k] { throw error("unexpected characters") }
        i += n
    }

    private mutating func enter() throws(InvalidJSON) {
        depth += 1
        if depth > 32 { throw error("nested more than 32 levels") }
    }

    private mutating func object() throws(InvalidJSON) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        i += 1
        var members: [(String, JSONValue)] = []
        skipSpace()
        if i < p.count && p[i] == 0x7D { i += 1; return .object(members) }
        while true {
            skipSpace()
            guard i < p.count, p[i] == 0x22 else { throw error(i < p.count ? "expected a field name in double quotes" : "the line ends inside an object") }
            let key = try string()
            skipSpace()
            guard i < p.count, p[i] == 0x3A else { throw error("expected ':' after the field name") }
            i += 1
            members.append((key, try value()))
            skipSpace()
            guard i < p.count else { throw error("the line ends inside an object; a closing '}' is missing") }
            if p[i] == 0x2C { i += 1; continue }
            if p[i] == 0x7D { i += 1; return .object(members) }
            throw error("expected ',' or '}'")
        }
    }

    private mutating func array() throws(InvalidJSON) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        i += 1
        var items: [JSONValue] = []
        skipSpace()
        if i < p.count && p[i] == 0x5D { i += 1; return .array(items) }
        while true {
            items.append(try value())
            skipSpace()
            guard i < p.count else { throw error("the line ends inside an array") }
            if p[i] == 0x2C { i += 1; continue }
            if p[i] == 0x5D { i += 1; return .array(items) }
            throw error("expected ',' or ']'")
        }
    }

    private mutating func number() throws(InvalidJSON) -> String {
        let start = i
        if p[i] == 0x2D { i += 1 }
        func digits() -> Int {
            let s = i
            while i < p.count, p[i] >= 0x30 && p[i] <= 0x39 { i += 1 }
            return i - s
        }
        let intStart = i
        let n = digits()
        if n == 0 { throw error("a number needs digits") }
        if n > 1 && p[intStart] == 0x30 { throw error("numbers must not have leading zeros") }
        if i < p.count && p[i] == 0x2E {
            i += 1
            if digits() == 0 { throw error("a decimal point must be followed by digits") }
        }
        if i < p.count && (p[i] == 0x65 || p[i] == 0x45) {
            i += 1
            if i < p.count && (p[i] == 0x2B || p[i] == 0x2D) { i += 1 }
            if digits() == 0 { throw error("an exponent needs digits") }
        }
        return String(decoding: UnsafeBufferPointer(rebasing: p[start..<i]), as: UTF8.self)
    }

    private mutating func string() throws(InvalidJSON) -> String {
        i += 1  // opening quote
        do {
            return try JSONStringBody.decode(p, index: &i)
        } catch {
            switch error {
            case .controlCharacter: throw self.error("control character inside a string; escape it")
            case .unterminated, .unterminatedEscape: throw self.error("the line ends inside a string; a closing '\"' is missing")
            case .unknownEscape(let e): throw self.error("invalid escape '\\\(Unicode.Scalar(e))'")
            case .shortUnicodeEscape: throw self.error("truncated \\u escape")
            case .badHexDigit: throw self.error("invalid hex digit in \\u escape")
            case .unpairedSurrogate: throw self.error("unpaired surrogate in \\u escape")
            }
        }
    }
}
