public import ChaparModels
import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// The first 16 bytes of SHA-256 over an event id: what the dedupe index stores (2^-64 collision
/// odds at a billion ids, a fixed 16 bytes whatever the id length).
public struct Fingerprint: Hashable, Sendable {
    public let high: UInt64
    public let low: UInt64

    public init(_ id: EventID) {
        let digest = SHA256.hash(Array(id.rawValue.utf8))
        var h: UInt64 = 0, l: UInt64 = 0
        for k in 0..<8 { h = h << 8 | UInt64(digest[k]) }
        for k in 8..<16 { l = l << 8 | UInt64(digest[k]) }
        high = h
        low = l
    }

    init(bytes: some Collection<UInt8>) {
        var h: UInt64 = 0, l: UInt64 = 0
        for (k, b) in bytes.prefix(16).enumerated() {
            if k < 8 { h = h << 8 | UInt64(b) } else { l = l << 8 | UInt64(b) }
        }
        high = h
        low = l
    }

    /// Big-endian bytes, the stored form.
    var data: Data {
        var d = Data(count: 16)
        d.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: high.bigEndian, toByteOffset: 0, as: UInt64.self)
            raw.storeBytes(of: low.bigEndian, toByteOffset: 8, as: UInt64.self)
        }
        return d
    }
}

/// The durable set of event ids already in the log, for deduplication: SQLite at
/// `<data-dir>/ingest/seen.sqlite`.
///
/// The index is *derived from the log*: `seen(fp)` holds the fingerprints of appended events and
/// `checkpoint(topic, partition, next_offset)` says up to where each partition has been indexed.
/// Ids and checkpoints are written in one SQLite transaction after the log append is durable. On
/// open, ``catchUp(from:topics:)`` reads every partition from its checkpoint to the end and indexes
/// the `chapar.id` header of each record, so a crash between the append and the index commit (or
/// records appended by another producer) never lets a re-ingest append anything twice.
///
/// Because the log is the source of truth, SQLite runs with `synchronous=NORMAL` in WAL mode: a
/// power loss may roll back the last index transactions, but ids and checkpoint roll back together
/// and the next catch-up re-indexes them.
public final class SeenIndex: Sendable {
    private let db: DatabaseQueue
    public let path: String
    /// Per partition: offset ranges whose ids are committed but that do not join the checkpoint yet.
    private let uncovered = Mutex<[TopicPartition: [ClosedRange<Int64>]]>([:])
    /// Rows in `recent` (approximately: a rolled-back transaction may leave it a little high).
    private let recentRows = Mutex(0)

