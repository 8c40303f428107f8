import ChaparModels
import EventLog
import Foundation
import Testing
@testable import Ingest

/// The dedupe index's in-memory parts (Bloom filter, sorted staging) and their persistence across
/// clean restarts and crashes.
@Suite struct SeenIndexTests {
    static func fingerprints(_ n: Int, seed: UInt64) -> [Fingerprint] {
        var rng = SplitMix64(seed: seed)
        return (0..<n).map { _ in Fingerprint(high: rng.next(), low: rng.next()) }
    }

    // MARK: Bloom filter

    @Test func filterHasNoFalseNegativesAndFewFalsePositivesAtDesignLoad() {
        let seed = UInt64.random(in: 1...UInt64.max)
        print("seed \(seed)")
        var filter = FingerprintFilter(capacity: 1 << 20)
        let inserted = Self.fingerprints(1 << 20, seed: seed)
        for f in inserted { filter.insert(f) }
        #expect(inserted.allSatisfy(filter.mayContain), "a Bloom filter never forgets (seed \(seed))")
        let others = Self.fingerprints(200_000, seed: seed &+ 1)
        let falsePositives = others.filter(filter.mayContain).count
        print("Bloom filter false-positive rate at design load: \(Double(falsePositives) / Double(others.count))")
        #expect(Double(falsePositives) / Double(others.count) < 0.05, "\(falsePositives) false positives (seed \(seed))")
        #expect(filter.layers.count == 1)
        #expect(filter.bytes == 1 << 20, "8 bits per id")
    }

    @Test func filterGrowsByLayersInsteadOfSaturating() {
        var filter = FingerprintFilter(capacity: 0, minimum: 4096)
        let inserted = Self.fingerprints(3 * 4096 + 10, seed: 7)
        for f in inserted { filter.insert(f) }
        #expect(filter.layers.map(\.capacity) == [4096, 8192, 16384])
        #expect(inserted.allSatisfy(filter.mayContain))
        let falsePositives = Self.fingerprints(100_000, seed: 8).filter(filter.mayContain).count
        #expect(falsePositives < 10_000, "\(falsePositives) of 100000")
    }

