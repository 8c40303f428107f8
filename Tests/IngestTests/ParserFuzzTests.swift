import ChaparModels
import Foundation
import Testing
@testable import Ingest

/// Seeded random mutations of valid files: the parsers never crash, never loop, and every entry is
/// either an event or an error located on a line of the file.
@Suite struct ParserFuzzTests {
    static let csvSeed = #"""
        type,id,account,direction,amount,currency,balance,booked_at,value_date,description,counterparty,origin_channel,kind,customer,template,vars,expires_at
        transaction,T1,IR490170000000000000000002,debit,1200000,IRR,-5,2026-11-24T09:30:00+03:30,2026-11-24,"خرید, ""کافه""",کافه,pos,,,,,
        transaction,,IR490170000000000000000002,C,12.50,EUR,,2026-11-24,,"چند
        خطی",,atm,,,,,
        message,M1,,,,,,2026-11-24T10:00:00Z,,,,,security,C0000001,otp,code=123456,2026-11-24T10:02:00Z

        """#
    static let jsonlSeed = #"""
        {"id":"T1","account":"IR490170000000000000000002","direction":"debit","amount":"1200000","currency":"IRR","booked_at":"2026-11-24T09:30:00+03:30","description":"خرید \"کافه\""}
        {"account":"IR490170000000000000000002","direction":"C","amount":12.50,"currency":"EUR","balance":-3,"booked_at":"2026-11-24"}
        {"type":"message","customer":"C0000001","kind":"security","template":"otp","vars":{"code":"123456"},"created_at":"2026-11-24T10:00:00Z","expires_at":"2026-11-24T10:02:00Z"}

        """#
    static let alphabet: [UInt8] = Array(",\"\n\r{}[]:;=\\ -.0123456789abcDCZT".utf8) + [0x00, 0xC3, 0xD8, 0xFF, 0xEF, 0xBB, 0xBF]

    static func mutate(_ base: [UInt8], _ rng: inout SeededRandom) -> [UInt8] {
        var bytes = base
        let edits = 1 + Int(rng.next() % 6)
        for _ in 0..<edits where !bytes.isEmpty {
            let at = Int(rng.next() % UInt64(bytes.count))
            switch rng.next() % 5 {
            case 0: bytes[at] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
            case 1: bytes.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: at)
            case 2: bytes.remove(at: at)
            case 3: bytes.removeSubrange(at..<min(bytes.count, at + Int(rng.next() % 40)))  // truncation
            default: bytes.insert(contentsOf: bytes[at..<min(bytes.count, at + Int(rng.next() % 30))], at: at)
            }
        }
        return bytes
    }

    @Test(arguments: ["csv", "jsonl"])
    func mutatedFilesYieldEventsOrLocatedErrors(format: String) throws {
        let seed = UInt64(ProcessInfo.processInfo.environment["CHAPAR_FUZZ_SEED"] ?? "") ?? UInt64(Date().timeIntervalSince1970)
        print("ParserFuzzTests \(format) seed \(seed) (rerun with CHAPAR_FUZZ_SEED=\(seed))")
        var rng = SeededRandom(seed: seed)
        let base = Array((format == "csv" ? Self.csvSeed : Self.jsonlSeed).utf8)
        let dir = Fixture.directory("fuzz")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for round in 0..<300 {
            let bytes = Self.mutate(base, &rng)
            let path = Fixture.file(dir, "f\(round).\(format)", bytes)
            let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).count
            let encoding: ParserOptions.Encoding = round % 7 == 0 ? .windows1256 : .utf8
            let options = ParserOptions(encoding: encoding, defaultCurrency: round % 2 == 0 ? .irr : nil)
            let parser: any EntryParser = format == "csv"
                ? try CSVParser(path: path, displayName: "f", options: options, maxLineBytes: 200)
                : try JSONLinesParser(path: path, displayName: "f", options: options, maxLineBytes: 200)
            let result = Fixture.entries(parser)
            if let error = result.error {
                #expect(error.code == .invalidFormat, "seed \(seed) round \(round): \(error)")
                #expect(error.message.hasPrefix("f:"), "seed \(seed) round \(round): a file error names the file and line: \(error.message)")
            }
            #expect(result.entries.count <= lines, "seed \(seed) round \(round)")
            for e in result.entries {
                switch e {
                case .event(let ev):
                    let line = ev.source?.line ?? 0
                    #expect(line >= 1 && line <= lines, "seed \(seed) round \(round)")
                case .rejected(let r), .warning(let r):
                    #expect(r.location.file == "f" && r.location.line >= 1 && r.location.line <= lines, "seed \(seed) round \(round): \(r)")
                    #expect(!r.message.isEmpty)
                }
            }
        }
    }
}
