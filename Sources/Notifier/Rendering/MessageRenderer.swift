public import ChaparModels
import Foundation
import Mustache

/// A rendered message plus what the renderer had to do to it.
public struct RenderOutcome: Hashable, Sendable {
    /// What the channel sends.
    public var content: RenderedContent
    /// The template file used, for tracing and the preview.
    public var template: String
    /// Human-readable remarks, e.g. that an SMS was shortened to fit the segment limit.
    public var notes: [String]
}

/// Renders events into channel content with the catalog's templates, in the customer's language.
///
/// Stateless apart from a bounded cache of time-zone offsets, and safe to share between tasks.
public struct MessageRenderer: Sendable {
    /// The templates, validated when they were loaded.
    public let catalog: TemplateCatalog
    /// SMS limit, bank names, IM format.
    public let configuration: RenderConfiguration
    private let zones: ZoneOffsets
    let maxSegments: Int

    /// A renderer over `catalog`. An out-of-range SMS limit is clamped to 1…255 here; call
    /// ``RenderConfiguration/validate()`` where configuration is read to report it instead.
    public init(catalog: TemplateCatalog, configuration: RenderConfiguration = RenderConfiguration()) {
        self.catalog = catalog
        self.configuration = configuration
        self.zones = ZoneOffsets()
        self.maxSegments = min(255, max(1, configuration.smsMaxSegments))
    }

    /// The template name an event uses on a channel, or nil when the channel has none: a
    /// transaction's kind, falling back to `transaction`; a direct message's template name.
    public func templateName(for event: Event, channel: Channel) -> String? {
        switch event {
        case .transaction(let t):
            if catalog.purpose(channel: channel, name: t.kind.rawValue)?.isTransaction == true { return t.kind.rawValue }
            return catalog.purpose(channel: channel, name: "transaction")?.isTransaction == true ? "transaction" : nil
        case .message(let m):
            if case .message = catalog.purpose(channel: channel, name: m.template) { return m.template }
            return nil
        }
    }

    /// nil = no template for this event kind/template name on this channel (the pipeline then
    /// skips the channel with a reason).
    public func render(_ event: Event, for customer: CustomerProfile, channel: Channel) throws(NotifierError) -> RenderedContent? {
        try renderDetailed(event, for: customer, channel: channel)?.content
    }

    /// Like ``render(_:for:channel:)``, also naming the template and noting any truncation.
    public func renderDetailed(_ event: Event, for customer: CustomerProfile, channel: Channel) throws(NotifierError) -> RenderOutcome? {
        try renderDetailed(event, for: customer, channel: channel, reference: nil)
    }

    /// `reference` sees the scope and template before rendering: the tests use it to render the
    /// same parts with swift-mustache and compare.
    func renderDetailed(_ event: Event, for customer: CustomerProfile, channel: Channel,
                        reference: ((RenderScope, CompiledTemplate) -> Void)?) throws(NotifierError) -> RenderOutcome? {
        guard let name = templateName(for: event, channel: channel) else { return nil }
        guard let template = catalog.template(channel: channel, name: name, language: customer.language) else {
            throw NotifierError(.render, "no \(customer.language) variant of \(channel)/\(name); add \(channel)/\(name).\(customer.language).mustache")
        }
        let scope = try makeScope(event, customer)
        try checkVariables(event, template)
        if let reference { reference(scope, template) }
        var memo = RenderMemo()
        return content(channel, template, scope, &memo)
    }

    /// Renders several channels for one event and customer, computing each variable (dates,
    /// amounts, isolated names) once for all of them. Same results as calling
    /// ``render(_:for:channel:)`` per channel.
    public func render(_ event: Event, for customer: CustomerProfile, channels: [Channel]) throws(NotifierError) -> [RenderedContent?] {
        guard !channels.isEmpty else { return [] }
        var scope: RenderScope?
        var memo = RenderMemo()
        var out: [RenderedContent?] = []
        out.reserveCapacity(channels.count)
        for channel in channels {
            guard let name = templateName(for: event, channel: channel) else {
                out.append(nil)
                continue
            }
            guard let template = catalog.template(channel: channel, name: name, language: customer.language) else {
                throw NotifierError(.render, "no \(customer.language) variant of \(channel)/\(name); add \(channel)/\(name).\(customer.language).mustache")
            }
            try checkVariables(event, template)
            if scope == nil { scope = try makeScope(event, customer) }
            out.append(content(channel, template, scope!, &memo).content)  // set just above
        }
        return out
    }

