import ChaparModels
import Testing
@testable import Notifier

@Suite struct RenderingJalaliCalendar {
    struct Known: Sendable, CustomTestStringConvertible {
        var gregorian: (Int, Int, Int)
        var jalali: (Int, Int, Int)
        var testDescription: String { "\(gregorian) = \(jalali)" }
    }

    static let known: [Known] = [
        Known(gregorian: (2026, 3, 21), jalali: (1405, 1, 1)),
        Known(gregorian: (2025, 3, 21), jalali: (1404, 1, 1)),
        Known(gregorian: (2024, 3, 20), jalali: (1403, 1, 1)),
        Known(gregorian: (1979, 2, 11), jalali: (1357, 11, 22)),
        Known(gregorian: (2026, 3, 20), jalali: (1404, 12, 29)),   // 1404 is a common year
        Known(gregorian: (2025, 3, 20), jalali: (1403, 12, 30)),   // 1403 is a leap year
        Known(gregorian: (2000, 1, 1), jalali: (1378, 10, 11)),
        Known(gregorian: (1989, 6, 4), jalali: (1368, 3, 14)),
        Known(gregorian: (2020, 9, 22), jalali: (1399, 7, 1)),     // 1 Mehr: after six 31-day months
        Known(gregorian: (1970, 1, 1), jalali: (1348, 10, 11)),
    ]

    @Test(arguments: known)
    func knownConversions(_ k: Known) throws {
        let days = try CalendarDate(year: k.gregorian.0, month: k.gregorian.1, day: k.gregorian.2).daysSinceEpoch
        let j = JalaliDate(daysSinceEpoch: days)
        #expect(j.year == k.jalali.0 && j.month == k.jalali.1 && j.day == k.jalali.2, "got \(j)")
        let back = try #require(JalaliDate(year: k.jalali.0, month: k.jalali.1, day: k.jalali.2))
        #expect(back.daysSinceEpoch == days)
    }

    @Test func leapYears() {
        #expect(JalaliDate.isLeap(1403))
        #expect(!JalaliDate.isLeap(1404))
        #expect(JalaliDate.isLeap(1399))
        #expect(JalaliDate.daysIn(month: 12, year: 1403) == 30)
        #expect(JalaliDate.daysIn(month: 12, year: 1404) == 29)
        #expect(JalaliDate(year: 1404, month: 12, day: 30) == nil)
        #expect(JalaliDate(year: 1404, month: 13, day: 1) == nil)
    }

    /// Seeded: every day maps to a valid Jalali date, back to itself, and the next day is the next
    /// Jalali day (so no day is skipped or repeated across month and year ends).
    @Test func roundTripProperty() {
        var seed = UInt64(0x5EED_1405)
        print("RenderingJalaliCalendar.roundTripProperty seed=\(seed)")
        func next() -> UInt64 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return seed >> 33
        }
        let low = JalaliDate.days(fromCivil: 1600, 1, 1), high = JalaliDate.days(fromCivil: 2400, 12, 31)
        for _ in 0..<20_000 {
            let day = low + Int(next() % UInt64(high - low))
            let j = JalaliDate(daysSinceEpoch: day)
            #expect((1...12).contains(j.month) && j.day >= 1 && j.day <= JalaliDate.daysIn(month: j.month, year: j.year), "day \(day) -> \(j)")
            #expect(j.daysSinceEpoch == day, "day \(day) -> \(j) -> \(j.daysSinceEpoch)")
            let n = JalaliDate(daysSinceEpoch: day + 1)
            let expected: (Int, Int, Int) = j.day < JalaliDate.daysIn(month: j.month, year: j.year) ? (j.year, j.month, j.day + 1)
                : (j.month < 12 ? (j.year, j.month + 1, 1) : (j.year + 1, 1, 1))
            #expect(n.year == expected.0 && n.month == expected.1 && n.day == expected.2, "after \(j) came \(n)")
        }
        // Every Jalali year in the range has 365 or 366 days and starts on 1 Farvardin.
        for year in 1000...1800 {
            let start = JalaliDate(year: year, month: 1, day: 1)!.daysSinceEpoch
            let next = JalaliDate(year: year + 1, month: 1, day: 1)!.daysSinceEpoch
            #expect(next - start == (JalaliDate.isLeap(year) ? 366 : 365), "year \(year)")
        }
    }
}