    /// Opens (creating if needed) the index at `path`. Does not catch up; call ``catchUp(from:topics:)``.
    public init(path: String, mergeThreshold: Int = 250_000) throws(IngestError) {
        self.path = path
        self.mergeThreshold = mergeThreshold
        do {
            let dir = (path as NSString).deletingLastPathComponent
            if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
            var config = Configuration()
            config.prepareDatabase { db in
                try db.execute(sql: "PRAGMA synchronous = NORMAL")
                try db.execute(sql: "PRAGMA cache_size = -16000")  // 16 MB: bounded memory whatever the index size
            }
            db = try DatabaseQueue(path: path, configuration: config)
            _ = try db.writeWithoutTransaction { db in try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL") }
            var migrator = DatabaseMigrator()
            migrator.registerMigration("v1 seen ids and log checkpoints") { db in
                try db.execute(sql: """
                    CREATE TABLE seen (fp BLOB NOT NULL PRIMARY KEY CHECK (length(fp) = 16)) WITHOUT ROWID;
                    CREATE TABLE recent (fp BLOB NOT NULL PRIMARY KEY CHECK (length(fp) = 16)) WITHOUT ROWID;
                    CREATE TABLE checkpoint (
                        topic TEXT NOT NULL,
                        partition INTEGER NOT NULL CHECK (partition >= 0),
                        next_offset INTEGER NOT NULL CHECK (next_offset >= 0),
                        PRIMARY KEY (topic, partition)
                    ) WITHOUT ROWID;
                    """)
            }
            try migrator.migrate(db)
            let rows = try db.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM recent") ?? 0 }
            recentRows.withLock { $0 = rows }
        } catch {
            throw IngestError(.storage, "cannot open the dedupe index \(path): \(error); if it is damaged, delete it (it is rebuilt from the log on the next ingest)")
        }
    }

    /// Which of `fingerprints` are already in the index (point lookups through one prepared
    /// statement, binding the 16 bytes straight from the stack: no per-id allocation).
    public func contains(_ fingerprints: [Fingerprint]) async throws(IngestError) -> Set<Fingerprint> {
        if fingerprints.isEmpty { return [] }
        do {
            return try await db.read { db in
                try RawStatement(db, "SELECT 1 FROM recent WHERE fp = ?").withStatement { recent in
                    try RawStatement(db, "SELECT 1 FROM seen WHERE fp = ?").withStatement { seen in
                        var found = Set<Fingerprint>()
                        for f in fingerprints where try recent.step(binding: f) || seen.step(binding: f) { found.insert(f) }
                        return found
                    }
                }
            }
        } catch {
            throw IngestError(.storage, "cannot read the dedupe index \(path): \(error)")
        }
    }

    /// Where one append landed in one partition, for the checkpoint.
    public struct AppendedRange: Sendable {
        public var topicPartition: TopicPartition
        public var first: Offset
        public var last: Offset
        public var count: Int
        public init(topicPartition: TopicPartition, first: Offset, last: Offset, count: Int) {
            self.topicPartition = topicPartition
            self.first = first
            self.last = last
            self.count = count
        }
    }

    /// Records appended ids and, in the same transaction, advances each partition's checkpoint
    /// over every range whose ids are committed and which joins the checkpoint without a gap.
    ///
    /// Appends may complete out of order (several are in flight to share fsyncs), so a range that
    /// does not yet join the checkpoint is remembered in memory as committed-but-uncovered and
    /// absorbed when the gap before it is filled. After a crash that memory is gone, which only
    /// means the next ``catchUp(from:topics:)`` re-reads those records: never a missed id.
    public func record(_ fingerprints: [Fingerprint], ranges: [AppendedRange]) async throws(IngestError) {
        let contiguous = ranges.filter { $0.last.rawValue - $0.first.rawValue + 1 == Int64($0.count) }
        do {
            try await db.write { db in
                try self.insert(fingerprints, db)
                for r in contiguous {
                    let tp = r.topicPartition
                    let current = try Int64.fetchOne(db, sql: "SELECT next_offset FROM checkpoint WHERE topic = ? AND partition = ?",
                                                     arguments: [tp.topic.rawValue, tp.partition.rawValue]) ?? 0
                    // Only this transaction's range is added before the commit; see the catch below.
                    let next = self.uncovered.withLock { u -> Int64 in
                        var list = (u[tp] ?? []) + [r.first.rawValue...r.last.rawValue]
                        list.removeAll { $0.upperBound < current }
                        list.sort { $0.lowerBound < $1.lowerBound }
                        var next = current
                        while let i = list.firstIndex(where: { $0.lowerBound <= next }) {
                            next = max(next, list[i].upperBound + 1)
                            list.remove(at: i)
                        }
                        u[tp] = list.isEmpty ? nil : list
                        return next
                    }
                    if next != current { try Self.setCheckpoint(tp, next, db) }
                }
            }
        } catch {
            // The ids were not committed: their ranges must not be covered by a later checkpoint.
            uncovered.withLock { u in
                for r in contiguous { u[r.topicPartition] = nil }
            }
            throw IngestError(.storage, "cannot write the dedupe index \(path): \(error); nothing is lost (the log has the events), the next ingest re-indexes them")
        }
    }

    /// Indexes every record of `topics` after each partition's checkpoint; returns how many records it read.
    @discardableResult
    public func catchUp(from log: any MessageLog, topics: [TopicName] = [Topics.transactions, Topics.messages]) async throws(IngestError) -> Int {
        var scanned = 0
        for topic in topics {
            let description: TopicDescription
            do {
                description = try await log.describeTopic(topic)
            } catch let e as LogError where e.code == .unknownTopic {
                continue
            } catch {
                throw IngestError(.storage, "cannot read topic \(topic) to update the dedupe index: \(error)")
            }
            for p in description.partitions {
                let tp = TopicPartition(topic, p.partition)
                var from = try await checkpoint(tp)
                if from > p.endOffset.rawValue {
                    // The log is shorter than what was indexed (restored from an older backup): index
                    // entries stay (they only suppress re-appends) and indexing restarts at the end.
                    try await setCheckpoint(tp, p.endOffset.rawValue)
                    continue
                }
                from = max(from, p.startOffset.rawValue)
                while from < p.endOffset.rawValue {
                    let result: FetchResult
                    do {
                        result = try await log.fetch(topic, partition: p.partition, from: Offset(from),
                                                     limits: FetchLimits(maxRecords: 20_000, maxBytes: 8 << 20))
                    } catch {
                        throw IngestError(.storage, "cannot read \(tp) to update the dedupe index: \(error)")
                    }
                    if result.records.isEmpty { break }
                    var fps: [Fingerprint] = []
                    fps.reserveCapacity(result.records.count)
                    for r in result.records {
                        if let id = EventCodec.eventID(r), let eid = try? EventID(id) { fps.append(Fingerprint(eid)) }
                    }
                    let next = result.nextOffset.rawValue
                    let found = fps
                    do {
                        try await db.write { db in
                            try self.insert(found, db)
                            try Self.setCheckpoint(tp, next, db)
                        }
                    } catch {
                        throw IngestError(.storage, "cannot write the dedupe index \(path): \(error)")
                    }
                    scanned += result.records.count
                    from = next
                }
            }
        }
        return scanned
    }

    /// The next offset not yet indexed in `tp` (0 when never indexed).
    public func checkpoint(_ tp: TopicPartition) async throws(IngestError) -> Int64 {
        do {
            return try await db.read { db in
                try Int64.fetchOne(db, sql: "SELECT next_offset FROM checkpoint WHERE topic = ? AND partition = ?",
                                   arguments: [tp.topic.rawValue, tp.partition.rawValue]) ?? 0
            }
        } catch {
            throw IngestError(.storage, "cannot read the dedupe index \(path): \(error)")
        }
    }

    /// Overwrites a checkpoint. Used by catch-up and by tests that simulate a crash before the index commit.
    package func setCheckpoint(_ tp: TopicPartition, _ next: Int64) async throws(IngestError) {
        do {
            try await db.write { db in try Self.setCheckpoint(tp, next, db) }
        } catch {
            throw IngestError(.storage, "cannot write the dedupe index \(path): \(error)")
        }
    }

    /// Removes fingerprints (tests: simulate an index commit that never happened).
    package func forget(_ fingerprints: [Fingerprint]) async throws {
        try await db.write { db in
            for f in fingerprints {
                try db.execute(sql: "DELETE FROM seen WHERE fp = ?", arguments: [f.data])
                try db.execute(sql: "DELETE FROM recent WHERE fp = ?", arguments: [f.data])
            }
        }
    }

    /// Number of fingerprints stored.
    public func count() async throws(IngestError) -> Int {
        do {
            return try await db.read { db in try Int.fetchOne(db, sql: "SELECT (SELECT count(*) FROM seen) + (SELECT count(*) FROM recent)") ?? 0 }
        } catch {
            throw IngestError(.storage, "cannot read the dedupe index \(path): \(error)")
        }
    }

    private static func setCheckpoint(_ tp: TopicPartition, _ next: Int64, _ db: Database) throws {
        try db.execute(sql: "INSERT OR REPLACE INTO checkpoint (topic, partition, next_offset) VALUES (?, ?, ?)",
                       arguments: [tp.topic.rawValue, tp.partition.rawValue, next])
    }

    /// New ids go to the small `recent` table, whose pages stay in SQLite's cache, instead of
    /// random leaves all over the large `seen` table (one dirty 4 KiB page per id); when `recent`
    /// passes `mergeThreshold` rows it is merged into `seen` in key order, so each leaf of `seen`
    /// is written once per merge. Lookups probe both. Both live in the same transactions.
    private func insert(_ fingerprints: [Fingerprint], _ db: Database) throws {
        if fingerprints.isEmpty { return }
        var added = 0
        try RawStatement(db, "INSERT OR IGNORE INTO recent (fp) VALUES (?)").withStatement { stmt in
            for f in fingerprints.sorted(by: { ($0.high, $0.low) < ($1.high, $1.low) }) {
                _ = try stmt.step(binding: f)
                added += stmt.changes
            }
        }
        // Called on GRDB's serial writer queue, so the count and the merge cannot race.
        let rows = recentRows.withLock { n -> Int in
            n += added
            return n
        }
        if rows >= mergeThreshold {
            try db.execute(sql: "INSERT OR IGNORE INTO seen (fp) SELECT fp FROM recent; DELETE FROM recent;")
            recentRows.withLock { $0 = 0 }
        }
    }

    /// Rows in `recent` before it is merged into `seen` (250,000 rows: about 16 MB of pages).
    public let mergeThreshold: Int

}

/// One prepared statement on GRDB's connection, driven through the SQLite C API for the two hot
/// paths (lookup and insert of 16-byte keys), where GRDB's per-row value boxing would dominate.
struct RawStatement {
    private let connection: OpaquePointer
    private let sql: String

