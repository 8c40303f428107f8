import Foundation

/// A streaming RFC 4180 reader: fields separated by commas, records by CRLF or LF, fields with
/// commas, quotes or line breaks enclosed in double quotes and inner quotes doubled. A UTF-8 byte
/// order mark at the start is skipped. Memory stays constant whatever the file size.
struct CSVReader {
    /// One record and the 1-based line on which it starts.
    struct Record {
        var fields: [String]
        var line: Int
    }

    /// A malformed record: the line where it starts and what is wrong.
    struct Malformed: Error {
        var line: Int
        var reason: String
    }

    private let fd: Int32
    private var buffer: [UInt8]
    private var position = 0
    private var end = 0
    private var eof = false
    private var line = 1
    private var field: [UInt8] = []
    private var first = true

    /// Opens `path` for reading.
    init(path: String) throws(CustomerStoreError) {
        fd = Foundation.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw CustomerStoreError(errno == ENOENT ? .notFound : .storage, "cannot read \(path): \(String(cString: strerror(errno))); check the path")
        }
        buffer = [UInt8](repeating: 0, count: 1 << 20)
        field.reserveCapacity(256)
    }

    /// Closes the file.
    func close() { _ = Foundation.close(fd) }

    private mutating func fill() throws(CustomerStoreError) -> Bool {
        if eof { return false }
        let n = buffer.withUnsafeMutableBytes { Foundation.read(fd, $0.baseAddress!, $0.count) }
        if n < 0 { throw CustomerStoreError(.storage, "reading failed: \(String(cString: strerror(errno)))") }
        if n == 0 { eof = true; return false }
        position = 0
        end = n
        return true
    }

    private mutating func nextByte() throws(CustomerStoreError) -> UInt8? {
        if position == end { guard try fill() else { return nil } }
        let b = buffer[position]
        position += 1
        return b
    }

    private mutating func peekByte() throws(CustomerStoreError) -> UInt8? {
        if position == end { guard try fill() else { return nil } }
        return buffer[position]
    }

    /// The next record, nil at the end of the file, or `Malformed` for broken quoting (the reader
    /// then skips to the end of that record so the caller can go on reporting further problems).
    mutating func next() throws(CustomerStoreError) -> Result<Record, Malformed>? {
        if first {
            first = false
            if try peekByte() == 0xEF {
                // Skip a UTF-8 BOM (EF BB BF).
                var bom: [UInt8] = []
                for _ in 0..<3 { if let b = try nextByte() { bom.append(b) } }
                if bom != [0xEF, 0xBB, 0xBF] { field.append(contentsOf: bom) }
            }
        }
        guard try peekByte() != nil || !field.isEmpty else { return nil }
        let startLine = line
        var fields: [String] = []
        fields.reserveCapacity(32)
        var problem: String?
        var quoted = false
        var afterQuote = false
        func finishField() {
            fields.append(field.isEmpty ? "" : String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            quoted = false
            afterQuote = false
        }
        while true {
            if position == end {
                guard try fill() else {
                    if quoted && !afterQuote { problem = problem ?? "a quoted field is not closed before the end of the file" }
                    finishField()
                    break
                }
            }
            // Fast path: copy a run of ordinary bytes at once instead of byte by byte.
            let inQuotes = quoted && !afterQuote
            let runEnd = buffer.withUnsafeBufferPointer { p -> Int in
                var i = position
                if inQuotes {
                    while i < end, p[i] != 0x22, p[i] != 0x0A { i += 1 }
                } else if !afterQuote {
                    while i < end, p[i] != 0x2C, p[i] != 0x0A, p[i] != 0x0D, p[i] != 0x22 { i += 1 }
                }
                return i
            }
            if runEnd > position {
                field.append(contentsOf: buffer[position..<runEnd])
                position = runEnd
                continue
            }
            let b = buffer[position]
            position += 1
            if inQuotes {
                if b == 0x22 {
                    if try peekByte() == 0x22 { position += 1; field.append(0x22) } else { afterQuote = true }
                } else {
                    if b == 0x0A { line += 1 }
                    field.append(b)
                }
                continue
            }
            switch b {
            case 0x2C:
                finishField()
            case 0x0A:
                line += 1
                finishField()
                return problem.map { .failure(Malformed(line: startLine, reason: $0)) } ?? .success(Record(fields: fields, line: startLine))
            case 0x0D:
                if try peekByte() == 0x0A { continue }
                field.append(b)
            case 0x22:
                if field.isEmpty && !afterQuote && !quoted {
                    quoted = true
                } else {
                    problem = problem ?? "a double quote inside a field that does not start with one; enclose the field in quotes and double the inner quote"
                }
            default:
                if afterQuote {
                    problem = problem ?? "text after the closing quote of a field; put a comma after the quote"
                }
                field.append(b)
            }
        }
        return problem.map { .failure(Malformed(line: startLine, reason: $0)) } ?? .success(Record(fields: fields, line: startLine))
    }
}

/// Buffered RFC 4180 writer to a file descriptor: CRLF line ends, fields quoted only when needed.
struct CSVWriter {
    private let fd: Int32
    private let path: String
    private var buffer: [UInt8] = []
    private let closes: Bool

    /// Writes to a new file at `path` (replacing it), or to stdout when `path` is nil.
    init(path: String?) throws(CustomerStoreError) {
        if let path {
            fd = Foundation.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw CustomerStoreError(.storage, "cannot create \(path): \(String(cString: strerror(errno))); check the directory exists and is writable") }
            self.path = path
            closes = true
        } else {
            fd = 1
            self.path = "standard output"
            closes = false
        }
        buffer.reserveCapacity(1 << 20)
    }

    /// Appends one record.
    mutating func write(_ fields: [String]) throws(CustomerStoreError) {
        for (i, f) in fields.enumerated() {
            if i > 0 { buffer.append(0x2C) }
            if f.utf8.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }) {
                buffer.append(0x22)
                for b in f.utf8 {
                    if b == 0x22 { buffer.append(0x22) }
                    buffer.append(b)
                }
                buffer.append(0x22)
            } else {
                buffer.append(contentsOf: f.utf8)
            }
        }
        buffer.append(0x0D)
        buffer.append(0x0A)
        if buffer.count >= 1 << 20 { try flush() }
    }

    /// Writes out the buffer.
    mutating func flush() throws(CustomerStoreError) {
        var offset = 0
        let failed: Int32? = buffer.withUnsafeBytes { raw in
            while offset < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return errno }
                offset += n
            }
            return nil
        }
        buffer.removeAll(keepingCapacity: true)
        if let failed { throw CustomerStoreError(.storage, "cannot write \(path): \(String(cString: strerror(failed)))") }
    }

    /// Flushes, syncs a file to disk, and closes it.
    mutating func finish() throws(CustomerStoreError) {
        try flush()
        if closes {
            guard fsync(fd) == 0 else { throw CustomerStoreError(.storage, "cannot write \(path): \(String(cString: strerror(errno)))") }
            _ = Foundation.close(fd)
        }
    }
}
