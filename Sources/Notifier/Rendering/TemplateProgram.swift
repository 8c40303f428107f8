import ChaparModels

/// A template part compiled for fast rendering.
///
/// swift-mustache parses and validates every part at load time (its errors carry positions), but
/// rendering through it walks values with `Mirror` and existential casts, which costs ~40 µs for
/// a Persian SMS. Chapar's templates use a small Mustache subset (variables, sections, inverted
/// sections, comments), so each part is also compiled into this tree of nodes whose variables are
/// resolved to ``TemplateSlot``s once, at load. The rendering follows the Mustache spec (standalone
/// section and comment lines disappear), and a test renders every shipped template through both
/// engines and requires identical output.
struct TemplateProgram: Sendable {
    indirect enum Node: Sendable {
        /// Literal text, kept as UTF-8 bytes: rendering appends bytes and makes one String at the end.
        case text([UInt8])
        case variable(TemplateSlot)
        /// `{{.}}`: the value of the innermost section.
        case current
        case section(TemplateSlot, [Node], inverted: Bool)
    }

    let nodes: [Node]
    let escaping: PartContent

    /// The nodes flattened for rendering: trivial operations over one literal byte buffer, so the
    /// render loop walks an array without retaining a node, a child array or a literal per step.
    enum Op: Sendable {
        case text(start: Int, end: Int)
        case variable(slot: Int)
        case current
        /// A section over `slots[slot]`; `end` is the index of its matching `.close`.
        case open(slot: Int, end: Int, inverted: Bool)
        case close(inverted: Bool)
    }

    private let ops: [Op]
    private let literals: [UInt8]
    private let slots: [TemplateSlot]

    /// Compiles text that already passed swift-mustache's parser and ``TagScanner``.
    init(_ text: String, escaping: PartContent) {
        self.escaping = escaping
        let b = Array(text.utf8)
        let n = b.count
        var stack: [(slot: TemplateSlot, inverted: Bool, nodes: [Node])] = []
        var nodes: [Node] = []
        var buffer: [UInt8] = []
        var lineHasContent = false  // anything but spaces/tabs since the last newline

        func emit(_ node: Node) {
            if stack.isEmpty { nodes.append(node) } else { stack[stack.count - 1].nodes.append(node) }
        }
        func flush() {
            if !buffer.isEmpty { emit(.text(buffer)) }
            buffer.removeAll(keepingCapacity: true)
        }

        var i = 0
        while i < n {
            guard b[i] == 0x7B, i + 1 < n, b[i + 1] == 0x7B else {
                buffer.append(b[i])
                if b[i] == 0x0A { lineHasContent = false } else if b[i] != 0x20 && b[i] != 0x09 && b[i] != 0x0D { lineHasContent = true }
                i += 1
                continue
            }
            var j = i + 2
            while j + 1 < n && !(b[j] == 0x7D && b[j + 1] == 0x7D) { j += 1 }
            var end = min(n, j + 2)
            var inner = Array(b[(i + 2)..<min(j, n)])
            let sigil = inner.first ?? 0
            let canStandAlone = sigil == 0x23 || sigil == 0x5E || sigil == 0x2F || sigil == 0x21 || sigil == 0x25
            if canStandAlone { inner.removeFirst() }
            let name = String(decoding: inner, as: UTF8.self).trimmingASCIISpaces()
            var standalone = false
            if canStandAlone && !lineHasContent {
                var k = end
                while k < n && (b[k] == 0x20 || b[k] == 0x09) { k += 1 }
                if k == n || b[k] == 0x0A || (b[k] == 0x0D && k + 1 < n && b[k + 1] == 0x0A) {
                    // Standalone: the line's indentation, the tag and its line break vanish.
                    standalone = true
                    while let last = buffer.last, last == 0x20 || last == 0x09 { buffer.removeLast() }
                    end = k == n ? n : (b[k] == 0x0A ? k + 1 : k + 2)
                }
            }
            flush()
            switch sigil {
            case 0x23, 0x5E:
                stack.append((TemplateSlot(name), sigil == 0x5E, []))
            case 0x2F:
                if let open = stack.popLast() {
                    emit(.section(open.slot, open.nodes, inverted: open.inverted))
                }
            case 0x21, 0x25:
                break
            default:
                emit(name == "." ? .current : .variable(TemplateSlot(name)))
            }
            lineHasContent = !standalone
            i = end
        }
        flush()
        while let open = stack.popLast() { emit(.section(open.slot, open.nodes, inverted: open.inverted)) }
        self.nodes = nodes
        var ops: [Op] = [], literals: [UInt8] = [], slots: [TemplateSlot] = []
        func slotIndex(_ slot: TemplateSlot) -> Int {
            if let i = slots.firstIndex(of: slot) { return i }
            slots.append(slot)
            return slots.count - 1
        }
        func flatten(_ nodes: [Node]) {
            for node in nodes {
                switch node {
                case .text(let text):
                    literals.append(contentsOf: text)
                    ops.append(.text(start: literals.count - text.count, end: literals.count))
                case .variable(let slot): ops.append(.variable(slot: slotIndex(slot)))
                case .current: ops.append(.current)
                case .section(let slot, let children, let inverted):
                    let at = ops.count
                    ops.append(.current)  // placeholder until the end is known
                    flatten(children)
                    ops[at] = .open(slot: slotIndex(slot), end: ops.count, inverted: inverted)
                    ops.append(.close(inverted: inverted))
                }
            }
        }
        flatten(nodes)
        self.ops = ops
        self.literals = literals
        self.slots = slots
    }

