import ChaparModels
import GRDB
import GRDBSQLite

/// SQLite's "copy this string now" destructor; the macro itself does not import into Swift.
private let sqliteTransient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

/// Prepared statements that write whole profiles inside one open transaction.
///
/// Binds with the SQLite C API directly: a bulk import writes about six rows per customer, and
/// GRDB's `StatementArguments` boxing was the largest cost per row.
struct ProfileWriter {
    private let db: Database
    private let insertCustomer: Statement
    private let insertAccount: Statement
    private let insertChannel: Statement
    private let insertMinimum: Statement
    private let deleteCustomer: Statement

    init(_ db: Database) throws {
        self.db = db
        insertCustomer = try db.makeStatement(sql: "INSERT INTO customer (id, name, language, time_zone, birthday, active) VALUES (?, ?, ?, ?, ?, ?)")
        insertAccount = try db.makeStatement(sql: "INSERT INTO customer_account (account, customer_id, position) VALUES (?, ?, ?)")
        insertChannel = try db.makeStatement(sql: "INSERT INTO channel_preference (customer_id, channel, address, enabled, event_kinds, quiet_start, quiet_end) VALUES (?, ?, ?, ?, ?, ?, ?)")
        insertMinimum = try db.makeStatement(sql: "INSERT INTO channel_minimum (customer_id, channel, currency, minor_units) VALUES (?, ?, ?, ?)")
        deleteCustomer = try db.makeStatement(sql: "DELETE FROM customer WHERE id = ?")
    }

    /// Inserts a validated profile. A duplicate id fails with SQLITE_CONSTRAINT.
    func insert(_ p: CustomerProfile) throws {
        let id = p.id.rawValue
        var s = insertCustomer.sqliteStatement
        sqlite3_bind_text(s, 1, id, -1, sqliteTransient)
        sqlite3_bind_text(s, 2, p.name, -1, sqliteTransient)
        sqlite3_bind_text(s, 3, p.language.rawValue, -1, sqliteTransient)
        sqlite3_bind_text(s, 4, p.timeZone, -1, sqliteTransient)
        if let b = p.birthday { sqlite3_bind_text(s, 5, b.description, -1, sqliteTransient) } else { sqlite3_bind_null(s, 5) }
        sqlite3_bind_int64(s, 6, p.active ? 1 : 0)
        try step(s)
        s = insertAccount.sqliteStatement
        for (position, account) in p.accounts.enumerated() {
            sqlite3_bind_text(s, 1, account.rawValue, -1, sqliteTransient)
            sqlite3_bind_text(s, 2, id, -1, sqliteTransient)
            sqlite3_bind_int64(s, 3, Int64(position))
            try step(s)
        }
        for pref in p.channels {
            s = insertChannel.sqliteStatement
            sqlite3_bind_text(s, 1, id, -1, sqliteTransient)
            sqlite3_bind_text(s, 2, pref.channel.rawValue, -1, sqliteTransient)
            sqlite3_bind_text(s, 3, pref.address.value, -1, sqliteTransient)
            sqlite3_bind_int64(s, 4, pref.enabled ? 1 : 0)
            if let kinds = ProfileCodec.storedEventKinds(pref.eventKinds) { sqlite3_bind_text(s, 5, kinds, -1, sqliteTransient) } else { sqlite3_bind_null(s, 5) }
            if let q = pref.quietHours {
                sqlite3_bind_int64(s, 6, Int64(q.start.minutes))
                sqlite3_bind_int64(s, 7, Int64(q.end.minutes))
            } else {
                sqlite3_bind_null(s, 6)
                sqlite3_bind_null(s, 7)
            }
            try step(s)
            if !pref.minimumAmounts.isEmpty {
                s = insertMinimum.sqliteStatement
                for (currency, minor) in pref.minimumAmounts {
                    sqlite3_bind_text(s, 1, id, -1, sqliteTransient)
                    sqlite3_bind_text(s, 2, pref.channel.rawValue, -1, sqliteTransient)
                    sqlite3_bind_text(s, 3, currency.rawValue, -1, sqliteTransient)
                    sqlite3_bind_int64(s, 4, minor)
                    try step(s)
                }
            }
        }
    }

