/// A set of fingerprints without hashing: fingerprints are already uniformly random (SHA-256), so
/// their low bits pick the slot of an open-addressing table directly. The ingest pipeline inserts
/// and removes every id it appends (ids in flight); `Set`'s SipHash seeding and finalising per
/// operation showed as about 3% of ingest CPU.
struct FingerprintSet {
    private var keys: [Fingerprint]
    private var used: [Bool]
    private var mask: Int
    private(set) var count = 0

    init(minimumCapacity: Int = 1024) {
        var slots = 16
        while slots < minimumCapacity * 2 { slots <<= 1 }
        keys = Array(repeating: Fingerprint(high: 0, low: 0), count: slots)
        used = Array(repeating: false, count: slots)
        mask = slots - 1
    }

    @inline(__always) private func home(_ f: Fingerprint) -> Int { Int(truncatingIfNeeded: f.low) & mask }

    func contains(_ f: Fingerprint) -> Bool {
        var i = home(f)
        while used[i] {
            if keys[i] == f { return true }
            i = (i + 1) & mask
        }
        return false
    }

    /// Adds `f`; false when it was already there.
    @discardableResult
    mutating func insert(_ f: Fingerprint) -> Bool {
        if (count + 1) * 2 > keys.count { grow() }
        var i = home(f)
        while used[i] {
            if keys[i] == f { return false }
            i = (i + 1) & mask
        }
        used[i] = true
        keys[i] = f
        count += 1
        return true
    }

    /// Removes `f` if present, shifting later members of its probe run back (no tombstones, so
    /// lookups stay short however many ids pass through).
    mutating func remove(_ f: Fingerprint) {
        var i = home(f)
        while used[i] {
            if keys[i] == f { break }
            i = (i + 1) & mask
        }
        guard used[i] else { return }
        used[i] = false
        count -= 1
        var j = i
        while true {
            j = (j + 1) & mask
            guard used[j] else { return }
            let k = home(keys[j])
            // Entry j may stay if its home lies cyclically in (i, j]; otherwise it moves into the hole.
            let stays = i <= j ? (i < k && k <= j) : (i < k || k <= j)
            if stays { continue }
            keys[i] = keys[j]
            used[i] = true
            used[j] = false
            i = j
        }
    }

    private mutating func grow() {
        let old = zip(keys, used).filter(\.1).map(\.0)
        let slots = keys.count * 2
        keys = Array(repeating: Fingerprint(high: 0, low: 0), count: slots)
        used = Array(repeating: false, count: slots)
        mask = slots - 1
        count = 0
        for f in old { insert(f) }
    }
}
