public import ChaparModels
import Foundation
import Mustache

/// All templates, compiled and validated at load time.
///
/// Layout (see `docs/templates.md`): `<directory>/<channel>/<name>.<language>.mustache`. SMS and IM
/// templates are the whole file; email files have `=== subject ===`, `=== text ===` and
/// `=== html ===` parts, fax files `=== title ===` and `=== body ===`. Loading compiles every part
/// with swift-mustache and checks every tag against the documented variables, so a typo is an
/// error at startup, naming file and line, instead of an empty gap in a message at 7 a.m.
public struct TemplateCatalog: Sendable {
    struct Key: Hashable, Sendable {
        var channel: Channel
        var name: String
        var language: Language
    }

    struct NameKey: Hashable, Sendable {
        var channel: Channel
        var name: String
    }

    private(set) var templates: [Key: CompiledTemplate] = [:]
    private(set) var purposes: [NameKey: TemplatePurpose] = [:]

    /// Every (channel, template name) pair, sorted, for listings and the preview.
    public var names: [(channel: Channel, name: String)] {
        purposes.keys.sorted { ($0.channel, $0.name) < ($1.channel, $1.name) }.map { ($0.channel, $0.name) }
    }

    /// Whether `channel` has a template called `name`.
    public func contains(channel: Channel, name: String) -> Bool { purposes[NameKey(channel: channel, name: name)] != nil }

    func template(channel: Channel, name: String, language: Language) -> CompiledTemplate? {
        templates[Key(channel: channel, name: name, language: language)]
    }

    func purpose(channel: Channel, name: String) -> TemplatePurpose? { purposes[NameKey(channel: channel, name: name)] }

    /// Loads and validates every template under `directory`.
    ///
    /// Throws one ``NotifierError`` with code `.template` listing every problem found, one per
    /// line, each `FILE:LINE: what is wrong; how to fix`.
    public static func load(directory: String) throws(NotifierError) -> TemplateCatalog {
        MarkdownContentType.registerOnce()
        let fm = FileManager.default
        let root = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: root, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw NotifierError(.template, "\(root): no such template directory; pass the directory that holds sms/, email/, fax/ and im/ (e.g. config/templates)")
        }
        var problems: [String] = []
        var catalog = TemplateCatalog()
        var filesByName: [NameKey: [Language: String]] = [:]
        func list(_ path: String) -> [String] {
            do { return try fm.contentsOfDirectory(atPath: path).sorted() } catch {
                problems.append("\(path):1: cannot be listed (\(error.localizedDescription)); check its permissions")
                return []
            }
        }
        let entries = list(root)
        for entry in entries where !entry.hasPrefix(".") {
            let path = root + "/" + entry
            guard fm.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { continue }
            guard let channel = Channel(rawValue: entry) else {
                problems.append("\(path):1: '\(entry)' is not a channel directory; name it sms, email, fax or im, or move it out of \(root)")
                continue
            }
            let files = list(path)
            for file in files where !file.hasPrefix(".") {
                let filePath = path + "/" + file
                let pieces = file.split(separator: ".", omittingEmptySubsequences: false)
                guard pieces.count == 3, pieces[2] == "mustache" else {
                    problems.append("\(filePath):1: not a template file name; name templates <name>.<language>.mustache, e.g. debit.fa.mustache")
                    continue
                }
                let name = String(pieces[0])
                guard name == name.lowercased(), (try? EventKind(name)) != nil else {
                    problems.append("\(filePath):1: '\(name)' is not a template name; use lower-case letters, digits and '-', starting with a letter (e.g. login-alert)")
                    continue
                }
                guard let language = Language(rawValue: String(pieces[1])) else {
                    problems.append("\(filePath):1: '\(pieces[1])' is not a supported language; use fa or en")
                    continue
                }
                guard let data = fm.contents(atPath: filePath) else {
                    problems.append("\(filePath):1: cannot be read; check its permissions")
                    continue
                }
                guard let raw = String(validating: data, as: UTF8.self) else {
                    problems.append("\(filePath):1: is not valid UTF-8; save it as UTF-8")
                    continue
                }
                // Windows line ends would reach SMS and email as CR LF; one newline form everywhere.
                let text = raw.contains("\r\n") ? raw.replacingOccurrences(of: "\r\n", with: "\n") : raw
                let source = TemplateSource(path: filePath, channel: channel, name: name, language: language, text: text)
                switch source.compile() {
                case .success(let compiled):
                    let nameKey = NameKey(channel: channel, name: name)
                    if let existing = catalog.purposes[nameKey], existing.isTransaction != compiled.purpose.isTransaction {
                        problems.append("\(filePath):1: declared as a \(compiled.purpose.isTransaction ? "transaction" : "message") template but its other language variant is not; make the declarations agree")
                        continue
                    }
                    catalog.purposes[nameKey] = compiled.purpose
                    catalog.templates[Key(channel: channel, name: name, language: language)] = compiled
                    filesByName[nameKey, default: [:]][language] = filePath
                case .failure(let fileProblems):
                    problems.append(contentsOf: fileProblems.messages)
                    filesByName[NameKey(channel: channel, name: name), default: [:]][language] = filePath
                }
            }
        }
        for (key, files) in filesByName.sorted(by: { ($0.key.channel, $0.key.name) < ($1.key.channel, $1.key.name) }) {
            let present = files.sorted { $0.key.rawValue < $1.key.rawValue }
            for language in Language.allCases where files[language] == nil {
                let example = present[0].value
                problems.append("\(example):1: there is no \(language) variant of \(key.channel)/\(key.name); add \(root)/\(key.channel)/\(key.name).\(language).mustache (every template needs fa and en)")
            }
        }
        if problems.isEmpty && catalog.templates.isEmpty {
            problems.append("\(root):1: contains no templates; add <channel>/<name>.<language>.mustache files (see docs/templates.md)")
        }
        guard problems.isEmpty else {
            throw NotifierError(.template, problems.joined(separator: "\n"))
        }
        return catalog
    }
}

