public import ChaparModels

/// Number, money, date and direction formatting for message text, per language.
///
/// Written by hand instead of with Foundation formatters: these run for every notification on the
/// hot path, and Persian output (digits, `٬` grouping, `٫` decimals, Jalali dates) must be exactly
/// what `docs/templates.md` documents whatever the platform's ICU data says.
public enum LocalFormatting {
    /// U+2066 LEFT-TO-RIGHT ISOLATE: starts a Latin run inside Persian text.
    public static let leftToRightIsolate: Character = "\u{2066}"
    /// U+2069 POP DIRECTIONAL ISOLATE: ends it.
    public static let popDirectionalIsolate: Character = "\u{2069}"
    /// U+066C ARABIC THOUSANDS SEPARATOR.
    public static let persianThousandsSeparator: Character = "\u{066C}"
    /// U+066B ARABIC DECIMAL SEPARATOR.
    public static let persianDecimalSeparator: Character = "\u{066B}"

    /// Replaces ASCII digits by Persian ones (۰ U+06F0 … ۹ U+06F9) in `fa`; unchanged in `en`.
    public static func digits(_ text: String, _ language: Language) -> String {
        guard language == .fa, text.utf8.contains(where: { $0 >= 0x30 && $0 <= 0x39 }) else { return text }
        return ByteWriter.build(capacity: text.utf8.count * 2) { w in
            for b in text.utf8 {
                if b >= 0x30 && b <= 0x39 { w.digit(Int(b - 0x30), true) } else { w.byte(b) }
            }
        }
    }

    /// Wraps `text` in a left-to-right isolate (U+2066 … U+2069) for `fa` when it contains Latin
    /// letters or ASCII digits, so `****1234`, IBANs and codes keep their order inside RTL text.
    /// Unchanged in `en` and for text without such characters.
    public static func isolated(_ text: String, _ language: Language) -> String {
        guard language == .fa, text.utf8.contains(where: isLatinAlphanumeric) else {
            return text
        }
        return "\u{2066}" + text + "\u{2069}"
    }