    @Test func filterSavedAndLoadedIsIdenticalAndDamageIsDetected() throws {
        let dir = Fixture.directory("filter")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var filter = FingerprintFilter(capacity: 10)
        let inserted = Self.fingerprints(1000, seed: 3)
        for f in inserted { filter.insert(f) }
        let path = dir + "/seen.filter"
        try filter.save(to: path, epoch: 42)
        let loaded = try #require(FingerprintFilter.load(from: path))
        #expect(loaded.epoch == 42)
        #expect(loaded.filter.count == 1000)
        #expect(inserted.allSatisfy(loaded.filter.mayContain))
        // A flipped byte or a truncated file is never trusted.
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count / 2] ^= 0x40
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(FingerprintFilter.load(from: path) == nil)
        try Data(bytes.prefix(bytes.count - 9)).write(to: URL(fileURLWithPath: path))
        #expect(FingerprintFilter.load(from: path) == nil)
        #expect(FingerprintFilter.load(from: dir + "/missing.filter") == nil)
    }

    // MARK: Staging

    @Test func stagedBatchesStaySortedAndExact() {
        var staged = StagedFingerprints()
        var all: [Fingerprint] = []
        for round in 0..<20 {
            let batch = Self.fingerprints(50 + round * 7, seed: UInt64(round + 100))
            staged.insert(batch)
            all += batch
        }
        #expect(staged.sorted == all.sorted())
        #expect(all.allSatisfy(staged.contains))
        #expect(!Self.fingerprints(100, seed: 999).contains(where: staged.contains))
        let gone = Set(all.prefix(10))
        staged.remove(gone)
        #expect(staged.count == all.count - 10)
        #expect(!gone.contains(where: staged.contains))
    }

    // MARK: The index

    @Test func maybeSeenThatIsNewIsReportedNew() async throws {
        let dir = Fixture.directory("maybe")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let index = try SeenIndex(path: dir + "/seen.sqlite", mergeThreshold: 5)
        let fps = Self.fingerprints(12, seed: 11)
        try await index.record(Array(fps.prefix(6)), ranges: [])  // passes the threshold: merged into `seen`
        await index.waitForMerges()
        try await index.record(Array(fps.suffix(6)), ranges: [])  // and again
        await index.waitForMerges()
        #expect(index.stagedCount == 0)
        #expect(try await index.contains(fps) == Set(fps))
        // Forgotten ids stay in the filter ("maybe seen") but the exact check says new.
        try await index.forget([fps[0], fps[11]])
        #expect(index.filterMayContain(fps[0]))
        #expect(try await index.contains(fps) == Set(fps[1...10]))
        #expect(try await index.count() == 10)
        #expect(index.definitelyNew([fps[0]]) == [false], "the filter still answers maybe")
    }

    /// Records `all` in batches of 7, up to three at once (as pipelines do; each may find the threshold passed).
    static func recordConcurrently(_ all: [Fingerprint], _ index: SeenIndex) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for start in stride(from: 0, to: all.count, by: 7) {
                let batch = Array(all[start..<min(start + 7, all.count)])
                group.addTask { try await index.record(batch, ranges: []) }
                if start % 21 == 14 { try await group.waitForAll() }
            }
            try await group.waitForAll()
        }
    }

    @Test("concurrent records, inside an ingest section (merges beside them) and outside one (merges inline), keep every id, also after reopening",
          arguments: [true, false])
    func concurrentRecordsAcrossMerges(inSection: Bool) async throws {
        let dir = Fixture.directory("concurrent-merge")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/seen.sqlite"
        let all = Self.fingerprints(700, seed: 31)
        do {
            let index = try SeenIndex(path: path, mergeThreshold: 10)
            if inSection {
                try await index.exclusively { try await Self.recordConcurrently(all, index) }
            } else {
                try await Self.recordConcurrently(all, index)
            }
            // Either way no merge outlives the calls that started it.
            #expect(!index.isMerging)
            #expect(index.stagedCount < 10 + 3 * 7, "merged as they went: \(index.stagedCount) ids still staged")
            #expect(try await index.contains(all) == Set(all))
            #expect(try await index.count() == all.count)
            try index.close()
        }
        let index = try SeenIndex(path: path, mergeThreshold: 10)
        #expect(try await index.contains(all) == Set(all))
        #expect(try await index.count() == all.count)
        await index.waitForMerges()
    }

    @Test("a merge handed to a section's merge task has ended, and `run` is short, when the section returns")
    func aSectionWaitsForItsMerge() async throws {
        let dir = Fixture.directory("section-merge")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/seen.sqlite"
        let fps = Self.fingerprints(25, seed: 41)
        do {
            let index = try SeenIndex(path: path, mergeThreshold: 20)
            try await index.exclusively {
                try await index.record(Array(fps.prefix(22)), ranges: [])  // passes the threshold
                try await index.record(Array(fps.suffix(3)), ranges: [])
            }
            #expect(!index.isMerging)
            #expect(index.stagedCount == 3, "the 22 ids are in `seen`; the 3 recorded after the merge started stay staged")
            try index.close()
        }
        let index = try SeenIndex(path: path, mergeThreshold: 20)
        #expect(index.filterOrigin == .loaded)
        #expect(index.stagedCount == 3, "only the last run is left in `run`")
        #expect(try await index.contains(fps) == Set(fps))
        #expect(try await index.count() == 25)
    }

    @Test("a cancelled section abandons its merge: no failure is reported, no id is lost, a later merge moves them")
    func aCancelledSectionAbandonsItsMerge() async throws {
        let dir = Fixture.directory("cancelled-merge")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let index = try SeenIndex(path: dir + "/seen.sqlite", mergeThreshold: 10)
        let fps = Self.fingerprints(40, seed: 51)
        // In a child task, because the cancellation sticks to the task that is cancelled.
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await index.exclusively {
                    try await index.record(Array(fps.prefix(12)), ranges: [])
                    // The merge task is a child of this one: it sees the cancellation at its next write.
                    withUnsafeCurrentTask { $0?.cancel() }
                }
            }
            try await group.waitForAll()
        }
        #expect(!index.isMerging)
        #expect(try await index.contains(Array(fps.prefix(12))) == Set(fps.prefix(12)))
        // The next record reports no failure, and its merge moves every staged id.
        try await index.exclusively { try await index.record(Array(fps.suffix(28)), ranges: []) }
        #expect(index.stagedCount == 0)
        #expect(try await index.count() == 40)
    }

    @Test func filterIsLoadedAfterCloseAndRebuiltAfterACrash() async throws {
        let dir = Fixture.directory("persist")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/seen.sqlite"
        let merged = Self.fingerprints(30, seed: 21), staged = Self.fingerprints(3, seed: 22)
        do {
            let index = try SeenIndex(path: path, mergeThreshold: 25)
            #expect(index.filterOrigin == .empty)
            try await index.record(merged, ranges: [])
            await index.waitForMerges()
            try await index.record(staged, ranges: [])  // stays in `run`
            #expect(index.stagedCount == 3)
            try index.close()
        }
        do {
            let index = try SeenIndex(path: path, mergeThreshold: 25)
            #expect(index.filterOrigin == .loaded)
            #expect(index.stagedCount == 3, "unmerged runs are reloaded from SQLite")
            #expect(try await index.contains(merged + staged) == Set(merged + staged))
            // A session that merges new ids and dies without close(): the saved filter lacks them.
            let more = Self.fingerprints(40, seed: 23)
            try await index.record(more, ranges: [])
            await index.waitForMerges()
            #expect(index.stagedCount == 0)
        }
        let index = try SeenIndex(path: path, mergeThreshold: 25)
        #expect(index.filterOrigin == .rebuilt, "a filter saved before the crashed session is stale")
        let all = merged + staged + Self.fingerprints(40, seed: 23)
        #expect(all.allSatisfy { index.definitelyNew([$0]) == [false] })
        #expect(try await index.contains(all) == Set(all))
        #expect(try await index.count() == 73)
        // A damaged filter file is rebuilt too.
        try index.close()
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: index.filterPath))
        #expect(try SeenIndex(path: path).filterOrigin == .rebuilt)
    }
}

/// A small seeded generator for reproducible fingerprints.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