/// One loaded template file, ready to render.
struct CompiledTemplate: Sendable {
    /// The file it came from, for error messages and tracing.
    let path: String
    let purpose: TemplatePurpose
    /// Parts by name: `text` (sms, im), `subject`/`text`/`html` (email), `title`/`body` (fax).
    let programs: [String: TemplateProgram]
    /// The same parts compiled by swift-mustache, the reference the tests compare against.
    let mustacheParts: [String: MustacheTemplate]
    /// Message variables used outside a section of the same name: a message must supply them.
    let requiredMessageVariables: [String]
}

/// How a part's variables are escaped.
enum PartContent {
    case text, html, markdown

    /// Prepended to the part so swift-mustache escapes for it. On a line of its own, so Mustache
    /// drops that line when rendering and a first-line comment stays standalone; parser line
    /// numbers are one more than the file's (see ``pragmaLines``).
    var pragma: String {
        switch self {
        case .text: "{{% CONTENT_TYPE: TEXT}}\n"
        case .html: ""
        case .markdown: "{{% CONTENT_TYPE: \(MarkdownContentType.name)}}\n"
        }
    }

    /// Lines the pragma adds before the part's text.
    var pragmaLines: Int { pragma.isEmpty ? 0 : 1 }
}

/// The text of a template file, split into parts and checked.
struct TemplateSource {
    let path: String
    let channel: Channel
    let name: String
    let language: Language
    let text: String

    /// The parts each channel's files must have, in order, with their escaping.
    static func requiredParts(_ channel: Channel) -> [(name: String, content: PartContent)] {
        switch channel {
        case .sms: [("text", .text)]
        case .email: [("subject", .text), ("text", .text), ("html", .html)]
        case .fax: [("title", .text), ("body", .text)]
        case .im: [("text", .markdown)]
        }
    }

