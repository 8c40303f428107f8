/// A validated delivery address for one channel, stored in normal form.
///
/// - sms: E.164 (`+989121234567`); Iranian numbers (`+98…`) must be mobiles (`+989` and 9 more digits);
/// - email: `local@domain` (dot-atom local part, lower-cased host name with a real top-level domain);
/// - fax: E.164; Iranian fax numbers are landlines (`+98`, a 2-digit area code, 8 digits);
/// - im: `telegram:<chat id>` (a non-zero 64-bit integer, negative for groups), `matrix:@user:server`
///   or `webhook:<name>` (a webhook configured under that name).
///
/// Input is forgiving where a human typing it would be: spaces, dashes, dots and parentheses in
/// numbers, Persian (۰–۹) and Arabic-Indic (٠–٩) digits, `00` instead of `+`, the Iranian national form
/// `09121234567` and a trunk zero after the country code (`+98 0912…`). Everything else is rejected with
/// a reason and an example. The full rules are documented in `docs/customers.md`.
public struct ContactAddress: Hashable, Sendable, Codable, CustomStringConvertible {
    public let channel: Channel
    /// The normalized address.
    public let value: String

    /// Validates and normalizes `text` for `channel`.
    public init(_ channel: Channel, _ text: String) throws(InvalidValue) {
        self.channel = channel
        self.value = try ContactAddress.normalize(channel, text)
    }

    /// An address read back from storage that validated it on the way in (the customer store's
    /// read path), so the hot path does not validate every address again.
    package init(stored value: String, channel: Channel) {
        self.channel = channel
        self.value = value
    }

    public var description: String { value }

