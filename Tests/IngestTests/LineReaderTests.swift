import Foundation
import Testing
@testable import Ingest

/// The bounded line reader: every split of the input across reads gives the same lines.
@Suite struct LineReaderTests {
    @Test func missingFileIsNotFound() {
        #expect(throws: IngestError.self) { try LineReader(path: "/nonexistent/chapar/x.csv") }
        do {
            _ = try LineReader(path: "/nonexistent/chapar/x.csv")
        } catch {
            #expect(error.code == .notFound)
            #expect(error.message.contains("/nonexistent/chapar/x.csv"))
        }
    }

    @Test(arguments: [UInt64(1), 2, 3, 4, 5])
    func smallBuffersGiveTheSameLinesAsOneRead(seed: UInt64) throws {
        print("LineReaderTests seed \(seed)")
        var rng = SeededRandom(seed: seed)
        var lines: [String] = []
        var text = ""
        for _ in 0..<200 {
            let len = Int(rng.next() % 40)
            let line = String((0..<len).map { _ in Character(Unicode.Scalar(UInt8(0x61 + rng.next() % 26))) })
            lines.append(line)
            text += line + (rng.next() % 3 == 0 ? "\r\n" : "\n")
        }
        let dir = Fixture.directory("lines")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = Fixture.file(dir, "l.txt", text)
        let reader = try LineReader(path: path, maxLineBytes: 30, bufferBytes: 8)
        var got: [String] = []
        var tooLong: [Int] = []
        while let l = try reader.next() {
            switch l {
            case .line(let b, let n):
                #expect(n == got.count + 1)
                got.append(String(decoding: b, as: UTF8.self))
            case .tooLong(let n, let length):
                #expect(length == lines[n - 1].utf8.count)
                tooLong.append(n)
                got.append(lines[n - 1])
            }
        }
        #expect(got == lines)
        #expect(tooLong == lines.indices.filter { lines[$0].utf8.count > 30 }.map { $0 + 1 })
        #expect(reader.bytesConsumed == Int64(text.utf8.count))
    }

    @Test func lastLineWithoutNewlineAndLoneCR() throws {
        let dir = Fixture.directory("lines")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let reader = try LineReader(path: Fixture.file(dir, "l.txt", "a\r\nb\rc\nlast"))
        var got: [String] = []
        while case .line(let b, _)? = try reader.next() { got.append(String(decoding: b, as: UTF8.self)) }
        #expect(got == ["a", "b\rc", "last"])
    }
}

/// SplitMix64, for reproducible random tests (each prints its seed).
struct SeededRandom {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
