/// White-space normalisation for texts read from bank files, on UTF-8 bytes because it runs for
/// every field of every entry.
enum BankText {
    @inline(__always)
    private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }

    /// Whether `bytes` already has no leading/trailing blanks, no runs, no tabs or line breaks.
    private static func isCollapsed(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var previousSpace = true  // a leading blank counts as a run
        for b in bytes {
            if b == 0x20 {
                if previousSpace { return false }
                previousSpace = true
            } else if b == 0x0A || b == 0x0D || b == 0x09 || b == 0xC2 {  // 0xC2: maybe U+00A0
                return false
            } else {
                previousSpace = false
            }
        }
        return !previousSpace || bytes.isEmpty
    }

    private static func collapseBytes(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var pendingSpace = false
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if isSpace(b) || (b == 0xC2 && i + 1 < bytes.count && bytes[i + 1] == 0xA0) {
                if b == 0xC2 { i += 1 }
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(0x20); pendingSpace = false }
                out.append(b)
            }
            i += 1
        }
        return out
    }

    /// The text of `bytes` trimmed and with runs of white space collapsed to one space, or nil
    /// when the bytes are not UTF-8.
    static func collapsedUTF8(_ bytes: [UInt8]) -> String? {
        bytes.withUnsafeBufferPointer { buf in
            if isCollapsed(buf) { return String(validating: buf, as: UTF8.self) }
            return String(validating: collapseBytes(buf), as: UTF8.self)
        }
    }

    /// `s` trimmed, with runs of white space (tabs, line breaks, U+00A0) collapsed to one space.
    static func collapse(_ s: String) -> String {
        var s = s
        return s.withUTF8 { buf in
            if isCollapsed(buf) { return nil }
            return String(decoding: collapseBytes(buf), as: UTF8.self)
        } ?? s
    }
}
