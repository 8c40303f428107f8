#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The formats `chapar ingest --format` accepts.
public enum InputFormat: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Decide by extension, then by the first bytes (``InputFormat/detect(path:)``).
    case auto
    case csv
    case jsonl
    /// ISO 20022 camt.054 (BkToCstmrDbtCdtNtfctn) XML.
    case camt054
    /// SWIFT MT940 / MT942 statements.
    case mt940

    public var description: String { rawValue }

    /// Parses a `--format` value; `json`, `ndjson` mean jsonl, `mt942` means mt940.
    public init(parsing text: String) throws(IngestError) {
        switch text.lowercased() {
        case "auto": self = .auto
        case "csv": self = .csv
        case "jsonl", "json", "ndjson", "jsonlines": self = .jsonl
        case "camt054", "camt.054", "camt": self = .camt054
        case "mt940", "mt942", "mt": self = .mt940
        default: throw IngestError(.usage, "'\(text)' is not a format; use auto, csv, jsonl, camt054 or mt940")
        }
    }

    /// The format of the file at `path`: by extension where it is unambiguous, otherwise by its
    /// first 4 KiB (XML with the camt.054 namespace → camt054; `{1:` or a `:20:` tag → mt940;
    /// `{` → jsonl; anything else → csv). Checks ``checkIsText(path:name:)`` first.
    public static func detect(path: String) throws(IngestError) -> InputFormat {
        let head = try checkIsText(path: path, name: path)
        let lower = path.lowercased()
        if lower.hasSuffix(".csv") { return .csv }
        if lower.hasSuffix(".jsonl") || lower.hasSuffix(".ndjson") { return .jsonl }
        if lower.hasSuffix(".sta") || lower.hasSuffix(".mt940") || lower.hasSuffix(".mt942") || lower.hasSuffix(".940") || lower.hasSuffix(".942") {
            return .mt940
        }
        return try sniff(head, name: path)
    }

    /// One rule for every format, before any parser runs: an empty file (nothing but spaces,
    /// line ends or a BOM) is refused as empty, and a file with NUL bytes in its first 4 KiB is
    /// refused as not text (bank files are text: UTF-8 or a legacy 8-bit encoding). Returns the
    /// first 4 KiB for sniffing.
    @discardableResult
    public static func checkIsText(path: String, name: String) throws(IngestError) -> [UInt8] {
        let head = try readHead(path)
        var bytes = head[...]
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D || $0 == 0x0A }) {
            throw IngestError(.invalidFormat, "\(name):1: the file is empty; nothing was ingested (if the bank had no entries there is nothing to do, otherwise ask for the file again)")
        }
        if let nul = head.firstIndex(of: 0) {
            throw IngestError(.invalidFormat, "\(name) is not a text file (a NUL byte at offset \(nul)); ingest reads CSV, JSON Lines, camt.054 XML and MT940/MT942 text (UTF-8, or --encoding for a legacy one); check that the transfer did not damage it")
        }
        return head
    }

    /// Content sniffing over the first bytes of a file.
    public static func sniff(_ head: [UInt8], name: String) throws(IngestError) -> InputFormat {
        var bytes = head[...]
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        while let b = bytes.first, b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A { bytes = bytes.dropFirst() }
        guard let first = bytes.first else { return .csv }
        let text = String(decoding: bytes, as: UTF8.self)
        if first == 0x3C {  // '<'
            if text.contains("camt.054") { return .camt054 }
            throw IngestError(.invalidFormat, "\(name) is XML but not an ISO 20022 camt.054 notification (no urn:iso:std:iso:20022:tech:xsd:camt.054 namespace in its first 4 KiB); only camt.054 XML can be ingested")
        }
        if text.hasPrefix("{1:") || text.hasPrefix(":20:") || text.contains("\n:20:") || text.contains("\r\n:20:") { return .mt940 }
        if first == 0x7B { return .jsonl }  // '{'
        return .csv
    }

    private static func readHead(_ path: String) throws(IngestError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw IngestError(.notFound, "cannot open \(path): \(String(cString: strerror(errno))); check the path and permissions")
        }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        var filled = 0
        while filled < buffer.count {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw IngestError(.storage, "cannot read \(path): \(String(cString: strerror(errno)))") }
            if n == 0 { break }
            filled += n
        }
        return Array(buffer[0..<filled])
    }

    /// Opens a parser for `path` in this format (``auto`` detects first).

    public func makeParser(path: String, displayName: String, options: ParserOptions) throws(IngestError) -> any EntryParser {
        if self != .auto { try InputFormat.checkIsText(path: path, name: displayName) }
        switch self == .auto ? try InputFormat.detect(path: path) : self {
        case .auto, .csv: return try CSVParser(path: path, displayName: displayName, options: options)
        case .jsonl: return try JSONLinesParser(path: path, displayName: displayName, options: options)
        case .camt054: return try Camt054Parser(path: path, displayName: displayName, options: options)
        case .mt940: return try MT940Parser(path: path, displayName: displayName, options: options)
        }
    }
}