    /// Wraps every run of Latin text (ASCII letters and digits, with the spaces and punctuation
    /// between them) in a left-to-right isolate for `fa`, leaving Persian text as it is: `کافه
    /// ⁦Lamiz 2⁩ تهران`. Unchanged in `en`.
    public static func isolatedLatinRuns(_ text: String, _ language: Language) -> String {
        guard language == .fa, text.utf8.contains(where: isLatinAlphanumeric) else { return text }
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 12)
        var i = 0
        while i < bytes.count {
            // A run starts at a letter or digit, or at punctuation directly before one (`****1234`, `#42`).
            var start = i
            while start < bytes.count && bytes[start] > 0x20 && bytes[start] < 0x7F && !isLatinAlphanumeric(bytes[start]) { start += 1 }
            guard start < bytes.count, isLatinAlphanumeric(bytes[start]) else { out.append(bytes[i]); i += 1; continue }
            var end = start
            var lastAlphanumeric = start
            while end < bytes.count && bytes[end] >= 0x20 && bytes[end] < 0x7F {
                if isLatinAlphanumeric(bytes[end]) { lastAlphanumeric = end }
                end += 1
            }
            out.append(contentsOf: [0xE2, 0x81, 0xA6])  // U+2066
            out.append(contentsOf: bytes[i...lastAlphanumeric])
            out.append(contentsOf: [0xE2, 0x81, 0xA9])  // U+2069
            i = lastAlphanumeric + 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func isLatinAlphanumeric(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
    }

    /// Groups an integer in threes: `12,500,000` (en) or `۱۲٬۵۰۰٬۰۰۰` (fa).
    public static func grouped(_ value: UInt64, _ language: Language) -> String {
        ByteWriter.build(capacity: 64) { w in w.grouped(value, language == .fa) }
    }

    /// The currency's display name: `ریال`, `یورو`… in `fa`; the ISO code in `en` (and in `fa`
    /// for currencies without a Persian name, isolated so it stays readable).
    public static func currencyName(_ currency: CurrencyCode, _ language: Language) -> String {
        if language == .fa, let name = persianCurrencyName(currency.rawValue) { return name }
        return isolated(currency.rawValue, language)
    }

    private static func persianCurrencyName(_ code: String) -> String? {
        switch code {
        case "IRR": "ریال"
        case "EUR": "یورو"
        case "USD": "دلار"
        case "GBP": "پوند"
        case "AED": "درهم"
        case "TRY": "لیر"
        case "CNY": "یوان"
        case "JPY": "ین"
        case "CHF": "فرانک"
        case "IQD": "دینار عراق"
        case "CAD": "دلار کانادا"
        default: nil
        }
    }

    /// The number part of an amount: IRR in whole rials (its ISO minor unit is never used in practice;
    /// a non-zero fraction is still shown), other currencies with all their minor-unit digits.
    public static func amountNumber(_ money: Money, _ language: Language) -> String {
        ByteWriter.build(capacity: 96) { w in w.amount(money, language == .fa) }
    }

    /// `۱۲٬۵۰۰٬۰۰۰ ریال`, `۱۲٫۵۰ یورو` (fa); `12,500,000 IRR`, `12.50 EUR` (en): the number, a
    /// space, the currency.
    public static func money(_ money: Money, _ language: Language) -> String {
        let name = currencyName(money.currency, language)
        return ByteWriter.build(capacity: 97 + name.utf8.count) { w in
            w.amount(money, language == .fa)
            w.byte(0x20)
            w.bytes(name)
        }
    }

    private static let englishMonths = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// The long date of a local day: `۱ فروردین ۱۴۰۵` (Jalali, fa) or `21 Mar 2026` (en).
    /// Days outside ``JalaliDate/supportedDays`` (only a corrupt timestamp gets there) are shown
    /// as an isolated ISO Gregorian date in `fa` rather than stopping the notifier.
    public static func date(daysSinceEpoch days: Int, _ language: Language) -> String {
        if language == .fa && !JalaliDate.supportedDays.contains(days) { return isolated(numericDate(daysSinceEpoch: days, .en), .fa) }
        return ByteWriter.build(capacity: 64) { w in
            switch language {
            case .fa:
                let j = JalaliDate(daysSinceEpoch: days)
                w.number(j.day, true)
                w.byte(0x20)
                w.bytes(JalaliDate.persianMonthNames[j.month - 1])
                w.byte(0x20)
                w.number(j.year, true)
            case .en:
                let g = JalaliDate.civil(fromDays: days)
                w.number(g.day, false)
                w.byte(0x20)
                w.bytes(englishMonths[g.month - 1])
                w.byte(0x20)
                w.number(g.year, false)
            }
        }
    }

    /// The numeric date of a local day: `۱۴۰۵/۰۱/۰۱` (Jalali, fa) or `2026-03-21` (en).
    public static func numericDate(daysSinceEpoch days: Int, _ language: Language) -> String {
        if language == .fa && !JalaliDate.supportedDays.contains(days) { return isolated(numericDate(daysSinceEpoch: days, .en), .fa) }
        return ByteWriter.build(capacity: 64) { w in
            switch language {
            case .fa:
                let j = JalaliDate(daysSinceEpoch: days)
                w.number(j.year, true)
                w.byte(0x2F)
                w.number(j.month, true, width: 2)
                w.byte(0x2F)
                w.number(j.day, true, width: 2)
            case .en:
                let g = JalaliDate.civil(fromDays: days)
                w.number(g.year, false, width: 4)
                w.byte(0x2D)
                w.number(g.month, false, width: 2)
                w.byte(0x2D)
                w.number(g.day, false, width: 2)
            }
        }
    }

    /// `۱۴:۰۵` (fa) or `14:05` (en), 24-hour clock.
    public static func time(minuteOfDay: Int, _ language: Language) -> String {
        ByteWriter.build(capacity: 16) { w in
            w.number(minuteOfDay / 60, language == .fa, width: 2)
            w.byte(0x3A)
            w.number(minuteOfDay % 60, language == .fa, width: 2)
        }
    }

    /// Splits a UTC instant shifted by a zone offset into local day and minute of day.
    public static func localDayAndMinute(_ at: Timestamp, offsetSeconds: Int) -> (day: Int, minute: Int) {
        let localSeconds = Int(at.milliseconds.dividedRoundingDown(by: 1000)) + offsetSeconds
        let day = localSeconds.dividedRoundingDown(by: 86_400)
        return (day, (localSeconds - day * 86_400) / 60)
    }
}

extension BinaryInteger {
    /// Floor division (towards minus infinity), so instants before 1970 land on the right day.
    func dividedRoundingDown(by d: Self) -> Self {
        let q = self / d
        return (self % d != 0 && (self < 0) != (d < 0)) ? q - 1 : q
    }
}

/// Writes UTF-8 straight into a new string's storage: one allocation per formatted value.
struct ByteWriter {
    let base: UnsafeMutableBufferPointer<UInt8>
    var count = 0

