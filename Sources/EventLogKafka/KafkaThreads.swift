import Foundation
import Synchronization
import ChaparModels

/// A few dedicated threads for librdkafka's blocking calls (metadata, watermark queries, admin
/// results, consumer polls, flush, enqueueing with `RD_KAFKA_MSG_F_BLOCK`).
///
/// Why not the cooperative pool: it has one thread per core (two here), and a call that waits
/// seconds for a broker there would stall every other task of the process (STYLE.md rule 8).
/// Jobs are queued and run in order by `count` threads; callers await them through a
/// continuation, so an `async` caller never blocks.
final class KafkaThreads: @unchecked Sendable {
    // @unchecked: `jobs` and `stopping` are only touched with `condition` locked.
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var stopping = false

    /// Starts `count` threads named `name-N`.
    init(count: Int, name: String) {
        precondition(count > 0, "at least one thread runs the blocking calls")
        for index in 0..<count {
            let thread = Thread { [self] in work() }
            thread.name = "\(name)-\(index)"
            thread.start()
        }
    }

    /// Runs `body` on one of the threads and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let accepted = submit { continuation.resume(with: Result { try body() }) }
            if !accepted {
                continuation.resume(throwing: LogError(.closed, "the Kafka log was closed; open a new KafkaLog"))
            }
        }
    }

    /// Queues `job`; false once `shutdown()` was called.
    @discardableResult
    func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { return false }
        jobs.append(job)
        condition.signal()
        return true
    }

    /// Lets the threads finish the queued jobs and exit.
    func shutdown() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    private func work() {
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping { condition.wait() }
            if jobs.isEmpty {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }
}

/// A flag that is set once and read from any thread: a log's `close()`, a poll's cancellation.
/// A class, so that a thread can hold it without holding its owner.
final class SetOnceFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}
