public import ChaparModels
import Foundation
import GRDB

/// Queries and operator actions for `chapar deliveries …` (and later the console). They block the
/// calling thread for one SQLite statement: call them from the CLI or a dedicated thread.
extension DeliveryLedger {
    /// Filters for ``list(_:)``.
    public struct Filter: Sendable, Hashable {
        public var status: JobStatus?
        public var channel: Channel?
        public var customer: CustomerID?
        public var event: EventID?
        /// Only jobs updated at or after this time.
        public var since: Timestamp?
        public var limit: Int

        public init(status: JobStatus? = nil, channel: Channel? = nil, customer: CustomerID? = nil, event: EventID? = nil,
                    since: Timestamp? = nil, limit: Int = 100) {
            self.status = status
            self.channel = channel
            self.customer = customer
            self.event = event
            self.since = since
            self.limit = limit
        }
    }

    /// Jobs matching `filter`, most recently updated first.
    public func list(_ filter: Filter) throws(DeliveryError) -> [LedgerJob] {
        var clauses: [String] = []
        var arguments: [(any DatabaseValueConvertible)?] = []
        if let s = filter.status { clauses.append("status = ?"); arguments.append(s.rawValue) }
        if let c = filter.channel { clauses.append("channel = ?"); arguments.append(c.rawValue) }
        if let c = filter.customer { clauses.append("customer = ?"); arguments.append(c.rawValue) }
        if let e = filter.event { clauses.append("event = ?"); arguments.append(e.rawValue) }
        if let t = filter.since { clauses.append("updated_at >= ?"); arguments.append(t.milliseconds) }
        let condition = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
        arguments.append(filter.limit)
        return try read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.jobColumns) FROM jobs \(condition) ORDER BY updated_at DESC, id LIMIT ?",
                             arguments: StatementArguments(arguments)).map(Self.job)
        }
    }

    /// Counts per status (and channel), for summaries.
    public func counts() throws(DeliveryError) -> [(channel: String, status: JobStatus, count: Int)] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT channel, status, COUNT(*) FROM jobs GROUP BY channel, status ORDER BY channel, status").compactMap { row in
                guard let status = JobStatus(rawValue: row[1]) else { return nil }
                return (row[0], status, row[2])
            }
        }
    }

    /// One job's whole story, or nil if the ledger has no row for it (never attempted).
    public func trace(_ id: JobID) throws(DeliveryError) -> LedgerTrace? {
        try read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT \(Self.jobColumns) FROM jobs WHERE id = ?", arguments: [id.rawValue]) else { return nil }
            let attempts = try Row.fetchAll(db, sql: """
                SELECT number, at, gateway, outcome, status, response, duration_ms FROM attempts WHERE job = ? ORDER BY number
                """, arguments: [id.rawValue]).map { r in
                AttemptRecord(number: r[0], at: Timestamp(milliseconds: r[1]), gateway: r[2], outcome: r[3], status: r[4], response: r[5],
                              durationMilliseconds: r[6])
            }
            let reports = try Row.fetchAll(db, sql: "SELECT at, gateway, status, detail FROM reports WHERE job = ? ORDER BY at, rowid",
                                           arguments: [id.rawValue]).map { r in
                DeliveryReport(job: id, at: Timestamp(milliseconds: r[0]), gateway: r[1], status: (r[2] as String?).flatMap(JobStatus.init(rawValue:)),
                               detail: r[3])
            }
            return LedgerTrace(job: Self.job(row), attempts: attempts, reports: reports)
        }
    }

    /// Moves dead jobs back into the schedule, due now, with a fresh retry budget; a running (or
    /// the next) `chapar deliver run` sends them. Returns the jobs replayed.
    public func replayDead(channel: Channel?, since: Timestamp?, now: Timestamp) throws(DeliveryError) -> [LedgerJob] {
        var clauses = ["status = 'dead'", "record IS NOT NULL"]
        var arguments: [(any DatabaseValueConvertible)?] = []
        if let channel { clauses.append("channel = ?"); arguments.append(channel.rawValue) }
        if let since { clauses.append("updated_at >= ?"); arguments.append(since.milliseconds) }
        let condition = clauses.joined(separator: " AND ")
        return try write { db in
            let jobs = try Row.fetchAll(db, sql: "SELECT \(Self.jobColumns) FROM jobs WHERE \(condition) ORDER BY updated_at",
                                        arguments: StatementArguments(arguments)).map(Self.job)
            try db.execute(sql: """
                UPDATE jobs SET status = 'scheduled', due_at = ?, updated_at = ?, budget_from = attempts,
                    reason = 'replayed from the dead letters: ' || COALESCE(reason, '')
                WHERE \(condition)
                """, arguments: StatementArguments([now.milliseconds, now.milliseconds] + arguments))
            return jobs
        }
    }

    static let jobColumns = "id, event, customer, channel, priority, status, attempts, gateway, gateway_ref, last_response, reason, address, created_at, updated_at, due_at"

    static func job(_ r: Row) -> LedgerJob {
        LedgerJob(id: r[0], event: r[1], customer: r[2], channel: r[3], priority: r[4], status: JobStatus(rawValue: r[5]) ?? .retrying,
                  attempts: r[6], gateway: r[7], gatewayReference: r[8], lastResponse: r[9], reason: r[10], address: r[11],
                  createdAt: Timestamp(milliseconds: r[12]), updatedAt: Timestamp(milliseconds: r[13]),
                  dueAt: (r[14] as Int64?).map { Timestamp(milliseconds: $0) })
    }

    private func read<T>(_ body: (Database) throws -> T) throws(DeliveryError) -> T {
        do {
            return try pool.read(body)
        } catch {
            throw DeliveryError(.storage, "reading the delivery ledger \(path) failed: \(error)")
        }
    }

    private func write<T>(_ body: (Database) throws -> T) throws(DeliveryError) -> T {
        do {
            return try pool.write(body)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY {
            throw DeliveryError(.busy, "the delivery ledger \(path) is busy; retry")
        } catch {
            throw DeliveryError(.storage, "writing the delivery ledger \(path) failed: \(error)")
        }
    }
}