    /// Builds a string of at most `capacity` UTF-8 bytes.
    static func build(capacity: Int, _ body: (inout ByteWriter) -> Void) -> String {
        String(unsafeUninitializedCapacity: capacity) { buffer in
            var w = ByteWriter(base: buffer)
            body(&w)
            return w.count
        }
    }

    mutating func byte(_ b: UInt8) {
        precondition(count < base.count, "formatted value longer than its capacity")
        base[count] = b
        count += 1
    }

    mutating func bytes(_ s: String) {
        for b in s.utf8 { byte(b) }
    }

    /// One decimal digit, Persian (U+06F0 + d, UTF-8 `DB B0+d`) or ASCII.
    mutating func digit(_ d: Int, _ persian: Bool) {
        if persian {
            byte(0xDB)
            byte(0xB0 + UInt8(d))
        } else {
            byte(0x30 + UInt8(d))
        }
    }

    /// The decimal digits of `value`, least significant first, zero-padded to `width` (at most 20),
    /// handed to `body` with their count; no heap allocation.
    private static func withDigits(_ value: UInt64, width: Int = 1, _ body: (UnsafeRawBufferPointer, Int) -> Void) {
        var v = value
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[n] = UInt8(v % 10)
                v /= 10
                n += 1
            } while v > 0
            while n < width && n < 20 {
                d[n] = 0
                n += 1
            }
        }
        withUnsafeBytes(of: &digits) { body($0, n) }
    }

    /// A non-negative integer, zero-padded to `width` digits.
    mutating func number(_ value: Int, _ persian: Bool, width: Int = 1) {
        if value < 0 { byte(0x2D) }
        Self.withDigits(UInt64(value.magnitude), width: width) { d, n in
            for i in stride(from: n - 1, through: 0, by: -1) { digit(Int(d[i]), persian) }
        }
    }

    /// Grouped in threes with `,` (en) or `٬` U+066C (fa).
    mutating func grouped(_ value: UInt64, _ persian: Bool) {
        Self.withDigits(value) { d, n in
            for i in stride(from: n - 1, through: 0, by: -1) {
                digit(Int(d[i]), persian)
                if i > 0 && i % 3 == 0 {
                    if persian {
                        byte(0xD9)
                        byte(0xAC)
                    } else {
                        byte(0x2C)
                    }
                }
            }
        }
    }

    /// See ``LocalFormatting/amountNumber(_:_:)``.
    mutating func amount(_ money: Money, _ persian: Bool) {
        let fractionDigits = money.currency.minorUnitDigits
        var scale: UInt64 = 1
        for _ in 0..<fractionDigits { scale *= 10 }
        let magnitude = money.minorUnits.magnitude
        let whole = magnitude / scale, fraction = magnitude % scale
        if money.minorUnits < 0 { byte(0x2D) }
        grouped(whole, persian)
        if fractionDigits > 0 && !(fraction == 0 && money.currency.rawValue == "IRR") {
            if persian {
                byte(0xD9)
                byte(0xAB)
            } else {
                byte(0x2E)
            }
            number(Int(fraction), persian, width: fractionDigits)
        }
    }
}
