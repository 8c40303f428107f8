import ChaparModels
import Testing
@testable import Notifier

@Suite struct RenderingSMSEncoding {
    static func repeated(_ s: String, _ n: Int) -> String { String(repeating: s, count: n) }

    struct Case: Sendable, CustomTestStringConvertible {
        var label: String
        var text: String
        var encoding: String
        var units: Int
        var segments: Int
        var testDescription: String { label }
    }

    static let cases: [Case] = [
        Case(label: "empty", text: "", encoding: "gsm7", units: 0, segments: 1),
        Case(label: "160 GSM", text: repeated("a", 160), encoding: "gsm7", units: 160, segments: 1),
        Case(label: "161 GSM", text: repeated("a", 161), encoding: "gsm7", units: 161, segments: 2),
        Case(label: "306 GSM", text: repeated("a", 306), encoding: "gsm7", units: 306, segments: 2),
        Case(label: "307 GSM", text: repeated("a", 307), encoding: "gsm7", units: 307, segments: 3),
        Case(label: "GSM basic accents", text: "Café £5 @ Ñoño §¿¡ΔΩ", encoding: "gsm7", units: 20, segments: 1),
        Case(label: "euro counts 2", text: "€", encoding: "gsm7", units: 2, segments: 1),
        Case(label: "80 euros = 160", text: repeated("€", 80), encoding: "gsm7", units: 160, segments: 1),
        Case(label: "81 euros", text: repeated("€", 81), encoding: "gsm7", units: 162, segments: 2),
        Case(label: "brackets count 2", text: "[a]{b}\\^~|", encoding: "gsm7", units: 18, segments: 1),
        // 152 'a' + '[' : the escape pair does not fit in part 1 (152 + 2 > 153), so it moves on.
        Case(label: "escape never split", text: repeated("a", 152) + "[" + repeated("a", 152), encoding: "gsm7", units: 306, segments: 3),
        Case(label: "backtick is not GSM", text: "a`b", encoding: "ucs2", units: 3, segments: 1),
        Case(label: "70 Persian", text: repeated("س", 70), encoding: "ucs2", units: 70, segments: 1),
        Case(label: "71 Persian", text: repeated("س", 71), encoding: "ucs2", units: 71, segments: 2),
        Case(label: "134 Persian", text: repeated("س", 134), encoding: "ucs2", units: 134, segments: 2),
        Case(label: "135 Persian", text: repeated("س", 135), encoding: "ucs2", units: 135, segments: 3),
        Case(label: "emoji is 2 units", text: "😀", encoding: "ucs2", units: 2, segments: 1),
        Case(label: "35 emoji = 70", text: repeated("😀", 35), encoding: "ucs2", units: 70, segments: 1),
        // 66 units + a surrogate pair does not fit in a 67-unit part: it starts part 2.
        Case(label: "surrogate never split", text: repeated("a", 65) + "é" + "😀" + repeated("b", 66), encoding: "ucs2", units: 134, segments: 3),
        Case(label: "one Persian letter forces UCS-2", text: repeated("a", 100) + "ب", encoding: "ucs2", units: 101, segments: 2),
        Case(label: "direction isolate forces UCS-2", text: "\u{2066}1234\u{2069}", encoding: "ucs2", units: 6, segments: 1),
    ]

    @Test(arguments: cases)
    func measure(_ c: Case) {
        let m = SMSEncoding(measuring: c.text)
        #expect(m.name == c.encoding)
        #expect(m.units == c.units)
        #expect(m.segments == c.segments)
    }

