import Foundation
import Synchronization

/// The one clock type every module takes (the log, the notifier, the delivery pools, the server):
/// wall time for what is stamped and compared with dates (record timestamps, retention, quiet
/// hours, `notBefore`, deadlines), and a monotonic reading for what measures intervals (rate
/// limits, backoff, breakers). Injected so tests control time; logic never reads the system
/// clocks directly.
public protocol ChaparClock: Sendable {
    /// Wall-clock time, UTC milliseconds.
    func now() -> Timestamp
    /// Monotonic time since a fixed origin (the same origin for every clock of this process kind).
    func uptime() -> Duration
}

/// The system's clocks.
public struct SystemClock: ChaparClock {
    /// One origin per process, so readings from different instances compare.
    private static let origin = ContinuousClock.now

    public init() {}

    public func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(milliseconds: Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000)
    }

    public func uptime() -> Duration { ContinuousClock.now - Self.origin }
}

/// A clock that only moves when told (both readings move together), for tests.
public final class ManualClock: ChaparClock {
    private let state: Mutex<(wall: Int64, uptime: Duration)>

    public init(_ start: Timestamp = Timestamp(milliseconds: 1_790_000_000_000)) {
        state = Mutex((start.milliseconds, .zero))
    }

    public func now() -> Timestamp { Timestamp(milliseconds: state.withLock { $0.wall }) }
    public func uptime() -> Duration { state.withLock { $0.uptime } }

    public func advance(by duration: Duration) {
        state.withLock { s in
            s.wall += duration.milliseconds
            s.uptime += duration
        }
    }
}
