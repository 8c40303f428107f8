public import ChaparModels

/// A mailbox: an address with an optional display name (`Bank Melli <alerts@bank.example>`).
public struct Mailbox: Sendable, Hashable, CustomStringConvertible {
    /// Shown by mail clients; any Unicode (encoded per RFC 2047 in headers).
    public var name: String?
    /// `local@domain`, validated and normalised like a customer's email address.
    public var address: String

    public init(name: String? = nil, address: String) {
        self.name = name
        self.address = address
    }

    /// Reads `Name <local@domain>` or a bare `local@domain`; the address is validated by the same
    /// rules as customers' addresses (`docs/customers.md`).
    public init(parsing text: String) throws(InvalidValue) {
        let trimmed = text.trimmingWhitespace
        if trimmed.hasSuffix(">"), let open = trimmed.lastIndex(of: "<") {
            var name = String(trimmed[..<open]).trimmingWhitespace
            if name.count >= 2, name.hasPrefix("\""), name.hasSuffix("\"") { name = String(name.dropFirst().dropLast()) }
            let inner = String(trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)])
            self.init(name: name.isEmpty ? nil : name, address: try ContactAddress(.email, inner).value)
        } else {
            self.init(name: nil, address: try ContactAddress(.email, trimmed).value)
        }
    }

    /// The part after `@`.
    public var domain: String { String(address[address.index(after: address.lastIndex(of: "@") ?? address.startIndex)...]) }

    /// The mailbox as a header value: the name RFC 2047-encoded when it is not plain ASCII, quoted
    /// when it holds specials.
    public var headerValue: String {
        guard let name, !name.isEmpty else { return "<\(address)>" }
        return "\(MailHeader.phrase(name)) <\(address)>"
    }

    public var description: String { headerValue }
}

/// A file attached to a message (the fax PDF that an email-to-fax gateway renders).
public struct MailAttachment: Sendable, Hashable {
    public var filename: String
    /// e.g. `application/pdf`.
    public var contentType: String
    public var bytes: [UInt8]

    public init(filename: String, contentType: String, bytes: [UInt8]) {
        self.filename = filename
        self.contentType = contentType
        self.bytes = bytes
    }
}

/// One email as it goes on the wire: RFC 5322 headers and a MIME body, CRLF line ends.
///
/// - The body is `multipart/alternative` (text, then HTML) when there is HTML, plain `text/plain`
///   otherwise; both parts UTF-8 in base64, so Persian survives every relay. With attachments, that
///   body becomes the first part of a `multipart/mixed`.
/// - Non-ASCII header text (a Persian subject or sender name) is RFC 2047 `=?UTF-8?B?…?=`, folded
///   into lines of at most 78 characters.
/// - `Message-ID` is `<JOBID@domain>` and the boundaries derive from the job id, so every retry of
///   a job produces the same bytes and a receiver (or a human) can recognise a duplicate.
public struct MailMessage: Sendable {
    public var from: Mailbox
    public var to: [Mailbox]
    public var replyTo: Mailbox?
    public var subject: String
    public var text: String
    /// Empty for a text-only message.
    public var html: String
    /// `Date:`; the job's creation time, so retries are byte-identical.
    public var date: Timestamp
    /// Without angle brackets: `0123…cdef@bank.example`.
    public var messageID: String
    /// BCP 47 tag for `Content-Language` (`fa`, `en`), if known.
    public var language: String?
    /// Further header fields, `(name, value)`; values are encoded like the subject if not ASCII.
    public var extraHeaders: [(String, String)]
    public var attachments: [MailAttachment]
    /// A token unique to this message (the job id), from which the MIME boundaries are made.
    public var boundaryToken: String

    public init(from: Mailbox, to: [Mailbox], replyTo: Mailbox? = nil, subject: String, text: String, html: String = "", date: Timestamp,
                messageID: String, language: String? = nil, extraHeaders: [(String, String)] = [], attachments: [MailAttachment] = [],
                boundaryToken: String) {
        self.from = from
        self.to = to
        self.replyTo = replyTo
        self.subject = subject
        self.text = text
        self.html = html
        self.date = date
        self.messageID = messageID
        self.language = language
        self.extraHeaders = extraHeaders
        self.attachments = attachments
        self.boundaryToken = boundaryToken
    }