    /// Deletes a customer with everything that hangs off it (foreign keys cascade); returns whether it existed.
    @discardableResult
    func delete(_ id: CustomerID) throws -> Bool {
        let s = deleteCustomer.sqliteStatement
        sqlite3_bind_text(s, 1, id.rawValue, -1, sqliteTransient)
        try step(s)
        return sqlite3_changes(db.sqliteConnection) > 0
    }

    private func step(_ s: OpaquePointer?) throws {
        let rc = sqlite3_step(s)
        sqlite3_reset(s)
        guard rc == SQLITE_DONE else {
            let message = String(cString: sqlite3_errmsg(db.sqliteConnection))
            throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: message)
        }
    }
}

/// Text forms shared by the database columns and the CSV layout.
enum ProfileCodec {
    static let defaultKindsText = "credit;debit;security"

    /// Sorted, `;`-separated; the empty set is the empty string.
    static func eventKindsText(_ kinds: Set<EventKind>) -> String {
        if kinds == EventKind.defaultSubscription { return defaultKindsText }
        return kinds.map(\.rawValue).sorted().joined(separator: ";")
    }

    /// The `event_kinds` column: NULL for the default subscription, else ``eventKindsText(_:)``.
    static func storedEventKinds(_ kinds: Set<EventKind>) -> String? {
        kinds.count == 3 && kinds == EventKind.defaultSubscription ? nil : eventKindsText(kinds)
    }

    static func eventKinds(_ text: String?) throws(InvalidValue) -> Set<EventKind> {
        guard let text else { return EventKind.defaultSubscription }
        if text == defaultKindsText { return EventKind.defaultSubscription }
        var kinds: Set<EventKind> = []
        for part in text.split(separator: ";") { kinds.insert(try EventKind(String(part))) }
        return kinds
    }
}

/// Loads whole profiles from the database.
enum ProfileReader {
    /// Profiles for `ids` (missing ids are simply absent), keyed by id.
    static func load(_ ids: some Collection<String>, _ db: Database) throws -> [String: CustomerProfile] {
        var result: [String: CustomerProfile] = [:]
        result.reserveCapacity(ids.count)
        var chunk: [String] = []
        chunk.reserveCapacity(500)
        for id in ids {
            chunk.append(id)
            if chunk.count == 500 {
                try loadChunk(chunk, db, into: &result)
                chunk.removeAll(keepingCapacity: true)
            }
        }
        if !chunk.isEmpty { try loadChunk(chunk, db, into: &result) }
        return result
    }

    /// Customer ids linked to `account`, in id order.
    static func customerIDs(forAccount account: AccountID, _ db: Database) throws -> [String] {
        try String.fetchAll(try db.cachedStatement(sql: "SELECT customer_id FROM customer_account WHERE account = ? ORDER BY customer_id"), arguments: [account.rawValue])
    }

    /// IN-list sizes the statements are prepared for; a chunk is padded to the next size by repeating
    /// its last id, so each connection caches a handful of statements instead of one per size.
    private static let listSizes = [1, 4, 16, 64, 256, 500]

    /// The prepared IN-list size for `count` values (at most 500).
    static func listSize(_ count: Int) -> Int { listSizes.first { $0 >= count } ?? count }

