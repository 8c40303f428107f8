import ChaparModels
import Foundation

/// `{{name}}` placeholders in a JSON body template, replaced by JSON-escaped values.
public enum JSONTemplate {
    /// Replaces each `{{name}}` with the value's JSON string escaping (without quotes: the
    /// template supplies them). Unknown names become empty.
    public static func fill(_ template: String, _ values: [String: String]) -> String {
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

    static func escape(_ s: String) -> String {
        var w = JSONWriter(capacity: s.utf8.count + 8)
        w.element(s)
        // element() writes a quoted string (possibly after a separator): keep what is inside the quotes.
        var bytes = w.bytes
        while let first = bytes.first, first != UInt8(ascii: "\"") { bytes.removeFirst() }
        return String(decoding: bytes.dropFirst().dropLast(), as: UTF8.self)
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
