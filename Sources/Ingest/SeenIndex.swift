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
        let digest = SHA256.hash(id.rawValue.utf8)
        var h: UInt64 = 0, l: UInt64 = 0
        for k in 0..<8 { h = h << 8 | UInt64(digest[k]) }
        for k in 8..<16 { l = l << 8 | UInt64(digest[k]) }
        high = h
        low = l
    }

    init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// From 16 big-endian bytes.
    init(raw: UnsafeRawBufferPointer) {
        high = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        low = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
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
/// `<data-dir>/ingest/seen.sqlite` plus an in-memory Bloom filter (saved as `seen.filter` on
/// ``close()``).
///
/// The index is *derived from the log*: it holds the fingerprints of appended events and
/// `checkpoint(topic, partition, next_offset)` says up to where each partition has been indexed.
/// Ids and checkpoints are written in one SQLite transaction after the log append is durable. On
/// open, ``catchUp(from:topics:)`` reads every partition from its checkpoint to the end and indexes
/// the `chapar.id` header of each record, so a crash between the append and the index commit (or
/// records appended by another producer) never lets a re-ingest append anything twice.
///
/// Write path (cheap, append-only): each recorded batch is **one row** of `run` (its fingerprints
/// back to back in a BLOB) plus the checkpoint update; the same ids go into an in-memory set
/// (`staged`) and the Bloom filter. When `staged` reaches ``mergeThreshold`` ids, they are
/// merged into the `seen` table (WITHOUT ROWID, primary key = fingerprint) in key order, so each
/// leaf of `seen` is written once per merge instead of once per id. The merge runs beside the
/// ingest that started it, in small transactions that interleave with the recording of new
/// batches (one transaction of 100k ids took 70–140 ms at 1M ids, and every append waited behind
/// it). It is a child task of that ingest's ``exclusively(_:)`` section, so no merge outlives the
/// ingest or catch-up whose ids it moves; a ``record(_:ranges:)`` made outside a section merges
/// before it returns.
///
/// Read path: the Bloom filter answers "definitely new" for almost every id of a first ingest
/// without touching SQLite; "maybe seen" is checked exactly against `staged`, then `seen`.
///
/// The filter is saved with an *epoch* that must match the one in the `meta` table; opening
/// bumps the stored epoch, so after a crash (no ``close()``) the saved filter no longer matches
/// and is rebuilt by scanning `seen` and `run` (about a second per 10 M ids). A filter that is
/// lost, torn or stale is never trusted: only a false negative could duplicate, and a filter is
/// only used when it provably contains every stored id.
///
/// Because the log is the source of truth, SQLite runs with `synchronous=NORMAL` in WAL mode: a
/// power loss may roll back the last index transactions, but ids and checkpoints roll back together
/// and the next catch-up re-indexes them.
public final class SeenIndex: Sendable {
    private let db: DatabaseQueue
    public let path: String
    /// Where the Bloom filter is saved by ``close()``.
    public let filterPath: String
    /// Serialises the ingests and catch-ups that use this index (see ``exclusively(_:)``): one
    /// pipeline's dedupe check, append and record must not interleave with another's, or both
    /// could append the same id. Everything in a process that appends to the event topics shares
    /// one index (and so this gate).
    private let ingestGate = AsyncGate()
    /// Per partition: offset ranges whose ids are committed but that do not join the checkpoint yet.
    private let uncovered = Mutex<[TopicPartition: [ClosedRange<Int64>]]>([:])

    private struct Memory {
        var filter: FingerprintFilter
        /// The ids in `run` rows, sorted (plus, after a failed commit, ids that are in the log anyway).
        var staged: StagedFingerprints
        /// Ids a merge is moving into `seen` (still in `run` until it ends).
        var merging: StagedFingerprints? = nil
        /// A merge that has started (its ids are in `merging`) but that no task performs yet.
        var pendingMerge: MergeJob? = nil
        /// Wakes the merge task of the running ``exclusively(_:)`` section; nil outside one.
        var mergeWakeup: AsyncStream<Void>.Continuation? = nil
        /// Why the last merge failed, reported by the next ``record(_:ranges:)``.
        var mergeFailure: IngestError? = nil
        /// Resumed when the running merge ends.
        var mergeWaiters: [CheckedContinuation<Void, Never>] = []

        func isStaged(_ f: Fingerprint) -> Bool { staged.contains(f) || (merging?.contains(f) ?? false) }
        /// The epoch stored in `meta` since this process opened the index.
        var epoch: Int64
        var closed = false
    }
    private let memory: Mutex<Memory>

    /// How the filter was obtained when the index was opened (tests and diagnostics).
    public enum FilterOrigin: String, Sendable {
        /// The saved filter matched the index's epoch.
        case loaded
        /// Built by scanning the stored ids (first open, after a crash, or the file was damaged).
        case rebuilt
        /// The index was empty.
        case empty
    }
    /// How the filter was obtained when the index was opened.
    public let filterOrigin: FilterOrigin

    /// Opens (creating if needed) the index at `path`. Does not catch up; call ``catchUp(from:topics:)``.
    public init(path: String, mergeThreshold: Int = 100_000) throws(IngestError) {
        self.path = path
        self.mergeThreshold = max(1, mergeThreshold)
        filterPath = ((path as NSString).deletingPathExtension) + ".filter"
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
            migrator.registerMigration("v2 append-only runs and filter epoch") { db in
                try db.execute(sql: """
                    CREATE TABLE run (id INTEGER PRIMARY KEY, fps BLOB NOT NULL CHECK (length(fps) % 16 = 0));
                    CREATE TABLE meta (key TEXT NOT NULL PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
                    INSERT OR IGNORE INTO seen (fp) SELECT fp FROM recent;
                    DROP TABLE recent;
                    INSERT INTO meta (key, value) VALUES ('seen_rows', (SELECT count(*) FROM seen)), ('filter_epoch', 0);
                    """)
            }
            try migrator.migrate(db)
            // Load the unmerged runs, and the filter if it provably covers every stored id.
            let (seenRows, epoch, staged) = try db.read { db -> (Int, Int64, StagedFingerprints) in
                let rows = try Int.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'seen_rows'") ?? 0
                let epoch = try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'filter_epoch'") ?? 0
                var staged = StagedFingerprints()
                for blob in try Data.fetchAll(db, sql: "SELECT fps FROM run") {
                    var fps: [Fingerprint] = []
                    Self.decode(blob) { fps.append($0) }
                    staged.insert(fps)
                }
                return (rows, epoch, staged)
            }
            var filter: FingerprintFilter
            if let saved = FingerprintFilter.load(from: filterPath), saved.epoch == epoch, epoch > 0 {
                filter = saved.filter
                filterOrigin = .loaded
            } else {
                filter = FingerprintFilter(capacity: (seenRows + staged.count) * 5 / 4)
                if seenRows > 0 {
                    try db.read { db in
                        try RawStatement(db, "SELECT fp FROM seen").withStatement { stmt in
                            try stmt.forEachBlob { filter.insert(Fingerprint(raw: $0)) }
                        }
                    }
                }
                filterOrigin = seenRows + staged.count > 0 ? .rebuilt : .empty
            }
            for run in staged.runs { for f in run { filter.insert(f) } }
            // From now on the saved file is stale (merges add ids to `seen` it does not have)
            // until close() saves the filter under the new epoch.
            try db.write { db in
                try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('filter_epoch', ?)", arguments: [epoch + 1])
            }
            memory = Mutex(Memory(filter: filter, staged: staged, epoch: epoch + 1))
        } catch {
            throw Self.openError(path, error)
        }
    }

    /// Why the index could not be opened, and what to do: deleting it is suggested only when
    /// SQLite says the file is damaged, never for a full disk (the index is then intact).
    static func openError(_ path: String, _ error: any Error) -> IngestError {
        let directory = (path as NSString).deletingLastPathComponent
        let failure = IngestError.storage("cannot open the dedupe index \(path)", error, directory: directory,
                                          diskFullHint: "the index is not damaged; free space on that disk and run the same command again")
        if failure.code == .diskFull { return failure }
        if let db = error as? DatabaseError, db.resultCode == .SQLITE_CORRUPT || db.resultCode == .SQLITE_NOTADB {
            return IngestError(.storage, "the dedupe index \(path) is damaged (\(db.message ?? "SQLite error \(db.resultCode.rawValue)")); delete it and its -wal and -shm files: the next ingest rebuilds it from the log, so nothing is appended twice")
        }
        if let e = error as? IngestError { return e }
        return IngestError(.storage, "cannot open the dedupe index \(path): \(error); check that \(directory) exists and is writable by this user")
    }

    /// The directory of the index's files (for telling a full disk from other write failures).
    private var directory: String { (path as NSString).deletingLastPathComponent }

    /// Saves the Bloom filter next to the database so the next open need not rebuild it. Call it
    /// once, when done with the index; without it (a crash) the next open rebuilds the filter.
    public func close() throws(IngestError) {
        try memory.withLock { (m: inout Memory) throws(IngestError) in
            if m.closed { return }
            m.closed = true
            try m.filter.save(to: filterPath, epoch: m.epoch)
        }
    }

    /// Which of `fingerprints` are already in the index. The Bloom filter settles almost every new
    /// id; the rest are checked against the unmerged runs in memory, then by point lookups in `seen`
    /// (one prepared statement, binding the 16 bytes straight from the stack).
    public func contains(_ fingerprints: [Fingerprint]) async throws(IngestError) -> Set<Fingerprint> {
        if fingerprints.isEmpty { return [] }
        var found = Set<Fingerprint>()
        var maybe: [Fingerprint] = []
        memory.withLock { m in
            for f in fingerprints where m.filter.mayContain(f) {
                if m.isStaged(f) { found.insert(f) } else { maybe.append(f) }
            }
        }
        if maybe.isEmpty { return found }
        do {
            let probe = maybe
            let more = try await db.read { db in
                try RawStatement(db, "SELECT 1 FROM seen WHERE fp = ?").withStatement { seen in
                    var found: [Fingerprint] = []
                    for f in probe where try seen.step(binding: f) { found.append(f) }
                    return found
                }
            }
            found.formUnion(more)
            return found
        } catch {
            throw IngestError.storage("cannot read the dedupe index \(path)", error)
        }
    }

    /// For each fingerprint: true when the Bloom filter says it is certainly not in the index (a
    /// hint only, e.g. to encode early; the dedupe decision is ``contains(_:)``).
    public func definitelyNew(_ fingerprints: [Fingerprint]) -> [Bool] {
        memory.withLock { m in fingerprints.map { !m.filter.mayContain($0) } }
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
    ///
    /// Only call it for ids that are durably in the log: they enter the in-memory filter and set
    /// before the commit (if the commit fails they are still truly "seen").
    public func record(_ fingerprints: [Fingerprint], ranges: [AppendedRange]) async throws(IngestError) {
        let contiguous = ranges.filter { $0.last.rawValue - $0.first.rawValue + 1 == Int64($0.count) }
        do {
            try await db.write { db in
                try self.stage(fingerprints, db)
                for r in contiguous {
                    let tp = r.topicPartition
                    let current = try Int64.fetchOne(db.cachedStatement(sql: "SELECT next_offset FROM checkpoint WHERE topic = ? AND partition = ?"),
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
            throw IngestError.storage("cannot record appended entries in the dedupe index \(path)", error, directory: directory,
                                      hint: "nothing is lost (the log has the events), the next ingest re-indexes them",
                                      diskFullHint: "nothing is lost: the entries are in the log and the next ingest indexes them; free space on that disk and run the same command again")
        }
        try await mergeIfNeeded()
    }

    /// Indexes every record of `topics` after each partition's checkpoint; returns how many records it read.
    @discardableResult
    public func catchUp(from log: any MessageLog, topics: [TopicName] = Topics.events) async throws(IngestError) -> Int {
        var scanned = 0
        for topic in topics {
            let description: TopicDescription
            do {
                description = try await log.describeTopic(topic)
            } catch let e as LogError where e.code == .unknownTopic {
                continue
            } catch {
                throw IngestError.storage("cannot read topic \(topic) to update the dedupe index", error)
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
                        throw IngestError.storage("cannot read \(tp) to update the dedupe index", error)
                    }
                    if result.records.isEmpty { break }
                    var fps: [Fingerprint] = []
                    fps.reserveCapacity(result.records.count)
                    for r in result.records {
                        if let id = EventCodec.eventID(r), let eid = try? EventID(id) { fps.append(Fingerprint(eid)) }
                    }
                    // Ids already indexed (a crash after the index commit but before the checkpoint
                    // advanced) are not staged again.
                    let known = try await contains(fps)
                    let found = known.isEmpty ? fps : fps.filter { !known.contains($0) }
                    let next = result.nextOffset.rawValue
                    do {
                        try await db.write { db in
                            try self.stage(found, db)
                            try Self.setCheckpoint(tp, next, db)
                        }
                    } catch {
                        throw IngestError.storage("cannot bring the dedupe index \(path) up to date with the log", error, directory: directory,
                                                  diskFullHint: "the index is not damaged; free space on that disk and run the same command again")
                    }
                    try await mergeIfNeeded()
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
            throw IngestError.storage("cannot read the dedupe index \(path)", error)
        }
    }

    /// Overwrites a checkpoint. Used by catch-up and by tests that simulate a crash before the index commit.
    package func setCheckpoint(_ tp: TopicPartition, _ next: Int64) async throws(IngestError) {
        do {
            try await db.write { db in try Self.setCheckpoint(tp, next, db) }
        } catch {
            throw IngestError.storage("cannot write the dedupe index \(path)", error, directory: directory)
        }
    }

    /// Removes fingerprints from the stored index (tests: simulate an index commit that never
    /// happened). The Bloom filter keeps them, so they become its false positives.
    package func forget(_ fingerprints: [Fingerprint]) async throws {
        let gone = Set(fingerprints)
        try await db.write { db in
            var removed = 0
            for f in fingerprints {
                try db.execute(sql: "DELETE FROM seen WHERE fp = ?", arguments: [f.data])
                removed += db.changesCount
            }
            try db.execute(sql: "UPDATE meta SET value = value - ? WHERE key = 'seen_rows'", arguments: [removed])
            for row in try Row.fetchAll(db, sql: "SELECT id, fps FROM run") {
                var kept = Data()
                Self.decode(row["fps"]) { if !gone.contains($0) { kept.append($0.data) } }
                try db.execute(sql: "UPDATE run SET fps = ? WHERE id = ?", arguments: [kept, row["id"] as Int64])
            }
            self.memory.withLock { m in
                m.staged.remove(gone)
                m.merging?.remove(gone)
            }
        }
    }

    /// Number of distinct fingerprints stored (exact; probes every unmerged id, for tests and diagnostics).
    public func count() async throws(IngestError) -> Int {
        let staged = memory.withLock { m in Array(Set(m.staged.sorted + (m.merging?.sorted ?? []))) }
        do {
            return try await db.read { db in
                let rows = try Int.fetchOne(db, sql: "SELECT count(*) FROM seen") ?? 0
                let alsoInSeen = try RawStatement(db, "SELECT 1 FROM seen WHERE fp = ?").withStatement { stmt in
                    try staged.reduce(0) { try $0 + (stmt.step(binding: $1) ? 1 : 0) }
                }
                return rows + staged.count - alsoInSeen
            }
        } catch {
            throw IngestError.storage("cannot read the dedupe index \(path)", error)
        }
    }

    /// Ids in unmerged runs (tests).
    package var stagedCount: Int { memory.withLock { $0.staged.count + ($0.merging?.count ?? 0) } }
    /// Whether the Bloom filter may contain `f` (tests: a forgotten id stays a false positive).
    package func filterMayContain(_ f: Fingerprint) -> Bool { memory.withLock { $0.filter.mayContain(f) } }

    private static func setCheckpoint(_ tp: TopicPartition, _ next: Int64, _ db: Database) throws {
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO checkpoint (topic, partition, next_offset) VALUES (?, ?, ?)")
            .execute(arguments: [tp.topic.rawValue, tp.partition.rawValue, next])
    }

    /// Appends one `run` row with `fingerprints` and adds them to the filter and `staged`. Runs on
    /// GRDB's serial writer queue inside the caller's transaction.
    private func stage(_ fingerprints: [Fingerprint], _ db: Database) throws {
        if fingerprints.isEmpty { return }
        var blob = Data(count: fingerprints.count * 16)
        blob.withUnsafeMutableBytes { raw in
            for (i, f) in fingerprints.enumerated() {
                raw.storeBytes(of: f.high.bigEndian, toByteOffset: i * 16, as: UInt64.self)
                raw.storeBytes(of: f.low.bigEndian, toByteOffset: i * 16 + 8, as: UInt64.self)
            }
        }
        try db.execute(sql: "INSERT INTO run (fps) VALUES (?)", arguments: [blob])
        memory.withLock { m in
            for f in fingerprints { m.filter.insert(f) }
            m.staged.insert(fingerprints)
        }
    }

    /// Runs `body` as the only ingest or catch-up on this index (waiting for any other to end),
    /// with a child task beside it that performs the merges its records start, so they interleave
    /// with the recording of later batches instead of blocking them. Returns once `body` and every
    /// merge it started have ended: a merge never outlives the section whose ids it moves.
    ///
    /// When the section's task is cancelled, a merge that has not finished is abandoned (the
    /// ids stay in `run` and go back to `staged`; a later merge moves them), never reported as a failure.
    func exclusively<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await ingestGate.run {
            let (wakeups, wakeup) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
            memory.withLock { $0.mergeWakeup = wakeup }
            let outcome = await withTaskGroup(of: Void.self, returning: Result<T, any Error>.self) { group in
                group.addTask {
                    for await _ in wakeups { await self.performPendingMerge() }
                    // A merge started just before the section ended (or when the iteration was
                    // cancelled) is still performed, or abandoned, here: never left half-started.
                    await self.performPendingMerge()
                }
                let outcome: Result<T, any Error>
                do { outcome = .success(try await body()) } catch { outcome = .failure(error) }
                // Cleared before finishing, under the lock: a merge started after this is
                // performed by its recorder itself, one started before is still in `pendingMerge`.
                memory.withLock { $0.mergeWakeup = nil }
                wakeup.finish()
                await group.waitForAll()
                return outcome
            }
            return try outcome.get()
        }
    }

    /// A merge that has started: its ids (in key order, moved from `staged` to `merging`) and the
    /// last `run` row they come from.
    struct MergeJob: Sendable {
        var ids: [Fingerprint]
        var lastRun: Int64
    }

    /// Starts merging the staged ids into `seen` once ``mergeThreshold`` are staged, unless a merge
    /// is running; reports the failure of the previous one. Inside an ``exclusively(_:)`` section
    /// the merge is handed to the section's merge task and this returns at once; outside one the
    /// merge is performed before this returns.
    ///
    /// The start is one short transaction on the writer queue (so no batch is being staged): it
    /// notes the last `run` row and moves `staged` to `merging`. The merge then inserts the ids in
    /// key order in transactions of ``mergeChunk``, and a last one deletes the `run` rows up to the
    /// noted one and drops `merging`. A crash at any point leaves every id in `seen` or in `run`.
    private func mergeIfNeeded() async throws(IngestError) {
        let (due, failure) = memory.withLock { m -> (Bool, IngestError?) in
            defer { m.mergeFailure = nil }
            return (m.merging == nil && m.staged.count >= mergeThreshold, m.mergeFailure)
        }
        if let failure { throw failure }
        guard due else { return }
        let handedOver: Bool?
        do {
            handedOver = try await db.write { db -> Bool? in
                // Checked again here: appends record concurrently, and only one may start the merge.
                let last = try Int64.fetchOne(db, sql: "SELECT max(id) FROM run") ?? 0
                return self.memory.withLock { m -> Bool? in
                    guard m.merging == nil, m.staged.count >= self.mergeThreshold else { return nil }
                    let ids = m.staged.sorted
                    m.merging = m.staged
                    m.staged = StagedFingerprints()
                    m.pendingMerge = MergeJob(ids: ids, lastRun: last)
                    // Read under the same lock that set `pendingMerge`: see exclusively(_:).
                    if let wakeup = m.mergeWakeup {
                        wakeup.yield()
                        return true
                    }
                    return false
                }
            }
        } catch {
            throw IngestError.storage("cannot start merging the dedupe index \(path)", error, directory: directory)
        }
        if handedOver == false { await performPendingMerge() }
    }

    /// Performs the started merge, if any task has not taken it already.
    private func performPendingMerge() async {
        let job = memory.withLock { m -> MergeJob? in
            defer { m.pendingMerge = nil }
            return m.pendingMerge
        }
        if let job { await merge(job.ids, upToRun: job.lastRun) }
    }

    private func merge(_ fps: [Fingerprint], upToRun lastRun: Int64) async {
        do {
            var start = 0
            while start < fps.count {
                let chunk = fps[start..<min(start + mergeChunk, fps.count)]
                start += mergeChunk
                try await db.write { db in
                    var added = 0
                    try RawStatement(db, "INSERT OR IGNORE INTO seen (fp) VALUES (?)").withStatement { stmt in
                        for f in chunk {
                            _ = try stmt.step(binding: f)
                            added += stmt.changes
                        }
                    }
                    try db.execute(sql: "UPDATE meta SET value = value + ? WHERE key = 'seen_rows'", arguments: [added])
                }
            }
            try await db.write { db in
                try db.execute(sql: "DELETE FROM run WHERE id <= ?", arguments: [lastRun])
                // Dropped only once the delete commits (GRDB calls this on the writer queue, before any other write).
                db.afterNextTransaction(onCommit: { _ in self.memory.withLock { $0.merging = nil } })
            }
        } catch {
            // The ids stay in `run` and go back to `staged`; a later merge retries. A cancelled
            // section (GRDB refuses to start a write in a cancelled task) is no failure to report.
            let cancelled = error is CancellationError
            memory.withLock { m in
                if let back = m.merging { for run in back.runs { m.staged.insert(run) } }
                m.merging = nil
                if cancelled { return }
                m.mergeFailure = IngestError.storage("cannot merge the dedupe index \(path)", error, directory: self.directory,
                                                     hint: "nothing is lost (the log has the events), the next ingest re-indexes them",
                                                     diskFullHint: "nothing is lost (the ids stay in the index's unmerged runs); free space on that disk and run the same command again")
            }
        }
        let waiters = memory.withLock { m -> [CheckedContinuation<Void, Never>] in
            defer { m.mergeWaiters = [] }
            return m.mergeWaiters
        }
        for w in waiters { w.resume() }
    }

    /// Waits until no merge is running (before ``close()``, so the next open finds `run` short;
    /// stopping mid-merge loses nothing either). Merges only run inside an ingest or catch-up, so
    /// once those have returned this returns at once.
    public func waitForMerges() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let running = memory.withLock { m -> Bool in
                guard m.merging != nil else { return false }
                m.mergeWaiters.append(c)
                return true
            }
            if !running { c.resume() }
        }
    }

    /// Whether a merge has started and not ended (tests).
    package var isMerging: Bool { memory.withLock { $0.merging != nil } }

    /// Calls `body` with each 16-byte fingerprint of a `run` blob.
    private static func decode(_ blob: Data, _ body: (Fingerprint) -> Void) {
        blob.withUnsafeBytes { raw in
            var i = 0
            while i + 16 <= raw.count {
                body(Fingerprint(high: UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)),
                                 low: UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self))))
                i += 16
            }
        }
    }

    /// Ids staged before `run` is merged into `seen` (100,000: 1.6 MB of memory; larger values cost
    /// memory and did not measurably save CPU at 1 M ids).
    public let mergeThreshold: Int
    /// Ids per merge transaction: a recording batch waits behind at most one (about 5 ms).
    let mergeChunk = 5_000
}