    /// Renders with values from `scope`, computing each value at most once per `memo`.
    func render(_ scope: borrowing RenderScope, memo: inout RenderMemo) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        var sections: [String] = []
        render(scope, memo: &memo, into: &out, sections: &sections)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the rendering to `out`; `sections` is scratch space (left as it was). The notifier's
    /// hot path renders into reused buffers this way and never makes a `String` of the result.
    func render(_ scope: borrowing RenderScope, memo: inout RenderMemo, into out: inout [UInt8], sections: inout [String]) {
        let depth = sections.count
        defer { sections.removeSubrange(depth...) }
        literals.withUnsafeBufferPointer { literals in
            var pc = 0
            let count = ops.count
            while pc < count {
                switch ops[pc] {
                case .text(let start, let end):
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: literals[start..<end]))
                case .variable(let slot):
                    if let value = memo.value(slots[slot], scope) { append(value, to: &out) }
                case .current:
                    if sections.count > depth, let value = sections.last { append(value, to: &out) }
                case .open(let slot, let end, let inverted):
                    let value = memo.value(slots[slot], scope)
                    if inverted {
                        if value != nil { pc = end }  // skip the children and the close
                    } else if let value {
                        sections.append(value)
                    } else {
                        pc = end
                    }
                case .close(let inverted):
                    if !inverted { sections.removeLast() }
                }
                pc += 1
            }
        }
    }

    private func append(_ value: String, to out: inout [UInt8]) {
        switch escaping {
        case .text: out.append(contentsOf: value.utf8)
        case .html: HTMLEscaping.append(value, to: &out)
        case .markdown: MarkdownContentType.append(value, to: &out)
        }
    }
}

enum HTMLEscaping {
    static func append(_ value: String, to out: inout [UInt8]) {
        // Most values need no escaping: copy them whole.
        guard value.utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 }) else {
            out.append(contentsOf: value.utf8)
            return
        }
        for b in value.utf8 {
            switch b {
            case 0x26: out.append(contentsOf: [0x26, 0x61, 0x6D, 0x70, 0x3B])  // &amp;
            case 0x3C: out.append(contentsOf: [0x26, 0x6C, 0x74, 0x3B])  // &lt;
            case 0x3E: out.append(contentsOf: [0x26, 0x67, 0x74, 0x3B])  // &gt;
            case 0x22: out.append(contentsOf: [0x26, 0x71, 0x75, 0x6F, 0x74, 0x3B])  // &quot;
            case 0x27: out.append(contentsOf: [0x26, 0x23, 0x33, 0x39, 0x3B])  // &#39;
            default: out.append(b)
            }
        }
    }
}

extension String {
    func trimmingASCIISpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}

/// Values already computed during one render, shared by the parts of a message (an email's
/// subject, text and HTML all show the amount; it is formatted once).
struct RenderMemo {
    private var values: [String?] = []
    private var known: UInt32 = 0
    /// `date`, `date_numeric` and `time` depend only on the local day or minute and the language,
    /// which consecutive events mostly share: kept across ``reset()``, per slot and language, with
    /// the day or minute they were made for.
    private var calendar: [(key: Int, value: String?)] = Array(repeating: (Int.min, nil), count: 6)

    init() {}

    /// Forgets the values (for the next event or customer), keeping the storage.
    mutating func reset() { known = 0 }

    mutating func value(_ slot: TemplateSlot, _ scope: borrowing RenderScope) -> String? {
        guard let index = slot.ordinal else { return scope.value(slot) }
        let bit = UInt32(1) << UInt32(index)
        if known & bit != 0 { return values[index] }
        let v: String?
        if (2...4).contains(index) {  // date, dateNumeric, time (see TemplateSlot.ordinal)
            let entry = (index - 2) * 2 + (scope.language == .fa ? 0 : 1)
            let key = index == 4 ? scope.local.minute : scope.local.day
            if calendar[entry].key == key {
                v = calendar[entry].value
            } else {
                v = scope.value(slot)
                calendar[entry] = (key, v)
            }
        } else {
            v = scope.value(slot)
        }
        if values.isEmpty { values = Array(repeating: nil, count: TemplateSlot.ordinalCount) }
        values[index] = v
        known |= bit
        return v
    }
}