    /// The message's bytes, ready for SMTP DATA (libcurl adds dot-stuffing and the final `.`).
    public func encoded() -> [UInt8] {
        var out = MailWriter()
        out.header("Date", MailHeader.date(date))
        out.header("From", from.headerValue)
        out.header("To", to.map(\.headerValue).joined(separator: ", "))
        if let replyTo { out.header("Reply-To", replyTo.headerValue) }
        out.header("Subject", MailHeader.unstructured(subject, nameLength: "Subject".count))
        out.header("Message-ID", "<\(messageID)>")
        if let language { out.header("Content-Language", language) }
        for (name, value) in extraHeaders { out.header(name, MailHeader.unstructured(value, nameLength: name.count)) }
        out.header("MIME-Version", "1.0")
        if attachments.isEmpty {
            writeContent(&out)
        } else {
            let mixed = "=_mixed_\(boundaryToken)"
            out.header("Content-Type", "multipart/mixed;\r\n boundary=\"\(mixed)\"")
            out.line("")
            out.line("This is a multi-part message in MIME format.")
            out.line("--\(mixed)")
            writeContent(&out)
            for attachment in attachments {
                out.line("--\(mixed)")
                let name = MailHeader.parameterValue(attachment.filename)
                out.header("Content-Type", "\(attachment.contentType); name=\(name)")
                out.header("Content-Disposition", "attachment; filename=\(name)")
                out.header("Content-Transfer-Encoding", "base64")
                out.line("")
                out.base64(attachment.bytes)
            }
            out.line("--\(mixed)--")
        }
        return out.bytes
    }

    /// The readable part: text alone, or text and HTML as alternatives. Starts with its
    /// Content-Type header and ends after its last line.
    private func writeContent(_ out: inout MailWriter) {
        if html.isEmpty {
            writeTextPart(&out, subtype: "plain", text)
            return
        }
        let alternative = "=_alt_\(boundaryToken)"
        out.header("Content-Type", "multipart/alternative;\r\n boundary=\"\(alternative)\"")
        out.line("")
        out.line("--\(alternative)")
        writeTextPart(&out, subtype: "plain", text)
        out.line("--\(alternative)")
        writeTextPart(&out, subtype: "html", html)
        out.line("--\(alternative)--")
    }

    private func writeTextPart(_ out: inout MailWriter, subtype: String, _ body: String) {
        out.header("Content-Type", "text/\(subtype); charset=utf-8")
        out.header("Content-Transfer-Encoding", "base64")
        out.line("")
        out.base64(Array(MailHeader.crlf(body).utf8))
    }
}

/// Appends header lines, body lines and base64 blocks with CRLF line ends.
struct MailWriter {
    private(set) var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(4096) }

    /// `Name: value`; `value` may already hold folds (`CRLF SP`).
    mutating func header(_ name: String, _ value: String) {
        line("\(name): \(value)")
    }

    mutating func line(_ text: String) {
        bytes.append(contentsOf: text.utf8)
        bytes.append(13)
        bytes.append(10)
    }

    /// Base64 in lines of 76 characters (RFC 2045).
    mutating func base64(_ data: [UInt8]) {
        let encoded = Base64.encode(data)
        var start = 0
        while start < encoded.count {
            let end = min(start + 76, encoded.count)
            bytes.append(contentsOf: encoded[start..<end])
            bytes.append(13)
            bytes.append(10)
            start = end
        }
    }
}

