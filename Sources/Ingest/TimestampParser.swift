import ChaparModels
import Foundation

/// Parses the booking times of text files: ISO 8601 with or without an offset, or a date alone.
///
/// Accepted: `2026-11-24`, `2026-11-24T09:30`, `2026-11-24T09:30:15`, `2026-11-24 09:30:15.250`,
/// each optionally followed by `Z`, `+03:30`, `+0330` or `+03`. Without an offset the time is
/// local to the parser's zone (``ParserOptions/timeZone``); a date alone means local midnight.
struct TimestampParser {
    private let zone: TimeZone
    /// UTC offset (seconds) per local hour since the epoch; zones change offsets at most on the hour
    /// boundary in practice, so one lookup per hour of data is exact and cheap.
    private var offsets: [Int64: Int] = [:]

    init(timeZone identifier: String) throws(IngestError) {
        guard let zone = TimeZone(identifier: identifier) else {
            throw IngestError(.usage, "'\(identifier)' is not a time zone; use an IANA name such as Asia/Tehran or UTC")
        }
        self.zone = zone
    }

    /// The instant `text` denotes, or an ``InvalidValue`` naming `field`.
    mutating func parse(_ text: String, field: String) throws(InvalidValue) -> Timestamp {
        var u = text.utf8[...]
        func bad() -> InvalidValue {
            InvalidValue(field, "'\(text)' is not a date or time; use ISO 8601 such as 2026-11-24T09:30:00+03:30, 2026-11-24T09:30:00 (local) or 2026-11-24")
        }
        func digits(_ n: Int) -> Int? {
            guard u.count >= n else { return nil }
            var v = 0
            for b in u.prefix(n) {
                guard b >= 0x30 && b <= 0x39 else { return nil }
                v = v * 10 + Int(b - 0x30)
            }
            u = u.dropFirst(n)
            return v
        }
        func expect(_ c: UInt8) -> Bool {
            guard u.first == c else { return false }
            u = u.dropFirst()
            return true
        }
        guard let y = digits(4), expect(0x2D), let mo = digits(2), expect(0x2D), let d = digits(2) else { throw bad() }
        let date: CalendarDate
        do { date = try CalendarDate(year: y, month: mo, day: d) } catch { throw InvalidValue(field, "'\(text)' is not a valid date (\(y)-\(mo)-\(d) does not exist)") }
        var h = 0, mi = 0, s = 0, ms = 0
        var explicitOffset: Int? = nil
        if let sep = u.first {
            guard sep == 0x54 || sep == 0x20 || sep == 0x74 else { throw bad() }
            u = u.dropFirst()
            guard let hh = digits(2), expect(0x3A), let mm = digits(2) else { throw bad() }
            (h, mi) = (hh, mm)
            if expect(0x3A) {
                guard let ss = digits(2) else { throw bad() }
                s = ss
                if expect(0x2E) || expect(0x2C) {
                    var scale = 100, count = 0
                    while let b = u.first, b >= 0x30 && b <= 0x39 {
                        ms += Int(b - 0x30) * scale
                        scale /= 10
                        count += 1
                        u = u.dropFirst()
                    }
                    if count == 0 { throw bad() }
                }
            }
            guard h < 24, mi < 60, s < 61 else { throw InvalidValue(field, "'\(text)' has an invalid time of day") }
            if let z = u.first {
                if z == 0x5A || z == 0x7A {
                    u = u.dropFirst()
                    explicitOffset = 0
                } else if z == 0x2B || z == 0x2D {
                    u = u.dropFirst()
                    guard let oh = digits(2) else { throw bad() }
                    var om = 0
                    if expect(0x3A) {
                        guard let m = digits(2) else { throw bad() }
                        om = m
                    } else if !u.isEmpty {
                        guard let m = digits(2) else { throw bad() }
                        om = m
                    }
                    guard oh <= 14, om < 60 else { throw InvalidValue(field, "'\(text)' has an invalid UTC offset") }
                    explicitOffset = (z == 0x2D ? -1 : 1) * (oh * 3600 + om * 60)
                } else {
                    throw bad()
                }
            }
            guard u.isEmpty else { throw bad() }
        }
        let localSeconds = Int64(date.daysSinceEpoch) * 86_400 + Int64(h * 3600 + mi * 60 + min(s, 59))
        let offset = explicitOffset ?? localOffset(localSeconds)
        return Timestamp(milliseconds: (localSeconds - Int64(offset)) * 1000 + Int64(ms))
    }

    /// The zone's UTC offset for a local wall-clock time (seconds since the epoch as if UTC).
    private mutating func localOffset(_ localSeconds: Int64) -> Int {
        let hour = localSeconds >= 0 ? localSeconds / 3600 : (localSeconds - 3599) / 3600
        if let cached = offsets[hour] { return cached }
        // Two rounds: guess with the offset at the local time taken as UTC, then correct.
        var offset = zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(localSeconds)))
        offset = zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(localSeconds - Int64(offset))))
        if offsets.count > 100_000 { offsets.removeAll(keepingCapacity: true) }
        offsets[hour] = offset
        return offset
    }
}
