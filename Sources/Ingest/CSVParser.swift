import ChaparModels

/// Reads transactions and direct messages from CSV (RFC 4180) with a header row; the columns
/// are documented in `docs/ingest.md` (``EntryField``).
///
/// Quoted fields may contain commas, doubled quotes and newlines (an entry's line is the line
/// where it starts); CRLF and LF line ends, a UTF-8 BOM, and Windows-1256 / ISO-8859-1 input
/// (``ParserOptions/encoding``) are accepted. Memory is bounded by the longest allowed line.
public struct CSVParser: EntryParser, ProgressReporting {
    private let reader: LineReader
    private let displayName: String
    private var transcoder: TextTranscoder
    private var builder: EntryBuilder
    /// Field of each column, in header order; nil until the header has been read.
    private var columns: [EntryField]? = nil
    private var raw = RawEntry()
    /// The current record's fields; a class so the transcoder's closure can fill it while the
    /// parser itself is being mutated.
    private let fields = FieldBuffer()
    /// Bytes of quoted continuation allowed before an unterminated quote is reported.
    private let maxRecordBytes: Int

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
        maxRecordBytes = maxLineBytes
    }

    /// Bytes of the file consumed so far.
    public var bytesRead: Int64 { reader.bytesConsumed }

    public mutating func next() throws(IngestError) -> ParsedEntry? {
        if columns == nil {
            guard try readHeader() else { return nil }
        }
        while true {
            guard let first = try reader.next() else { return nil }
            switch first {
            case .tooLong(let number, let length):
                return .rejected(EntryError(EntryLocation(file: displayName, line: number),
                                            "line is \(length) bytes, longer than the limit of \(reader.maxLineBytes) bytes; split the description or fix the line break"))
            case .line(let bytes, let number):
                if bytes.isEmpty { continue }  // blank lines separate nothing and are skipped
                if let entry = try record(startingWith: bytes, line: number) { return entry }
            }
        }
    }

    // MARK: Header

    private mutating func readHeader() throws(IngestError) -> Bool {
        while true {
            guard let first = try reader.next() else { return false }
            guard case .line(let bytes, let number) = first else {
                throw IngestError(.invalidFormat, "\(displayName):1: the header row is longer than \(reader.maxLineBytes) bytes; the first line must name the columns (\(EntryField.allNames))")
            }
            if bytes.isEmpty { continue }
            let buffer = fields
            buffer.clear()
            let decoded = try transcoder.withUTF8(bytes) { (p) throws(IngestError) -> String? in
                var state = SplitState()
                if let problem = buffer.split(p, &state) { return problem }
                if state.inQuotes { return "the header row has an unterminated quote" }
                buffer.ends.append(buffer.bytes.count)
                return nil
            }
            switch decoded {
            case .failure(let e): throw IngestError(.invalidFormat, "\(displayName):\(number): \(e.message)")
            case .success(let problem?): throw IngestError(.invalidFormat, "\(displayName):\(number): \(problem)")
            case .success(nil): break
            }
            var headerFields: [EntryField] = []
            var seen = Set<EntryField>()
            var unknown: [String] = []
            for i in fields.ends.indices {
                let name = String(decoding: fields.slice(i), as: UTF8.self).trimmingCharacters(" \t").lowercased()
                guard let f = EntryField.byName[name] else {
                    unknown.append(name)
                    continue
                }
                if !seen.insert(f).inserted {
                    throw IngestError(.invalidFormat, "\(displayName):\(number): column '\(name)' appears twice in the header")
                }
                headerFields.append(f)
            }
            if !unknown.isEmpty {
                let hint = seen.isEmpty
                    ? "the first line must be a header row naming the columns, e.g. id,account,direction,amount,currency,booked_at,description"
                    : "the columns are \(EntryField.allNames)"
                throw IngestError(.invalidFormat, "\(displayName):\(number): unknown column\(unknown.count > 1 ? "s" : "") \(unknown.map { "'\($0)'" }.joined(separator: ", ")); \(hint)")
            }
            if !seen.contains(.type) {
                let missing = EntryField.transactionRequired.filter { !seen.contains($0) }
                    + (builder.options.defaultCurrency == nil && !seen.contains(.currency) ? [.currency] : [])
                if !missing.isEmpty {
                    throw IngestError(.invalidFormat, "\(displayName):\(number): the header has no \(missing.map(\.name).joined(separator: ", ")) column\(missing.count > 1 ? "s" : ""); transactions need \(EntryField.transactionRequired.map(\.name).joined(separator: ", ")) and currency (or --currency)")
                }
            }
            columns = headerFields
            return true
        }
    }

    // MARK: Records

    struct SplitState {
        var inQuotes = false
        var atFieldStart = true
        var afterQuote = false
    }

    private mutating func record(startingWith first: UnsafeBufferPointer<UInt8>, line: Int) throws(IngestError) -> ParsedEntry? {
        let location = EntryLocation(file: displayName, line: line)
        let buffer = fields
        buffer.clear()
        var state = SplitState()
        var problem: String? = nil
        switch try transcoder.withUTF8(first, { (p) throws(IngestError) -> String? in buffer.split(p, &state) }) {
        case .failure(let e): return .rejected(EntryError(location, e.message))
        case .success(let p): problem = p
        }
        // A quoted field that spans lines: keep reading physical lines.
        var lastLine = line
        while state.inQuotes && problem == nil {
            guard let more = try reader.next() else {
                return .rejected(EntryError(location, "unterminated quoted field in column \(buffer.ends.count + 1) (the file ends inside it); close the quote"))
            }
            switch more {
            case .tooLong(let number, _):
                return .rejected(EntryError(location, "quoted field in column \(buffer.ends.count + 1) runs into line \(number), which is longer than \(reader.maxLineBytes) bytes; lines \(line)–\(number) skipped"))
            case .line(let bytes, let number):
                lastLine = number
                buffer.bytes.append(0x0A)
                switch try transcoder.withUTF8(bytes, { (p) throws(IngestError) -> String? in buffer.split(p, &state) }) {
                case .failure(let e): return .rejected(EntryError(location, "line \(number) (inside a quoted field): \(e.message)"))
                case .success(let p): problem = p
                }
                if buffer.bytes.count > maxRecordBytes {
                    return .rejected(EntryError(location, "quoted field in column \(buffer.ends.count + 1) is still open after \(maxRecordBytes) bytes (lines \(line)–\(lastLine) skipped); a closing quote is probably missing"))
                }
            }
        }
        if let problem { return .rejected(EntryError(location, problem)) }
        buffer.ends.append(buffer.bytes.count)
        let columns = self.columns!  // set by readHeader before any record
        guard buffer.ends.count == columns.count else {
            return .rejected(EntryError(location, "expected \(columns.count) columns as in the header, found \(buffer.ends.count); quote fields that contain commas"))
        }
        raw.reset()
        buffer.fill(&raw, columns)
        return builder.build(raw, location: location)
    }
}

