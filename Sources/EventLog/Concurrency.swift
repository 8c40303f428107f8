import ChaparModels
import Synchronization
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A pthread mutex + condition variable on the monotonic clock, for the executor's threads,
/// which must block (they exist so that fsync never blocks Swift's cooperative pool).
final class ConditionLock: @unchecked Sendable {
    // Safe: the pthread objects are heap-allocated once, never moved, and only used through
    // pthread calls, which are thread-safe by definition.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        var attr = pthread_condattr_t()
        pthread_condattr_init(&attr)
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
        pthread_cond_init(cond, &attr)
        pthread_condattr_destroy(&attr)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        cond.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
    func broadcast() { pthread_cond_broadcast(cond) }
    func signal() { pthread_cond_signal(cond) }

    /// Waits until signalled or until `deadline` (monotonic ns; nil waits indefinitely). Call with the lock held.
    func wait(until deadline: UInt64?) {
        guard let deadline else {
            pthread_cond_wait(cond, mutex)
            return
        }
        var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        pthread_cond_timedwait(cond, mutex, &ts)
    }
}

/// Monotonic nanoseconds (CLOCK_MONOTONIC), the time base of the executor's timers.
func monotonicNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// A few dedicated threads for blocking I/O: segment writes and fsyncs (group commit), offset
/// commits and index writes. Jobs run in submission order per thread; timed jobs run at their
/// deadline. Idle threads sleep on a condition variable: no polling.
final class BlockingExecutor: @unchecked Sendable {
    // Safe: `queue`, `timed`, `stopping` and `running` are only touched with `lock` held.
    private let lock = ConditionLock()
    private var queue: [@Sendable () -> Void] = []
    private var head = 0
    private var timed: [(deadline: UInt64, job: @Sendable () -> Void)] = []
    private var stopping = false
    private var running = 0
    /// Workers that have not exited yet (with `lock` held).
    private var live: Int
    private let exited = ConditionLock()
    private var exitedCount = 0
    let threadCount: Int

    init(threads: Int, name: String) {
        threadCount = max(1, threads)
        live = threadCount
        for i in 0..<threadCount {
            let thread = Thread { [self] in self.workerLoop() }
            thread.name = "\(name)-\(i)"
            thread.start()
        }
    }

    /// Queues `job`. Returns false, dropping the job, once ``shutdown()`` has begun: no thread
    /// would ever run it.
    @discardableResult
    func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if stopping { return false }
        queue.append(job)
        lock.signal()
        return true
    }

    /// Runs `job` no earlier than `deadline` (monotonic ns).
    func schedule(at deadline: UInt64, _ job: @escaping @Sendable () -> Void) {
        lock.lock()
        timed.append((deadline, job))
        lock.broadcast()
        lock.unlock()
    }

    /// Runs blocking work on an executor thread and returns its result to the awaiting task.
    /// Throws `closed` after shutdown instead of waiting forever for a thread that is gone.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
            let accepted = submit { c.resume(with: Result { try body() }) }
            if !accepted { c.resume(throwing: LogError(.closed, "the log is closed")) }
        }
    }

    /// Finishes queued jobs (timed ones whose time has not come are dropped) and joins the threads.
    /// Called on one of the executor's own threads (the last reference to a log dropped inside a
    /// job), it only tells the threads to stop: waiting for itself would never end.
    func shutdown() {
        lock.lock()
        stopping = true
        lock.broadcast()
        lock.unlock()
        if isWorkerThread { return }
        exited.lock()
        while exitedCount < threadCount { exited.wait(until: nil) }
        exited.unlock()
    }

    /// True on one of this executor's threads.
    private var isWorkerThread: Bool {
        (Thread.current.threadDictionary[Self.workerKey] as? ObjectIdentifier) == ObjectIdentifier(self)
    }

    private static let workerKey = "chapar.blocking-executor"

    private func workerLoop() {
        Thread.current.threadDictionary[Self.workerKey] = ObjectIdentifier(self)
        while true {
            lock.lock()
            var job: (@Sendable () -> Void)?
            while job == nil {
                let now = monotonicNanos()
                if let i = timed.firstIndex(where: { $0.deadline <= now }) {
                    job = timed.remove(at: i).job
                } else if head < queue.count {
                    job = queue[head]
                    head += 1
                    if head > 1024 && head * 2 > queue.count {
                        queue.removeFirst(head)
                        head = 0
                    }
                } else if stopping {
                    // The last worker out drops the timed jobs that never came due: they capture
                    // partitions that hold this executor, a cycle that would keep both alive.
                    live -= 1
                    if live == 0 {
                        timed.removeAll()
                        queue.removeAll()
                        head = 0
                    }
                    lock.unlock()
                    exited.lock()
                    exitedCount += 1
                    exited.broadcast()
                    exited.unlock()
                    return
                } else {
                    lock.wait(until: timed.map(\.deadline).min())
                }
            }
            running += 1
            lock.unlock()
            job!()
            lock.lock()
            running -= 1
            lock.unlock()
        }
    }
}

/// A one-shot wake-up that a task can await and any thread can fire, at most once effectively.
final class Wakeup: Sendable {
    private let state = Mutex<(fired: Bool, continuation: CheckedContinuation<Void, Never>?)>((false, nil))

    func fire() {
        let c = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.fired = true
            defer { s.continuation = nil }
            return s.continuation
        }
        c?.resume()
    }

    func wait() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { s -> Bool in
                if s.fired { return true }
                s.continuation = c
                return false
            }
            if resumeNow { c.resume() }
        }
    }
}

/// A version counter that wakes registered waiters when it changes (new records, a rebalance).
final class ChangeSignal: Sendable {
    private let state = Mutex<(version: UInt64, waiters: [ObjectIdentifier: Wakeup])>((0, [:]))

    var version: UInt64 { state.withLock { $0.version } }

    /// Registers `wakeup`, firing it at once if the version already moved past `seen`.
    func register(_ wakeup: Wakeup, seen: UInt64) {
        let fireNow = state.withLock { s -> Bool in
            if s.version != seen { return true }
            s.waiters[ObjectIdentifier(wakeup)] = wakeup
            return false
        }
        if fireNow { wakeup.fire() }
    }

    func unregister(_ wakeup: Wakeup) { _ = state.withLock { $0.waiters.removeValue(forKey: ObjectIdentifier(wakeup)) } }

    func bump() {
        let waiters = state.withLock { s -> [Wakeup] in
            s.version &+= 1
            defer { s.waiters.removeAll(keepingCapacity: true) }
            return Array(s.waiters.values)
        }
        for w in waiters { w.fire() }
    }
}

/// Waits until any of `signals` moves past the version seen, or `timeout` passes, or the task is cancelled.
func waitForChange(_ signals: [(ChangeSignal, UInt64)], timeout: Duration) async {
    guard timeout > .zero else { return }
    let wakeup = Wakeup()
    for (signal, seen) in signals { signal.register(wakeup, seen: seen) }
    defer { for (signal, _) in signals { signal.unregister(wakeup) } }
    await withTaskGroup(of: Void.self) { group in
        group.addTask { await wakeup.wait() }
        group.addTask {
            try? await Task.sleep(for: timeout)
            wakeup.fire()
        }
        await group.next()
        wakeup.fire()
        group.cancelAll()
    }
}
