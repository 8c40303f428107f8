import ChaparModels
import GRDB
import GRDBSQLite

/// The bulk-import writer: buffers profiles and writes them with multi-row `INSERT`s.
///
/// One `sqlite3_step` per row costs a VDBE program start and halt each; a million customers are six
/// million rows, so rows go out `rowsPerStatement` at a time. Text is copied into an arena and bound
/// `SQLITE_STATIC`, which spares SQLite a malloc, copy and free (each taking its memory mutex) per value.
///
/// Each flush runs in a savepoint. If SQLite rejects a batch (which validation should prevent), the
/// batch is rolled back and written again one profile at a time, so the bad row is named by its line.
final class BatchProfileWriter {
    private let db: Database
    private let single: ProfileWriter
    private let rowsPerStatement = 64
    private var pending: [(line: Int, profile: CustomerProfile)] = []
    private var statements: [String: Statement] = [:]
    private let arena: UnsafeMutableRawPointer
    private let arenaSize = 1 << 20
    private var arenaUsed = 0

    init(_ db: Database) throws {
        self.db = db
        single = try ProfileWriter(db)
        arena = UnsafeMutableRawPointer.allocate(byteCount: arenaSize, alignment: 8)
        pending.reserveCapacity(rowsPerStatement)
    }

    deinit { arena.deallocate() }

    /// Deletes a customer (cascading); pending rows are written first so the order of operations holds.
    func delete(_ id: CustomerID, problems: inout [(line: Int, message: String)]) throws -> Bool {
        try flush(reportingTo: &problems)
        return try single.delete(id)
    }

    /// Queues a validated profile; `problems` receives `(line, message)` if SQLite rejects it later.
    func insert(_ profile: CustomerProfile, line: Int, problems: inout [(line: Int, message: String)]) throws {
        pending.append((line, profile))
        if pending.count >= rowsPerStatement { try flush(reportingTo: &problems) }
    }

    /// Writes everything queued.
    func finish(problems: inout [(line: Int, message: String)]) throws {
        try flush(reportingTo: &problems)
    }

    private func flush(reportingTo problems: inout [(line: Int, message: String)]) throws {
        guard !pending.isEmpty else { return }
        let batch = pending
        pending.removeAll(keepingCapacity: true)
        try db.execute(sql: "SAVEPOINT chapar_batch")
        do {
            try writeBatch(batch)
            try db.execute(sql: "RELEASE chapar_batch")
        } catch is DatabaseError {
            try db.execute(sql: "ROLLBACK TO chapar_batch")
            try db.execute(sql: "RELEASE chapar_batch")
            arenaUsed = 0
            for (line, profile) in batch {
                do { try single.insert(profile) } catch let e as DatabaseError {
                    problems.append((line, e.message ?? "\(e.resultCode)"))
                }
            }
        }
    }

    // MARK: multi-row inserts

    private func statement(_ table: String, _ columns: String, width: Int, rows: Int) throws -> Statement {
        let key = "\(table)#\(rows)"
        if let s = statements[key] { return s }
        let row = "(" + Array(repeating: "?", count: width).joined(separator: ",") + ")"
        let s = try db.makeStatement(sql: "INSERT INTO \(table) (\(columns)) VALUES " + Array(repeating: row, count: rows).joined(separator: ","))
        if rows == rowsPerStatement { statements[key] = s }
        return s
    }