    /// A form safe for logs and the console: `+98912***4567`, `a***@example.com`, `telegram:***`.
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
        case .sms: return try normalizePhone(trimmed, original: text, field: "phone", fax: false)
        case .fax: return try normalizePhone(trimmed, original: text, field: "fax", fax: true)
        case .email: return try normalizeEmail(trimmed, original: text)
        case .im: return try normalizeIM(trimmed, original: text)
        }
    }

    /// 0–9 for ASCII, Persian (U+06F0…) and Arabic-Indic (U+0660…) digits; nil otherwise.
    static func decimalDigit(_ scalar: Unicode.Scalar) -> Int? {
        switch scalar.value {
        case 0x30...0x39: Int(scalar.value - 0x30)
        case 0x6F0...0x6F9: Int(scalar.value - 0x6F0)
        case 0x660...0x669: Int(scalar.value - 0x660)
        default: nil
        }
    }

    // MARK: phone and fax

    private static func normalizePhone(_ text: String, original: String, field: String, fax: Bool) throws(InvalidValue) -> String {
        let example = fax ? "+982188776655" : "+989121234567"
        func bad(_ why: String) -> InvalidValue {
            InvalidValue(field, "'\(original)' is not a \(fax ? "fax" : "phone") number: \(why); use E.164, e.g. \(example)")
        }
        if text.isEmpty { throw bad("it is empty") }
        var digits: [UInt8] = []
        var plus = false
        var previousWasSeparator = true  // no separator may start the number
        var open = 0
        for (i, scalar) in text.unicodeScalars.enumerated() {
            if let d = decimalDigit(scalar) {
                digits.append(UInt8(0x30 + d))
                previousWasSeparator = false
                continue
            }
            switch scalar {
            case "+":
                guard i == 0 else { throw bad("'+' may only come first") }
                plus = true
            case " ", "-", ".", "\u{00A0}":
                if previousWasSeparator && !digits.isEmpty { throw bad("two separators in a row") }
                previousWasSeparator = true
            case "(":
                open += 1
                guard open == 1 else { throw bad("nested parentheses") }
            case ")":
                open -= 1
                guard open == 0 else { throw bad("unbalanced parentheses") }
            default:
                throw bad("only digits, a leading '+', spaces, dashes, dots and parentheses are allowed")
            }
        }
        guard open == 0 else { throw bad("unbalanced parentheses") }
        if digits.isEmpty { throw bad("there are no digits") }
        if !plus {
            if digits.starts(with: Array("00".utf8)) {
                digits.removeFirst(2)
                plus = true
            } else if digits.first == 0x30 && digits.count == 11 {
                // Iranian national form: 09121234567 (mobile) or 02188776655 (Tehran landline).
                digits = Array("98".utf8) + digits.dropFirst()
                plus = true
            } else {
                throw bad("it has no country code")
            }
        }
        // A trunk zero kept after the Iranian country code (+98 0912 …) is a common slip.
        if digits.starts(with: Array("980".utf8)) && digits.count == 13 { digits.remove(at: 2) }
        guard digits.first != 0x30 else { throw bad("a country code never starts with 0") }
        guard (8...15).contains(digits.count) else { throw bad("E.164 numbers have 8 to 15 digits after '+', this has \(digits.count)") }
        if digits.starts(with: Array("98".utf8)) {
            let national = digits.dropFirst(2)
            let mobile = national.first == 0x39
            guard national.count == 10 else { throw bad("Iranian numbers have 10 digits after +98, this has \(national.count)") }
            if fax && mobile { throw bad("+989… is an Iranian mobile number, which cannot receive faxes") }
            if !fax && !mobile { throw bad("+98 numbers that receive SMS are mobiles starting +989") }
        }
        return "+" + String(decoding: digits, as: UTF8.self)
    }

    // MARK: email

    /// `!#$%&'*+/=?^_`{|}~-`: the dot-atom specials of RFC 5322 besides letters and digits.
    private static func isAtomSpecial(_ b: UInt8) -> Bool {
        switch b {
        case 0x21, 0x23, 0x24, 0x25, 0x26, 0x27, 0x2A, 0x2B, 0x2D, 0x2F, 0x3D, 0x3F, 0x5E, 0x5F, 0x60, 0x7B, 0x7C, 0x7D, 0x7E: true
        default: false
        }
    }

    private static func normalizeEmail(_ text: String, original: String) throws(InvalidValue) -> String {
        func bad(_ why: String) -> InvalidValue {
            InvalidValue("email", "'\(original)' is not an email address: \(why); use name@example.com")
        }
        if text.isEmpty { throw bad("it is empty") }
        // One pass over the bytes (imports validate millions of addresses): find the '@', check the
        // local part, and note whether the domain needs lower-casing.
        var at = -1, ats = 0, length = 0
        var previous: UInt8 = 0x2E
        var upperInDomain = false
        var problem: String?
        for b in text.utf8 {
            defer { length += 1 }
            if b >= 0x80 { problem = problem ?? "only ASCII is supported (write an international domain in its xn-- form)"; continue }
            if b == 0x40 {
                ats += 1
                if at < 0 { at = length }
                continue
            }
            if at >= 0 {
                if b >= 0x41 && b <= 0x5A { upperInDomain = true }
                continue
            }
            if b == 0x2E {
                if previous == 0x2E { problem = problem ?? "a dot may not start the name or follow another dot" }
            } else if !(IdentifierRules.isAlphanumeric(b) || isAtomSpecial(b)) {
                problem = problem ?? "'\(Character(Unicode.Scalar(b)))' is not allowed before '@'"
            }
            previous = b
        }
        if let problem, problem.hasPrefix("only ASCII") { throw bad(problem) }
        guard ats == 1 else { throw bad(ats == 0 ? "there is no '@'" : "there is more than one '@'") }
        guard at > 0 else { throw bad("nothing before '@'") }
        guard at <= 64 else { throw bad("the part before '@' is longer than 64 characters") }
        guard length <= 254 else { throw bad("it is longer than 254 characters") }
        if let problem { throw bad(problem) }
        guard previous != 0x2E else { throw bad("the name may not end with a dot") }
        let atIndex = text.utf8.index(text.utf8.startIndex, offsetBy: at)
        let domain = text[text.utf8.index(after: atIndex)...]
        let host = upperInDomain ? domain.lowercased() : String(domain)
        if let why = hostNameProblem(host, requireTLD: true) { throw bad(why) }
        return upperInDomain ? String(text[..<atIndex]) + "@" + host : text
    }

    /// DNS host name rules: labels of 1–63 letters, digits and hyphens, no hyphen at either end,
    /// at most 253 characters; with `requireTLD` at least two labels and an alphabetic (or `xn--`) top level.
    private static func hostNameProblem(_ host: String, requireTLD: Bool) -> String? {
        guard !host.isEmpty else { return "the domain is empty" }
        guard host.utf8.count <= 253 else { return "the domain is longer than 253 characters" }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        for label in labels {
            guard !label.isEmpty else { return "the domain has an empty label (a leading, trailing or double dot)" }
            guard label.utf8.count <= 63 else { return "a domain label is longer than 63 characters" }
            guard label.utf8.allSatisfy({ IdentifierRules.isAlphanumeric($0) || $0 == 0x2D }) else {
                return "the domain may contain only letters, digits, hyphens and dots"
            }
            guard label.first != "-", label.last != "-" else { return "a domain label may not start or end with a hyphen" }
        }
        if requireTLD {
            guard labels.count >= 2 else { return "the domain needs a dot, e.g. example.com" }
            let tld = labels[labels.count - 1]
            guard tld.hasPrefix("xn--") || (tld.utf8.count >= 2 && tld.utf8.allSatisfy({ $0 >= 0x61 && $0 <= 0x7A })) else {
                return "'\(tld)' is not a top-level domain"
            }
        }
        return nil
    }

    // MARK: instant messaging

    private static func normalizeIM(_ text: String, original: String) throws(InvalidValue) -> String {
        let usage = "use telegram:<chat id>, matrix:@user:server or webhook:<name>"
        func bad(_ why: String) -> InvalidValue { InvalidValue("im", "'\(original)' is not an IM address: \(why); \(usage)") }
        guard let colon = text.firstIndex(of: ":") else { throw bad("it has no 'kind:' prefix") }
        let kind = text[..<colon].lowercased()
        let rest = text[text.index(after: colon)...]
        switch kind {
        case "telegram":
            var digits = ""
            var negative = false
            for (i, scalar) in rest.unicodeScalars.enumerated() {
                if i == 0 && scalar == "-" { negative = true; continue }
                guard let d = decimalDigit(scalar) else { throw bad("a Telegram chat id is a number such as 123456789 or -1001234567890") }
                digits.append(Character(String(d)))
            }
            guard !digits.isEmpty else { throw bad("the Telegram chat id is empty") }
            guard digits.first != "0" else { throw bad("a Telegram chat id has no leading zeros and is never 0") }
            guard let id = Int64((negative ? "-" : "") + digits) else { throw bad("the Telegram chat id does not fit in 64 bits") }
            return "telegram:" + String(id)
        case "matrix":
            // @localpart:server, localpart per the Matrix spec (lower-case), server = host[:port].
            guard rest.hasPrefix("@") else { throw bad("a Matrix user id starts with '@', e.g. matrix:@ali:example.org") }
            let body = rest.dropFirst()
            guard let sep = body.firstIndex(of: ":") else { throw bad("a Matrix user id needs a server, e.g. @ali:example.org") }
            let localpart = body[..<sep], server = body[body.index(after: sep)...]
            guard !localpart.isEmpty else { throw bad("the Matrix user name is empty") }
            guard localpart.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || "._=-/+".utf8.contains($0) }) else {
                throw bad("a Matrix user name may contain only a-z, 0-9 and . _ = - / +")
            }
            guard rest.utf8.count <= 255 else { throw bad("a Matrix user id is at most 255 characters") }
            var host = Substring(server.lowercased())
            if let portColon = host.lastIndex(of: ":") {
                let port = host[host.index(after: portColon)...]
                guard let p = Int(port), (1...65535).contains(p), port.first != "0" else { throw bad("'\(port)' is not a port number") }
                host = host[..<portColon]
            }
            if let why = hostNameProblem(String(host), requireTLD: false) { throw bad("server: " + why) }
            return "matrix:@" + localpart + ":" + server.lowercased()
        case "webhook":
            guard !rest.isEmpty else { throw bad("the webhook name is empty") }
            guard rest.utf8.count <= 64 else { throw bad("a webhook name is at most 64 characters") }
            guard IdentifierRules.isAlphanumeric(rest.utf8.first!),  // non-empty: checked above
                  rest.utf8.allSatisfy({ IdentifierRules.isAlphanumeric($0) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D }) else {
                throw bad("a webhook name starts with a letter or digit and contains only letters, digits, '.', '_' and '-'")
            }
            return "webhook:" + rest
        default:
            throw bad("'\(text[..<colon])' is not a supported IM kind")
        }
    }
}

extension String {
    var trimmingSpaces: String {
        // Fast path: most values have no surrounding white space; checking the two ends is cheap.
        guard let f = unicodeScalars.first, let l = unicodeScalars.last else { return self }
        if !f.properties.isWhitespace && !l.properties.isWhitespace { return self }
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
