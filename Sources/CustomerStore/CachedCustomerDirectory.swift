public import ChaparModels
import Foundation
import GRDB
import Logging
import Synchronization

/// The notifier's view of a ``CustomerStore``: lookups answered from a bounded in-process cache,
/// misses read from SQLite on GRDB's reader threads (never blocking the cooperative pool).
///
/// Change propagation: a dedicated thread reads `PRAGMA data_version` on its own connection every
/// `pollInterval`; the value changes whenever any other connection (another process, or this
/// process's writer) commits, and the whole cache is then dropped. Writes made through the same
/// ``CustomerStore`` instance invalidate at once. So a `chapar customers` edit is visible to a
/// running server within one poll interval (250 ms by default) plus the time of a lookup.
///
/// Call ``close()`` when done (deinit does it too): it stops the polling thread and waits for it.
public final class CachedCustomerDirectory: CustomerDirectory, Sendable {
    /// The store this directory reads.
    public let store: CustomerStore
    let cache: ProfileCache
    private let poller: DataVersionPoller
    private let seenLocalWrites: Atomic<UInt64>

    init(store: CustomerStore, cacheCapacity: Int, pollInterval: Duration) {
        self.store = store
        let cache = ProfileCache(capacity: cacheCapacity)
        self.cache = cache
        seenLocalWrites = Atomic(store.localWrites.load(ordering: .acquiring))
        poller = DataVersionPoller(path: store.path, interval: pollInterval, logger: store.logger) { cache.invalidateAll() }
    }

    deinit { poller.stop() }

    /// Stops change polling. Lookups still work afterwards but no longer see other processes' changes.
    public func close() { poller.stop() }

    /// Cache hits and misses since the directory was made, and how many times a change emptied it.
    public var statistics: (hits: Int, misses: Int, invalidations: Int, entries: Int) {
        let c = cache.counts
        return (c.hits, c.misses, poller.changes, cache.count)
    }

    /// Drops the cache if this process wrote through the store since the last lookup.
    @inline(__always)
    private func noticeLocalWrites() {
        let writes = store.localWrites.load(ordering: .acquiring)
        let seen = seenLocalWrites.load(ordering: .relaxed)
        if writes != seen {
            // Invalidate before recording the writes as seen: a concurrent lookup then either sees
            // them unseen and invalidates too, or sees them seen after the cache was emptied.
            cache.invalidateAll()
            _ = seenLocalWrites.compareExchange(expected: seen, desired: writes, ordering: .acquiringAndReleasing)
        }
    }

    public func customers(forAccount account: AccountID) async throws -> [CustomerProfile] {
        noticeLocalWrites()
        if let hit = cache.get(.account(account)) { return hit }
        let generation = cache.generation
        let profiles = try await readAsync("look up an account in") { db in
            let ids = try ProfileReader.customerIDs(forAccount: account, db)
            let loaded = try ProfileReader.load(ids, db)
            return ids.compactMap { loaded[$0] }
        }
        cache.put(.account(account), profiles, generation: generation)
        return profiles
    }

    public func customer(_ id: CustomerID) async throws -> CustomerProfile? {
        noticeLocalWrites()
        if let hit = cache.get(.customer(id)) { return hit.first }
        let generation = cache.generation
        let profile = try await readAsync("look up a customer in") { db in try ProfileReader.load([id.rawValue], db)[id.rawValue] }
        cache.put(.customer(id), profile.map { [$0] } ?? [], generation: generation)
        return profile
    }

    public func customers(forAccounts accounts: Set<AccountID>) async throws -> [AccountID: [CustomerProfile]] {
        noticeLocalWrites()
        var result: [AccountID: [CustomerProfile]] = [:]
        var missing: [AccountID] = []
        for account in accounts {
            if let hit = cache.get(.account(account)) {
                if !hit.isEmpty { result[account] = hit }
            } else {
                missing.append(account)
            }
        }
        guard !missing.isEmpty else { return result }
        let generation = cache.generation
        let wanted = missing
        let loaded = try await readAsync("look up accounts in") { db in
            var holders: [AccountID: [String]] = [:]
            // Rows carry the normalized account text; map it back to the caller's AccountID values
            // instead of parsing it again.
            let byRaw = Dictionary(wanted.map { ($0.rawValue, $0) }, uniquingKeysWith: { first, _ in first })
            for start in stride(from: 0, to: wanted.count, by: 500) {
                let chunk = wanted[start..<min(start + 500, wanted.count)].map(\.rawValue)
                let size = ProfileReader.listSize(chunk.count)
                let query = try RawQuery(db, "SELECT account, customer_id FROM customer_account WHERE account IN (\(databaseQuestionMarks(count: size))) ORDER BY account, customer_id")
                try query.run(chunk, paddedTo: size) { row in
                    guard let account = byRaw[row.text(0)] else { return }
                    holders[account, default: []].append(row.text(1))
                }
            }
            let profiles = try ProfileReader.load(Set(holders.values.joined()), db)
            return holders.mapValues { ids in ids.compactMap { profiles[$0] } }
        }
        for account in missing {
            let profiles = loaded[account] ?? []
            cache.put(.account(account), profiles, generation: generation)
            if !profiles.isEmpty { result[account] = profiles }
        }
        return result
    }

