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
        var copy = text
        let fields = copy.withUTF8 { Self.scan($0) }
        func bad() -> InvalidValue {
            InvalidValue(field, "'\(text)' is not a date or time; use ISO 8601 such as 2026-11-24T09:30:00+03:30, 2026-11-24T09:30:00 (local) or 2026-11-24")
        }
        guard let f = fields else { throw bad() }
        guard f.month >= 1 && f.month <= 12 && f.day >= 1 && f.day <= CalendarDate.daysIn(month: f.month, year: f.year) && f.year >= 1 else {
            throw InvalidValue(field, "'\(text)' is not a valid date (\(f.year)-\(f.month)-\(f.day) does not exist)")
        }
        guard f.hour < 24, f.minute < 60, f.second < 61 else { throw InvalidValue(field, "'\(text)' has an invalid time of day") }
        if let o = f.offset, abs(o) > 14 * 3600 { throw InvalidValue(field, "'\(text)' has an invalid UTC offset") }
        let days = (try? CalendarDate(year: f.year, month: f.month, day: f.day))?.daysSinceEpoch ?? 0
        let localSeconds = Int64(days) * 86_400 + Int64(f.hour * 3600 + f.minute * 60 + min(f.second, 59))
        let offset = f.offset ?? localOffset(localSeconds)
        return Timestamp(milliseconds: (localSeconds - Int64(offset)) * 1000 + Int64(f.millisecond))
    }

    struct Fields {
        var year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, millisecond = 0
        var offset: Int? = nil
    }

    /// A cursor over the bytes of one time (a struct with mutating methods: nested functions
    /// capturing a `var` index were not inlined and cost about 2% of ingest CPU).
    private struct Cursor {
        let p: UnsafeBufferPointer<UInt8>
        var i = 0

        var atEnd: Bool { i == p.count }

        mutating func digits(_ k: Int) -> Int? {
            guard i + k <= p.count else { return nil }
            var v = 0
            for j in i..<(i + k) {
                let b = p[j] &- 0x30
                guard b <= 9 else { return nil }
                v = v * 10 + Int(b)
            }
            i += k
            return v
        }

        mutating func expect(_ c: UInt8) -> Bool {
            guard i < p.count && p[i] == c else { return false }
            i += 1
            return true
        }
    }

    /// The syntax of the accepted forms, over bytes; nil when it does not match.
    static func scan(_ p: UnsafeBufferPointer<UInt8>) -> Fields? {
        var c = Cursor(p: p)
        var f = Fields()
        guard let y = c.digits(4), c.expect(0x2D), let mo = c.digits(2), c.expect(0x2D), let d = c.digits(2) else { return nil }
        (f.year, f.month, f.day) = (y, mo, d)
        if c.atEnd { return f }
        guard p[c.i] == 0x54 || p[c.i] == 0x20 || p[c.i] == 0x74 else { return nil }
        c.i += 1
        guard let hh = c.digits(2), c.expect(0x3A), let mm = c.digits(2) else { return nil }
        (f.hour, f.minute) = (hh, mm)
        if c.expect(0x3A) {
            guard let ss = c.digits(2) else { return nil }
            f.second = ss
            if c.expect(0x2E) || c.expect(0x2C) {
                var scale = 100, count = 0
                while !c.atEnd, p[c.i] >= 0x30 && p[c.i] <= 0x39 {
                    f.millisecond += Int(p[c.i] &- 0x30) * scale
                    scale /= 10
                    count += 1
                    c.i += 1
                }
                if count == 0 { return nil }
            }
        }
        if c.atEnd { return f }
        let z = p[c.i]
        if z == 0x5A || z == 0x7A {
            c.i += 1
            f.offset = 0
        } else if z == 0x2B || z == 0x2D {
            c.i += 1
            guard let oh = c.digits(2) else { return nil }
            var om = 0
            if c.expect(0x3A) {
                guard let m = c.digits(2) else { return nil }
                om = m
            } else if !c.atEnd {
                guard let m = c.digits(2) else { return nil }
                om = m
            }
            guard om < 60 else { return nil }
            f.offset = (z == 0x2D ? -1 : 1) * (oh * 3600 + om * 60)
        } else {
            return nil
        }
        return c.atEnd ? f : nil
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
