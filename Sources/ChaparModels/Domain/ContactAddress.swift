/// A validated delivery address for one channel, stored in normal form.
///
/// - sms: E.164 (`+989121234567`);
/// - email: `local@domain`;
/// - fax: E.164;
/// - im: `telegram:<chat id>`, `matrix:@user:server` or `webhook:<name>`.
///
/// Validation rules are documented in `docs/customers.md`.
public struct ContactAddress: Hashable, Sendable, Codable, CustomStringConvertible {
    public let channel: Channel
    /// The normalized address.
    public let value: String

    /// Validates and normalizes `text` for `channel`.
    public init(_ channel: Channel, _ text: String) throws(InvalidValue) {
        self.channel = channel
        self.value = try ContactAddress.normalize(channel, text)
    }

    public var description: String { value }

    /// A form safe for logs and the console: `+98912***4567`, `a***@example.com`.
    public var masked: String {
        switch channel {
        case .sms, .fax:
            guard value.count > 7 else { return "***" }
            return String(value.prefix(6)) + "***" + String(value.suffix(4))
        case .email:
            guard let at = value.firstIndex(of: "@") else { return "***" }
            return String(value.prefix(1)) + "***" + String(value[at...])
        case .im:
            guard let colon = value.firstIndex(of: ":") else { return "***" }
            return String(value[...colon]) + "***"
        }
    }

    static func normalize(_ channel: Channel, _ text: String) throws(InvalidValue) -> String {
        let trimmed = text.trimmingSpaces
        switch channel {
        case .sms, .fax:
            var digits = ""
            var plus = false
            for (i, ch) in trimmed.enumerated() {
                if ch == "+" && i == 0 { plus = true; continue }
                if ch == " " || ch == "-" || ch == "(" || ch == ")" { continue }
                guard let d = ch.wholeNumberValue, d >= 0, d <= 9 else {
                    throw InvalidValue(channel == .sms ? "phone" : "fax", "'\(text)' is not a phone number; use E.164, e.g. +989121234567")
                }
                digits.append(Character(String(d)))
            }
            if !plus && digits.hasPrefix("00") { digits.removeFirst(2); plus = true }
            if !plus && digits.hasPrefix("09") && digits.count == 11 { digits = "98" + digits.dropFirst(); plus = true }
            guard plus, (8...15).contains(digits.count), digits.first != "0" else {
                throw InvalidValue(channel == .sms ? "phone" : "fax", "'\(text)' is not a phone number; use E.164, e.g. +989121234567")
            }
            return "+" + digits
        case .email:
            let parts = trimmed.split(separator: "@", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, parts[0].utf8.count <= 64, parts[1].contains("."),
                  !parts[1].hasPrefix("."), !parts[1].hasSuffix("."), trimmed.utf8.count <= 254,
                  !trimmed.contains(" ") else {
                throw InvalidValue("email", "'\(text)' is not an email address; use name@example.com")
            }
            return String(parts[0]) + "@" + parts[1].lowercased()
        case .im:
            guard trimmed.hasPrefix("telegram:") || trimmed.hasPrefix("matrix:@") || trimmed.hasPrefix("webhook:"),
                  trimmed.split(separator: ":", maxSplits: 1).last.map({ !$0.isEmpty }) == true else {
                throw InvalidValue("im", "'\(text)' is not an IM address; use telegram:<chat id>, matrix:@user:server or webhook:<name>")
            }
            return trimmed
        }
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