    func makeScope(_ event: Event, _ customer: CustomerProfile) throws(NotifierError) -> RenderScope {
        let instant: Timestamp
        switch event {
        case .transaction(let t): instant = t.bookedAt
        case .message(let m): instant = m.createdAt
        }
        guard let offset = zones.offset(zone: customer.timeZone, at: instant) else {
            throw NotifierError(.render, "customer \(customer.id) has time zone '\(customer.timeZone)', which is not an IANA zone; correct it (e.g. Asia/Tehran) with `chapar customers`")
        }
        return RenderScope(event: event, customerName: customer.name, language: customer.language,
                           bankName: configuration.bankName[customer.language] ?? "",
                           kindNames: configuration.kindNames,
                           local: LocalFormatting.localDayAndMinute(instant, offsetSeconds: offset),
                           offsetSeconds: offset)
    }

    private func checkVariables(_ event: Event, _ template: CompiledTemplate) throws(NotifierError) {
        try checkVariables(event, template.requiredMessageVariables, template.path)
    }

    func checkVariables(_ event: Event, _ required: [String], _ path: String) throws(NotifierError) {
        guard !required.isEmpty, case .message(let m) = event else { return }
        for variable in required where (m.variables[variable] ?? "").isEmpty {
            throw NotifierError(.render, "message \(m.id) has no variable '\(variable)', which \(path) uses; add it to the message's variables or guard it with {{#\(variable)}}…{{/\(variable)}}")
        }
    }

    private func content(_ channel: Channel, _ template: CompiledTemplate, _ scope: borrowing RenderScope, _ memo: inout RenderMemo) -> RenderOutcome {
        func part(_ name: String) -> String {
            guard let program = template.programs[name] else { return "" }
            return Self.trimmed(program.render(scope, memo: &memo))
        }
        var notes: [String] = []
        let content: RenderedContent
        switch channel {
        case .sms:
            let result = SMSTruncation.truncate(part("text"), maxSegments: maxSegments)
            if result.truncated {
                let full = SMSEncoding(measuring: part("text"))
                notes.append("SMS shortened from \(full.segments) to \(result.encoding.segments) segment(s) to fit the limit of \(maxSegments) (\(template.path))")
            }
            content = .sms(text: result.text, encoding: result.encoding.name, segments: result.encoding.segments)
        case .email:
            var subject = part("subject")
            if subject.utf8.contains(0x0A) { subject = Self.oneLine(subject) }
            content = .email(subject: subject, text: part("text"), html: part("html"))
        case .fax:
            var lines = part("body").split(separator: "\n", omittingEmptySubsequences: false).map { String($0) }
            while lines.last?.isEmpty == true { lines.removeLast() }
            content = .fax(title: part("title"), lines: lines)
        case .im:
            content = .im(text: part("text"), format: configuration.imFormat)
        }
        return RenderOutcome(content: content, template: template.path, notes: notes)
    }

    /// A subject is one line: joins the template's lines with single spaces.
    static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
    }

    /// Drops leading blank lines and trailing ASCII whitespace (files end with a newline; parts
    /// are separated by them; a section that renders nothing may leave an empty first line).
    static func trimmed(_ text: String) -> String {
        let utf8 = text.utf8
        var start = utf8.startIndex, end = utf8.endIndex
        while start < end, utf8[start] == 0x0A || utf8[start] == 0x0D { start = utf8.index(after: start) }
        while end > start {
            let previous = utf8.index(before: end)
            let b = utf8[previous]
            guard b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 else { break }
            end = previous
        }
        if start == utf8.startIndex && end == utf8.endIndex { return text }
        return String(Substring(utf8[start..<end]))
    }
}

/// A variable of a template, resolved from its name when the catalog loads.
enum TemplateSlot: Hashable, Sendable {
    case customerName, bankName, date, dateNumeric, time
    case account, direction, kind, amount, balance, currency, description, counterparty, origin, valueDate
    case expiryTime, expiryDate
    /// One of the direct message's own variables.
    case message(String)

    /// Position in ``RenderMemo`` (message variables are looked up in the message each time).
    var ordinal: Int? {
        switch self {
        case .customerName: 0
        case .bankName: 1
        case .date: 2
        case .dateNumeric: 3
        case .time: 4
        case .account: 5
        case .direction: 6
        case .kind: 7
        case .amount: 8
        case .balance: 9
        case .currency: 10
        case .description: 11
        case .counterparty: 12
        case .origin: 13
        case .valueDate: 14
        case .expiryTime: 15
        case .expiryDate: 16
        case .message: nil
        }
    }

