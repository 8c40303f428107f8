public import ChaparModels
import Foundation
import GRDB
public import Logging
import Synchronization

/// The delivery ledger: the fate of every job that was attempted (status, attempts, gateway, last
/// answer, timestamps), every attempt, every delivery report, the quiet-hours schedule and the dead
/// letters' records for replay. One SQLite file, `DATA_DIR/deliveries.sqlite`, in WAL mode.
///
/// Writes are batched: ``submit(_:)`` queues an update and returns at once; a dedicated writer
/// thread commits what is queued in one transaction once a flush or a read needs it, once 4,096
/// updates are waiting, or at most 50 ms after the oldest one. Much of a commit's cost is per page
/// written to the WAL, and the jobs of one commit share pages: per job, commits of a few thousand
/// cost about half as much as commits of a few hundred.
/// ``flush()`` returns once every update submitted before it is committed: the pools call it
/// before they commit log offsets, so a job whose offset is committed always has its ledger row (a
/// job already `sent` is never sent again after a restart). ``states(of:)`` sees every update
/// submitted before it about those jobs; it does not wait for gathered updates about other jobs.
///
/// Reads run on the writer's thread and connection, between its commits, and never concurrently
/// with them: a reader connection active during a commit keeps the automatic checkpoint from
/// resetting the WAL, which then grows, and every later commit checkpoints again (measured: the
/// WAL grew past 75 MB and the process's memory with it while draining a backlog).
///
/// Other processes (`chapar deliveries …`) may open the same file concurrently; SQLite serialises
/// their writes. Schema: `docs/delivery.md`.
public final class DeliveryLedger: Sendable {
    public let path: String
    let pool: DatabasePool
    private let logger: Logger
    private let writer: LedgerWriter

    private init(path: String, pool: DatabasePool, logger: Logger) {
        self.path = path
        self.pool = pool
        self.logger = logger
        writer = LedgerWriter(pool: pool, logger: logger)
    }

