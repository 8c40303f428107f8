import ChaparModels
import Delivery
import Foundation
import Testing

/// The byte-level hot paths (template filling, address masking) against the Character-level
/// versions they replaced, kept here as the reference: same output for every input.
@Suite struct HotPathEquivalenceTests {
    /// The Foundation/Character implementation `JSONTemplate.fill` had before it worked on bytes.
    static func referenceFill(_ template: String, _ values: [String: String]) -> String {
        var out = ""
        var rest = Substring(template)
        while let open = rest.range(of: "{{") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                out += rest[open.lowerBound...]
                return out
            }
            let name = trimmed(String(rest[open.upperBound..<close.lowerBound]))
            out += referenceEscape(values[name] ?? "")
            rest = rest[close.upperBound...]
        }
        out += rest
        return out
    }

    static func trimmed(_ text: String) -> String {
        var s = Substring(text)
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" || s.last == "\r" { s.removeLast() }
        return String(s)
    }

    static func referenceEscape(_ s: String) -> String {
        var w = JSONWriter()
        w.element(s)
        return String(decoding: w.bytes.dropFirst().dropLast(), as: UTF8.self)
    }

    static let values = [
        "id": "9f2c0000aaaabbbbccccddddeeeeffff", "to": "+989121234567", "text": "Say \"hi\"\n\tto\\ everyone ✓ سلام",
        "encoding": "ucs2", "segments": "2", "language": "fa", "event": "E-1", "ش": "persian key", "x\r": "never used",
    ]

    @Test(arguments: [
        HTTPSMSAdapterDefault.template,
        "",
        "no placeholders at all",
        "{{id}}{{to}}",
        "{\"a\":\"{{ text }}\",\"b\":\"{{\tencoding\t}}\",\"c\":\"{{unknown}}\"}",
        "{{text\r}} {{ text\r\n}}",
        "unclosed {{text and more",
        "{{{text}}} }}{{ {{}} {",
        "{{ش}} and {{ ش }} and {{سلام}}",
        "é{{text}}é\u{301}{{\u{301}text}}",
        "{{",
        "}}",
        "{{}}",
    ])
    func fillMatchesTheCharacterVersion(template: String) {
        #expect(JSONTemplate.fill(template, Self.values) == Self.referenceFill(template, Self.values))
    }

    /// The Character implementation `AddressMask.mask` keeps for anything but printable ASCII.
    static func referenceMask(_ address: String) -> String {
        let chars = Array(address)
        if let at = chars.firstIndex(of: "@"), at > 0 {
            return String(chars[0]) + "***" + String(chars[at...])
        }
        if chars.count <= 6 { return String(repeating: "*", count: chars.count) }
        let keepEnd = chars.first == "+" ? 4 : 2
        let keepStart = chars.first == "+" ? min(6, chars.count - keepEnd - 1) : 3
        return String(chars[0..<keepStart]) + "***" + String(chars[(chars.count - keepEnd)...])
    }

    @Test(arguments: [
        "+989121234567", "+98912", "+9891212", "+1234567", "09121234567", "user@bank.ir", "@handle", "a@b", "telegram:123456789",
        "matrix:@alice:example.org", "", "abc", "abcdef", "abcdefg", "+", "ali@بانک.ir", "علی@bank.ir", "+98۹۱۲۱۲۳۴۵۶۷", "line\r\nbreak",
        "e\u{301}tienne@bank.fr", "tab\tseparated",
    ])
    func maskMatchesTheCharacterVersion(address: String) {
        #expect(AddressMask.mask(address) == Self.referenceMask(address))
    }
}

/// The http-sms adapter's default body template (spelled out so that this test does not depend on ChannelSMS).
enum HTTPSMSAdapterDefault {
    static let template = #"{"id":"{{id}}","to":"{{to}}","text":"{{text}}","encoding":"{{encoding}}"}"#
}