    func compile() -> Result<CompiledTemplate, TemplateProblems> {
        var problems: [String] = []
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasSuffix("\r") ? line.dropLast() : line
        }
        // Purpose: from the name, or from a `{{! chapar: … }}` declaration on the first line.
        var purpose: TemplatePurpose?
        if TemplateVariables.transactionTemplates.contains(name) { purpose = .transaction }
        if let known = TemplateVariables.knownMessages[name] { purpose = .message(variables: known) }
        let first = lines.first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        if first.hasPrefix("{{!"), first.hasSuffix("}}") {
            let body = first.dropFirst(3).dropLast(2).trimmingCharacters(in: .whitespaces)
            if body.hasPrefix("chapar:") {
                let words = body.dropFirst(7).split(separator: " ").map(String.init)
                switch words.first {
                case "transaction" where words.count == 1:
                    if case .message = purpose {
                        problems.append("\(path):1: '\(name)' is a direct-message template and cannot be declared a transaction template; rename the file or remove the declaration")
                    }
                    purpose = .transaction
                case "message":
                    if purpose == .transaction {
                        problems.append("\(path):1: '\(name)' is a transaction template and cannot be declared a message template; rename the file or remove the declaration")
                    }
                    var own: Set<String> = []
                    if case .message(let known) = purpose { own = known }
                    for word in words.dropFirst() {
                        if Self.isPlainName(word) { own.insert(word) } else {
                            problems.append("\(path):1: '\(word)' is not a variable name; use lower-case letters, digits, '_' and '-'")
                        }
                    }
                    purpose = .message(variables: own)
                default:
                    problems.append("\(path):1: unknown declaration '\(body)'; write {{! chapar: transaction }} or {{! chapar: message VARIABLE… }}")
                }
            }
        }
        guard let purpose else {
            problems.append("\(path):1: '\(name)' is not a template Chapar knows (debit, credit, transaction, \(TemplateVariables.knownMessages.keys.sorted().joined(separator: ", "))); declare it on the first line with {{! chapar: transaction }} for a bank-defined transaction kind or {{! chapar: message VARIABLE… }} for a direct message")
            return .failure(TemplateProblems(problems))
        }

        // Split into parts.
        let expected = Self.requiredParts(channel)
        var partTexts: [String: (text: String, firstLine: Int)] = [:]
        if expected.count == 1 {
            partTexts[expected[0].name] = (text, 1)
        } else {
            var current: String?
            var buffer: [Substring] = []
            var startLine = 1
            func flush() {
                if let current {
                    while let last = buffer.last, last.allSatisfy(\.isWhitespace) { buffer.removeLast() }
                    partTexts[current] = (buffer.joined(separator: "\n"), startLine)
                }
                buffer = []
            }
            for (index, line) in lines.enumerated() {
                let lineNumber = index + 1
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed.hasPrefix("==="), trimmed.hasSuffix("==="), trimmed.count >= 7 {
                    let partName = trimmed.dropFirst(3).dropLast(3).trimmingCharacters(in: .whitespaces)
                    guard expected.contains(where: { $0.name == partName }) else {
                        problems.append("\(path):\(lineNumber): unknown part '\(partName)'; \(channel) templates have \(expected.map { "=== \($0.name) ===" }.joined(separator: ", "))")
                        continue
                    }
                    if partTexts[partName] != nil || current == partName {
                        problems.append("\(path):\(lineNumber): part '\(partName)' appears twice; keep one")
                        continue
                    }
                    flush()
                    current = partName
                    startLine = lineNumber + 1
                } else if current != nil {
                    buffer.append(line)
                } else if !trimmed.isEmpty && !(lineNumber == 1 && trimmed.hasPrefix("{{!")) {
                    problems.append("\(path):\(lineNumber): text before the first part marker; start the file with \(expected.map { "=== \($0.name) ===" }[0])")
                }
            }
            flush()
            for part in expected where partTexts[part.name] == nil {
                problems.append("\(path):1: the \(part.name) part is missing; add a line '=== \(part.name) ===' followed by the \(part.name) template")
            }
        }