    /// Copies `text` into the arena and binds it without SQLite copying it again.
    private func bind(_ s: OpaquePointer?, _ index: Int32, _ text: String) {
        let done: Bool? = text.utf8.withContiguousStorageIfAvailable { bytes in
            guard arenaUsed + bytes.count <= arenaSize else { return false }
            let destination = arena + arenaUsed
            if let base = bytes.baseAddress { destination.copyMemory(from: base, byteCount: bytes.count) }
            arenaUsed += bytes.count
            sqlite3_bind_text(s, index, destination.assumingMemoryBound(to: CChar.self), Int32(bytes.count), nil)
            return true
        }
        if done != true {
            // Not contiguous, or (impossible with validated rows) the arena is full: let SQLite copy.
            sqlite3_bind_text(s, index, text, -1, unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self))
        }
    }

    private func step(_ statement: Statement) throws {
        let s = statement.sqliteStatement
        let rc = sqlite3_step(s)
        sqlite3_reset(s)
        arenaUsed = 0
        guard rc == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
    }

    /// Writes `rows` through statements of `rowsPerStatement` rows plus one for the remainder.
    private func insertRows<Row>(_ rows: [Row], table: String, columns: String, width: Int, bindRow: (OpaquePointer?, Int32, Row) -> Void) throws {
        var start = 0
        while start < rows.count {
            let count = min(rowsPerStatement, rows.count - start)
            let statement = try statement(table, columns, width: width, rows: count)
            let s = statement.sqliteStatement
            for i in 0..<count { bindRow(s, Int32(i * width), rows[start + i]) }
            try step(statement)
            start += count
        }
    }

    private func writeBatch(_ batch: [(line: Int, profile: CustomerProfile)]) throws {
        // Rows are addressed by index pairs into `batch` rather than copied into tuples of strings:
        // the profiles were built on other threads, and every retain here is a contended atomic.
        try insertRows(Array(batch.indices), table: "customer", columns: "id, name, language, time_zone, birthday, active", width: 6) { s, base, i in
            bind(s, base + 1, batch[i].profile.id.rawValue)
            bind(s, base + 2, batch[i].profile.name)
            bind(s, base + 3, batch[i].profile.language.rawValue)
            bind(s, base + 4, batch[i].profile.timeZone)
            if let b = batch[i].profile.birthday { bind(s, base + 5, b.description) } else { sqlite3_bind_null(s, base + 5) }
            sqlite3_bind_int64(s, base + 6, batch[i].profile.active ? 1 : 0)
        }
        var accounts: [(Int32, Int32)] = [], channels: [(Int32, Int32)] = [], minimums: [(Int32, Int32)] = []
        accounts.reserveCapacity(batch.count * 2)
        channels.reserveCapacity(batch.count * 3)
        for i in batch.indices {
            for a in batch[i].profile.accounts.indices { accounts.append((Int32(i), Int32(a))) }
            for c in batch[i].profile.channels.indices {
                channels.append((Int32(i), Int32(c)))
                if !batch[i].profile.channels[c].minimumAmounts.isEmpty { minimums.append((Int32(i), Int32(c))) }
            }
        }
        try insertRows(accounts, table: "customer_account", columns: "account, customer_id, position", width: 3) { s, base, row in
            let i = Int(row.0), a = Int(row.1)
            bind(s, base + 1, batch[i].profile.accounts[a].rawValue)
            bind(s, base + 2, batch[i].profile.id.rawValue)
            sqlite3_bind_int64(s, base + 3, Int64(a))
        }
        try insertRows(channels, table: "channel_preference", columns: "customer_id, channel, address, enabled, event_kinds, quiet_start, quiet_end", width: 7) { s, base, row in
            let i = Int(row.0), c = Int(row.1)
            bind(s, base + 1, batch[i].profile.id.rawValue)
            bind(s, base + 2, batch[i].profile.channels[c].channel.rawValue)
            bind(s, base + 3, batch[i].profile.channels[c].address.value)
            sqlite3_bind_int64(s, base + 4, batch[i].profile.channels[c].enabled ? 1 : 0)
            if let kinds = ProfileCodec.storedEventKinds(batch[i].profile.channels[c].eventKinds) { bind(s, base + 5, kinds) } else { sqlite3_bind_null(s, base + 5) }
            if let q = batch[i].profile.channels[c].quietHours {
                sqlite3_bind_int64(s, base + 6, Int64(q.start.minutes))
                sqlite3_bind_int64(s, base + 7, Int64(q.end.minutes))
            } else {
                sqlite3_bind_null(s, base + 6)
                sqlite3_bind_null(s, base + 7)
            }
        }
        var minimumRows: [(id: String, channel: String, currency: String, minor: Int64)] = []
        for (i, c) in minimums {
            let pref = batch[Int(i)].profile.channels[Int(c)]
            for (currency, minor) in pref.minimumAmounts { minimumRows.append((batch[Int(i)].profile.id.rawValue, pref.channel.rawValue, currency.rawValue, minor)) }
        }
        try insertRows(minimumRows, table: "channel_minimum", columns: "customer_id, channel, currency, minor_units", width: 4) { s, base, row in
            bind(s, base + 1, row.id)
            bind(s, base + 2, row.channel)
            bind(s, base + 3, row.currency)
            sqlite3_bind_int64(s, base + 4, row.minor)
        }
    }
}