/// The staged (unmerged) fingerprints as a few sorted runs of geometrically decreasing size (a
/// new batch is merged with the runs no more than twice its size), so staging n ids moves each
/// about log(n / batch) times instead of once per later batch; exact membership is a binary
/// search per run (at most a dozen), 16 bytes per id.
struct StagedFingerprints {
    private(set) var runs: [[Fingerprint]] = []
    private(set) var count = 0

    /// Every staged id in key order (merges the runs).
    var sorted: [Fingerprint] {
        var all: [Fingerprint] = []
        for r in runs { all = Self.merge(all, r) }
        return all
    }

    func contains(_ f: Fingerprint) -> Bool {
        for run in runs {
            var lo = 0, hi = run.count
            while lo < hi {
                let mid = (lo + hi) >> 1
                if run[mid] < f { lo = mid + 1 } else { hi = mid }
            }
            if lo < run.count && run[lo] == f { return true }
        }
        return false
    }

    mutating func insert(_ batch: [Fingerprint]) {
        if batch.isEmpty { return }
        var run = batch
        run.sort()
        count += run.count
        while let last = runs.last, last.count <= 2 * run.count {
            run = Self.merge(last, run)
            runs.removeLast()
        }
        runs.append(run)
    }

    mutating func remove(_ gone: Set<Fingerprint>) {
        for i in runs.indices { runs[i].removeAll { gone.contains($0) } }
        runs.removeAll { $0.isEmpty }
        count = runs.reduce(0) { $0 + $1.count }
    }

