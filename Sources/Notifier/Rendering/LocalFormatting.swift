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
        guard language == .fa else { return text }
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            if s.value >= 0x30 && s.value <= 0x39 {
                out.append(Unicode.Scalar(0x06F0 + s.value - 0x30)!)  // always a valid scalar
            } else {
                out.append(s)
            }
        }
        return String(out)
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
        var ascii: [UInt8] = []
        ascii.reserveCapacity(26)
        var v = value
        var count = 0
        repeat {
            if count > 0 && count % 3 == 0 { ascii.append(0x2C) }
            ascii.append(UInt8(v % 10) + 0x30)
            v /= 10
            count += 1
        } while v > 0
        ascii.reverse()
        guard language == .fa else { return String(decoding: ascii, as: UTF8.self) }
        var out = String.UnicodeScalarView()
        for b in ascii {
            out.append(b == 0x2C ? "\u{066C}" : Unicode.Scalar(0x06F0 + UInt32(b - 0x30))!)  // digits only
        }
        return String(out)
    }

    /// The currency's display name: `ریال`, `یورو`… in `fa`; the ISO code in `en` (and in `fa`
    /// for currencies without a Persian name, isolated so it stays readable).
    public static func currencyName(_ currency: CurrencyCode, _ language: Language) -> String {
        if language == .fa, let name = persianCurrencyNames[currency.rawValue] { return name }
        return isolated(currency.rawValue, language)
    }

    private static let persianCurrencyNames: [String: String] = [
        "IRR": "ریال", "EUR": "یورو", "USD": "دلار", "GBP": "پوند", "AED": "درهم", "TRY": "لیر",
        "CNY": "یوان", "JPY": "ین", "CHF": "فرانک", "IQD": "دینار عراق", "CAD": "دلار کانادا",
    ]

    /// The number part of an amount: IRR in whole rials (its ISO minor unit is never used in practice;
    /// a non-zero fraction is still shown), other currencies with all their minor-unit digits.
    public static func amountNumber(_ money: Money, _ language: Language) -> String {
        let digitsAfterPoint = money.currency.minorUnitDigits
        var scale: UInt64 = 1
        for _ in 0..<digitsAfterPoint { scale *= 10 }
        let magnitude = money.minorUnits.magnitude
        let whole = magnitude / scale, fraction = magnitude % scale
        var text = (money.minorUnits < 0 ? "-" : "") + grouped(whole, language)
        if digitsAfterPoint > 0 && !(money.currency.rawValue == "IRR" && fraction == 0) {
            let f = String(fraction)
            let padded = String(repeating: "0", count: digitsAfterPoint - f.count) + f
            text += (language == .fa ? "\u{066B}" : ".") + digits(padded, language)
        }
        return text
    }

    /// `۱۲٬۵۰۰٬۰۰۰ ریال`, `۱۲٫۵۰ یورو` (fa); `12,500,000 IRR`, `12.50 EUR` (en): the number, a
    /// space, the currency.
    public static func money(_ money: Money, _ language: Language) -> String {
        amountNumber(money, language) + " " + currencyName(money.currency, language)
    }

    private static let englishMonths = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    private static func two(_ v: Int) -> String { v < 10 ? "0" + String(v) : String(v) }

    /// The long date of a local day: `۱ فروردین ۱۴۰۵` (Jalali, fa) or `21 Mar 2026` (en).
    public static func date(daysSinceEpoch days: Int, _ language: Language) -> String {
        switch language {
        case .fa:
            let j = JalaliDate(daysSinceEpoch: days)
            return digits(String(j.day), .fa) + " " + JalaliDate.persianMonthNames[j.month - 1] + " " + digits(String(j.year), .fa)
        case .en:
            let g = JalaliDate.civil(fromDays: days)
            return String(g.day) + " " + englishMonths[g.month - 1] + " " + String(g.year)
        }
    }

    /// The numeric date of a local day: `۱۴۰۵/۰۱/۰۱` (Jalali, fa) or `2026-03-21` (en).
    public static func numericDate(daysSinceEpoch days: Int, _ language: Language) -> String {
        switch language {
        case .fa:
            let j = JalaliDate(daysSinceEpoch: days)
            return digits(String(j.year) + "/" + two(j.month) + "/" + two(j.day), .fa)
        case .en:
            let g = JalaliDate.civil(fromDays: days)
            return String(g.year) + "-" + two(g.month) + "-" + two(g.day)
        }
    }

    /// `۱۴:۰۵` (fa) or `14:05` (en), 24-hour clock.
    public static func time(minuteOfDay: Int, _ language: Language) -> String {
        digits(two(minuteOfDay / 60) + ":" + two(minuteOfDay % 60), language)
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
