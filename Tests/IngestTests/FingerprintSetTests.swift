import Testing
@testable import Ingest

/// The pipeline's in-flight id set against `Set`, through random inserts and removes (seeded).
@Suite struct FingerprintSetTests {
    @Test("random inserts and removes agree with Set, with colliding low bits and growth", arguments: [UInt64(1), 2, 3])
    func agreesWithSet(_ seed: UInt64) {
        print("FingerprintSet seed \(seed)")
        var state = seed
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 11
        }
        var ours = FingerprintSet(minimumCapacity: 4)
        var reference = Set<Fingerprint>()
        // Few distinct low words, so probe runs collide and wrap; high words tell them apart.
        let universe = (0..<3000).map { (i: Int) -> Fingerprint in
            let top: UInt64 = i % 5 == 0 ? UInt64.max << 60 : 0
            return Fingerprint(high: UInt64(i), low: UInt64(i % 7) | top)
        }
        for _ in 0..<40_000 {
            let f = universe[Int(next() % UInt64(universe.count))]
            switch next() % 3 {
            case 0, 1: #expect(ours.insert(f) == reference.insert(f).inserted)
            default:
                ours.remove(f)
                reference.remove(f)
            }
            #expect(ours.count == reference.count)
        }
        for f in universe { #expect(ours.contains(f) == reference.contains(f)) }
    }
}
