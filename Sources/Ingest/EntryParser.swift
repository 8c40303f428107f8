public import ChaparModels

/// One entry read from a bank file: an event, or the located reason it was rejected.
public enum ParsedEntry: Sendable {
    case event(Event)
    case rejected(EntryError)
}

/// Why one entry of a file was rejected, and where: `FILE:LINE: what is wrong` (XML adds the element path).
public struct EntryError: Error, Hashable, Sendable, CustomStringConvertible {
    public var location: EntryLocation
    /// What is wrong, phrased so the operator can fix the file.
    public var message: String

    public init(_ location: EntryLocation, _ message: String) {
        self.location = location
        self.message = message
    }

    public var description: String { "\(location): \(message)" }
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
        /// Reading the input or writing the log or the dedupe index failed.
        case storage
        /// A usage error: conflicting options, unknown format name.
        case usage
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
