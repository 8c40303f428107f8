import Testing
import ChaparModels

/// The string body decoder shared by JSONReader and the JSON Lines parser: each problem named, and
/// the index left just past the closing quote on success.
@Suite struct JSONStringBodyTests {
    static func decode(_ body: String) -> (Result<String, JSONStringBody.Problem>, Int) {
        let bytes = Array(body.utf8)
        return bytes.withUnsafeBufferPointer { p -> (Result<String, JSONStringBody.Problem>, Int) in
            var index = 0
            do throws(JSONStringBody.Problem) {
                return (.success(try JSONStringBody.decode(p, index: &index)), index)
            } catch {
                return (.failure(error), index)
            }
        }
    }

    @Test("valid bodies", arguments: [(#"plain" tail"#, "plain", 6), (#"a\"b\\c\/d\n" "#, "a\"b\\c/d\n", 13),
                                      (#"\u0041\ud83d\ude00" "#, "A😀", 19), (#"خرید\t" "#, "خرید\t", 11)])
    func valid(_ body: String, _ expected: String, _ end: Int) {
        let (result, index) = Self.decode(body)
        #expect(result == .success(expected))
        #expect(index == end, "index just past the closing quote")
    }

    @Test("problems", arguments: [("no end", JSONStringBody.Problem.unterminated), ("ends \\", .unterminatedEscape),
                                  ("bad \\q\"", .unknownEscape(0x71)), ("\\u12G4\"", .badHexDigit), ("\\u12", .shortUnicodeEscape),
                                  ("\\ud800\"", .unpairedSurrogate), ("\\udc00\"", .unpairedSurrogate), ("\\ud800\\u0041\"", .unpairedSurrogate),
                                  ("tab\there\"", .controlCharacter), ("esc\\n then \u{1}\"", .controlCharacter)])
    func problems(_ body: String, _ problem: JSONStringBody.Problem) {
        #expect(Self.decode(body).0 == .failure(problem))
    }
}
