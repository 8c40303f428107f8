import ChaparModels
import Foundation
import Testing
@testable import Ingest

@Suite("camt.054 fuzz")
struct Camt054FuzzTests {
    @Test func randomMutationsNeverCrashAndAlwaysLocate() throws {
        let seed = FormatsFuzz.seed("camt.054")
        var rng = FormatsFuzzRNG(seed: seed)
        // The public samples when present, always our own fixtures.
        let samples = FormatTestSupport.samplesAvailable ? [
            FormatTestSupport.samples.appendingPathComponent("camt054/camt054.v2.xml"),
            FormatTestSupport.samples.appendingPathComponent("camt054/camt054.v4.xml"),
        ] : []
        let inputs = try (samples + [
            FormatTestSupport.fixtures.appendingPathComponent("camt054/camt054.v08.persian.xml"),
            FormatTestSupport.fixtures.appendingPathComponent("camt054/camt054.v05.xml"),
        ]).map { Array(try Data(contentsOf: $0)) }
        let start = ContinuousClock.now
        var iteration = 0
        while ContinuousClock.now - start < .seconds(4) && iteration < 3000 {
            iteration += 1
            let input = FormatsFuzz.mutate(inputs[iteration % inputs.count], rng: &rng)
            FormatsFuzz.check(input, ext: "xml", seed: seed, iteration: iteration) { (path: String) throws(IngestError) -> any EntryParser in
                try Camt054Parser(path: path, displayName: (path as NSString).lastPathComponent, options: ParserOptions(timeZone: "UTC"))
            }
        }
        print("camt.054 fuzz: \(iteration) mutated files")
        #expect(iteration > 50)
    }
}