        // Compile each part and check its tags.
        var parts: [String: MustacheTemplate] = [:]
        var programs: [String: TemplateProgram] = [:]
        var required: Set<String> = []
        let allowed = purpose.allowedVariables
        for part in expected {
            guard let (partText, firstLine) = partTexts[part.name] else { continue }
            let pragma = part.content.pragma
            do {
                parts[part.name] = try MustacheTemplate(string: pragma + partText)
            } catch let error as MustacheTemplate.ParserError {
                if case MustacheTemplate.Error.expectedSectionEnd = error.error {
                    let unclosed = TagScanner.unclosedSections(partText, firstLine: firstLine)
                    if !unclosed.isEmpty {
                        for section in unclosed {
                            problems.append("\(path):\(section.line): section {{#\(section.name)}} is never closed; add {{/\(section.name)}} where it should end")
                        }
                        continue
                    }
                }
                let line = firstLine + max(0, error.context.lineNumber - 1 - part.content.pragmaLines)
                problems.append("\(path):\(line): \(Self.explain(error.error)) (column \(error.context.columnNumber))")
                continue
            } catch {
                problems.append("\(path):\(firstLine): the \(part.name) part does not compile: \(error); fix the Mustache syntax")
                continue
            }
            programs[part.name] = TemplateProgram(partText, escaping: part.content)
            let scan = TagScanner.scan(partText, firstLine: firstLine)
            for tag in scan.problems { problems.append("\(path):\(tag.line): \(tag.message)") }
            for use in scan.uses {
                if use.name == "." {
                    if !use.insideSection {
                        problems.append("\(path):\(use.line): {{.}} is only meaningful inside a section; name the variable instead")
                    }
                    continue
                }
                guard allowed.contains(use.name) else {
                    let suggestion = Self.closest(to: use.name, in: allowed).map { "did you mean '\($0)'? " } ?? ""
                    problems.append("\(path):\(use.line): unknown variable '\(use.name)'; \(suggestion)\(purpose.isTransaction ? "transaction" : "message") templates may use \(allowed.sorted().joined(separator: ", ")) (see docs/templates.md)")
                    continue
                }
                if case .message(let own) = purpose, own.contains(use.name), !use.guarded {
                    required.insert(use.name)
                }
            }
        }
        guard problems.isEmpty else { return .failure(TemplateProblems(problems)) }
        return .success(CompiledTemplate(path: path, purpose: purpose, programs: programs, mustacheParts: parts, requiredMessageVariables: required.sorted()))
    }

    static func isPlainName(_ word: String) -> Bool {
        !word.isEmpty && word.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F || $0 == 0x2D }
    }

    static func explain(_ error: any Error) -> String {
        switch error {
        case MustacheTemplate.Error.sectionCloseNameIncorrect:
            "closing tag does not match the open section; close {{#name}} with {{/name}}"
        case MustacheTemplate.Error.unfinishedName:
            "tag not closed or has an invalid name; write tags as {{name}} with letters, digits, '_' and '-'"
        case MustacheTemplate.Error.expectedSectionEnd:
            "a section is never closed; add the matching {{/name}}"
        case MustacheTemplate.Error.invalidSetDelimiter:
            "bad set-delimiter tag; Chapar templates keep the {{ }} delimiters"
        case MustacheTemplate.Error.invalidConfigVariableSyntax, MustacheTemplate.Error.unrecognisedConfigVariable:
            "bad {{% }} pragma; remove it (the part decides how variables are escaped)"
        default:
            "Mustache syntax error (\(error)); check the tag braces on this line"
        }
    }

    /// The allowed name at the smallest edit distance (at most 2), to suggest for a typo.
    static func closest(to name: String, in names: Set<String>) -> String? {
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            var previous = Array(0...b.count)
            for i in 1...max(1, a.count) where !a.isEmpty {
                var row = [i] + Array(repeating: 0, count: b.count)
                for j in 1...max(1, b.count) where !b.isEmpty {
                    row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                }
                previous = row
            }
            return previous[b.count]
        }
        let a = Array(name)
        return names.map { ($0, distance(a, Array($0))) }.filter { $0.1 <= 2 }.min { ($0.1, $0.0) < ($1.1, $1.0) }?.0
    }
}

/// Problems found in one file.
struct TemplateProblems: Error {
    var messages: [String]
    init(_ messages: [String]) { self.messages = messages }
}
