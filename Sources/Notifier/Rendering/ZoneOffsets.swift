import ChaparModels
import Foundation
import Synchronization

/// UTC offsets of IANA time zones, memoised so rendering does not ask Foundation on every event.
///
/// Offsets are cached per zone and per 15-minute bucket of UTC time: every real zone transition
/// falls on a quarter hour, so an offset can only change at a bucket boundary. The cache is
/// bounded (cleared when it outgrows ``capacity``), so memory stays flat whatever the traffic.
final class ZoneOffsets: Sendable {
    private struct Key: Hashable {
        var zone: String
        var bucket: Int64
    }

    private struct State {
        var zones: [String: TimeZone?] = [:]
        var offsets: [Key: Int] = [:]
        /// The last answer: consecutive events mostly share zone and quarter hour, and comparing
        /// is cheaper than hashing.
        var last: (key: Key, offset: Int)?
    }

    private let state = Mutex(State())
    let capacity: Int

    init(capacity: Int = 65_536) {
        self.capacity = capacity
    }

    /// Seconds east of UTC in `zone` at `instant`, or nil when `zone` is not a known identifier.
    func offset(zone: String, at instant: Timestamp) -> Int? {
        let key = Key(zone: zone, bucket: instant.milliseconds.dividedRoundingDown(by: 900_000))
        return state.withLock { state -> Int? in
            if let last = state.last, last.key == key { return last.offset }
            if let known = state.offsets[key] {
                state.last = (key, known)
                return known
            }
            let tz: TimeZone?
            if let cached = state.zones[zone] {
                tz = cached
            } else {
                tz = TimeZone(identifier: zone)
                if state.zones.count >= 4096 { state.zones.removeAll() }
                state.zones[zone] = tz
            }
            guard let tz else { return nil }
            let seconds = tz.secondsFromGMT(for: Date(timeIntervalSince1970: Double(key.bucket) * 900))
            if state.offsets.count >= capacity { state.offsets.removeAll(keepingCapacity: true) }
            state.offsets[key] = seconds
            state.last = (key, seconds)
            return seconds
        }
    }
}