    private static func merge(_ a: [Fingerprint], _ b: [Fingerprint]) -> [Fingerprint] {
        if a.isEmpty { return b }
        if b.isEmpty { return a }
        return [Fingerprint](unsafeUninitializedCapacity: a.count + b.count) { out, n in
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    var i = 0, j = 0, k = 0
                    while i < a.count && j < b.count {
                        if b[j] < a[i] { out[k] = b[j]; j += 1 } else { out[k] = a[i]; i += 1 }
                        k += 1
                    }
                    while i < a.count { out[k] = a[i]; i += 1; k += 1 }
                    while j < b.count { out[k] = b[j]; j += 1; k += 1 }
                }
            }
            n = a.count + b.count
        }
    }
}

extension Fingerprint: Comparable {
    public static func < (a: Fingerprint, b: Fingerprint) -> Bool { a.high != b.high ? a.high < b.high : a.low < b.low }

    /// The fingerprint is already uniformly distributed: hashing one word is enough.
    public func hash(into hasher: inout Hasher) { hasher.combine(low) }
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

        /// The connection's last error; `SQLITE_FULL` as `.diskFull`.
        static func failure(_ connection: OpaquePointer) -> IngestError {
            let text = String(cString: sqlite3_errmsg(connection))
            return sqlite3_errcode(connection) & 0xFF == SQLITE_FULL
                ? IngestError(.diskFull, "disk full: SQLite: \(text)") : IngestError(.storage, "SQLite: \(text)")
        }

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
                default: throw Self.failure(connection)
                }
            }
        }

        /// Steps through every row, calling `body` with column 0 when it is a 16-byte blob.
        func forEachBlob(_ body: (UnsafeRawBufferPointer) -> Void) throws {
            defer { sqlite3_reset(stmt) }
            while true {
                switch sqlite3_step(stmt) {
                case SQLITE_ROW:
                    if sqlite3_column_bytes(stmt, 0) == 16, let p = sqlite3_column_blob(stmt, 0) {
                        body(UnsafeRawBufferPointer(start: p, count: 16))
                    }
                case SQLITE_DONE: return
                default: throw Self.failure(connection)
                }
            }
        }
    }
}