    @Test func truncatesAtWordBoundaryWithGSMEllipsis() {
        let words = Array(repeating: "alpha beta gamma", count: 40).joined(separator: " ")  // 679 chars, 5 parts
        #expect(SMSEncoding(measuring: words).segments == 5)
        let (text, encoding, truncated) = SMSTruncation.truncate(words, maxSegments: 2)
        #expect(truncated)
        #expect(encoding.name == "gsm7" && encoding.segments == 2)
        #expect(text.hasSuffix("..."))
        #expect(encoding.units <= 306)
        let body = String(text.dropLast(3))
        #expect(words.hasPrefix(body))
        #expect(body.last != " " && words[words.index(words.startIndex, offsetBy: body.count)] == " ", "cut inside a word: \(body.suffix(10))")
        #expect(encoding.units > 306 - 20, "threw away too much: \(encoding.units)")
    }

    @Test func truncatesPersianWithUnicodeEllipsis() {
        let words = Array(repeating: "سلام دنیا", count: 40).joined(separator: " ")
        let (text, encoding, truncated) = SMSTruncation.truncate(words, maxSegments: 1)
        #expect(truncated)
        #expect(encoding.name == "ucs2" && encoding.segments == 1 && encoding.units <= 70)
        #expect(text.hasSuffix("…"))
        #expect(text == Array(repeating: "سلام دنیا", count: 7).joined(separator: " ") + "…", "\(text)")
    }

    @Test func fittingTextIsUntouched() {
        let (text, encoding, truncated) = SMSTruncation.truncate("short", maxSegments: 1)
        #expect(!truncated && text == "short" && encoding.segments == 1)
    }

    @Test func rendererEnforcesLimitAndSaysSo() throws {
        let long = RenderingFixtures.message("campaign", .marketing, [
            "title": "Nowruz", "offer": Array(repeating: "Great offers on every transfer", count: 30).joined(separator: " "),
        ])
        let renderer = MessageRenderer(catalog: RenderingFixtures.shipped, configuration: RenderConfiguration(smsMaxSegments: 2))
        let outcome = try #require(try renderer.renderDetailed(long, for: RenderingFixtures.sara, channel: .sms))
        guard case .sms(let text, let encoding, let segments) = outcome.content else {
            Issue.record("not an SMS: \(outcome.content)")
            return
        }
        #expect(encoding == "gsm7" && segments == 2)
        #expect(text.hasPrefix("Chapar Bank: Nowruz\nGreat offers"))
        #expect(text.hasSuffix("..."))
        #expect(outcome.notes.count == 1)
        #expect(outcome.notes.first?.contains("SMS shortened from 7 to 2 segment(s)") == true, "\(outcome.notes)")
    }
}

/// Seeded: whatever the text, truncation fits the limit, keeps a prefix, and ends with the ellipsis.
@Suite struct RenderingSMSTruncationProperty {
    @Test func randomTextsFit() {
        var seed: UInt64 = 0xC4A9_A5
        print("RenderingSMSTruncationProperty.randomTextsFit seed=\(seed)")
        func next(_ bound: Int) -> Int {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Int((seed >> 33) % UInt64(bound))
        }
        let alphabets: [[String]] = [
            ["a", "b", "c", " ", " ", "1", ".", "€", "[", "é"],
            ["س", "ل", "ا", "م", " ", " ", "۱", "٬"],
            ["a", "س", "😀", " ", "€", "\u{2066}", "\u{2069}", "b"],
        ]
        for _ in 0..<300 {
            let alphabet = alphabets[next(alphabets.count)]
            let text = String((0..<(1 + next(900))).map { _ in Character(alphabet[next(alphabet.count)]) })
            let limit = 1 + next(4)
            let (result, encoding, truncated) = SMSTruncation.truncate(text, maxSegments: limit)
            #expect(encoding.segments <= limit, "\(text.count) chars, limit \(limit)")
            #expect(encoding == SMSEncoding(measuring: result))
            if truncated {
                let ellipsis = result.hasSuffix("...") && encoding.name == "gsm7" ? "..." : "…"
                #expect(result.hasSuffix(ellipsis))
                #expect(text.hasPrefix(String(result.dropLast(ellipsis.count))))
            } else {
                #expect(result == text)
            }
        }
    }
}
