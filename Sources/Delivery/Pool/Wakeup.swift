import Synchronization

/// A wake-up call for one waiting task: ``signal()`` wakes the waiter, or the next ``wait(timeout:)``
/// returns at once if nobody was waiting. Signals do not count: many signals before a wait wake it
/// once (the waiter then looks at the state it cares about).
final class Wakeup: Sendable {
    private struct State {
        var signalled = false
        var waiter: CheckedContinuation<Void, Never>?
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

    /// Returns on a signal, after `timeout`, or on cancellation of the waiting task.
    func wait(timeout: Duration) async {
        if state.withLock({ s in
            defer { s.signalled = false }
            return s.signalled
        }) { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { c in
                    let now = self.state.withLock { s -> Bool in
                        if s.signalled {
                            s.signalled = false
                            return true
                        }
                        s.waiter = c
                        return false
                    }
                    if now { c.resume() }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                // Timed out or cancelled: wake the waiter as a signal would (a spurious wake-up
                // only costs the waiter one look at its state).
                self.signal()
            }
            await group.next()
            group.cancelAll()
        }
        // The timer task may have signalled after the waiter returned: that leftover signal is harmless.
    }
}