    /// A read on one of GRDB's reader threads; the calling task suspends instead of blocking.
    private func readAsync<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await store.pool.read(body)
        } catch {
            throw CustomerStore.map(error, path: store.path, doing: what)
        }
    }
}

extension CustomerStore {
    /// A cached, change-aware ``CustomerDirectory`` over this store for the notifier and `chapar serve`.
    ///
    /// - Parameters:
    ///   - cacheCapacity: lookups kept (accounts and customer ids together); least recently used go first.
    ///   - pollInterval: how often to check whether another process changed the database.
    public func directory(cacheCapacity: Int = 200_000, pollInterval: Duration = .milliseconds(250)) -> CachedCustomerDirectory {
        CachedCustomerDirectory(store: self, cacheCapacity: cacheCapacity, pollInterval: pollInterval)
    }
}

/// Watches `PRAGMA data_version` on a private read-only connection from one dedicated thread and
/// calls `onChange` when another connection committed. Stopping wakes the thread and joins it.
final class DataVersionPoller: Sendable {
    private struct State {
        var stopping = false
        var stopped = false
        var changes = 0
    }

    /// What the polling thread shares with its owner (a class, so the thread can hold it).
    private final class Shared: Sendable {
        let state = Mutex(State())
        let wake = NSCondition()
        let finished = DispatchSemaphore(value: 0)
    }

    private let shared = Shared()

    init(path: String, interval: Duration, logger: Logger, onChange: @escaping @Sendable () -> Void) {
        var config = Configuration()
        config.readonly = true
        config.label = "chapar.customers.poller"
        config.busyMode = .timeout(5)
        // The private connection is normally opened here. If that fails (file briefly unavailable)
        // the thread keeps trying at every tick; when it finally opens it drops the cache once,
        // since changes made before its baseline reading could not be seen.
        let opened = try? DatabaseQueue(path: path, configuration: config)
        let initial = try? opened?.inDatabase { try Int.fetchOne($0, sql: "PRAGMA data_version") }
        if opened == nil || initial == nil {
            logger.warning("cannot watch the customer database for changes yet; retrying", metadata: ["chapar.path": .string(path)])
        }
        let configuration = config
        let thread = Thread { [shared] in
            let wake = shared.wake
            defer { shared.finished.signal() }
            var queue = opened
            var last: Int? = initial ?? nil
            while true {
                wake.lock()
                if !shared.state.withLock({ $0.stopping }) {
                    _ = wake.wait(until: Date(timeIntervalSinceNow: interval.seconds))
                }
                wake.unlock()
                if shared.state.withLock({ $0.stopping }) { return }
                if queue == nil { queue = try? DatabaseQueue(path: path, configuration: configuration) }
                // A failed poll (database briefly locked, file replaced) is retried at the next tick;
                // the cache stays as it is meanwhile.
                guard let version = try? queue?.inDatabase({ try Int.fetchOne($0, sql: "PRAGMA data_version") }) ?? nil else { continue }
                if version != last {
                    last = version
                    shared.state.withLock { $0.changes += 1 }
                    onChange()
                }
            }
        }
        thread.name = "chapar.customers.poller"
        thread.start()
    }

    /// How many changes the poller has seen.
    var changes: Int { shared.state.withLock { $0.changes } }

    /// Stops the thread and waits for it to exit. Idempotent.
    func stop() {
        let first = shared.state.withLock { s -> Bool in
            defer { s.stopping = true; s.stopped = true }
            return !s.stopped
        }
        guard first else { return }
        shared.wake.lock()
        shared.wake.signal()
        shared.wake.unlock()
        shared.finished.wait()
    }
}
