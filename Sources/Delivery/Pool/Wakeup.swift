import Dispatch
import Synchronization

/// A wake-up call for one waiting task: ``signal()`` wakes the waiter, or the next ``wait(timeout:)``
/// returns at once if nobody was waiting. Signals do not count: many signals before a wait wake it
/// once (the waiter then looks at the state it cares about).
///
/// A wait may also end early, without a signal (a spurious wake-up only costs the waiter one look
/// at its state). That is what keeps waiting cheap: the sender waits about once per job sent, and
/// a timer of its own per wait (a task group with a sleeping child) cost more than the rest of the
/// sender's work. Instead the Wakeup keeps at most one timer that matters: a wait whose deadline
/// is after the pending timer's relies on that timer (and waits again if it wakes early); only a
/// wait with an earlier deadline starts another.
final class Wakeup: Sendable {
    private struct State {
        var signalled = false
        var waiter: CheckedContinuation<Void, Never>?
        /// When the latest timer started by a wait fires (nil once it has fired).
        var timerDue: ContinuousClock.Instant?
    }

    private let state = Mutex(State())

    func signal() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard let w = s.waiter else {
                s.signalled = true
                return nil
            }
            s.waiter = nil
            return w
        }
        waiter?.resume()
    }

    /// Returns on a signal, by `timeout` (possibly earlier), or on cancellation of the waiting task.
    func wait(timeout: Duration) async {
        if state.withLock({ s in
            defer { s.signalled = false }
            return s.signalled
        }) { return }
        let deadline = ContinuousClock.now + timeout
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                enum Next { case resume, park, parkWithTimer }
                // Under the lock with the timer's own bookkeeping: a timer that is pending here has
                // not fired yet, so it will find this waiter parked.
                let next = state.withLock { s -> Next in
                    if s.signalled || Task.isCancelled {
                        s.signalled = false
                        return .resume
                    }
                    s.waiter = c
                    if let due = s.timerDue, due <= deadline { return .park }
                    s.timerDue = deadline
                    return .parkWithTimer
                }
                switch next {
                case .resume:
                    c.resume()
                case .park:
                    break
                case .parkWithTimer:
                    // A Dispatch timer, not a task: it must outlive this wait without being awaited.
                    DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(clamping: timeout.nanoseconds))) {
                        self.timerFired(due: deadline)
                    }
                }
            }
        } onCancel: {
            // The task is marked cancelled before this runs: a wait that parks later sees it.
            let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
                defer { s.waiter = nil }
                return s.waiter
            }
            waiter?.resume()
        }
    }

    /// Wakes whoever waits now (early for a wait with a later deadline: it waits again).
    private func timerFired(due: ContinuousClock.Instant) {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            if s.timerDue == due { s.timerDue = nil }
            defer { s.waiter = nil }
            return s.waiter
        }
        waiter?.resume()
    }
}

extension Duration {
    /// Whole nanoseconds, saturating.
    fileprivate var nanoseconds: Int64 {
        let (s, atto) = components
        let (n, overflow) = s.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? (s < 0 ? .min : .max) : n.addingReportingOverflow(atto / 1_000_000_000).partialValue
    }
}