    private static func loadChunk(_ ids: [String], _ db: Database, into result: inout [String: CustomerProfile]) throws {
        let size = listSizes.first { $0 >= ids.count } ?? ids.count
        let marks = databaseQuestionMarks(count: size)
        // Rows are read with the SQLite C API on GRDB's cached statements: decoding through `Row`
        // was most of the cost of a cold lookup (a million-customer store misses often).
        func query(_ sql: String, _ row: (RawRow) throws -> Void) throws {
            let query = try RawQuery(db, sql)
            try query.run(ids, paddedTo: size, row)
        }
        do {
            try query("SELECT id, name, language, time_zone, birthday, active FROM customer WHERE id IN (\(marks))") { row in
                let id = row.text(0)
                let birthday = row.optionalText(4)
                result[id] = CustomerProfile(
                    id: try CustomerID(id), name: row.text(1), language: try Language(parsing: row.text(2)), timeZone: row.text(3),
                    birthday: try birthday.map { b throws(InvalidValue) in try CalendarDate(iso: b) }, active: row.int(5) != 0)
            }
            try query("SELECT customer_id, account FROM customer_account WHERE customer_id IN (\(marks)) ORDER BY customer_id, position") { row in
                result[row.text(0)]?.accounts.append(try AccountID(row.text(1)))
            }
            var minimums: [String: [CurrencyCode: Int64]] = [:]
            try query("SELECT customer_id, channel, currency, minor_units FROM channel_minimum WHERE customer_id IN (\(marks))") { row in
                minimums[row.text(0) + "\u{0}" + row.text(1), default: [:]][try CurrencyCode(row.text(2))] = row.int(3)
            }
            try query("SELECT customer_id, channel, address, enabled, event_kinds, quiet_start, quiet_end FROM channel_preference WHERE customer_id IN (\(marks)) ORDER BY customer_id") { row in
                let id = row.text(0)
                let channelText = row.text(1)
                let channel = try Channel(parsing: channelText)
                var quiet: QuietHours?
                if !row.isNull(5), !row.isNull(6) {
                    quiet = try QuietHours(start: try TimeOfDay(minutes: Int(row.int(5))), end: try TimeOfDay(minutes: Int(row.int(6))))
                }
                let pref = ChannelPreference(
                    channel: channel, address: ContactAddress(stored: row.text(2), channel: channel), enabled: row.int(3) != 0,
                    minimumAmounts: minimums.isEmpty ? [:] : minimums[id + "\u{0}" + channelText] ?? [:],
                    eventKinds: try ProfileCodec.eventKinds(row.optionalText(4)), quietHours: quiet)
                result[id]?.channels.append(pref)
            }
        } catch let invalid as InvalidValue {
            throw CustomerStoreError(.storage, "the customer database holds a value that is no longer valid (\(invalid)); fix it with chapar customers set or re-import the customer")
        }
        for id in ids {
            guard let channels = result[id]?.channels, !zip(channels, channels.dropFirst()).allSatisfy({ $0.channel < $1.channel }) else { continue }
            result[id]!.channels.sort { $0.channel < $1.channel }  // present: checked just above
        }
    }
}

/// One of GRDB's cached statements driven through the SQLite C API: text parameters in, rows out.
struct RawQuery {
    private let statement: OpaquePointer
    private let db: Database

    init(_ db: Database, _ sql: String) throws {
        self.db = db
        statement = try db.cachedStatement(sql: sql).sqliteStatement
    }

    /// Binds `values` (repeating the last up to `size` parameters), steps through every row and resets.
    func run(_ values: [String], paddedTo size: Int, _ row: (RawRow) throws -> Void) throws {
        defer {
            sqlite3_reset(statement)
            sqlite3_clear_bindings(statement)
        }
        for i in 0..<size {
            sqlite3_bind_text(statement, Int32(i + 1), values[min(i, values.count - 1)], -1, sqliteTransient)
        }
        while true {
            let rc = sqlite3_step(statement)
            if rc == SQLITE_DONE { return }
            guard rc == SQLITE_ROW else {
                throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
            }
            try row(RawRow(statement: statement))
        }
    }
}

/// The current row of a ``RawQuery``.
struct RawRow {
    let statement: OpaquePointer

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(statement, column) == SQLITE_NULL }

    func int(_ column: Int32) -> Int64 { sqlite3_column_int64(statement, column) }

    /// Text of a NOT NULL column (NULL reads as the empty string).
    func text(_ column: Int32) -> String {
        guard let bytes = sqlite3_column_text(statement, column) else { return "" }
        return String(decoding: UnsafeBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(statement, column))), as: UTF8.self)
    }

    func optionalText(_ column: Int32) -> String? { isNull(column) ? nil : text(column) }
}
