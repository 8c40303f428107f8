/// How an SMS text will travel: GSM 03.38 7-bit alphabet or UCS-2, and how many parts it takes.
///
/// GSM-7 fits 160 septets in one SMS, 153 per part of a concatenated SMS (the UDH takes 7);
/// characters of the extension table (`€ [ ] { } \ ^ ~ |` and form feed) take two septets and
/// are never split across parts. Any character outside both tables switches the whole text to
/// UCS-2: 70 UTF-16 code units in one SMS, 67 per part, surrogate pairs (emoji) kept together.
public struct SMSEncoding: Hashable, Sendable, CustomStringConvertible {
    /// `gsm7` or `ucs2`, as in ``RenderedContent/sms(text:encoding:segments:)``.
    public let name: String
    /// Septets (GSM-7) or UTF-16 code units (UCS-2) the text occupies.
    public let units: Int
    /// How many SMS parts the gateway will send (1 for an empty text).
    public let segments: Int

    private init(name: String, units: Int, segments: Int) {
        self.name = name
        self.units = units
        self.segments = segments
    }

    /// `gsm7, 97 units, 1 segment(s)`.
    public var description: String { "\(name), \(units) units, \(segments) segment(s)" }

    /// Measures `text` in one pass over its scalars, packing GSM-7 and UCS-2 parts side by side.
    public init(measuring text: String) {
        var m = Measure()
        for scalar in text.unicodeScalars { m.add(scalar.value) }
        self = m.result
    }

    /// The same measure over UTF-8 bytes (the notifier renders into bytes). `utf8` must be valid
    /// UTF-8, as every `String`'s bytes are; a truncated last sequence is ignored rather than read past.
    init(measuringUTF8 utf8: UnsafeBufferPointer<UInt8>) {
        var m = Measure()
        var i = 0
        let n = utf8.count
        while i < n {
            let b = UInt32(utf8[i])
            let v: UInt32
            if b < 0x80 {
                v = b
                i += 1
            } else if b < 0xE0 {
                guard i + 1 < n else { break }
                v = (b & 0x1F) << 6 | UInt32(utf8[i + 1] & 0x3F)
                i += 2
            } else if b < 0xF0 {
                guard i + 2 < n else { break }
                v = (b & 0x0F) << 12 | UInt32(utf8[i + 1] & 0x3F) << 6 | UInt32(utf8[i + 2] & 0x3F)
                i += 3
            } else {
                guard i + 3 < n else { break }
                v = (b & 0x07) << 18 | UInt32(utf8[i + 1] & 0x3F) << 12 | UInt32(utf8[i + 2] & 0x3F) << 6 | UInt32(utf8[i + 3] & 0x3F)
                i += 4
            }
            m.add(v)
        }
        self = m.result
    }

    /// Both packings side by side, one scalar at a time; GSM-7 until a scalar is not in its tables.
    private struct Measure {
        var gsm = Packer(perPart: 153), ucs = Packer(perPart: 67)
        var isGSM = true

        mutating func add(_ v: UInt32) {
            if isGSM {
                let septets = SMSEncoding.septets(v)
                if septets == 0 { isGSM = false } else { gsm.add(septets) }
            }
            ucs.add(v > 0xFFFF ? 2 : 1)
        }

        var result: SMSEncoding {
            isGSM ? SMSEncoding(name: "gsm7", units: gsm.total, segments: gsm.total <= 160 ? 1 : gsm.parts)
                  : SMSEncoding(name: "ucs2", units: ucs.total, segments: ucs.total <= 70 ? 1 : ucs.parts)
        }
    }

    /// Counts concatenated-SMS parts without splitting a character across two.
    private struct Packer {
        let perPart: Int
        var total = 0
        var parts = 1
        var used = 0

        init(perPart: Int) { self.perPart = perPart }

        mutating func add(_ size: Int) {
            total += size
            if used + size > perPart {
                parts += 1
                used = 0
            }
            used += size
        }
    }

    /// Septets for one scalar: 1 basic table, 2 extension table, 0 not in GSM-7.
    static func septets(_ v: UInt32) -> Int {
        if v < 0x80 { return Int(asciiSeptets[Int(v)]) }
        if v == 0x20AC { return 2 }  // €
        return gsmBasicNonASCII.contains(v) ? 1 : 0
    }

    /// Septets per ASCII code: 1 basic, 2 extension table, 0 not representable.
    private static let asciiSeptets: [UInt8] = {
        var table = [UInt8](repeating: 1, count: 128)
        for c in 0..<32 { table[c] = 0 }
        table[0x0A] = 1  // LF
        table[0x0D] = 1  // CR
        table[0x0C] = 2  // form feed (extension)
        table[0x60] = 0  // ` is not in GSM 03.38
        table[0x7F] = 0
        for c in "^{}\\[]~|".utf8 { table[Int(c)] = 2 }
        return table
    }()

    /// Non-ASCII characters of the GSM 03.38 basic table.
    private static let gsmBasicNonASCII: Set<UInt32> = Set("£¥èéùìòÇØøÅåΔΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà".unicodeScalars.map(\.value))
}

/// Shortens an SMS to a number of segments.
enum SMSTruncation {
    /// The longest prefix of `text` that, ended at a word boundary and followed by an ellipsis,
    /// fits in `maxSegments`; the text itself when it already fits. GSM-7 texts get `...` (the
    /// Unicode `…` is not in GSM-7 and would switch the whole message to UCS-2), UCS-2 texts `…`.
    static func truncate(_ text: String, maxSegments: Int) -> (text: String, encoding: SMSEncoding, truncated: Bool) {
        let full = SMSEncoding(measuring: text)
        if full.segments <= maxSegments { return (text, full, false) }
        let ellipsis = full.name == "gsm7" ? "..." : "…"
        let capacity = full.name == "gsm7" ? (maxSegments == 1 ? 160 : 153 * maxSegments)
                                           : (maxSegments == 1 ? 70 : 67 * maxSegments)
        let characters = Array(text)
        // Binary search the longest character prefix whose truncated form fits (the measure is
        // monotonic in the prefix length; a character takes at least one unit, hence the bound).
        var low = 0, high = min(characters.count, capacity)
        while low < high {
            let mid = (low + high + 1) / 2
            if SMSEncoding(measuring: String(characters[0..<mid]) + ellipsis).segments <= maxSegments {
                low = mid
            } else {
                high = mid - 1
            }
        }
        let upper = low
        // Back off to the last whitespace unless that throws away more than a third of the room.
        var cut = upper
        while cut > 0 && !characters[cut - 1].isWhitespace && !characters[cut].isWhitespace { cut -= 1 }
        if cut < upper * 2 / 3 { cut = upper }
        while cut > 0 && characters[cut - 1].isWhitespace { cut -= 1 }
        let shortened = String(characters[0..<cut]) + ellipsis
        return (shortened, SMSEncoding(measuring: shortened), true)
    }
}