/// Header encodings: RFC 2047 encoded words, folding, RFC 5322 dates.
public enum MailHeader {
    /// A header value of free text: as is when it is short printable ASCII, otherwise RFC 2047
    /// base64 encoded words of UTF-8, each at most 75 characters, folded onto continuation lines.
    /// `nameLength` is the header name's length, so the first line stays within 78 characters.
    public static func unstructured(_ text: String, nameLength: Int) -> String {
        // A line break inside a header would end it: each one becomes a space.
        let clean = text.utf8.contains(where: { $0 == 10 || $0 == 13 })
            ? String(decoding: text.utf8.map { $0 == 10 || $0 == 13 ? 32 : $0 }, as: UTF8.self) : text
        if clean.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) && nameLength + 2 + clean.utf8.count <= 78 { return clean }
        return encodedWords(clean, firstLineRoom: 78 - nameLength - 2)
    }

    /// A display name: as is when it is an ASCII atom sequence, quoted when it holds specials,
    /// encoded words when it is not ASCII.
    public static func phrase(_ name: String) -> String {
        let bytes = Array(name.utf8)
        guard bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else { return encodedWords(name, firstLineRoom: 60) }
        let specials = Set("()<>[]:;@\\,.\"".utf8)
        if !bytes.contains(where: { specials.contains($0) }) { return name }
        return "\"" + name.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"") + "\""
    }

    /// A MIME parameter value (a file name): a quoted string when ASCII, an RFC 2047 word when not
    /// (what mail clients read; RFC 2231 is rarer in practice).
    static func parameterValue(_ value: String) -> String {
        if value.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) { return "\"\(value)\"" }
        return "\"" + encodedWords(value, firstLineRoom: 1000, fold: false) + "\""
    }

    /// `=?UTF-8?B?…?=` words, each at most 75 characters and never splitting a character's UTF-8
    /// bytes across two words (RFC 2047 §5), separated by `CRLF SP` (or a space when not folding).
    static func encodedWords(_ text: String, firstLineRoom: Int, fold: Bool = true) -> String {
        // A word is "=?UTF-8?B?" + base64 + "?=": 12 characters around 4 base64 characters per 3
        // bytes. At most 75 characters a word: 45 bytes; the first word also fits `firstLineRoom`.
        func maxBytes(room: Int) -> Int { max(3, min(75, room) - 12) / 4 * 3 }
        var limit = maxBytes(room: firstLineRoom)
        var words: [String] = []
        var chunk: [UInt8] = []
        for character in text {
            let utf8 = Array(String(character).utf8)
            if !chunk.isEmpty && chunk.count + utf8.count > limit {
                words.append(word(chunk))
                chunk.removeAll(keepingCapacity: true)
                limit = maxBytes(room: 75)
            }
            chunk.append(contentsOf: utf8.prefix(45))   // one grapheme over 45 bytes is cut, never split badly
        }
        if !chunk.isEmpty || words.isEmpty { words.append(word(chunk)) }
        return words.joined(separator: fold ? "\r\n " : " ")
    }

    private static func word(_ bytes: [UInt8]) -> String {
        "=?UTF-8?B?" + String(decoding: Base64.encode(bytes), as: UTF8.self) + "?="
    }

    /// RFC 5322 date in UTC: `Thu, 03 Dec 2026 15:31:18 +0000`.
    public static func date(_ time: Timestamp) -> String {
        let seconds = time.milliseconds >= 0 ? time.milliseconds / 1000 : (time.milliseconds - 999) / 1000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let date = CalendarDate(daysSinceEpoch: Int(days))
        let weekday = Int((days % 7 + 11) % 7)   // 1970-01-01 was a Thursday
        let names = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: some BinaryInteger) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(names[weekday]), \(two(date.day)) \(months[date.month - 1]) \(date.year) \(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)) +0000"
    }

    /// Text with every line ending as CRLF (templates may use LF).
    static func crlf(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 64)
        var previous: UInt8 = 0
        for byte in text.utf8 {
            switch byte {
            case 13:
                out.append(13)
                out.append(10)
            case 10 where previous == 13:
                break   // the CR already ended this line
            case 10:
                out.append(13)
                out.append(10)
            default:
                out.append(byte)
            }
            previous = byte
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Standard base64 (RFC 4648) with padding.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ data: [UInt8]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity((data.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= data.count {
            let n = UInt32(data[i]) << 16 | UInt32(data[i + 1]) << 8 | UInt32(data[i + 2])
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(alphabet[Int(n >> 6 & 63)])
            out.append(alphabet[Int(n & 63)])
            i += 3
        }
        let rest = data.count - i
        if rest > 0 {
            let n = UInt32(data[i]) << 16 | (rest == 2 ? UInt32(data[i + 1]) << 8 : 0)
            out.append(alphabet[Int(n >> 18 & 63)])
            out.append(alphabet[Int(n >> 12 & 63)])
            out.append(rest == 2 ? alphabet[Int(n >> 6 & 63)] : UInt8(ascii: "="))
            out.append(UInt8(ascii: "="))
        }
        return out
    }
}

extension String {
    var trimmingWhitespace: String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
