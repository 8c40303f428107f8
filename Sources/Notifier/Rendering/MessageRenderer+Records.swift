import ChaparModels
import Foundation

/// The parts one channel renders for one (template name, language), looked up once per batch.
/// A class: handed out per job, it costs one retain instead of one per part.
final class JobTemplate: Sendable {
    /// `text` (sms, im), `subject` (email), `title` (fax).
    let first: TemplateProgram?
    /// `text` (email), `body` (fax).
    let second: TemplateProgram?
    /// `html` (email).
    let third: TemplateProgram?
    let requiredMessageVariables: [String]
    let path: String

    init(channel: Channel, _ template: CompiledTemplate) {
        switch channel {
        case .sms, .im: (first, second, third) = (template.programs["text"], nil, nil)
        case .email: (first, second, third) = (template.programs["subject"], template.programs["text"], template.programs["html"])
        case .fax: (first, second, third) = (template.programs["title"], template.programs["body"], nil)
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
    /// The templates of the current customer's jobs, in `sends` order (reused storage).
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
        let c = channel.index
        var entry = resolved.firstIndex { $0.isTransaction == isTransaction && $0.language == language && $0.name == name }
        if entry == nil {
            if resolved.count >= 64 { resolved.removeAll(keepingCapacity: true) }  // bounded, whatever the kinds
            resolved.append((isTransaction, name, language, Array(repeating: nil, count: Channel.allCases.count)))
            entry = resolved.count - 1
        }
        let e = entry!  // set just above
        if let known = resolved[e].channels[c] { return known }
        let made = make()
        resolved[e].channels[c] = made
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

    /// Writes the content fields of `channel`'s job into `json` (whose `content` object is open),
    /// rendering into the workspace's buffers: the same bytes as encoding ``render(_:for:channel:)``'s
    /// result with ``JobRecordWriter/content(_:)``, without a `String` per part. The rare cases that
    /// need the text as a `String` (an SMS to shorten, a multi-line subject) take that path.
    func writeContent(_ template: JobTemplate, channel: Channel, scope: borrowing RenderScope, _ ws: inout RenderWorkspace,
                      into json: inout JSONWriter) {
        ws.scratch.removeAll(keepingCapacity: true)
        switch channel {
        case .sms:
            let text = renderPart(template.first, scope, &ws)
            let encoding = ws.scratch.withUnsafeBufferPointer { SMSEncoding(measuringUTF8: UnsafeBufferPointer(rebasing: $0[text])) }
            if encoding.segments <= maxSegments {
                ws.scratch.withUnsafeBufferPointer { json.field("text", utf8: UnsafeBufferPointer(rebasing: $0[text])) }
                json.field("encoding", encoding.name)
                json.field("segments", encoding.segments)
            } else {
                let result = SMSTruncation.truncate(String(decoding: ws.scratch[text], as: UTF8.self), maxSegments: maxSegments)
                json.field("text", result.text)
                json.field("encoding", result.encoding.name)
                json.field("segments", result.encoding.segments)
            }
        case .email:
            let subject = renderPart(template.first, scope, &ws)
            let text = renderPart(template.second, scope, &ws)
            let html = renderPart(template.third, scope, &ws)
            ws.scratch.withUnsafeBufferPointer { buffer in
                let subjectBytes = UnsafeBufferPointer(rebasing: buffer[subject])
                if subjectBytes.contains(0x0A) {
                    json.field("subject", Self.oneLine(String(decoding: subjectBytes, as: UTF8.self)))
                } else {
                    json.field("subject", utf8: subjectBytes)
                }
                json.field("text", utf8: UnsafeBufferPointer(rebasing: buffer[text]))
                json.field("html", utf8: UnsafeBufferPointer(rebasing: buffer[html]))
            }
        case .fax:
            let title = renderPart(template.first, scope, &ws)
            let body = renderPart(template.second, scope, &ws)
            ws.scratch.withUnsafeBufferPointer { buffer in
                json.field("title", utf8: UnsafeBufferPointer(rebasing: buffer[title]))
                json.beginArray("lines")
                // Lines as `split(separator: "\n")` on Characters gives them: "\r\n" is one
                // character, so a line break preceded by CR does not split.
                var lines: [Range<Int>] = []
                var start = body.lowerBound
                for i in body where buffer[i] == 0x0A && !(i > body.lowerBound && buffer[i - 1] == 0x0D) {
                    lines.append(start..<i)
                    start = i + 1
                }
                lines.append(start..<body.upperBound)
                while let last = lines.last, last.isEmpty { lines.removeLast() }
                for line in lines { json.element(utf8: UnsafeBufferPointer(rebasing: buffer[line])) }
                json.endArray()
            }
        case .im:
            let text = renderPart(template.first, scope, &ws)
            ws.scratch.withUnsafeBufferPointer { json.field("text", utf8: UnsafeBufferPointer(rebasing: $0[text])) }
            json.field("format", configuration.imFormat)
        }
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
