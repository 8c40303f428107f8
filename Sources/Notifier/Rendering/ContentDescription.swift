public import ChaparModels

/// A human-readable, multi-line rendering of content, for `chapar notify preview`.
///
/// ```
/// SMS · ucs2 · 2 segment(s) · 98 characters
/// بانک چاپار …
/// ```
public func describe(_ content: RenderedContent) -> String {
    switch content {
    case .sms(let text, let encoding, let segments):
        let units = SMSEncoding(measuring: text).units
        return "SMS · \(encoding) · \(segments) segment(s) · \(units) \(encoding == "gsm7" ? "septets" : "UTF-16 units")\n\(text)"
    case .email(let subject, let text, let html):
        return "Email\nSubject: \(subject)\n--- text ---\n\(text)\n--- html ---\n\(html)"
    case .fax(let title, let lines):
        return "Fax · \(lines.count) line(s)\nTitle: \(title)\n" + lines.map { "  " + $0 }.joined(separator: "\n")
    case .im(let text, let format):
        return "IM · \(format)\n\(text)"
    }
}
