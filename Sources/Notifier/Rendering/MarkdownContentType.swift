import Mustache

/// Escapes variables in IM templates, whose `format` is `markdown`.
///
/// Every ASCII punctuation character that Markdown (CommonMark) or Telegram's MarkdownV2 treats as
/// markup is backslash-escaped, so a description such as `*50% off*` arrives as text, not as bold.
/// Both dialects accept a backslash before any ASCII punctuation, so the output is valid in both.
struct MarkdownContentType: MustacheContentType {
    static let name = "CHAPAR_MARKDOWN"

    private static let special: Set<UInt8> = Set("\\`*_[]()~>#+-=|{}.!<".utf8)

    func escapeText(_ text: String) -> String { Self.escape(text) }

    static func escape(_ text: String) -> String {
        guard text.utf8.contains(where: { special.contains($0) }) else { return text }
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 8)
        for b in text.utf8 {
            if special.contains(b) { out.append(0x5C) }
            out.append(b)
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static let registration: Void = {
        MustacheContentTypes.register(MarkdownContentType(), named: MarkdownContentType.name)
    }()

    /// Makes `{{% CONTENT_TYPE: CHAPAR_MARKDOWN}}` known to swift-mustache (once per process).
    static func registerOnce() { _ = registration }
}