    init(_ db: Database, _ sql: String) {
        connection = db.sqliteConnection!  // an open Database always has its connection
        self.sql = sql
    }

    func withStatement<T>(_ body: (Prepared) throws -> T) throws -> T {
        var stmt: OpaquePointer? = nil
        let rc = sqlite3_prepare_v2(connection, sql, -1, &stmt, nil)
        guard rc == SQLITE_OK, let stmt else {
            throw IngestError(.storage, "SQLite cannot prepare \(sql): \(String(cString: sqlite3_errmsg(connection)))")
        }
        defer { sqlite3_finalize(stmt) }
        return try body(Prepared(stmt: stmt, connection: connection))
    }

    struct Prepared {
        let stmt: OpaquePointer
        let connection: OpaquePointer

        /// Rows changed by the last step.
        var changes: Int { Int(sqlite3_changes(connection)) }

        /// Binds the fingerprint as parameter 1, steps once, resets; true when a row came back.
        func step(binding f: Fingerprint) throws -> Bool {
            var bytes = (f.high.bigEndian, f.low.bigEndian)
            return try withUnsafeBytes(of: &bytes) { raw in
                // SQLITE_STATIC (nil): the bytes outlive the step, which happens inside this closure.
                sqlite3_bind_blob(stmt, 1, raw.baseAddress, 16, nil)
                defer {
                    sqlite3_reset(stmt)
                    sqlite3_clear_bindings(stmt)
                }
                switch sqlite3_step(stmt) {
                case SQLITE_ROW: return true
                case SQLITE_DONE: return false
                default: throw IngestError(.storage, "SQLite: \(String(cString: sqlite3_errmsg(connection)))")
                }
            }
        }
    }
}
