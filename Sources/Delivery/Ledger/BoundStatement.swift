import GRDB
import GRDBSQLite

/// SQLite's "copy this value now" destructor; the macro itself does not import into Swift.
private let sqliteTransient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

/// A prepared statement bound and run with the SQLite C API.
///
/// The ledger writes two rows per job sent (its state and its attempt); GRDB's
/// `StatementArguments` boxes each value in an existential, which cost more than the binding
/// itself. Bind every parameter (1-based, as in SQLite), then ``run()``.
struct BoundStatement {
    private let db: Database
    private let statement: OpaquePointer

    init(_ statement: Statement, in db: Database) {
        self.db = db
        self.statement = statement.sqliteStatement
    }

    func bind(_ index: Int32, _ value: String?) {
        if let value { sqlite3_bind_text(statement, index, value, -1, sqliteTransient) } else { sqlite3_bind_null(statement, index) }
    }

    func bind(_ index: Int32, _ value: Int64?) {
        if let value { sqlite3_bind_int64(statement, index, value) } else { sqlite3_bind_null(statement, index) }
    }

    func bind(_ index: Int32, _ value: Int?) { bind(index, value.map(Int64.init)) }

    func bind(_ index: Int32, _ value: Double) { sqlite3_bind_double(statement, index, value) }

    func bind(_ index: Int32, _ value: [UInt8]?) {
        if let value {
            value.withUnsafeBytes { _ = sqlite3_bind_blob(statement, index, $0.baseAddress, Int32($0.count), sqliteTransient) }
        } else {
            sqlite3_bind_null(statement, index)
        }
    }

    /// Runs the statement to completion and resets it for the next row.
    func run() throws {
        let rc = sqlite3_step(statement)
        sqlite3_reset(statement)
        guard rc == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
    }
}
