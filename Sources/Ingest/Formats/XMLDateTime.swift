import ChaparModels
import Foundation

/// Dates and times as bank files write them (ISO 8601 in camt.054, `YYMMDD` in MT940), and the
/// conversion of local wall-clock times to UTC in the zone ``ParserOptions/timeZone`` names.
enum BankDates {
    /// `YYYY-MM-DD`, optionally followed by a zone (`Z`, `+03:30`) which a date alone ignores.
    static func isoDate(_ text: Substring) -> CalendarDate? {
        let u = Array(text.utf8)
        guard u.count >= 10 else { return nil }
        if u.count > 10 && !(u.count == 11 && u[10] == 0x5A) && !(u.count == 16 && (u[10] == 0x2B || u[10] == 0x2D) && u[13] == 0x3A) {
            return nil
        }
        guard u[4] == 0x2D, u[7] == 0x2D, let y = digits(u, 0, 4), let m = digits(u, 5, 2), let d = digits(u, 8, 2) else { return nil }
        return try? CalendarDate(year: y, month: m, day: d)
    }

    /// An ISO 8601 date-time `YYYY-MM-DDThh:mm:ss[.fff…][Z|±hh:mm]`.
    struct DateTime {
        var date: CalendarDate
        var secondOfDay: Int
        var millisecond: Int
        /// Seconds east of UTC when the text says; nil for a local time.
        var offset: Int?
    }

    static func isoDateTime(_ text: Substring) -> DateTime? {
        let u = Array(text.utf8)
        guard u.count >= 19, u[10] == 0x54 || u[10] == 0x74, let date = isoDate(text.prefix(10)),
              u[13] == 0x3A, u[16] == 0x3A,
              let h = digits(u, 11, 2), let mi = digits(u, 14, 2), let s = digits(u, 17, 2),
              h <= 23 || (h == 24 && mi == 0 && s == 0), mi <= 59, s <= 60 else { return nil }
        var i = 19
        var ms = 0
        if i < u.count && u[i] == 0x2E {
            i += 1
            var n = 0
            while i < u.count, u[i] >= 0x30, u[i] <= 0x39 {
                if n < 3 { ms = ms * 10 + Int(u[i] - 0x30) }
                n += 1; i += 1
            }
            if n == 0 { return nil }
            for _ in min(n, 3)..<3 { ms *= 10 }
        }
        var offset: Int? = nil
        if i < u.count {
            if u[i] == 0x5A && i + 1 == u.count {
                offset = 0
            } else if (u[i] == 0x2B || u[i] == 0x2D) && i + 6 == u.count && u[i + 3] == 0x3A,
                      let oh = digits(u, i + 1, 2), let om = digits(u, i + 4, 2), oh <= 14, om <= 59 {
                offset = (u[i] == 0x2D ? -1 : 1) * (oh * 3600 + om * 60)
            } else {
                return nil
            }
        }
        return DateTime(date: date, secondOfDay: min(h * 3600 + mi * 60 + s, 86400), millisecond: ms, offset: offset)
    }

    /// `YYMMDD` as SWIFT writes it; years 00–79 are 20xx, 80–99 are 19xx.
    static func swiftDate(_ u: ArraySlice<UInt8>) -> CalendarDate? {
        let a = Array(u)
        guard a.count == 6, let yy = digits(a, 0, 2), let m = digits(a, 2, 2), let d = digits(a, 4, 2) else { return nil }
        return try? CalendarDate(year: yy < 80 ? 2000 + yy : 1900 + yy, month: m, day: d)
    }

    static func digits(_ u: [UInt8], _ start: Int, _ count: Int) -> Int? {
        guard start + count <= u.count else { return nil }
        var v = 0
        for i in start..<(start + count) {
            let b = u[i]
            guard b >= 0x30 && b <= 0x39 else { return nil }
            v = v * 10 + Int(b - 0x30)
        }
        return v
    }
}

/// Converts local wall-clock times of one IANA zone to UTC, caching the offset per hour because
/// Foundation's zone lookups are slow compared with parsing an entry.
struct BankLocalZone {
    let zone: TimeZone
    private var cachedHour = Int.min
    private var cachedOffset = 0

    /// Fails with `.usage` when the identifier is not a known IANA zone.
    init(identifier: String) throws(IngestError) {
        guard let z = TimeZone(identifier: identifier) else {
            throw IngestError(.usage, "'\(identifier)' is not a known time zone; use an IANA name such as Asia/Tehran or UTC")
        }
        zone = z
    }

    /// UTC milliseconds of a wall-clock time in this zone (or at the given offset).
    mutating func timestamp(_ date: CalendarDate, secondOfDay: Int = 0, millisecond: Int = 0, offset: Int? = nil) -> Timestamp {
        let local = Int64(date.daysSinceEpoch) * 86400 + Int64(secondOfDay)
        let off: Int
        if let offset {
            off = offset
        } else {
            let hour = Int(local / 3600)
            if hour != cachedHour {
                let guess = zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(local)))
                let second = zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(local - Int64(guess))))
                cachedOffset = second
                cachedHour = hour
            }
            off = cachedOffset
        }
        return Timestamp(milliseconds: (local - Int64(off)) * 1000 + Int64(millisecond))
    }
}
