/// Turns the raw bytes of one line into UTF-8, per ``ParserOptions/Encoding``.
///
/// UTF-8 input is validated, not copied; ISO-8859-1 and Windows-1256 are transcoded into a
/// reusable scratch buffer. Every delimiter our text formats use (`,` `"` `{` `:` LF) is ASCII
/// and ASCII is the same in all three encodings, so transcoding line by line is exact.
struct TextTranscoder {
    let encoding: ParserOptions.Encoding
    private var scratch: [UInt8] = []

    init(_ encoding: ParserOptions.Encoding) {
        self.encoding = encoding
        scratch.reserveCapacity(4096)
    }

    /// Which `--encoding` a line that is not UTF-8 most likely needs. Persian and Arabic words in
    /// Windows-1256 are runs of bytes ≥ 0x80 (every letter is one), while ISO-8859-1 text has an
    /// accented letter here and there between ASCII ones (`Café`, `Müller`): a run of three or
    /// more such bytes points to Windows-1256.
    static func encodingHint(_ line: UnsafeBufferPointer<UInt8>) -> String {
        var longest = 0, run = 0
        for b in line {
            run = b >= 0x80 ? run + 1 : 0
            longest = max(longest, run)
        }
        return longest >= 3
            ? "it looks like Windows-1256 (Arabic-script words): pass --encoding windows-1256 (or --encoding iso-8859-1 if it is Latin text)"
            : "it looks like ISO-8859-1 (accented Latin letters): pass --encoding iso-8859-1 (or --encoding windows-1256 for Persian or Arabic text)"
    }

    /// Calls `body` with the line as UTF-8, or returns the reason the bytes are not valid text
    /// in the declared encoding.
    mutating func withUTF8<R>(_ line: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) throws(IngestError) -> R) throws(IngestError) -> Result<R, TextError> {
        switch encoding {
        case .utf8:
            if let bad = TextTranscoder.firstInvalidUTF8(line) {
                return .failure(TextError(column: bad + 1, message: "invalid UTF-8 at byte \(bad + 1) of the line (0x\(hex(line[bad]))); \(TextTranscoder.encodingHint(line))"))
            }
            return .success(try body(line))
        case .latin1:
            scratch.removeAll(keepingCapacity: true)
            for b in line {
                if b < 0x80 {
                    scratch.append(b)
                } else {
                    scratch.append(0xC0 | (b >> 6))
                    scratch.append(0x80 | (b & 0x3F))
                }
            }
            return .success(try scratch.withUnsafeBufferPointer { (p) throws(IngestError) -> R in try body(p) })
        case .windows1256:
            scratch.removeAll(keepingCapacity: true)
            for b in line {
                if b < 0x80 {
                    scratch.append(b)
                } else {
                    TextTranscoder.appendUTF8(Windows1256.high[Int(b - 0x80)], to: &scratch)
                }
            }
            return .success(try scratch.withUnsafeBufferPointer { (p) throws(IngestError) -> R in try body(p) })
        }
    }

    /// The index of the first byte that does not belong to a well-formed UTF-8 sequence
    /// (overlongs, surrogates and code points above U+10FFFF are rejected), or nil.
    static func firstInvalidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        var i = 0
        let n = bytes.count
        while i < n {
            // Fast path: eight ASCII bytes at a time.
            while i + 8 <= n {
                let word = UnsafeRawPointer(bytes.baseAddress! + i).loadUnaligned(as: UInt64.self)
                if word & 0x8080_8080_8080_8080 != 0 { break }
                i += 8
            }
            if i >= n { break }
            let b0 = bytes[i]
            if b0 < 0x80 { i += 1; continue }
            let need: Int
            var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
            switch b0 {
            case 0xC2...0xDF: need = 1
            case 0xE0: need = 2; lo = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: need = 2
            case 0xED: need = 2; hi = 0x9F
            case 0xF0: need = 3; lo = 0x90
            case 0xF1...0xF3: need = 3
            case 0xF4: need = 3; hi = 0x8F
            default: return i
            }
            if i + need >= n { return i }  // truncated sequence
            let b1 = bytes[i + 1]
            if b1 < lo || b1 > hi { return i }
            var k = 2
            while k <= need {
                let b = bytes[i + k]
                if b < 0x80 || b > 0xBF { return i }
                k += 1
            }
            i += need + 1
        }
        return nil
    }

    static func appendUTF8(_ scalar: UInt16, to out: inout [UInt8]) {
        let v = UInt32(scalar)
        if v < 0x80 {
            out.append(UInt8(v))
        } else if v < 0x800 {
            out.append(UInt8(0xC0 | (v >> 6)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        } else {
            out.append(UInt8(0xE0 | (v >> 12)))
            out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        }
    }

    private func hex(_ b: UInt8) -> String {
        let d = Array("0123456789ABCDEF".utf8)
        return String(decoding: [d[Int(b >> 4)], d[Int(b & 0xF)]], as: UTF8.self)
    }
}

/// A line whose bytes are not text in the declared encoding.
struct TextError: Error {
    /// 1-based byte position in the line.
    var column: Int
    var message: String
}

/// The Windows-1256 (Arabic) code page: bytes 0x80–0xFF to Unicode, written from the published
/// mapping (Unicode's `bestfit1256.txt` / WHATWG `index-windows-1256`); all 128 positions are defined.
enum Windows1256 {
    static let high: [UInt16] = [
        // 0x80
        0x20AC, 0x067E, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0679, 0x2039, 0x0152, 0x0686, 0x0698, 0x0688,
        // 0x90
        0x06AF, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x06A9, 0x2122, 0x0691, 0x203A, 0x0153, 0x200C, 0x200D, 0x06BA,
        // 0xA0
        0x00A0, 0x060C, 0x00A2, 0x00A3, 0x00A4, 0x00A5, 0x00A6, 0x00A7, 0x00A8, 0x00A9, 0x06BE, 0x00AB, 0x00AC, 0x00AD, 0x00AE, 0x00AF,
        // 0xB0
        0x00B0, 0x00B1, 0x00B2, 0x00B3, 0x00B4, 0x00B5, 0x00B6, 0x00B7, 0x00B8, 0x00B9, 0x061B, 0x00BB, 0x00BC, 0x00BD, 0x00BE, 0x061F,
        // 0xC0
        0x06C1, 0x0621, 0x0622, 0x0623, 0x0624, 0x0625, 0x0626, 0x0627, 0x0628, 0x0629, 0x062A, 0x062B, 0x062C, 0x062D, 0x062E, 0x062F,
        // 0xD0
        0x0630, 0x0631, 0x0632, 0x0633, 0x0634, 0x0635, 0x0636, 0x00D7, 0x0637, 0x0638, 0x0639, 0x063A, 0x0640, 0x0641, 0x0642, 0x0643,
        // 0xE0
        0x00E0, 0x0644, 0x00E2, 0x0645, 0x0646, 0x0647, 0x0648, 0x00E7, 0x00E8, 0x00E9, 0x00EA, 0x00EB, 0x0649, 0x064A, 0x00EE, 0x00EF,
        // 0xF0
        0x064B, 0x064C, 0x064D, 0x064E, 0x00F4, 0x064F, 0x0650, 0x00F7, 0x0651, 0x00F9, 0x0652, 0x00FB, 0x00FC, 0x200E, 0x200F, 0x06D2,
    ]
}
