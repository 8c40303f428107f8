/// A date in the Persian (Jalali, Solar Hijri) calendar, as used in Iran.
///
/// The conversion is pure integer arithmetic (the "breaks" algorithm of Borkowski as used by
/// jalaali-js): the 33-year leap cycles are corrected by a table of years where the cycle breaks,
/// which matches the astronomical calendar for Jalali years -61 to 3177 (Gregorian 560 to 3798).
/// No Foundation calendar is involved, so it is fast and the same on every platform.
public struct JalaliDate: Hashable, Sendable, CustomStringConvertible {
    /// The Jalali year (1405 began on 2026-03-21).
    public let year: Int
    /// 1 (Farvardin) to 12 (Esfand).
    public let month: Int
    /// 1 to 31.
    public let day: Int

    /// Years where the 33-year cycle is broken; outside the first and last the algorithm is undefined.
    private static let breaks = [-61, 9, 38, 199, 426, 686, 756, 818, 1111, 1181, 1210,
                                 1635, 2060, 2097, 2192, 2262, 2324, 2394, 2456, 3178]

    /// The Gregorian years this type converts (inclusive).
    public static let supportedGregorianYears = 561...3797

    /// The same range as days since 1970-01-01 (1 Jan 600 to 31 Dec 3700, with margin).
    public static let supportedDays = days(fromCivil: 600, 1, 1)...days(fromCivil: 3700, 12, 31)

    /// Persian month names, Farvardin first.
    public static let persianMonthNames = ["فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور",
                                           "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند"]

    /// Latin transcriptions of the month names, Farvardin first.
    public static let latinMonthNames = ["Farvardin", "Ordibehesht", "Khordad", "Tir", "Mordad", "Shahrivar",
                                         "Mehr", "Aban", "Azar", "Dey", "Bahman", "Esfand"]

    /// Converts a day counted from 1970-01-01 (proleptic Gregorian, negative before).
    ///
    /// Precondition: the day lies in ``supportedGregorianYears`` (callers get days from 64-bit
    /// millisecond timestamps of real bookings, far inside this range).
    public init(daysSinceEpoch days: Int) {
        let gy = Self.civil(fromDays: days).year
        var jy = gy - 621
        let cal = Self.calendarInfo(jalaliYear: jy)
        let farvardin1 = Self.days(fromCivil: gy, 3, cal.march)
        var k = days - farvardin1
        if k >= 0 {
            if k <= 185 {
                year = jy
                month = 1 + k / 31
                day = k % 31 + 1
                return
            }
            k -= 186
        } else {
            jy -= 1
            k += 179
            if cal.leap == 1 { k += 1 }
        }
        year = jy
        month = 7 + k / 30
        day = k % 30 + 1
    }

    /// Validates and creates a Jalali date; nil when the day does not exist or the year is out of range.
    public init?(year: Int, month: Int, day: Int) {
        guard year > Self.breaks[0], year < Self.breaks[Self.breaks.count - 1] - 1,
              (1...12).contains(month), day >= 1, day <= Self.daysIn(month: month, year: year) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Days since 1970-01-01 of this date.
    public var daysSinceEpoch: Int {
        let cal = Self.calendarInfo(jalaliYear: year)
        return Self.days(fromCivil: year + 621, 3, cal.march) + (month - 1) * 31 - (month / 7) * (month - 7) + day - 1
    }

    /// Whether the Jalali year has 366 days (Esfand has 30 days).
    public static func isLeap(_ year: Int) -> Bool { calendarInfo(jalaliYear: year).leap == 0 }

    /// 31 days in months 1–6, 30 in 7–11, 29 in Esfand (30 in leap years).
    public static func daysIn(month: Int, year: Int) -> Int {
        if month <= 6 { return 31 }
        if month <= 11 { return 30 }
        return isLeap(year) ? 30 : 29
    }

    /// `1405-01-01`, Latin digits (for logs and tests).
    public var description: String {
        func pad(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(year)-\(pad(month))-\(pad(day))"
    }

    /// For a Jalali year: years since its last leap year (0 = leap) and the March day of 1 Farvardin.
    private static func calendarInfo(jalaliYear jy: Int) -> (leap: Int, march: Int) {
        let gy = jy + 621
        var leapJ = -14
        var jp = breaks[0]
        var jump = 0
        precondition(jy >= jp && jy < breaks[breaks.count - 1], "Jalali year \(jy) is outside the supported range")
        for i in 1..<breaks.count {
            let jm = breaks[i]
            jump = jm - jp
            if jy < jm { break }
            leapJ += (jump / 33) * 8 + (jump % 33) / 4
            jp = jm
        }
        var n = jy - jp
        leapJ += (n / 33) * 8 + ((n % 33) + 3) / 4
        if jump % 33 == 4 && jump - n == 4 { leapJ += 1 }
        let leapG = gy / 4 - ((gy / 100 + 1) * 3) / 4 - 150
        let march = 20 + leapJ - leapG
        if jump - n < 6 { n = n - jump + ((jump + 4) / 33) * 33 }
        var leap = (((n + 1) % 33) - 1) % 4
        if leap == -1 { leap = 4 }
        return (leap, march)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (day may overflow the month).
    static func days(fromCivil year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    /// The proleptic Gregorian date of a day since 1970-01-01.
    static func civil(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
