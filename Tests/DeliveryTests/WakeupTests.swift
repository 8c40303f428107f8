@testable import Delivery
import Testing

/// The pool's wake-up call: a signal, a timeout or a cancellation ends a wait.
@Suite(.timeLimit(.minutes(1))) struct WakeupTests {
    @Test func aSignalBeforeTheWaitEndsItAtOnce() async {
        let w = Wakeup()
        w.signal()
        w.signal()
        let started = ContinuousClock.now
        await w.wait(timeout: .seconds(30))
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func aSignalWakesAWaiter() async {
        let w = Wakeup()
        let started = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await w.wait(timeout: .seconds(30)) }
            try? await Task.sleep(for: .milliseconds(20))
            w.signal()
        }
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func aWaitEndsByItsTimeoutEvenAfterLongerWaits() async {
        let w = Wakeup()
        // A long wait, ended by a signal, leaves its timer pending: a later short wait must not rely on it.
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await w.wait(timeout: .seconds(20)) }
            try? await Task.sleep(for: .milliseconds(20))
            w.signal()
        }
        let started = ContinuousClock.now
        await w.wait(timeout: .milliseconds(50))
        let waited = ContinuousClock.now - started
        #expect(waited < .seconds(5), "a 50 ms wait took \(waited)")
    }

    @Test func repeatedWaitsAllEndByTheirTimeout() async {
        let w = Wakeup()
        let started = ContinuousClock.now
        for _ in 0..<20 { await w.wait(timeout: .milliseconds(5)) }
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test func cancellingTheWaiterEndsTheWait() async {
        let w = Wakeup()
        let started = ContinuousClock.now
        let task = Task { await w.wait(timeout: .seconds(30)) }
        try? await Task.sleep(for: .milliseconds(20))
        task.cancel()
        await task.value
        #expect(ContinuousClock.now - started < .seconds(5))
        // Already cancelled before waiting: returns at once too.
        let cancelled = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            await w.wait(timeout: .seconds(30))
        }
        await cancelled.value
        #expect(ContinuousClock.now - started < .seconds(10))
    }
}
