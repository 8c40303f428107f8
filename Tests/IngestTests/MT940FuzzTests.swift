import ChaparModels
import Foundation
import Testing
@testable import Ingest

/// SplitMix64: a tiny seeded generator so a failing fuzz run can be replayed from its seed.
struct FormatsFuzzRNG: RandomNumberGenerator {
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

/// Seeded property tests: random mutations and truncations of valid files never crash a parser,
/// and every outcome is an event, a located rejection, or one thrown `IngestError` at the end.
enum FormatsFuzz {
    /// `CHAPAR_FUZZ_SEED` replays a run; otherwise a fresh seed is drawn and printed.
    static func seed(_ name: String) -> UInt64 {
        let seed = ProcessInfo.processInfo.environment["CHAPAR_FUZZ_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...UInt64.max)
        print("\(name) fuzz seed: \(seed) (replay with CHAPAR_FUZZ_SEED=\(seed))")
        return seed
    }

    static let interesting: [UInt8] = Array("<>/&;:\"'=?-{}\n\r ,.0123456789CDRNXYZ".utf8) + [0x00, 0x01, 0x03, 0xC3, 0xFF, 0xD9, 0x80]

    static func mutate(_ input: [UInt8], rng: inout FormatsFuzzRNG) -> [UInt8] {
        var b = input
        let edits = Int.random(in: 1...8, using: &rng)
        for _ in 0..<edits where !b.isEmpty {
            let i = Int.random(in: 0..<b.count, using: &rng)
            switch Int.random(in: 0..<6, using: &rng) {
            case 0: b[i] = interesting.randomElement(using: &rng)!
            case 1: b[i] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
            case 2: b.insert(interesting.randomElement(using: &rng)!, at: i)
            case 3: b.removeSubrange(i..<min(b.count, i + Int.random(in: 1...16, using: &rng)))
            case 4: b = Array(b[..<i])  // truncation
            default:
                let j = Int.random(in: 0..<b.count, using: &rng)
                let chunk = b[min(i, j)..<min(b.count, min(i, j) + 40)]
                b.insert(contentsOf: chunk, at: max(i, j))
            }
        }
        return b
    }

    /// Runs one parser over `bytes` and checks the outcome's shape.
    static func check(_ bytes: [UInt8], ext: String, seed: UInt64, iteration: Int,
                      make: (String) throws(IngestError) -> any EntryParser) {
        let path = FormatTestSupport.scratch(bytes, ext: ext)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let name = (path as NSString).lastPathComponent
        let lineCount = bytes.reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
        var parser: any EntryParser
        do { parser = try make(path) } catch { return }  // a thrown IngestError at open is an allowed outcome
        var steps = 0
        while true {
            steps += 1
            if steps > 1_000_000 { Issue.record("seed \(seed) iteration \(iteration): the parser does not terminate"); return }
            let entry: ParsedEntry?
            do { entry = try parser.next() } catch {
                #expect(!error.message.isEmpty)
                #expect(error.message.hasPrefix(name), "seed \(seed) iteration \(iteration): unlocated error \(error.message)")
                return
            }
            guard let entry else { return }
            switch entry {
            case .event(let e):
                let line = e.source?.line ?? 0
                #expect(line >= 1 && line <= lineCount, "seed \(seed) iteration \(iteration): event at line \(line) of \(lineCount)")
            case .rejected(let r), .warning(let r):
                #expect(r.location.file == name && r.location.line >= 1 && r.location.line <= lineCount,
                        "seed \(seed) iteration \(iteration): rejection at \(r.location) of \(lineCount) lines")
                #expect(!r.message.isEmpty)
            }
        }
    }
}

@Suite("MT940 fuzz")
struct MT940FuzzTests {
    @Test func randomMutationsNeverCrashAndAlwaysLocate() throws {
        let seed = FormatsFuzz.seed("MT940")
        var rng = FormatsFuzzRNG(seed: seed)
        // The public samples when present, always our own fixture.
        let samples = FormatTestSupport.samplesAvailable ? ["mt940/abnamro.sta", "mt940/ing.sta", "mt940/rabobank.sta", "mt940/mt942.sta"] : []
        let inputs = try samples.map {
            Array(try Data(contentsOf: FormatTestSupport.samples.appendingPathComponent($0)))
        } + [Array(try Data(contentsOf: FormatTestSupport.fixtures.appendingPathComponent("mt940/structured.sta")))]
        let start = ContinuousClock.now
        var iteration = 0
        while ContinuousClock.now - start < .seconds(4) && iteration < 3000 {
            iteration += 1
            let input = FormatsFuzz.mutate(inputs[iteration % inputs.count], rng: &rng)
            let encoding = ParserOptions.Encoding.allCases[iteration % 3]
            FormatsFuzz.check(input, ext: "sta", seed: seed, iteration: iteration) { (path: String) throws(IngestError) -> any EntryParser in
                try MT940Parser(path: path, displayName: (path as NSString).lastPathComponent, options: ParserOptions(encoding: encoding, timeZone: "UTC"))
            }
        }
        print("MT940 fuzz: \(iteration) mutated files")
        #expect(iteration > 50)
    }
}
