public import ChaparModels

/// One entry read from a bank file: an event, the located reason it was rejected, or a warning.
public enum ParsedEntry: Sendable {
    case event(Event)
    /// An entry that is not appended, and why.
    case rejected(EntryError)
    /// Something wrong with the file that rejects no entry (an MT940 closing balance that does not
    /// match the entries, a camt.054 batch whose parts do not add up): every entry is appended,
    /// the operator is told. Not an entry: it is not counted as read.
    case warning(EntryError)
}

/// Why one entry of a file was rejected, and where: `FILE:LINE: what is wrong` (XML adds the element path).
public struct EntryError: Error, Hashable, Sendable, CustomStringConvertible {
    public var location: EntryLocation
    /// What is wrong, phrased so the operator can fix the file.
    public var message: String

    public init(_ location: EntryLocation, _ message: String) {
        self.location = location
        self.message = ErrorText.bounded(message)
    }

    public var description: String { "\(location): \(message)" }

    /// `FILE:LINE: warning: message`, for a ``ParsedEntry/warning(_:)``.
    public var warningDescription: String { "\(location): warning: \(message)" }
}

/// A streaming parser over one input: yields entries one at a time and holds only a bounded
/// window of the input in memory, whatever the file size.
///
/// Entry-level problems (a bad amount, a missing account) are returned as `.rejected` so the rest
/// of the file goes on; `next()` throws only when the input as a whole cannot be read or parsed
/// any further (I/O error, not this format, XML that is no longer well-formed).
public protocol EntryParser {
    /// The next entry, or nil at the end of the input.
    mutating func next() throws(IngestError) -> ParsedEntry?
}

/// The Ingest module's error: a stable code, a message that says what to do, and where.
public struct IngestError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The file does not exist or cannot be opened.
        case notFound = "not-found"
        /// The file is not in the requested (or any recognised) format, or is broken beyond the current entry.
        case invalidFormat = "invalid-format"
        /// Some entries were rejected (default mode) or the file was refused (`--strict`).
        case rejected
        /// Reading the input or writing the log or the dedupe index failed (an I/O error, damage).
        case storage
        /// The disk (or quota) holding the log or the dedupe index is full (`ENOSPC`, `EDQUOT`,
        /// `SQLITE_FULL`). Nothing is damaged: free space and run the same ingest again.
        case diskFull = "disk-full"
        /// A usage error: conflicting options, unknown format name.
        case usage
    }

    public var code: Code
    public var message: String
    /// When the error stopped an input part way: its counts at that moment. `appended` entries
    /// are durable in the log (a re-run of the same input skips them as duplicates).
    public var durable: Ingestor.Progress?

    public init(_ code: Code, _ message: String, durable: Ingestor.Progress? = nil) {
        self.code = code
        self.message = ErrorText.bounded(message)
        self.durable = durable
    }

    public var description: String { message }
}

/// Error messages quote the offending input; a broken file can make that input huge (a 100 KB
/// line of NUL bytes) or unprintable. Every ingest error message goes through ``bounded(_:)``:
/// control characters are shown escaped (`\0`, `\u{1B}`), and a message longer than
/// ``limit`` characters keeps its first ``limit`` and says how much was cut.
public enum ErrorText {
    public static let limit = 500

    public static func bounded(_ message: String) -> String {
        var out = ""
        var kept = 0
        var cut = 0
        for character in message {
            guard kept < limit else {
                cut += 1
                continue
            }
            if let scalar = character.unicodeScalars.first, character.unicodeScalars.count == 1,
               scalar.value < 0x20 && scalar != "\t" && scalar != "\n" || scalar.value == 0x7F {
                let escaped = scalar.value == 0 ? "\\0" : "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
                out += escaped
                kept += escaped.count
            } else {
                out.append(character)
                kept += 1
            }
        }
        if cut > 0 { out += "… (\(cut) more characters cut)" }
        return out
    }
}

/// How a parser reads its input.
public struct ParserOptions: Sendable {
    /// The text encoding of the input: UTF-8 (the default; a BOM is skipped), ISO-8859-1, or
    /// Windows-1256 (Arabic/Persian code page still used by some Iranian core systems).
    public enum Encoding: String, Sendable, CaseIterable {
        case utf8 = "utf-8"
        case latin1 = "iso-8859-1"
        case windows1256 = "windows-1256"
    }

    public var encoding: Encoding
    /// Used when an entry has an amount but the file gives no currency for it.
    public var defaultCurrency: CurrencyCode?
    /// The zone of local booking dates/times in the file (camt `BookgDt/Dt`, MT940 dates, CSV
    /// times without an offset), as an IANA identifier.
    public var timeZone: String

    public init(encoding: Encoding = .utf8, defaultCurrency: CurrencyCode? = nil, timeZone: String = "Asia/Tehran") {
        self.encoding = encoding
        self.defaultCurrency = defaultCurrency
        self.timeZone = timeZone
    }
}

/// Event ids for entries whose file gives no reference of its own (see `docs/ingest.md`).
public enum EventIDs {
    /// `H` + the first 31 hex digits of SHA-256 over the fields joined by U+001F (unit separator).
    /// Callers pass, in a documented order per format: account, direction, amount, currency,
    /// booking date/time as written, value date, reference (or empty), narrative, and the
    /// occurrence number of identical entries within the statement (1, 2, …), so two identical
    /// coffees on one day stay two events while a re-sent file maps to the same ids.
    public static func contentHash(_ fields: [String]) -> EventID {
        var bytes: [UInt8] = []
        for (i, f) in fields.enumerated() {
            if i > 0 { bytes.append(0x1F) }
            bytes.append(contentsOf: f.utf8)
        }
        // 32 visible ASCII characters always form a valid EventID.
        return try! EventID("H" + String(SHA256.hash(bytes).hexString.prefix(31)))
    }
}