    static let ordinalCount = 17

    init(_ name: String) {
        switch name {
        case "customer_name": self = .customerName
        case "bank_name": self = .bankName
        case "date": self = .date
        case "date_numeric": self = .dateNumeric
        case "time": self = .time
        case "account": self = .account
        case "direction": self = .direction
        case "kind": self = .kind
        case "amount": self = .amount
        case "balance": self = .balance
        case "currency": self = .currency
        case "description": self = .description
        case "counterparty": self = .counterparty
        case "origin": self = .origin
        case "value_date": self = .valueDate
        case "expiry_time": self = .expiryTime
        case "expiry_date": self = .expiryDate
        default: self = .message(name)
        }
    }
}

/// The variables of one render, computed on demand when a template asks for them.
///
/// Absent and empty values are nil, so `{{#x}}…{{/x}}` hides what the event does not have.
struct RenderScope: MustacheParent {
    let event: Event
    /// The customer's display name (all a render needs of the profile).
    let customerName: String
    let language: Language
    let bankName: String
    let kindNames: [String: [Language: String]]
    let local: (day: Int, minute: Int)
    let offsetSeconds: Int

    /// For the swift-mustache reference renderer (tests cross-check the two engines).
    func child(named name: String) -> Any? { value(TemplateSlot(name)) }

    func value(_ slot: TemplateSlot) -> String? {
        switch slot {
        case .customerName: return nonEmpty(customerName).map { LocalFormatting.isolatedLatinRuns($0, language) }
        case .bankName: return nonEmpty(bankName)
        case .date: return LocalFormatting.date(daysSinceEpoch: local.day, language)
        case .dateNumeric: return LocalFormatting.numericDate(daysSinceEpoch: local.day, language)
        case .time: return LocalFormatting.time(minuteOfDay: local.minute, language)
        default: break
        }
        switch event {
        case .transaction(let t): return transactionValue(slot, t)
        case .message(let m): return messageValue(slot, m)
        }
    }

    private func nonEmpty(_ s: String) -> String? { s.isEmpty ? nil : s }

    private func transactionValue(_ slot: TemplateSlot, _ t: TransactionEvent) -> String? {
        switch slot {
        case .account: return LocalFormatting.isolated(t.account.masked, language)
        case .direction:
            switch (t.direction, language) {
            case (.debit, .fa): return "برداشت"
            case (.credit, .fa): return "واریز"
            case (.debit, .en): return "debit"
            case (.credit, .en): return "credit"
            }
        case .kind: return kindNames[t.kind.rawValue]?[language] ?? LocalFormatting.isolated(t.kind.rawValue, language)
        case .amount: return LocalFormatting.money(t.amount, language)
        case .balance: return t.balanceAfter.map { LocalFormatting.money($0, language) }
        case .currency: return LocalFormatting.currencyName(t.amount.currency, language)
        case .description: return nonEmpty(t.description).map { LocalFormatting.isolatedLatinRuns($0, language) }
        case .counterparty: return t.counterparty.flatMap(nonEmpty).map { LocalFormatting.isolatedLatinRuns($0, language) }
        case .origin: return t.originChannel.flatMap(nonEmpty).map { LocalFormatting.isolated($0, language) }
        case .valueDate: return t.valueDate.map { LocalFormatting.date(daysSinceEpoch: $0.daysSinceEpoch, language) }
        default: return nil
        }
    }

    private func messageValue(_ slot: TemplateSlot, _ m: DirectMessage) -> String? {
        switch slot {
        case .expiryTime, .expiryDate:
            guard let expires = m.expiresAt else { return nil }
            let local = LocalFormatting.localDayAndMinute(expires, offsetSeconds: offsetSeconds)
            return slot == .expiryTime ? LocalFormatting.time(minuteOfDay: local.minute, language)
                                       : LocalFormatting.date(daysSinceEpoch: local.day, language)
        case .message(let name):
            // Links stay bare: they must work inside href="…"; templates put them on a line of their own.
            if name == "link" || name.hasSuffix("_url") { return m.variables[name].flatMap(nonEmpty) }
            return m.variables[name].flatMap(nonEmpty).map { LocalFormatting.isolatedLatinRuns($0, language) }
        default:
            return nil
        }
    }
}
