import ChaparModels

/// A job held by a pool, with where it came from so that finishing it commits the right thing.
struct HeldJob: Sendable {
    enum Origin: Sendable, Hashable {
        /// Read from a lane topic: finishing it lets the offset be committed.
        case log(TopicPartition, Offset)
        /// Taken from the ledger's schedule (quiet hours, replay).
        case schedule
    }

    var job: DeliveryJob
    /// The record as read, for the schedule and dead letters.
    var record: [UInt8]
    var origin: Origin
    /// Attempts already made (from the ledger after a restart, or by this pool).
    var attempts: Int
    /// Which of the pool's routes (gateway chains) serves it.
    var route: Int
    /// Attempts made before its last replay: the retry budget counts from here.
    var budgetFrom = 0
    var lane: Int { Priority.allCases.firstIndex(of: job.priority) ?? 1 }  // every case is in allCases

    /// Jobs of one customer in one lane are sent one at a time, in order.
    var orderKey: OrderKey { OrderKey(lane: lane, customer: job.customer) }
}

struct OrderKey: Hashable, Sendable {
    var lane: Int
    var customer: CustomerID
}

/// A first-in first-out queue on an array with a moving head (no per-element allocation).
struct FIFO<Element>: Sendable where Element: Sendable {
    private var items: [Element] = []
    private var head = 0

    var isEmpty: Bool { head == items.count }
    var count: Int { items.count - head }

    mutating func append(_ e: Element) { items.append(e) }

    mutating func prepend(_ e: Element) {
        if head > 0 {
            head -= 1
            items[head] = e
        } else {
            items.insert(e, at: 0)
        }
    }

    mutating func popFirst() -> Element? {
        guard head < items.count else { return nil }
        let e = items[head]
        head += 1
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 4096 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        return e
    }
}

/// The pool's shared state, guarded by one mutex in ``DeliveryPool``: the ready queues (one per
/// lane), jobs waiting behind an earlier job of the same customer, the per-lane memory bound and
/// the offset trackers.
struct PoolState: Sendable {
    /// Jobs ready to send, per route and lane.
    var ready: [[FIFO<HeldJob>]]
    /// Jobs waiting for an earlier job of the same customer and lane to finish.
    var waiting: [OrderKey: FIFO<HeldJob>] = [:]
    /// Keys with a job ready, in flight or waiting to retry.
    var busy: Set<OrderKey> = []
    /// Jobs held per lane (ready, waiting, in flight, backing off).
    var held: [Int] = [0, 0, 0]
    /// The ids of the jobs held: a second copy of a held job (the notifier re-emits jobs whose
    /// batch it had not committed before a crash) is not sent again while the first is in hand.
    var heldIDs: Set<JobID> = []
    var trackers: [OffsetTracker] = [OffsetTracker(), OffsetTracker(), OffsetTracker()]
    /// Scheduled jobs taken from the ledger and not yet finished (or finished but not yet flushed).
    var scheduleTaken: Set<JobID> = []
    var scheduleFinished: [JobID] = []
    var deadLetters: [ProducerRecord] = []
    var stopping = false
    var stats = PoolStatistics()

    init(routes: Int) {
        ready = Array(repeating: [FIFO(), FIFO(), FIFO()], count: routes)
    }

    /// Adds a job: ready if its customer has nothing ahead of it in this lane, else waiting.
    mutating func admit(_ job: HeldJob, holding: Bool = true) {
        if holding {
            held[job.lane] += 1
            heldIDs.insert(job.job.id)
        }
        let key = job.orderKey
        if busy.contains(key) {
            waiting[key, default: FIFO()].append(job)
        } else {
            busy.insert(key)
            ready[job.route][job.lane].append(job)
        }
    }

    /// Puts a job that will be retried back at the front of its lane (it keeps its customer's turn).
    mutating func requeue(_ job: HeldJob) {
        ready[job.route][job.lane].prepend(job)
    }

    /// The route's next job to send: urgent first, then normal, then bulk.
    mutating func takeReady(route: Int) -> HeldJob? {
        for lane in 0..<3 {
            if let job = ready[route][lane].popFirst() { return job }
        }
        return nil
    }

    func hasReady(route: Int) -> Bool { !ready[route][0].isEmpty || !ready[route][1].isEmpty || !ready[route][2].isEmpty }

    /// Every ready job, removed (shutdown).
    mutating func takeAllReady() -> [HeldJob] {
        var all: [HeldJob] = []
        for route in ready.indices {
            while let job = takeReady(route: route) { all.append(job) }
        }
        return all
    }

    /// A job reached its final state: its customer's next job (if any) becomes ready, its offset
    /// may be committed, and its room in the lane is free.
    mutating func finish(_ job: HeldJob) {
        held[job.lane] -= 1
        heldIDs.remove(job.job.id)
        release(job.orderKey)
        switch job.origin {
        case .log(let tp, let offset): trackers[job.lane].finish(tp, offset)
        case .schedule: scheduleFinished.append(job.job.id)
        }
    }

    /// A job leaves memory unfinished (shutdown): nothing is committed for it, so it is read again
    /// after a restart.
    mutating func abandon(_ job: HeldJob) {
        held[job.lane] -= 1
        heldIDs.remove(job.job.id)
        release(job.orderKey)
    }

    private mutating func release(_ key: OrderKey) {
        if var queue = waiting[key], let next = queue.popFirst() {
            waiting[key] = queue.isEmpty ? nil : queue
            ready[next.route][next.lane].append(next)
        } else {
            busy.remove(key)
        }
    }
}
