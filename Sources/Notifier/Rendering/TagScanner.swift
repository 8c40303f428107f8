import Foundation

/// Lists the tags of a template part, so names can be checked against the documented variables.
///
/// swift-mustache checks the syntax but keeps its token list private and renders an unknown name
/// as empty text, so Chapar scans the tags itself. Only the Mustache subset Chapar documents is
/// accepted: variables, sections, inverted sections and comments. Partials, blocks, pragmas,
/// set-delimiter tags, transforms and unescaped variables are reported.
enum TagScanner {
    struct Use {
        var name: String
        var line: Int
        /// Inside any section (where `{{.}}` means something).
        var insideSection: Bool
        /// Inside a section or inverted section on the same name, so an absent value is handled.
        var guarded: Bool
    }

    struct Problem {
        var line: Int
        var message: String
    }

    /// Sections opened and never closed, with the line of their opening tag.
    static func unclosedSections(_ text: String, firstLine: Int) -> [(name: String, line: Int)] {
        scanAll(text, firstLine: firstLine).unclosed
    }

    static func scan(_ text: String, firstLine: Int) -> (uses: [Use], problems: [Problem]) {
        let all = scanAll(text, firstLine: firstLine)
        return (all.uses, all.problems)
    }

    private static func scanAll(_ text: String, firstLine: Int) -> (uses: [Use], problems: [Problem], unclosed: [(name: String, line: Int)]) {
        var uses: [Use] = []
        var problems: [Problem] = []
        var sections: [String] = []
        var openLines: [Int] = []
        let bytes = Array(text.utf8)
        var line = firstLine
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0x0A { line += 1; i += 1; continue }
            guard bytes[i] == 0x7B, i + 1 < bytes.count, bytes[i + 1] == 0x7B else { i += 1; continue }
            let tagLine = line
            var j = i + 2
            while j + 1 < bytes.count && !(bytes[j] == 0x7D && bytes[j + 1] == 0x7D) {
                if bytes[j] == 0x0A { line += 1 }
                j += 1
            }
            guard j + 1 < bytes.count else { break }  // unclosed: the Mustache parser reports it
            var inner = Array(bytes[(i + 2)..<j])
            var end = j + 2
            if inner.first == 0x7B {  // {{{name}}}
                if end < bytes.count && bytes[end] == 0x7D { end += 1 }
                problems.append(Problem(line: tagLine, message: "unescaped variable {{{…}}}; write {{name}}: every part escapes for its format (HTML in email html, none in text)"))
                i = end
                continue
            }
            let sigil = inner.first ?? 0
            if [0x23, 0x5E, 0x2F, 0x21, 0x26, 0x3E, 0x3C, 0x24, 0x3D, 0x25].contains(sigil) { inner.removeFirst() }
            let name = String(decoding: inner, as: UTF8.self).trimmingCharacters(in: .whitespaces)
            switch sigil {
            case 0x21:  // ! comment
                break
            case 0x26:
                problems.append(Problem(line: tagLine, message: "unescaped variable {{&\(name)}}; write {{\(name)}}: every part escapes for its format"))
            case 0x3E, 0x3C, 0x24:
                problems.append(Problem(line: tagLine, message: "partials and blocks ({{>…}}, {{<…}}, {{$…}}) are not supported; write the text into this template"))
            case 0x3D:
                problems.append(Problem(line: tagLine, message: "set-delimiter tags are not supported; keep the {{ }} delimiters"))
            case 0x25:
                problems.append(Problem(line: tagLine, message: "pragmas {{%…}} are not supported; the part decides how variables are escaped"))
            case 0x23, 0x5E:  // # ^
                if let problem = nameProblem(name) {
                    problems.append(Problem(line: tagLine, message: problem))
                } else {
                    uses.append(Use(name: name, line: tagLine, insideSection: !sections.isEmpty, guarded: true))
                }
                sections.append(name)
                openLines.append(tagLine)
            case 0x2F:  // /
                if let index = sections.lastIndex(of: name) {
                    sections.removeSubrange(index...)
                    openLines.removeSubrange(index...)
                }
            default:
                if let problem = nameProblem(name) {
                    problems.append(Problem(line: tagLine, message: problem))
                } else {
                    uses.append(Use(name: name, line: tagLine, insideSection: !sections.isEmpty, guarded: sections.contains(name)))
                }
            }
            i = end
        }
        return (uses, problems, Array(zip(sections, openLines)).map { (name: $0.0, line: $0.1) })
    }

    private static func nameProblem(_ name: String) -> String? {
        if name == "." { return nil }
        if name.contains("(") { return "transforms such as \(name) are not supported; use the prepared variables (see docs/templates.md)" }
        if name.contains(".") { return "dotted name '\(name)' is not supported; the variables are flat (see docs/templates.md)" }
        if name.isEmpty { return "empty tag {{}}; write a variable name" }
        return nil
    }
}
