import Foundation

/// A small pull tokenizer for the XML that ISO 20022 messages use, reading through one fixed
/// buffer so memory stays constant whatever the file size.
///
/// Why not Foundation's `XMLParser`: it is push-based (its `parse()` runs the whole document
/// through delegate callbacks), so a pull-style ``EntryParser/next()`` would need a second thread
/// and a hand-off queue, and it offers no way to refuse DTDs up front. This tokenizer handles what
/// camt messages contain: elements, attributes, namespaces (by prefix), the five predefined
/// entities and character references, CDATA, comments and processing instructions. DOCTYPE
/// declarations are refused (no entity expansion, no external fetches). It checks
/// well-formedness: matching tags, one root, nothing after it, no truncation.
struct XMLPullParser {
    /// What ``next()`` stopped at.
    enum Token: Equatable {
        /// A start tag: ``name``, ``prefix`` and ``attributes`` describe it.
        case start
        /// An end tag (also produced right after a self-closing start tag); ``text`` holds the
        /// character data since the previous tag, so for a leaf element its whole content.
        case end
        /// The root element closed and only trailing whitespace, comments or PIs followed.
        case endOfDocument
    }

    /// Why the document cannot be read further.
    enum Failure: Error {
        case io(IngestError)
        /// The bytes stop being well-formed XML at `line`.
        case syntax(line: Int, message: String)
    }

    /// Limits that keep memory bounded against hostile input.
    static let maxNameLength = 256
    static let maxTextLength = 1 << 20
    static let maxDepth = 128

    private var reader: BankFileReader
    /// Current line (1-based) of the read position.
    private(set) var line = 1
    /// Line of the `<` that began the current token.
    private(set) var tokenLine = 1
    /// Local name (after any `prefix:`) of the element just started or ended.
    private(set) var name = ""
    /// Namespace prefix of that element, or "" for the default namespace.
    private(set) var prefix = ""
    /// Attributes of the start tag just read, entity-decoded.
    private(set) var attributes: [(name: String, value: String)] = []
    /// Character data since the previous tag, entity-decoded, as UTF-8 bytes (not yet validated).
    private(set) var text: [UInt8] = []
    /// True when the character data since the previous tag was longer than ``maxTextLength``:
    /// ``text`` then holds only its beginning, and the reader decides what that means for its entry.
    private(set) var textOverflowed = false
    /// Open elements (qualified names) and the line each started on.
    private var stack: [(qname: String, line: Int)] = []
    private var pendingEnd = false
    private var rootSeen = false
    private var finished = false
    private var nameBuffer: [UInt8] = []
    private var valueBuffer: [UInt8] = []

    /// Number of open elements (the root is depth 1 while open).
    var depth: Int { stack.count }

    init(reader: BankFileReader) throws(Failure) {
        self.reader = reader
        text.reserveCapacity(256)
        let head: ArraySlice<UInt8>
        do { head = try self.reader.prefix(4) } catch { throw .io(error) }
        if head.starts(with: [0xEF, 0xBB, 0xBF]) {
            for _ in 0..<3 { _ = try byte() }
        } else if head.starts(with: [0xFE, 0xFF]) || head.starts(with: [0xFF, 0xFE]) {
            throw .syntax(line: 1, message: "the file is UTF-16 encoded; ISO 20022 messages must be UTF-8: convert it (e.g. iconv -f UTF-16 -t UTF-8)")
        }
    }

    @inline(__always)
    private mutating func byte() throws(Failure) -> UInt8? {
        let b: UInt8?
        do { b = try reader.next() } catch { throw .io(error) }
        if b == 0x0A { line += 1 }
        return b
    }

    private func fail(_ message: String) -> Failure { .syntax(line: line, message: message) }

    private mutating func require() throws(Failure) -> UInt8 {
        guard let b = try byte() else { throw truncated() }
        return b
    }

    private func truncated() -> Failure {
        if let open = stack.last {
            let local = open.qname.split(separator: ":").last.map(String.init) ?? open.qname
            return fail("the file ends inside <\(local)> opened at line \(open.line): it is truncated (ask the bank to send it again)")
        }
        return fail("the file ends in the middle of a tag: it is truncated")
    }

