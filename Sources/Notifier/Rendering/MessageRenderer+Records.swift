import ChaparModels
import Foundation

/// The compiled parts a channel's job renders, named as in the template file (`docs/templates.md`).
enum JobParts {
    case sms(text: TemplateProgram?)
    case email(subject: TemplateProgram?, text: TemplateProgram?, html: TemplateProgram?)
    case fax(title: TemplateProgram?, body: TemplateProgram?)
    case im(text: TemplateProgram?)
}

/// What one channel renders for one (template name, language), looked up once per batch.
/// A class: handed out per job, it costs one retain instead of one per part.
final class JobTemplate: Sendable {
    let parts: JobParts
    let requiredMessageVariables: [String]
    /// The template file, for error messages.
    let path: String

    init(channel: Channel, _ template: CompiledTemplate) {
        let programs = template.programs
        switch channel {
        case .sms: parts = .sms(text: programs["text"])
        case .email: parts = .email(subject: programs["subject"], text: programs["text"], html: programs["html"])
        case .fax: parts = .fax(title: programs["title"], body: programs["body"])
        case .im: parts = .im(text: programs["text"])
        }
        requiredMessageVariables = template.requiredMessageVariables
        path = template.path
    }
}

/// Scratch state for rendering jobs straight into record bytes: reused buffers, the memo of the
/// current (event, customer), and the templates resolved so far. One per batch of one member.
struct RenderWorkspace {
    var memo = RenderMemo()
    var scratch: [UInt8] = []
    var sections: [String] = []
    /// The templates of the current customer's jobs, in ``JobSink/pending`` order (reused storage).
    var templates: [JobTemplate?] = []
    /// Resolved templates by (transaction or message, kind or template name, language): a batch
    /// sees a handful of kinds, so a short list compared by string beats hashing per job.
    private var resolved: [(isTransaction: Bool, name: String, language: Language, channels: [Resolution?])] = []

    enum Resolution {
        case none
        case missing(NotifierError)
        case template(JobTemplate)
    }

    init() {
        scratch.reserveCapacity(4096)
    }

    fileprivate mutating func resolution(_ isTransaction: Bool, _ name: String, _ language: Language, _ channel: Channel,
                                         make: () -> Resolution) -> Resolution {
        let entry: Int
        if let known = resolved.firstIndex(where: { $0.isTransaction == isTransaction && $0.language == language && $0.name == name }) {
            entry = known
        } else {
            if resolved.count >= 64 { resolved.removeAll(keepingCapacity: true) }  // bounded, whatever the kinds
            resolved.append((isTransaction, name, language, Array(repeating: nil, count: Channel.allCases.count)))
            entry = resolved.count - 1
        }
        if let known = resolved[entry].channels[channel.index] { return known }
        let made = make()
        resolved[entry].channels[channel.index] = made
        return made
    }
}

extension MessageRenderer {
    /// What `channel` renders for `event` in `language`: nil when the channel has no template for
    /// it; throws when a template exists but not in this language, or a direct message lacks a
    /// variable the template needs. Same outcomes as ``render(_:for:channel:)``.
    func jobTemplate(_ event: Event, channel: Channel, language: Language, _ ws: inout RenderWorkspace) throws(NotifierError) -> JobTemplate? {
        let isTransaction: Bool, name: String
        switch event {
        case .transaction(let t): (isTransaction, name) = (true, t.kind.rawValue)
        case .message(let m): (isTransaction, name) = (false, m.template)
        }
        let resolution = ws.resolution(isTransaction, name, language, channel) {
            guard let name = templateName(for: event, channel: channel) else { return .none }
            guard let template = catalog.template(channel: channel, name: name, language: language) else {
                return .missing(NotifierError(.render, "no \(language) variant of \(channel)/\(name); add \(channel)/\(name).\(language).mustache"))
            }
            return .template(JobTemplate(channel: channel, template))
        }
        switch resolution {
        case .none: return nil
        case .missing(let error): throw error
        case .template(let template):
            try checkVariables(event, template.requiredMessageVariables, template.path)
            return template
        }
    }