/// The fields of the CSV record being read: contents back to back, and where each ends.
final class FieldBuffer {
    var bytes: [UInt8] = []
    var ends: [Int] = []

    init() {
        bytes.reserveCapacity(1024)
        ends.reserveCapacity(32)
    }

    func slice(_ i: Int) -> ArraySlice<UInt8> {
        let start = i == 0 ? 0 : ends[i - 1]
        return bytes[start..<ends[i]]
    }

    func clear() {
        bytes.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
    }

    /// Sets each column's trimmed, non-empty text in `raw` (one access to the buffers for the
    /// whole record: per-byte access to a class's arrays costs a runtime exclusivity check each).
    func fill(_ raw: inout RawEntry, _ columns: [EntryField]) {
        let ends = self.ends
        bytes.withUnsafeBufferPointer { b in
            var start = 0
            for (i, field) in columns.enumerated() {
                var s = start, e = ends[i]
                start = e
                while s < e && (b[s] == 0x20 || b[s] == 0x09) { s += 1 }
                while e > s && (b[e - 1] == 0x20 || b[e - 1] == 0x09) { e -= 1 }
                if s == e { continue }
                raw[field] = String(decoding: UnsafeBufferPointer(rebasing: b[s..<e]), as: UTF8.self)
            }
        }
    }

    /// Splits UTF-8 bytes of one physical line into `bytes`/`ends`; returns a problem or nil.
    /// Leaves `state.inQuotes` set when a quoted field continues on the next line.
    func split(_ p: UnsafeBufferPointer<UInt8>, _ state: inout CSVParser.SplitState) -> String? {
        // Work on the arrays moved out of the class (no per-append exclusivity check), then put them back.
        var bytes = self.bytes, ends = self.ends
        self.bytes = []
        self.ends = []
        defer {
            self.bytes = bytes
            self.ends = ends
        }
        let n = p.count
        var i = 0
        while i < n {
            if state.inQuotes {
                // Copy up to the next quote in one go.
                var j = i
                while j < n && p[j] != 0x22 { j += 1 }
                if j > i { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: p[i..<j])) }
                if j == n { return nil }
                if j + 1 < n && p[j + 1] == 0x22 {
                    bytes.append(0x22)
                    i = j + 2
                } else {
                    state.inQuotes = false
                    state.afterQuote = true
                    i = j + 1
                }
                continue
            }
            let b = p[i]
            if b == 0x2C {
                ends.append(bytes.count)
                state.atFieldStart = true
                state.afterQuote = false
                i += 1
            } else if state.afterQuote {
                if b == 0x20 || b == 0x09 { i += 1; continue }
                return "unexpected text after the closing quote of column \(ends.count + 1); a quoted field must end at the comma"
            } else if b == 0x22 {
                guard state.atFieldStart else {
                    return "a quote inside unquoted column \(ends.count + 1); quote the whole field and double the quotes inside (\"\")"
                }
                state.inQuotes = true
                state.atFieldStart = false
                i += 1
            } else {
                var j = i + 1
                while j < n && p[j] != 0x2C && p[j] != 0x22 { j += 1 }
                // Spaces before an opening quote are not content (`a, "b"`).
                if j < n && p[j] == 0x22 && state.atFieldStart && p[i..<j].allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
                    i = j
                    continue
                }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: p[i..<j]))
                state.atFieldStart = false
                i = j
            }
        }
        return nil
    }

}

/// A parser that can say how far into its input it is, for progress bars and ETAs.
public protocol ProgressReporting {
    /// Bytes of the input consumed so far.
    var bytesRead: Int64 { get }
}

extension String {
    func trimmingCharacters(_ set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