    @inline(__always)
    private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }

    /// Advances to the next start or end tag.
    mutating func next() throws(Failure) -> Token {
        if pendingEnd {
            pendingEnd = false
            stack.removeLast()
            return .end
        }
        if finished { return .endOfDocument }
        text.removeAll(keepingCapacity: true)
        textOverflowed = false
        while true {
            guard let b = try byte() else {
                if !stack.isEmpty { throw truncated() }
                if !rootSeen { throw fail("the file contains no XML element (is it empty?)") }
                finished = true
                return .endOfDocument
            }
            if b == 0x3C {  // <
                tokenLine = line
                let c = try require()
                switch c {
                case 0x2F:  // </
                    try readEndTag()
                    return .end
                case 0x3F:  // <?
                    try skipProcessingInstruction()
                case 0x21:  // <!
                    try readMarkupDeclaration()
                default:
                    if rootSeen && stack.isEmpty { throw fail("a second root element <\(String(decoding: [c], as: UTF8.self))…> follows the end of the document") }
                    try readStartTag(first: c)
                    return .start
                }
            } else if b == 0x26 {  // &
                text.append(contentsOf: try readEntity())
                if stack.isEmpty { throw fail("text outside the root element") }
            } else if stack.isEmpty {
                if !Self.isSpace(b) { throw fail(rootSeen ? "text after the end of the document" : "this is not XML: expected '<' but found other text") }
            } else {
                if text.count >= Self.maxTextLength { textOverflowed = true } else { text.append(b) }
            }
        }
    }

    private mutating func readName(first: UInt8) throws(Failure) -> UInt8 {
        nameBuffer.removeAll(keepingCapacity: true)
        nameBuffer.append(first)
        while true {
            let b = try require()
            if Self.isSpace(b) || b == 0x2F || b == 0x3E || b == 0x3D { return b }
            if b == 0x3C || b == 0x22 || b == 0x27 || b == 0x26 { throw fail("invalid character '\(Character(Unicode.Scalar(b)))' in an element or attribute name") }
            if nameBuffer.count >= Self.maxNameLength { throw fail("a name is longer than \(Self.maxNameLength) characters") }
            nameBuffer.append(b)
        }
    }

    private mutating func setName(from qname: String) {
        if name == qname && prefix.isEmpty { return }  // the common case: the element that just started ends
        if let colon = qname.utf8.firstIndex(of: 0x3A) {
            prefix = String(qname[..<colon])
            name = String(qname[qname.index(after: colon)...])
        } else {
            prefix = ""
            name = qname
        }
    }

    private mutating func readStartTag(first: UInt8) throws(Failure) {
        if Self.isSpace(first) || first == 0x3E || first == 0x3D { throw fail("'<' is not followed by an element name") }
        var b = try readName(first: first)
        let qname = String(decoding: nameBuffer, as: UTF8.self)
        attributes.removeAll(keepingCapacity: true)
        while true {
            while Self.isSpace(b) { b = try require() }
            if b == 0x3E { break }  // >
            if b == 0x2F {  // />
                guard try require() == 0x3E else { throw fail("'/' in a start tag must be followed by '>'") }
                pendingEnd = true
                break
            }
            // attribute
            b = try readName(first: b)
            let attrName = String(decoding: nameBuffer, as: UTF8.self)
            while Self.isSpace(b) { b = try require() }
            guard b == 0x3D else { throw fail("attribute \(attrName) of <\(qname)> has no '=value'") }
            var q = try require()
            while Self.isSpace(q) { q = try require() }
            guard q == 0x22 || q == 0x27 else { throw fail("the value of attribute \(attrName) must be quoted") }
            valueBuffer.removeAll(keepingCapacity: true)
            while true {
                let v = try require()
                if v == q { break }
                if v == 0x3C { throw fail("'<' inside the value of attribute \(attrName)") }
                if v == 0x26 { valueBuffer.append(contentsOf: try readEntity()); continue }
                if valueBuffer.count >= Self.maxTextLength { throw fail("attribute \(attrName) is too long") }
                valueBuffer.append(v)
            }
            attributes.append((attrName, String(decoding: valueBuffer, as: UTF8.self)))
            b = try require()
            if !(Self.isSpace(b) || b == 0x3E || b == 0x2F) { throw fail("attributes of <\(qname)> must be separated by spaces") }
        }
        if stack.count >= Self.maxDepth { throw fail("elements are nested deeper than \(Self.maxDepth) levels") }
        stack.append((qname, tokenLine))
        rootSeen = true
        setName(from: qname)
    }

    private mutating func readEndTag() throws(Failure) {
        let first = try require()
        var b = try readName(first: first)
        while Self.isSpace(b) { b = try require() }
        guard b == 0x3E else { throw fail("malformed end tag </\(String(decoding: nameBuffer, as: UTF8.self))") }
        // Compare bytes, not a new String: end tags are half of all tags.
        guard let open = stack.last, open.qname.utf8.elementsEqual(nameBuffer) else {
            let qname = String(decoding: nameBuffer, as: UTF8.self)
            guard let open = stack.last else { throw fail("end tag </\(qname)> without a matching start tag") }
            throw fail("end tag </\(qname)> does not match <\(open.qname)> opened at line \(open.line)")
        }
        stack.removeLast()
        setName(from: open.qname)
    }

    private mutating func skipProcessingInstruction() throws(Failure) {
        valueBuffer.removeAll(keepingCapacity: true)
        var previous: UInt8 = 0
        while true {
            let b = try require()
            if previous == 0x3F && b == 0x3E { break }
            if valueBuffer.count < 512 { valueBuffer.append(b) }
            previous = b
        }
        // The XML declaration: only UTF-8 is accepted (ISO 20022 mandates it).
        let body = String(decoding: valueBuffer, as: UTF8.self)
        if body.hasPrefix("xml "), let r = body.range(of: "encoding") {
            let rest = body[r.upperBound...].drop(while: { $0 == " " || $0 == "=" })
            if let quote = rest.first, quote == "\"" || quote == "'" {
                let value = rest.dropFirst().prefix(while: { $0 != quote })
                let v = value.lowercased()
                if v != "utf-8" && v != "utf8" {
                    throw fail("the XML declaration says encoding \"\(value)\"; ISO 20022 messages must be UTF-8: convert the file (e.g. iconv -f \(value) -t UTF-8)")
                }
            }
        }
    }

    private mutating func readMarkupDeclaration() throws(Failure) {
        let c = try require()
        if c == 0x2D {  // <!-
            guard try require() == 0x2D else { throw fail("malformed comment") }
            var a: UInt8 = 0, b: UInt8 = 0
            while true {
                let x = try require()
                if a == 0x2D && b == 0x2D && x == 0x3E { return }
                a = b; b = x
            }
        }
        if c == 0x5B {  // <![CDATA[
            for expected in Array("CDATA[".utf8) {
                guard try require() == expected else { throw fail("malformed CDATA section") }
            }
            if stack.isEmpty { throw fail("CDATA outside the root element") }
            var a: UInt8 = 0, b: UInt8 = 0
            while true {
                let x = try require()
                if a == 0x5D && b == 0x5D && x == 0x3E {
                    text.removeLast(min(2, text.count))
                    return
                }
                if text.count >= Self.maxTextLength { textOverflowed = true } else { text.append(x) }
                a = b; b = x
            }
        }
        throw fail("DOCTYPE and other declarations are not accepted in ISO 20022 messages (no DTDs, no entity definitions)")
    }

    private mutating func readEntity() throws(Failure) -> [UInt8] {
        var out: [UInt8] = []
        var ref: [UInt8] = []
        while true {
            let b = try require()
            if b == 0x3B { break }
            if ref.count >= 10 || Self.isSpace(b) || b == 0x3C { throw fail("'&' must start an entity such as &amp; or &#1575;") }
            ref.append(b)
        }
        switch ref {
        case Array("lt".utf8): out.append(0x3C)
        case Array("gt".utf8): out.append(0x3E)
        case Array("amp".utf8): out.append(0x26)
        case Array("quot".utf8): out.append(0x22)
        case Array("apos".utf8): out.append(0x27)
        default:
            guard ref.first == 0x23 else {
                throw fail("unknown entity &\(String(decoding: ref, as: UTF8.self)); (only &lt; &gt; &amp; &quot; &apos; and character references are defined)")
            }
            let hex = ref.count > 1 && (ref[1] == 0x78 || ref[1] == 0x58)
            let digits = ref.dropFirst(hex ? 2 : 1)
            guard !digits.isEmpty, let v = UInt32(String(decoding: digits, as: UTF8.self), radix: hex ? 16 : 10),
                  let scalar = Unicode.Scalar(v), v != 0 else {
                throw fail("invalid character reference &\(String(decoding: ref, as: UTF8.self));")
            }
            out.append(contentsOf: Array(String(Character(scalar)).utf8))
        }
        return out
    }

    /// The value of an attribute of the current start tag, by local name.
    func attribute(_ local: String) -> String? {
        for (n, v) in attributes {
            if n == local { return v }
            if let colon = n.utf8.firstIndex(of: 0x3A), n[n.index(after: colon)...] == local { return v }
        }
        return nil
    }

    /// The namespace URI bound to `prefix` by the attributes of the current start tag, if any.
    func namespaceDeclared(for prefix: String) -> String? {
        let key = prefix.isEmpty ? "xmlns" : "xmlns:" + prefix
        return attributes.first(where: { $0.name == key })?.value
    }
}
