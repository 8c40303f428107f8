import ChaparModels
import Foundation

/// `{{name}}` placeholders in a JSON body template, replaced by JSON-escaped values.
public enum JSONTemplate {
    /// Replaces each `{{name}}` with the value's JSON string escaping (without quotes: the
    /// template supplies them). Unknown names become empty.
    ///
    /// An ASCII template (the usual case) is filled on its UTF-8 bytes: this runs once per message
    /// sent, and Foundation's `range(of:)` cost more than the rest of building the request. Other
    /// templates keep Character semantics (a brace followed by a combining mark is not a brace).
    public static func fill(_ template: String, _ values: [String: String]) -> String {
        var template = template
        return template.withUTF8 { t in
            guard t.allSatisfy({ $0 < 0x80 }) else { return fillCharacters(String(decoding: t, as: UTF8.self), values) }
            var out: [UInt8] = []
            out.reserveCapacity(t.count + 256)
            var escaper = JSONWriter(capacity: 256)
            var i = 0
            while let open = find(0x7B, in: t, from: i) {   // "{{"
                out.append(contentsOf: UnsafeBufferPointer(rebasing: t[i..<open]))
                guard let close = find(0x7D, in: t, from: open + 2) else {   // "}}"
                    i = open
                    break
                }
                let value = values[placeholderName(UnsafeBufferPointer(rebasing: t[(open + 2)..<close]))] ?? ""
                // element() writes the value quoted (and escaped): keep what is inside the quotes.
                escaper.removeAll()
                escaper.element(value)
                escaper.bytes.withUnsafeBufferPointer { out.append(contentsOf: UnsafeBufferPointer(rebasing: $0[1..<($0.count - 1)])) }
                i = close + 2
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: t[i...]))
            return String(decoding: out, as: UTF8.self)
        }
    }

    private static func fillCharacters(_ template: String, _ values: [String: String]) -> String {
        var out = ""
        var rest = Substring(template)
        while let open = rest.range(of: "{{") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                out += rest[open.lowerBound...]
                return out
            }
            let name = rest[open.upperBound..<close.lowerBound].trimmingSpaces
            out += escape(values[name] ?? "")
            rest = rest[close.upperBound...]
        }
        out += rest
        return out
    }

    private static func escape(_ s: String) -> String {
        var w = JSONWriter(capacity: s.utf8.count + 8)
        w.element(s)
        // element() writes a quoted string (possibly after a separator): keep what is inside the quotes.
        var bytes = w.bytes
        while let first = bytes.first, first != UInt8(ascii: "\"") { bytes.removeFirst() }
        return String(decoding: bytes.dropFirst().dropLast(), as: UTF8.self)
    }

    /// The first index at or after `start` where `brace` appears twice in a row.
    private static func find(_ brace: UInt8, in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        var k = start
        while k + 1 < bytes.count {
            if bytes[k] == brace && bytes[k + 1] == brace { return k }
            k += 1
        }
        return nil
    }

    /// An ASCII placeholder's name without surrounding spaces (as ``String/trimmingSpaces`` trims them).
    private static func placeholderName(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        // In ASCII one byte is one Character, except CR LF (one Character): take the Character
        // path for any CR, so that trimming bytes is exactly trimming Characters.
        guard !bytes.contains(0x0D) else { return String(decoding: bytes, as: UTF8.self).trimmingSpaces }
        var s = 0, e = bytes.count
        while s < e, bytes[s] == 0x20 || bytes[s] == 0x09 { s += 1 }
        while e > s, bytes[e - 1] == 0x20 || bytes[e - 1] == 0x09 { e -= 1 }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[s..<e]), as: UTF8.self)
    }

    /// Why a template cannot make valid JSON, or nil.
    public static func problem(_ template: String) -> String? {
        let sample = fill(template, [:])
        let bytes = Array(sample.utf8)
        let valid = bytes.withUnsafeBufferPointer { buffer -> Bool in
            var reader = JSONReader(buffer)
            do {
                try reader.skipValue()
                try reader.end()
                return true
            } catch {
                return false
            }
        }
        return valid ? nil : "the body template is not JSON once its {{placeholders}} are filled"
    }
}

/// Reads one top-level string (or number) field from a JSON answer.
public enum JSONField {
    public static func string(_ body: [UInt8], _ field: String) -> String? {
        body.withUnsafeBufferPointer { buffer -> String? in
            var reader = JSONReader(buffer)
            var found: String?
            do {
                try reader.readObject { (r: inout JSONReader, key: String) throws(InvalidValue) in
                    if key == field {
                        if let s = try? r.readString() { found = s } else { found = String(try r.readInt()) }
                    } else {
                        try r.skipValue()
                    }
                }
            } catch {
                return nil
            }
            return found
        }
    }
}

extension Substring {
    var trimmingSpaces: String { String(self).trimmingSpaces }
}