    /// Writes the content fields of `template`'s job into `json` (whose `content` object is open),
    /// rendering into the workspace's buffer: the same bytes as encoding ``render(_:for:channel:)``'s
    /// result with ``JobRecordWriter/content(_:)``, without a `String` per part. The rare cases that
    /// need the text as a `String` (an SMS to shorten, a multi-line subject) take that path.
    func writeContent(_ template: JobTemplate, scope: borrowing RenderScope, _ ws: inout RenderWorkspace, into json: inout JSONWriter) {
        ws.scratch.removeAll(keepingCapacity: true)
        switch template.parts {
        case .sms(let textPart):
            let text = renderPart(textPart, scope, &ws)
            let encoding = ws.scratch[text].withUnsafeBufferPointer(SMSEncoding.init(measuringUTF8:))
            if encoding.segments <= maxSegments {
                json.field("text", utf8: ws.scratch[text])
                json.field("encoding", encoding.name)
                json.field("segments", encoding.segments)
            } else {
                let result = SMSTruncation.truncate(String(decoding: ws.scratch[text], as: UTF8.self), maxSegments: maxSegments)
                json.field("text", result.text)
                json.field("encoding", result.encoding.name)
                json.field("segments", result.encoding.segments)
            }
        case .email(let subjectPart, let textPart, let htmlPart):
            let subject = renderPart(subjectPart, scope, &ws)
            let text = renderPart(textPart, scope, &ws)
            let html = renderPart(htmlPart, scope, &ws)
            if ws.scratch[subject].contains(0x0A) {
                json.field("subject", Self.oneLine(String(decoding: ws.scratch[subject], as: UTF8.self)))
            } else {
                json.field("subject", utf8: ws.scratch[subject])
            }
            json.field("text", utf8: ws.scratch[text])
            json.field("html", utf8: ws.scratch[html])
        case .fax(let titlePart, let bodyPart):
            let title = renderPart(titlePart, scope, &ws)
            let body = renderPart(bodyPart, scope, &ws)
            json.field("title", utf8: ws.scratch[title])
            json.beginArray("lines")
            for line in Self.faxLines(ws.scratch[body]) { json.element(utf8: ws.scratch[line]) }
            json.endArray()
        case .im(let textPart):
            let text = renderPart(textPart, scope, &ws)
            json.field("text", utf8: ws.scratch[text])
            json.field("format", configuration.imFormat)
        }
    }

    /// The lines of a fax body, as `split(separator: "\n")` on Characters gives them ("\r\n" is
    /// one character, so a line break preceded by CR does not split), without trailing empty lines.
    static func faxLines(_ body: ArraySlice<UInt8>) -> [Range<Int>] {
        var lines: [Range<Int>] = []
        var start = body.startIndex
        for i in body.indices where body[i] == 0x0A && !(i > body.startIndex && body[i - 1] == 0x0D) {
            lines.append(start..<i)
            start = i + 1
        }
        lines.append(start..<body.endIndex)
        while let last = lines.last, last.isEmpty { lines.removeLast() }
        return lines
    }

    /// Renders one part at the end of the scratch buffer and returns its trimmed range (see
    /// ``trimmed(_:)``); an absent part is empty.
    private func renderPart(_ program: TemplateProgram?, _ scope: borrowing RenderScope, _ ws: inout RenderWorkspace) -> Range<Int> {
        let begin = ws.scratch.count
        program?.render(scope, memo: &ws.memo, into: &ws.scratch, sections: &ws.sections)
        var start = begin, end = ws.scratch.count
        while start < end, ws.scratch[start] == 0x0A || ws.scratch[start] == 0x0D { start += 1 }
        while end > start {
            let b = ws.scratch[end - 1]
            guard b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 else { break }
            end -= 1
        }
        return start..<end
    }
}

extension JSONWriter {
    /// `key` with a rendered part's UTF-8 bytes as its string value, escaped as for a `String`.
    mutating func field(_ key: StaticString, utf8 bytes: ArraySlice<UInt8>) {
        // JSONWriter escapes from a raw buffer; the pointer lives only for this call.
        bytes.withUnsafeBufferPointer { field(key, utf8: $0) }
    }

    /// An array element from a rendered part's UTF-8 bytes.
    mutating func element(utf8 bytes: ArraySlice<UInt8>) {
        bytes.withUnsafeBufferPointer { element(utf8: $0) }
    }
}
