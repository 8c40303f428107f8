import ChaparModels
import Synchronization

/// A bounded, sharded cache of lookups with CLOCK (second-chance) eviction.
///
/// Keys are accounts (value: every holder) and customer ids (value: zero or one profile), so an
/// account without customers is cached too. Sixteen shards, each behind its own mutex, keep two
/// or more concurrent readers from queueing on one lock.
///
/// Invalidation is by generation: ``invalidateAll()`` bumps the generation and empties every
/// shard, and ``put(_:_:generation:)`` drops values read under an older generation, so a reader
/// that loaded a profile just before a change can never put the stale copy back.
final class ProfileCache: Sendable {
    /// An account or a customer id, with its hash computed once: it picks the shard and feeds the
    /// shard's dictionary, and a probe that meets another key compares hashes before any text (the
    /// texts are long IBANs that share their first dozen characters).
    struct Key: Hashable, Sendable {
        private let isAccount: Bool
        private let text: String
        let hash: Int

        private init(isAccount: Bool, text: String) {
            self.isAccount = isAccount
            self.text = text
            var hasher = Hasher()
            hasher.combine(isAccount)
            hasher.combine(text)
            hash = hasher.finalize()
        }

        static func account(_ account: AccountID) -> Key { Key(isAccount: true, text: account.rawValue) }
        static func customer(_ id: CustomerID) -> Key { Key(isAccount: false, text: id.rawValue) }

        static func == (a: Key, b: Key) -> Bool { a.hash == b.hash && a.isAccount == b.isAccount && a.text == b.text }
        func hash(into hasher: inout Hasher) { hasher.combine(hash) }
    }

    private struct Slot {
        var key: Key
        var value: [CustomerProfile]
        var referenced: Bool
    }

    private struct Shard {
        var index: [Key: Int] = [:]
        var slots: [Slot] = []
        var hand = 0
    }

    /// Mutex is not copyable, so each lives in a small class to sit in an array.
    private final class Locked: Sendable {
        let mutex = Mutex(Shard())
        func withLock<R>(_ body: (inout sending Shard) -> sending R) -> sending R { mutex.withLock(body) }
    }

    private static let shardCount = 16
    private let shards: [Locked]
    private let perShard: Int
    private let generationCounter = Atomic<UInt64>(0)
    private let hitCount = Atomic<Int>(0)
    private let missCount = Atomic<Int>(0)

    /// A cache holding at most about `capacity` entries (at least one per shard).
    init(capacity: Int) {
        perShard = max(1, capacity / ProfileCache.shardCount)
        shards = (0..<ProfileCache.shardCount).map { _ in Locked() }
    }

    /// The current generation; pass it back to `put` with values read after this call.
    var generation: UInt64 { generationCounter.load(ordering: .acquiring) }

    /// Hits and misses so far.
    var counts: (hits: Int, misses: Int) { (hitCount.load(ordering: .relaxed), missCount.load(ordering: .relaxed)) }

    private func shard(_ key: Key) -> Int { Int(truncatingIfNeeded: UInt(bitPattern: key.hash) >> 7) & (ProfileCache.shardCount - 1) }

    /// The cached value, marking it recently used.
    func get(_ key: Key) -> [CustomerProfile]? {
        let value: [CustomerProfile]? = shards[shard(key)].withLock { s in
            guard let i = s.index[key] else { return nil }
            s.slots[i].referenced = true
            return s.slots[i].value
        }
        if value == nil { missCount.add(1, ordering: .relaxed) } else { hitCount.add(1, ordering: .relaxed) }
        return value
    }

    /// Caches `value` unless the cache was invalidated since `generation` was read.
    func put(_ key: Key, _ value: [CustomerProfile], generation: UInt64) {
        let capacity = perShard
        shards[shard(key)].withLock { s in
            guard generationCounter.load(ordering: .acquiring) == generation else { return }
            if let i = s.index[key] {
                s.slots[i].value = value
                return
            }
            if s.slots.count < capacity {
                s.index[key] = s.slots.count
                s.slots.append(Slot(key: key, value: value, referenced: false))
                return
            }
            while s.slots[s.hand].referenced {
                s.slots[s.hand].referenced = false
                s.hand = (s.hand + 1) % s.slots.count
            }
            s.index[s.slots[s.hand].key] = nil
            s.slots[s.hand] = Slot(key: key, value: value, referenced: false)
            s.index[key] = s.hand
            s.hand = (s.hand + 1) % s.slots.count
        }
    }

    /// Forgets everything; values read before this call are refused by `put`.
    func invalidateAll() {
        generationCounter.add(1, ordering: .acquiringAndReleasing)
        for shard in shards {
            shard.withLock { s in
                s.index.removeAll()
                s.slots.removeAll()
                s.hand = 0
            }
        }
    }

    /// Entries currently cached.
    var count: Int { shards.reduce(0) { n, s in n + s.withLock { $0.slots.count } } }
}