    /// Opens (creating if needed) the ledger at `path` and brings its schema up to date.
    public static func open(path: String, busyTimeout: Duration = .seconds(5), logger: Logger = Logger(label: "chapar.ledger")) throws(DeliveryError) -> DeliveryLedger {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty && !FileManager.default.fileExists(atPath: directory) {
            throw DeliveryError(.storage, "cannot open the delivery ledger \(path): directory \(directory) does not exist")
        }
        var config = Configuration()
        config.label = "chapar.ledger"
        config.busyMode = .timeout(busyTimeout.seconds)
        config.maximumReaderCount = 4
        config.prepareDatabase { db in
            // WAL + NORMAL: a commit survives a crash of the process (SIGKILL); only a power cut
            // can lose the last transactions, which then resend in-flight jobs with the same ids.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            if !db.configuration.readonly {
                // The writer's page cache holds the hot part of the job indexes (SQLite's default
                // is 2 MiB, which made each upsert read its index pages from the file again), and
                // checkpoints run every 16 MiB of WAL instead of every 4 MiB: each one copies the
                // pages back and syncs, and a page changed by several commits is copied once.
                try db.execute(sql: "PRAGMA cache_size = -16384")
                try db.execute(sql: "PRAGMA wal_autocheckpoint = 4096")
            }
        }
        do {
            let pool = try DatabasePool(path: path, configuration: config)
            if try !pool.read({ try migrator.hasCompletedMigrations($0) }) {
                try migrator.migrate(pool)
            }
            return DeliveryLedger(path: path, pool: pool, logger: logger)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
            throw DeliveryError(.busy, "the delivery ledger \(path) is busy (another process holds a write lock); retry")
        } catch {
            throw DeliveryError(.storage, "cannot open the delivery ledger \(path): \(error)")
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-ledger") { db in
            try db.execute(sql: """
                CREATE TABLE jobs (
                    id TEXT PRIMARY KEY NOT NULL,
                    event TEXT NOT NULL,
                    customer TEXT NOT NULL,
                    channel TEXT NOT NULL CHECK (channel IN ('sms','email','fax','im')),
                    priority TEXT NOT NULL CHECK (priority IN ('urgent','normal','bulk')),
                    status TEXT NOT NULL CHECK (status IN ('scheduled','retrying','sent','delivered','failed','dead','expired')),
                    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
                    gateway TEXT,
                    gateway_ref TEXT,
                    last_response TEXT,
                    reason TEXT,
                    address TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL,
                    due_at INTEGER,
                    record BLOB,
                    budget_from INTEGER NOT NULL DEFAULT 0
                );
                CREATE INDEX jobs_event ON jobs(event);
                CREATE INDEX jobs_customer ON jobs(customer, updated_at);
                CREATE INDEX jobs_status ON jobs(status, channel, updated_at);
                CREATE INDEX jobs_due ON jobs(channel, due_at) WHERE status = 'scheduled';
                CREATE TABLE attempts (
                    job TEXT NOT NULL,
                    number INTEGER NOT NULL CHECK (number >= 1),
                    at INTEGER NOT NULL,
                    gateway TEXT NOT NULL,
                    outcome TEXT NOT NULL,
                    status INTEGER,
                    response TEXT NOT NULL,
                    duration_ms REAL NOT NULL,
                    PRIMARY KEY (job, number)
                );
                CREATE TABLE reports (
                    job TEXT NOT NULL,
                    at INTEGER NOT NULL,
                    gateway TEXT NOT NULL,
                    status TEXT,
                    detail TEXT NOT NULL
                );
                CREATE INDEX reports_job ON reports(job, at);
                """)
        }
        // The same table with the same rules, written as comparisons. SQLite (3.40) evaluates a
        // CHECK's `IN (…)` list by building a temporary B-tree of its values for every row written:
        // three per job row, about a fifth of the writer thread's time while draining at full speed.
        migrator.registerMigration("v2-ledger-checks-as-comparisons") { db in
            try db.execute(sql: """
                CREATE TABLE jobs_v2 (
                    id TEXT PRIMARY KEY NOT NULL,
                    event TEXT NOT NULL,
                    customer TEXT NOT NULL,
                    channel TEXT NOT NULL CHECK (channel = 'sms' OR channel = 'email' OR channel = 'fax' OR channel = 'im'),
                    priority TEXT NOT NULL CHECK (priority = 'urgent' OR priority = 'normal' OR priority = 'bulk'),
                    status TEXT NOT NULL CHECK (status = 'scheduled' OR status = 'retrying' OR status = 'sent' OR status = 'delivered'
                                                OR status = 'failed' OR status = 'dead' OR status = 'expired'),
                    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
                    gateway TEXT,
                    gateway_ref TEXT,
                    last_response TEXT,
                    reason TEXT,
                    address TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    updated_at INTEGER NOT NULL,
                    due_at INTEGER,
                    record BLOB,
                    budget_from INTEGER NOT NULL DEFAULT 0
                );
                INSERT INTO jobs_v2 (id, event, customer, channel, priority, status, attempts, gateway, gateway_ref, last_response,
                                     reason, address, created_at, updated_at, due_at, record, budget_from)
                    SELECT id, event, customer, channel, priority, status, attempts, gateway, gateway_ref, last_response,
                           reason, address, created_at, updated_at, due_at, record, budget_from FROM jobs;
                DROP TABLE jobs;
                ALTER TABLE jobs_v2 RENAME TO jobs;
                CREATE INDEX jobs_event ON jobs(event);
                CREATE INDEX jobs_customer ON jobs(customer, updated_at);
                CREATE INDEX jobs_status ON jobs(status, channel, updated_at);
                CREATE INDEX jobs_due ON jobs(channel, due_at) WHERE status = 'scheduled';
                """)
        }
        return migrator
    }

    // MARK: Writing

    /// Queues a state change; committed with the next batch.
    public func submit(_ entry: LedgerEntry) {
        writer.enqueue(.entry(entry))
    }

    /// Queues a delivery report: moves the job to `delivered` or `failed` (a report never moves a
    /// job back from a final state it already reached by another report), and keeps the report.
    public func submit(_ report: DeliveryReport) {
        writer.enqueue(.report(report))
    }

    /// Returns once every update submitted before this call is committed.
    public func flush() async throws(DeliveryError) {
        let result: Result<Void, DeliveryError> = await withCheckedContinuation { c in
            writer.enqueue(.flush(c))
        }
        try result.get()
    }

    /// Stops the writer thread after committing what is queued, and closes the database.
    public func close() {
        writer.stop()
        do { try pool.close() } catch { logger.warning("closing the delivery ledger failed: \(error)") }
    }

    // MARK: Reading

    /// What the ledger says of a job a pool is about to handle.
    public struct JobState: Sendable, Hashable {
        public var status: JobStatus
        /// Attempts made so far.
        public var attempts: Int
        /// Attempts made before the job's last replay: the retry budget counts from here.
        public var budgetFrom: Int
    }

    /// Each known job's state (jobs without a row are absent).
    public func states(of ids: [JobID]) async throws(DeliveryError) -> [JobID: JobState] {
        guard !ids.isEmpty else { return [:] }
        return try await onWriterThread(concerning: Set(ids)) { db in
            // One cached statement for every lookup (a pool asks about each batch it fetches): the
            // ids go in chunks of `statesChunk`, and the last chunk's unused places are NULL,
            // which matches no id.
            let statement = try db.cachedStatement(sql: Self.statesSQL)
            var result: [JobID: JobState] = [:]
            var start = 0
            while start < ids.count {
                let chunk = ids[start..<min(ids.count, start + Self.statesChunk)]
                start += chunk.count
                var values: [(any DatabaseValueConvertible)?] = chunk.map(\.rawValue)
                values.append(contentsOf: repeatElement(nil, count: Self.statesChunk - chunk.count))
                let rows = try Row.fetchCursor(statement, arguments: StatementArguments(values))
                while let row = try rows.next() {
                    guard let id = try? JobID(row[0] as String), let status = JobStatus(rawValue: row[1]) else { continue }
                    result[id] = JobState(status: status, attempts: row[2], budgetFrom: row[3])
                }
            }
            return result
        }
    }

    private static let statesChunk = 128
    private static let statesSQL = "SELECT id, status, attempts, budget_from FROM jobs WHERE id IN ("
        + Array(repeating: "?", count: statesChunk).joined(separator: ",") + ")"

    /// Scheduled jobs of `channel` due at `now`, oldest first, excluding `skipping` (already taken).
    public func due(channel: Channel, now: Timestamp, limit: Int, skipping: Set<JobID>) async throws(DeliveryError) -> [(id: JobID, record: [UInt8])] {
        try await onWriterThread { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT id, record FROM jobs WHERE status = 'scheduled' AND channel = ? AND due_at <= ? AND record IS NOT NULL
                ORDER BY due_at LIMIT ?
                """, arguments: [channel.rawValue, now.milliseconds, limit + skipping.count])
            return rows.compactMap { row -> (id: JobID, record: [UInt8])? in
                guard let id = try? JobID(row[0] as String), !skipping.contains(id) else { return nil }
                let data: Data = row[1]
                return (id, Array(data))
            }.prefix(limit).map { $0 }
        }
    }

    /// A job a polled gateway accepted and has not settled: what the pool needs to ask about it
    /// and to act on the answer.
    public struct AwaitingReport: Sendable, Hashable {
        public var id: JobID
        public var reference: String
        public var attempts: Int
        public var budgetFrom: Int
        public var record: [UInt8]
    }

    /// `sent` jobs of `channel` through `gateway` that kept their record for a polled report, oldest first.
    public func awaitingReports(channel: Channel, gateway: String, limit: Int) async throws(DeliveryError) -> [AwaitingReport] {
        try await onWriterThread { db in
            try Row.fetchAll(db, sql: """
                SELECT id, gateway_ref, attempts, budget_from, record FROM jobs
                WHERE status = 'sent' AND channel = ? AND gateway = ? AND gateway_ref IS NOT NULL AND record IS NOT NULL
                ORDER BY updated_at LIMIT ?
                """, arguments: [channel.rawValue, gateway, limit]).compactMap { row in
                guard let id = try? JobID(row[0] as String) else { return nil }
                let record: Data = row[4]
                return AwaitingReport(id: id, reference: row[1], attempts: row[2], budgetFrom: row[3], record: Array(record))
            }
        }
    }

    /// Moves a `sent` job whose gateway reported a failure back into the schedule, due at `due`,
    /// keeping its attempts (the retry budget goes on). False if the job was no longer `sent`.
    /// Runs on the writer's connection after the updates submitted before it about this job.
    public func reschedule(_ id: JobID, due: Timestamp, at: Timestamp, reason: String) async throws(DeliveryError) -> Bool {
        try await onWriterThread(concerning: [id]) { db in
            try db.execute(sql: """
                UPDATE jobs SET status = 'scheduled', due_at = ?, updated_at = ?, reason = ? WHERE id = ? AND status = 'sent'
                """, arguments: [due.milliseconds, at.milliseconds, reason, id.rawValue])
            return db.changesCount > 0
        }
    }

    /// The earliest `dueAt` among scheduled jobs of `channel`, if any.
    public func nextDue(channel: Channel) async throws(DeliveryError) -> Timestamp? {
        try await onWriterThread { db in
            try Int64.fetchOne(db, sql: "SELECT MIN(due_at) FROM jobs WHERE status = 'scheduled' AND channel = ?",
                               arguments: [channel.rawValue]).map { Timestamp(milliseconds: $0) }
        }
    }

    /// Runs a read on the writer's thread and connection (never blocking the cooperative pool).
    /// It sees every update submitted before it (only those about `jobs`, when given).
    private func onWriterThread<T: Sendable>(concerning jobs: Set<JobID>? = nil, _ body: @escaping @Sendable (Database) throws -> T) async throws(DeliveryError) -> T {
        let result: Result<T, DeliveryError> = await withCheckedContinuation { c in
            writer.enqueue(.read(concerning: jobs, { db in
                do {
                    c.resume(returning: .success(try body(db)))
                } catch {
                    c.resume(returning: .failure(DeliveryError(.storage, "reading the delivery ledger failed: \(error)")))
                }
            }, { c.resume(returning: .failure($0)) }))
        }
        return try result.get()
    }
}

/// The ledger's writer thread and its queue.
///
/// `@unchecked Sendable`: `queue`, `queuedUpdates`, `state` and `stopping` are guarded
/// by `condition`; the writer connection, the uncommitted updates and `earlyReports` are only
/// touched on the writer thread.
private final class LedgerWriter: @unchecked Sendable {
    enum Operation {
        case entry(LedgerEntry)
        case report(DeliveryReport)
        case flush(CheckedContinuation<Result<Void, DeliveryError>, Never>)
        /// Runs with the writer's connection. It must see the updates to `concerning` jobs (nil:
        /// to any job) submitted before it. The second closure reports a failure (the ledger is closed).
        case read(concerning: Set<JobID>?, (Database) -> Void, (DeliveryError) -> Void)

        /// The job an update is about.
        var job: JobID? {
            switch self {
            case .entry(let e): e.job
            case .report(let r): r.job
            case .flush, .read: nil
            }
        }
    }

    /// Updates that wait for a commit at most: a commit of this many takes a few tens of
    /// milliseconds, which bounds how long a read or flush queued behind it waits.
    static let maxBatch = 4096
    /// How long an update waits for others to share its commit, at most.
    static let maxDelay: Duration = .milliseconds(50)
    /// Operations the writer's buffers keep room for between rounds.
    static let keptCapacity = 2 * maxBatch

    /// What the writer thread is doing, so that a submit wakes it only when it has to.
    private enum State {
        /// Waiting for anything (nothing is waiting for a commit).
        case idle
        /// Holding updates for a commit, until ``maxDelay`` after the oldest; wake it only for a
        /// flush, a read, or a full batch.
        case gathering
        case busy
    }

    private let pool: DatabasePool
    private let logger: Logger
    private let condition = NSCondition()
    private var queue: [Operation] = []
    private var queuedUpdates = 0
    private var state = State.busy
    private var stopping = false
    private var thread: Thread?
    private let finished = DispatchSemaphore(value: 0)
    /// Final reports that arrived before their job's row (a gateway can report within
    /// milliseconds of accepting): applied when the row is written. Writer thread only.
    private var earlyReports: [JobID: JobStatus] = [:]

    init(pool: DatabasePool, logger: Logger) {
        self.pool = pool
        self.logger = logger
        let thread = Thread { [self] in loop() }
        thread.name = "chapar-ledger"
        self.thread = thread
        thread.start()
    }

    func enqueue(_ op: Operation) {
        condition.lock()
        if stopping {
            condition.unlock()
            fail(op, DeliveryError(.closed, "the delivery ledger is closed"))
            return
        }
        queue.append(op)
        let wake: Bool
        switch op {
        case .entry, .report:
            queuedUpdates += 1
            wake = state == .idle || (state == .gathering && queuedUpdates >= Self.maxBatch)
        case .flush, .read:
            wake = state != .busy
        }
        if wake { condition.signal() }
        condition.unlock()
    }

    func stop() {
        condition.lock()
        let wasStopping = stopping
        stopping = true
        condition.signal()
        condition.unlock()
        if !wasStopping { finished.wait() }
    }

    private func fail(_ op: Operation, _ error: DeliveryError) {
        switch op {
        case .flush(let c): c.resume(returning: .failure(error))
        case .read(_, _, let failed): failed(error)
        case .entry, .report: break
        }
    }

    private func loop() {
        // Updates taken from the queue and not yet committed, and the jobs they are about.
        var uncommitted: [Operation] = []
        var uncommittedJobs: Set<JobID> = []
        var oldest = ContinuousClock.now
        // What this round took from the queue: the two arrays swap, so neither is copied.
        var batch: [Operation] = []
        while true {
            condition.lock()
            state = uncommitted.isEmpty ? .idle : .gathering
            while queue.isEmpty && !stopping {
                if uncommitted.isEmpty {
                    condition.wait()
                } else {
                    let left = Self.maxDelay - (ContinuousClock.now - oldest)
                    if left <= .zero || !condition.wait(until: Date(timeIntervalSinceNow: left.seconds)) { break }
                }
            }
            state = .busy
            swap(&queue, &batch)
            queuedUpdates = 0
            let stop = stopping
            condition.unlock()

            var waiters: [CheckedContinuation<Result<Void, DeliveryError>, Never>] = []
            var readsNow: [(Database) -> Void] = []
            var readsAfterCommit: [(Database) -> Void] = []
            for op in batch {
                switch op {
                case .entry, .report:
                    if uncommitted.isEmpty { oldest = .now }
                    uncommitted.append(op)
                    if let job = op.job { uncommittedJobs.insert(job) }
                case .flush(let c):
                    waiters.append(c)
                case .read(let jobs, let body, _):
                    // A read about jobs that no uncommitted update touches gets the same answer
                    // now as after the commit: it need not wait for one.
                    if let jobs, jobs.isDisjoint(with: uncommittedJobs) {
                        readsNow.append(body)
                    } else {
                        readsAfterCommit.append(body)
                    }
                }
            }
            run(readsNow)
            let due = !waiters.isEmpty || !readsAfterCommit.isEmpty || stop || uncommitted.count >= Self.maxBatch
                || (!uncommitted.isEmpty && ContinuousClock.now - oldest >= Self.maxDelay)
            if due {
                let failure = commit(uncommitted)
                uncommitted.removeAll(keepingCapacity: true)
                uncommittedJobs.removeAll(keepingCapacity: true)
                for c in waiters { c.resume(returning: failure.map { .failure($0) } ?? .success(())) }
                run(readsAfterCommit)
            }
            if stop && batch.isEmpty && uncommitted.isEmpty { break }
            // The buffers are kept for the next round, unless a backlog (a slow disk, a stall)
            // grew them: that memory goes back, so a long drain's footprint stays flat.
            batch.removeAll(keepingCapacity: batch.capacity <= Self.keptCapacity)
            if uncommitted.isEmpty && uncommitted.capacity > Self.keptCapacity {
                uncommitted = []
                uncommittedJobs = []
            }
        }
        finished.signal()
    }

    /// Applies `writes` in one transaction; the error, if it failed.
    private func commit(_ writes: [Operation]) -> DeliveryError? {
        guard !writes.isEmpty else { return nil }
        do {
            try pool.write { db in try apply(writes, db) }
            return nil
        } catch {
            logger.error("delivery ledger write failed", metadata: ["chapar.problem": "\(error)"])
            return DeliveryError(.storage, "writing the delivery ledger failed: \(error)")
        }
    }

    /// Runs reads on the writer's own connection, between commits (see ``DeliveryLedger``; its
    /// page cache is warm too).
    private func run(_ reads: [(Database) -> Void]) {
        guard !reads.isEmpty else { return }
        pool.writeWithoutTransaction { db in
            for body in reads { body(db) }
        }
    }

    private func apply(_ writes: [Operation], _ db: Database) throws {
        // Rank order of the statuses, for "never move back": see JobStatus.rank.
        let upsert = try db.cachedStatement(sql: """
            INSERT INTO jobs (id, event, customer, channel, priority, status, attempts, gateway, gateway_ref, last_response,
                              reason, address, created_at, updated_at, due_at, record)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(id) DO UPDATE SET
                status = CASE WHEN \(Self.rankSQL("jobs.status")) > \(Self.rankSQL("excluded.status"))
                              AND excluded.status <> 'scheduled' THEN jobs.status ELSE excluded.status END,
                attempts = MAX(jobs.attempts, excluded.attempts),
                gateway = COALESCE(excluded.gateway, jobs.gateway),
                gateway_ref = COALESCE(excluded.gateway_ref, jobs.gateway_ref),
                last_response = COALESCE(excluded.last_response, jobs.last_response),
                reason = COALESCE(excluded.reason, jobs.reason),
                event = excluded.event, customer = excluded.customer, priority = excluded.priority, address = excluded.address,
                created_at = excluded.created_at,
                updated_at = excluded.updated_at,
                due_at = excluded.due_at,
                record = excluded.record
            """)
        let attempt = try db.cachedStatement(sql: """
            INSERT OR REPLACE INTO attempts (job, number, at, gateway, outcome, status, response, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
        let report = try db.cachedStatement(sql: "INSERT INTO reports (job, at, gateway, status, detail) VALUES (?, ?, ?, ?, ?)")
        let reportStatus = try db.cachedStatement(sql: """
            UPDATE jobs SET status = ?, updated_at = ?, record = NULL WHERE id = ? AND status IN ('scheduled','retrying','sent')
            """)
        for op in writes {
            switch op {
            case .entry(let e):
                var status = e.status
                if !earlyReports.isEmpty, let reported = earlyReports.removeValue(forKey: e.job), status.rank < reported.rank {
                    status = reported
                }
                let row = BoundStatement(upsert, in: db)
                row.bind(1, e.job.rawValue)
                row.bind(2, e.event.rawValue)
                row.bind(3, e.customer.rawValue)
                row.bind(4, e.channel.rawValue)
                row.bind(5, e.priority.rawValue)
                row.bind(6, status.rawValue)
                row.bind(7, e.attempts)
                row.bind(8, e.gateway)
                row.bind(9, e.gatewayReference)
                row.bind(10, e.lastResponse)
                row.bind(11, e.reason)
                row.bind(12, e.maskedAddress)
                row.bind(13, e.createdAt.milliseconds)
                row.bind(14, e.at.milliseconds)
                row.bind(15, e.dueAt?.milliseconds)
                row.bind(16, e.record)
                try row.run()
                if let a = e.attempt {
                    let row = BoundStatement(attempt, in: db)
                    row.bind(1, e.job.rawValue)
                    row.bind(2, a.number)
                    row.bind(3, a.at.milliseconds)
                    row.bind(4, a.gateway)
                    row.bind(5, a.outcome)
                    row.bind(6, a.status)
                    row.bind(7, a.response)
                    row.bind(8, a.durationMilliseconds)
                    try row.run()
                }
            case .report(let r):
                try report.execute(arguments: [r.job.rawValue, r.at.milliseconds, r.gateway, r.status?.rawValue, r.detail])
                if let status = r.status {
                    try reportStatus.execute(arguments: [status.rawValue, r.at.milliseconds, r.job.rawValue])
                    if db.changesCount == 0,
                       try Bool.fetchOne(db, sql: "SELECT 1 FROM jobs WHERE id = ?", arguments: [r.job.rawValue]) == nil {
                        earlyReports[r.job] = status
                    }
                }
            case .flush, .read:
                break
            }
        }
    }

    private static func rankSQL(_ column: String) -> String {
        "(CASE \(column) WHEN 'scheduled' THEN 0 WHEN 'retrying' THEN 1 WHEN 'sent' THEN 2 ELSE 3 END)"
    }
}
