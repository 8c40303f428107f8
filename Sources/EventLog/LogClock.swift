public import ChaparModels
import Foundation
import Synchronization

/// The wall clock the log stamps records with and judges segment age and retention by.
/// Injected so tests can move time; logic never reads the system clock directly.
public protocol LogClock: Sendable {
    func now() -> Timestamp
}

/// The system's real-time clock.
public struct SystemClock: LogClock {
    public init() {}
    public func now() -> Timestamp { Timestamp(milliseconds: Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))) }
}

/// A clock that only moves when told, for tests.
public final class ManualClock: LogClock {
    private let current: Mutex<Int64>
    public init(_ start: Timestamp = Timestamp(milliseconds: 1_790_000_000_000)) { current = Mutex(start.milliseconds) }
    public func now() -> Timestamp { Timestamp(milliseconds: current.withLock { $0 }) }
    public func advance(by duration: Duration) { current.withLock { $0 += duration.milliseconds } }
}
