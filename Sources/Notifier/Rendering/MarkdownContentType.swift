import Mustache

/// Escapes variables in IM templates, whose `format` is `markdown`.
///
/// Every ASCII punctuation character that Markdown (CommonMark) or Telegram's MarkdownV2 treats as
/// markup is backslash-escaped, so a description such as `*50% off*` arrives as text, not as bold.
/// Both dialects accept a backslash before any ASCII punctuation, so the output is valid in both.
struct MarkdownContentType: MustacheContentType {
    static let name = "CHAPAR_MARKDOWN"

    /// The special characters as a bit mask over ASCII (two words: 0-63 and 64-127).
    private static let special: (low: UInt64, high: UInt64) = {
        var mask: (low: UInt64, high: UInt64) = (0, 0)
        for b in "\\`*_[]()~>#+-=|{}.!<".utf8 {
            if b < 64 { mask.low |= 1 << UInt64(b) } else { mask.high |= 1 << UInt64(b - 64) }
        }
        return mask
    }()

    static func isSpecial(_ b: UInt8) -> Bool { isSpecial(b, special) }

    @inline(__always)
    private static func isSpecial(_ b: UInt8, _ mask: (low: UInt64, high: UInt64)) -> Bool {
        b < 64 ? mask.low & (1 << UInt64(b)) != 0 : (b < 128 && mask.high & (1 << UInt64(b - 64)) != 0)
    }

    func escapeText(_ text: String) -> String { Self.escape(text) }

    static func escape(_ text: String) -> String {
        guard text.utf8.contains(where: isSpecial) else { return text }
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 8)
        append(text, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends `text` escaped to `out` (the renderer's byte buffer).
    static func append(_ text: String, to out: inout [UInt8]) {
        let mask = special
        for b in text.utf8 {
            if isSpecial(b, mask) { out.append(0x5C) }
            out.append(b)
        }
    }

    private static let registration: Void = {
        MustacheContentTypes.register(MarkdownContentType(), named: MarkdownContentType.name)
    }()

    /// Makes `{{% CONTENT_TYPE: CHAPAR_MARKDOWN}}` known to swift-mustache (once per process).
    static func registerOnce() { _ = registration }
}
