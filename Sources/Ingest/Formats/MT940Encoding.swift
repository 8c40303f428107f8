/// Turns the bytes of a bank file's line into text in the encoding the operator named
/// (ParserOptions/Encoding): UTF-8 (validated), ISO-8859-1, or Windows-1256, the Arabic/Persian
/// code page some Iranian core systems still write.
enum MT940TextDecoder {
    /// Why a line could not be decoded.
    struct Failure: Error {
        /// 0-based offset of the first bad byte in the line.
        var offset: Int
    }

    /// Decodes `bytes`; UTF-8 that is not well-formed fails with the offset of the first bad byte.
    static func decode(_ bytes: ArraySlice<UInt8>, as encoding: ParserOptions.Encoding) throws(Failure) -> String {
        switch encoding {
        case .utf8:
            if let s = String(validating: bytes, as: UTF8.self) { return s }
            throw Failure(offset: firstInvalidUTF8(bytes))
        case .latin1:
            if bytes.allSatisfy({ $0 < 0x80 }) { return String(decoding: bytes, as: UTF8.self) }
            var scalars = String.UnicodeScalarView()
            for b in bytes { scalars.append(Unicode.Scalar(b)) }
            return String(scalars)
        case .windows1256:
            if bytes.allSatisfy({ $0 < 0x80 }) { return String(decoding: bytes, as: UTF8.self) }
            var scalars = String.UnicodeScalarView()
            for b in bytes {
                let v: UInt32 = b < 0x80 ? UInt32(b) : UInt32(windows1256High[Int(b - 0x80)])
                scalars.append(Unicode.Scalar(v)!)  // every table entry is a valid BMP scalar
            }
            return String(scalars)
        }
    }

    /// Offset of the first byte that breaks UTF-8 well-formedness (or of a truncated sequence).
    static func firstInvalidUTF8(_ bytes: ArraySlice<UInt8>) -> Int {
        var it = bytes.makeIterator()
        var decoder = UTF8()
        var offset = 0
        var lastGood = 0
        loop: while true {
            switch decoder.decode(&it) {
            case .scalarValue(let s):
                offset += UTF8.width(s)
                lastGood = offset
            case .emptyInput: break loop
            case .error: return lastGood
            }
        }
        return lastGood
    }

    /// Windows-1256 bytes 0x80...0xFF as Unicode code points (the WHATWG / Microsoft mapping, in
    /// which every byte is assigned).
    static let windows1256High: [UInt16] = [
        0x20AC, 0x067E, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
        0x02C6, 0x2030, 0x0679, 0x2039, 0x0152, 0x0686, 0x0698, 0x0688,
        0x06AF, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
        0x06A9, 0x2122, 0x0691, 0x203A, 0x0153, 0x200C, 0x200D, 0x06BA,
        0x00A0, 0x060C, 0x00A2, 0x00A3, 0x00A4, 0x00A5, 0x00A6, 0x00A7,
        0x00A8, 0x00A9, 0x06BE, 0x00AB, 0x00AC, 0x00AD, 0x00AE, 0x00AF,
        0x00B0, 0x00B1, 0x00B2, 0x00B3, 0x00B4, 0x00B5, 0x00B6, 0x00B7,
        0x00B8, 0x00B9, 0x061B, 0x00BB, 0x00BC, 0x00BD, 0x00BE, 0x061F,
        0x06C1, 0x0621, 0x0622, 0x0623, 0x0624, 0x0625, 0x0626, 0x0627,
        0x0628, 0x0629, 0x062A, 0x062B, 0x062C, 0x062D, 0x062E, 0x062F,
        0x0630, 0x0631, 0x0632, 0x0633, 0x0634, 0x0635, 0x0636, 0x00D7,
        0x0637, 0x0638, 0x0639, 0x063A, 0x0640, 0x0641, 0x0642, 0x0643,
        0x00E0, 0x0644, 0x00E2, 0x0645, 0x0646, 0x0647, 0x0648, 0x00E7,
        0x00E8, 0x00E9, 0x00EA, 0x00EB, 0x0649, 0x064A, 0x00EE, 0x00EF,
        0x064B, 0x064C, 0x064D, 0x064E, 0x00F4, 0x064F, 0x0650, 0x00F7,
        0x0651, 0x00F9, 0x0652, 0x00FB, 0x00FC, 0x200E, 0x200F, 0x06D2,
    ]
}