@Suite struct RenderingLocalFormatting {
    @Test(arguments: [
        (Int64(1_250_000_000), "IRR", "۱۲٬۵۰۰٬۰۰۰ ریال", "12,500,000 IRR"),
        (Int64(0), "IRR", "۰ ریال", "0 IRR"),
        (Int64(99_950), "IRR", "۹۹۹٫۵۰ ریال", "999.50 IRR"),
        (Int64(1250), "EUR", "۱۲٫۵۰ یورو", "12.50 EUR"),
        (Int64(123_456_789), "USD", "۱٬۲۳۴٬۵۶۷٫۸۹ دلار", "1,234,567.89 USD"),
        (Int64(5), "EUR", "۰٫۰۵ یورو", "0.05 EUR"),
        (Int64(1_500), "JPY", "۱٬۵۰۰ ین", "1,500 JPY"),
        (Int64(12_345), "KWD", "۱۲٫۳۴۵ دینار کویت", "12.345 KWD"),
    ])
    func money(_ minor: Int64, _ code: String, _ fa: String, _ en: String) throws {
        let currency = try CurrencyCode(code)
        let m = Money(minorUnits: minor, currency: currency)
        if code == "KWD" {
            // No Persian name: the code stays Latin, isolated.
            #expect(LocalFormatting.money(m, .fa) == "۱۲٫۳۴۵ \u{2066}KWD\u{2069}")
        } else {
            #expect(LocalFormatting.money(m, .fa) == fa)
        }
        #expect(LocalFormatting.money(m, .en) == en)
    }

    @Test func digitsAndSeparators() {
        #expect(LocalFormatting.digits("0123456789:/", .fa) == "۰۱۲۳۴۵۶۷۸۹:/")
        #expect(LocalFormatting.grouped(1_000, .fa) == "۱\u{066C}۰۰۰")
        #expect(LocalFormatting.grouped(999, .en) == "999")
        #expect(LocalFormatting.grouped(UInt64.max, .en) == "18,446,744,073,709,551,615")
    }

    @Test func datesAndTimes() {
        let nowruz = JalaliDate.days(fromCivil: 2026, 3, 21)
        #expect(LocalFormatting.date(daysSinceEpoch: nowruz, .fa) == "۱ فروردین ۱۴۰۵")
        #expect(LocalFormatting.numericDate(daysSinceEpoch: nowruz, .fa) == "۱۴۰۵/۰۱/۰۱")
        #expect(LocalFormatting.date(daysSinceEpoch: nowruz, .en) == "21 Mar 2026")
        #expect(LocalFormatting.numericDate(daysSinceEpoch: nowruz, .en) == "2026-03-21")
        #expect(LocalFormatting.date(daysSinceEpoch: JalaliDate.days(fromCivil: 1979, 2, 11), .fa) == "۲۲ بهمن ۱۳۵۷")
        #expect(LocalFormatting.time(minuteOfDay: 13 * 60 + 5, .fa) == "۱۳:۰۵")
        #expect(LocalFormatting.time(minuteOfDay: 0, .en) == "00:00")
        // 2026-03-20 23:00 UTC is already 1 Farvardin 02:30 in Tehran (+03:30).
        let late = Timestamp(milliseconds: Int64(JalaliDate.days(fromCivil: 2026, 3, 20)) * 86_400_000 + 23 * 3_600_000)
        let local = LocalFormatting.localDayAndMinute(late, offsetSeconds: 12_600)
        #expect(local.day == nowruz && local.minute == 150)
        // A corrupt far-future instant still formats (Gregorian ISO, isolated) instead of trapping.
        let far = JalaliDate.days(fromCivil: 9000, 1, 2)
        #expect(LocalFormatting.date(daysSinceEpoch: far, .fa) == "\u{2066}9000-01-02\u{2069}")
        #expect(LocalFormatting.date(daysSinceEpoch: far, .en) == "2 Jan 9000")
        // Before 1970, floor division keeps the right day.
        let before = LocalFormatting.localDayAndMinute(Timestamp(milliseconds: -1), offsetSeconds: 0)
        #expect(before.day == -1 && before.minute == 1439)
    }

    @Test func directionIsolates() {
        #expect(LocalFormatting.isolated("****1234", .fa) == "\u{2066}****1234\u{2069}")
        #expect(LocalFormatting.isolated("****1234", .en) == "****1234")
        #expect(LocalFormatting.isolated("فقط فارسی", .fa) == "فقط فارسی")
        #expect(LocalFormatting.isolatedLatinRuns("خرید از Snapp Market تهران", .fa) == "خرید از \u{2066}Snapp Market\u{2069} تهران")
        #expect(LocalFormatting.isolatedLatinRuns("IR06 2960 0000 ،", .fa) == "\u{2066}IR06 2960 0000\u{2069} ،")
        #expect(LocalFormatting.isolatedLatinRuns("Snapp!", .en) == "Snapp!")
        #expect(LocalFormatting.isolatedLatinRuns("کارت ****5678 مسدود شد.", .fa) == "کارت \u{2066}****5678\u{2069} مسدود شد.")
        #expect(LocalFormatting.isolatedLatinRuns("سفارش #42.", .fa) == "سفارش \u{2066}#42\u{2069}.")
        #expect(LocalFormatting.isolatedLatinRuns("پایان ***", .fa) == "پایان ***")
    }
}
