import ChaparModels
import Foundation
import GRDB
public import Logging
import Synchronization

/// Customers, their accounts and their channel preferences in one SQLite file (WAL mode).
///
/// One `CustomerStore` per process and file: it owns a GRDB `DatabasePool` (one writer, several
/// concurrent readers). Other processes (`chapar customers …`) may open the same file at the same
/// time; SQLite serializes their writes, and a writer waits up to the busy timeout for another
/// process's write to finish before failing with ``CustomerStoreError/Code/busy``.
///
/// Write methods are synchronous and block the calling thread for the duration of one SQLite
/// transaction; call them from the CLI or a dedicated thread, not from a hot async path. The
/// notifier reads through ``directory(cacheCapacity:pollInterval:)``, which never blocks the
/// cooperative pool.
///
/// The schema is documented in `docs/customers.md` and created by named, frozen migrations.
public final class CustomerStore: Sendable {
    /// The database file.
    public let path: String
    let pool: DatabasePool
    let logger: Logger
    /// Bumped after every write through this instance so this process's directories drop stale
    /// entries at once instead of at their next poll.
    let localWrites = Atomic<UInt64>(0)

    private init(path: String, pool: DatabasePool, logger: Logger) {
        self.path = path
        self.pool = pool
        self.logger = logger
    }

    /// Opens (creating if needed) the store at `path` and brings its schema up to date.
    ///
    /// - Parameters:
    ///   - path: the SQLite file; its directory must exist.
    ///   - busyTimeout: how long a write waits for another process's write transaction.
    ///   - logger: receives info-level lifecycle messages and debug details.
    /// - Throws: ``CustomerStoreError`` with code `storage` when the file cannot be opened or is
    ///   not a customer store, `busy` when another process holds it beyond `busyTimeout`.
    public static func open(path: String, busyTimeout: Duration = .seconds(5), logger: Logger) throws -> CustomerStore {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty && !FileManager.default.fileExists(atPath: directory) {
            throw CustomerStoreError(.storage, "cannot open \(path): directory \(directory) does not exist; create it or pass another --data-dir/--database")
        }
        var config = Configuration()
        config.label = "chapar.customers"
        config.foreignKeysEnabled = true
        config.busyMode = .timeout(busyTimeout.seconds)
        config.maximumReaderCount = 4
        do {
            let pool = try DatabasePool(path: path, configuration: config)
            // Check with a read first: migrating takes the write lock, and a reader such as
            // `chapar customers show` must work while another process holds it.
            if try !pool.read({ try migrator.hasCompletedMigrations($0) }) {
                try migrator.migrate(pool)
            }
            logger.debug("customer store opened", metadata: ["chapar.path": .string(path)])
            return CustomerStore(path: path, pool: pool, logger: logger)
        } catch {
            throw CustomerStore.map(error, path: path, doing: "open")
        }
    }

    /// The named, frozen migrations. Never edit a registered migration: add a new one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-customers") { db in
            try db.execute(sql: Schema.v1)
        }
        return migrator
    }

    /// Closes the database connections. Later calls fail with a `storage` error.
    public func close() {
        do { try pool.close() } catch { logger.warning("closing the customer store failed: \(error)") }
    }

    // MARK: error mapping

    /// Turns a GRDB or SQLite error into a ``CustomerStoreError`` that says what to do.
    static func map(_ error: any Error, path: String, doing what: String) -> CustomerStoreError {
        if let e = error as? CustomerStoreError { return e }
        if let e = error as? InvalidValue { return CustomerStoreError(e) }
        guard let db = error as? DatabaseError else {
            return CustomerStoreError(.storage, "cannot \(what) \(path): \(error)")
        }
        let detail = db.message ?? "SQLite error \(db.resultCode.rawValue)"
        switch db.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return CustomerStoreError(.busy, "cannot \(what) \(path): the database is locked by another process (\(detail)); wait for it to finish and retry")
        case .SQLITE_NOTADB, .SQLITE_CORRUPT:
            return CustomerStoreError(.storage, "cannot \(what) \(path): the file is not a customer database or is corrupt (\(detail)); restore it from a backup or an export, or point --database/--data-dir elsewhere")
        case .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_READONLY, .SQLITE_AUTH:
            return CustomerStoreError(.storage, "cannot \(what) \(path): \(detail); check that the file and its directory exist and are writable")
        case .SQLITE_FULL:
            return CustomerStoreError(.storage, "cannot \(what) \(path): disk full; nothing is damaged: free space and run the same command again", isDiskFull: true)
        case .SQLITE_CONSTRAINT:
            return CustomerStoreError(.invalid, "cannot \(what): the database rejected the change (\(detail))")
        default:
            return CustomerStoreError(.storage, "cannot \(what) \(path): \(detail)")
        }
    }

    /// Runs a write transaction, mapping errors, and tells local directories about the change.
    func write<T>(_ what: String, _ body: (Database) throws -> T) throws -> T {
        do {
            // IMMEDIATE: take the write lock before reading, so a read-modify-write never fails with
            // SQLITE_BUSY_SNAPSHOT when another process committed in between; waiting for the lock
            // honours the busy timeout.
            let result = try pool.writeWithoutTransaction { db in
                var value: T?
                try db.inTransaction(.immediate) {
                    value = try body(db)
                    return .commit
                }
                return value!  // set: inTransaction committed, so body returned
            }
            localWrites.add(1, ordering: .releasing)
            return result
        } catch {
            throw CustomerStore.map(error, path: path, doing: what)
        }
    }

    /// Runs a read transaction (a consistent snapshot), mapping errors.
    func read<T>(_ what: String, _ body: (Database) throws -> T) throws -> T {
        do {
            return try pool.read(body)
        } catch {
            throw CustomerStore.map(error, path: path, doing: what)
        }
    }

    // MARK: test hooks

    /// Holds the write lock for `duration` (a write transaction that sleeps): tests use it to show
    /// what another process sees when the database stays locked beyond its busy timeout.
    package func holdWriteLock(for duration: Duration, whenLocked: @Sendable () -> Void = {}) throws {
        try write("hold the lock on") { db in
            try db.execute(sql: "UPDATE customer SET active = active WHERE 0")
            whenLocked()
            Thread.sleep(forTimeInterval: duration.seconds)
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
