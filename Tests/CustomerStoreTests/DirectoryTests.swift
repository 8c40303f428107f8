import ChaparModels
@testable import CustomerStore
import Foundation
import Testing

/// The cached read API: hits, bounds, invalidation, and changes from other connections and processes.
@Suite struct DirectoryTests {
    /// Polls `condition` every 20 ms until it holds or `limit` passes; returns the time it took.
    private func waitUntil(_ limit: Duration, _ condition: () async throws -> Bool) async throws -> Duration? {
        let clock = ContinuousClock()
        let start = clock.now
        while start.duration(to: clock.now) < limit {
            if try await condition() { return start.duration(to: clock.now) }
            try await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    @Test func changeByAChildProcessReachesARunningReaderWithinTwoSeconds() async throws {
        let dir = Fixture.directory("child")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Fixture.store(dir)
        try store.add(try Fixture.profile("C1", accounts: ["IR1"]))
        let directory = store.directory(pollInterval: .milliseconds(250))
        defer { directory.close() }
        let account = try AccountID("IR1")
        #expect(try await directory.customers(forAccount: account).first?.preference(for: .sms)?.enabled == true)
        #expect(try await directory.customers(forAccount: account).first?.preference(for: .sms)?.enabled == true)
        #expect(directory.statistics.hits >= 1, "the second lookup is served from the cache")

        let child = try ChildProcess.run(["customers", "disable", "C1", "sms", "--data-dir", dir])
        #expect(child.status == 0, "\(child.stderr)")
        let seen = try await waitUntil(.seconds(3)) {
            try await directory.customers(forAccount: account).first?.preference(for: .sms)?.enabled == false
        }
        let took = try #require(seen, "the running reader never saw the child's change")
        // One 250 ms poll plus a lookup; the bound leaves room for the whole suite running on 2 cores
        // (1.19 s was seen there, well under 0.5 s alone).
        #expect(took < .seconds(2), "change took \(took)")

        let added = try ChildProcess.run(["customers", "link-account", "C1", "IR2", "--data-dir", dir])
        #expect(added.status == 0, "\(added.stderr)")
        let batch = try await waitUntil(.seconds(3)) {
            // IR1 is cached with one account, so this needs the poller to drop the stale entry.
            let found = try await directory.customers(forAccounts: [account, try AccountID("IR2"), try AccountID("IR9")])
            return found.keys.sorted().map(\.rawValue) == ["IR1", "IR2"] && found[account]?.first?.accounts.count == 2
        }
        // The same bound as the first change above, for the same reason (the fresh-clone CI run
        // under load saw this one over a second too).
        #expect(batch != nil && batch! < .seconds(2), "the linked account took \(String(describing: batch))")
        #expect(directory.statistics.invalidations >= 2)
    }

    @Test func writeThroughTheSameStoreIsVisibleAtOnce() async throws {
        let dir = Fixture.directory("local")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Fixture.store(dir)
        try store.add(try Fixture.profile("C1", accounts: ["IR1"]))
        let directory = store.directory(pollInterval: .seconds(60))
        defer { directory.close() }
        let id = try CustomerID("C1")
        #expect(try await directory.customer(id)?.language == .fa)
        try store.update(id) { $0.language = .en }
        #expect(try await directory.customer(id)?.language == .en, "no poll needed for this process's own writes")
    }

    @Test func unknownAccountsAndCustomersAreCachedAsEmpty() async throws {
        let dir = Fixture.directory("negative")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Fixture.store(dir)
        let directory = store.directory()
        defer { directory.close() }
        #expect(try await directory.customers(forAccount: try AccountID("IRX")).isEmpty)
        #expect(try await directory.customer(try CustomerID("nobody")) == nil)
        #expect(try await directory.customers(forAccount: try AccountID("IRX")).isEmpty)
        #expect(try await directory.customers(forAccounts: [try AccountID("IRX")]).isEmpty)
        #expect(directory.statistics.hits == 2)
        #expect(directory.statistics.misses == 2)
    }

    @Test func cacheStaysWithinCapacityAndKeepsRecentlyUsedEntries() throws {
        let cache = ProfileCache(capacity: 160)  // 10 per shard
        let hot = ProfileCache.Key.customer(try CustomerID("hot"))
        cache.put(hot, [], generation: cache.generation)
        for i in 0..<5000 {
            _ = cache.get(hot)
            cache.put(.customer(try CustomerID("c\(i)")), [], generation: cache.generation)
        }
        #expect(cache.count <= 160)
        #expect(cache.get(hot) != nil, "an entry used between insertions survives the clock hand")
    }

    @Test func valueReadBeforeAnInvalidationIsNeverCached() throws {
        let cache = ProfileCache(capacity: 100)
        let key = ProfileCache.Key.account(try AccountID("IR1"))
        let before = cache.generation
        cache.invalidateAll()
        cache.put(key, [try Fixture.profile("stale")], generation: before)
        #expect(cache.get(key) == nil, "a stale read must not repopulate the cache")
        cache.put(key, [try Fixture.profile("fresh")], generation: cache.generation)
        #expect(cache.get(key)?.first?.id.rawValue == "fresh")
    }

    @Test func closeStopsThePollerAndIsIdempotent() async throws {
        let dir = Fixture.directory("close")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Fixture.store(dir)
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let directory = store.directory(pollInterval: .seconds(30))
            directory.close()
            directory.close()
        }
        #expect(start.duration(to: clock.now) < .seconds(2), "close wakes the poller instead of waiting for its interval")
    }

    @Test func concurrentReadersShareTheCache() async throws {
        let dir = Fixture.directory("readers")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Fixture.store(dir)
        _ = try store.importProfiles(try (0..<200).map { try Fixture.profile("C\($0)", accounts: ["IR\($0)", "IRJOINT\($0 / 2)"]) })
        let directory = store.directory()
        defer { directory.close() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for r in 0..<4 {
                group.addTask {
                    for i in 0..<2000 {
                        let n = (i * 7 + r) % 100
                        let holders = try await directory.customers(forAccount: try AccountID("IRJOINT\(n)"))
                        #expect(holders.map(\.id.rawValue) == ["C\(2 * n)", "C\(2 * n + 1)"].sorted())
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(directory.statistics.misses <= 4 * 100, "each account is read from SQLite at most once per reader race")
    }
}
