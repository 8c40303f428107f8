import ChaparModels
import Foundation
@testable import Notifier
import Testing

/// The product renderer seen only through ``NotificationRendering/render(_:for:channel:)``: the
/// protocol's default ``NotificationRendering/writeJobs(_:for:into:)`` encodes its
/// ``RenderedContent`` with ``JobRecordWriter/content(_:)``.
private struct ContentOnly: NotificationRendering {
    let inner: MessageRenderer
    func render(_ event: Event, for customer: CustomerProfile, channel: Channel) throws(NotifierError) -> RenderedContent? {
        try inner.render(event, for: customer, channel: channel)
    }
}

@Suite("Jobs rendered straight into record bytes")
struct PipelineRecordTests {
    static let now = Timestamp(milliseconds: 1_774_087_260_000)

    static func allChannels(_ base: CustomerProfile, id: String) -> CustomerProfile {
        var c = base
        c.id = try! CustomerID(id)
        c.channels = [
            ChannelPreference(channel: .sms, address: try! ContactAddress(.sms, "+989121234567"),
                              eventKinds: EventKind.defaultSubscription.union([.security, .marketing])),
            ChannelPreference(channel: .email, address: try! ContactAddress(.email, "a@example.com"),
                              eventKinds: EventKind.defaultSubscription.union([.security, .marketing]), quietHours: try! QuietHours(parsing: "00:00-23:59")),
            ChannelPreference(channel: .fax, address: try! ContactAddress(.fax, "+982155555555"),
                              eventKinds: EventKind.defaultSubscription.union([.security, .marketing])),
            ChannelPreference(channel: .im, address: try! ContactAddress(.im, "telegram:12345"),
                              eventKinds: EventKind.defaultSubscription.union([.security, .marketing])),
        ]
        return c
    }

    /// Runs the same records through a processor on `renderer`, which renders into the records, and
    /// one on the same renderer seen only through `render(_:for:channel:)`.
    func bothRenderers(_ renderer: MessageRenderer, _ events: [Event], _ customers: [CustomerProfile]) async throws -> (direct: BatchOutcome, encoded: BatchOutcome) {
        let records = events.enumerated().map { i, e in
            let r = EventCodec.record(e)
            return ConsumerRecord(topic: Topics.transactions, partition: PartitionID(0), offset: Offset(Int64(i)), timestamp: Self.now,
                                  key: r.key.map { ArraySlice($0) }, value: ArraySlice(r.value), headers: r.headers)
        }
        var direct = BatchProcessor(directory: MemoryDirectory(customers), renderer: renderer, logger: pipelineQuietLogger)
        var encoded = BatchProcessor(directory: MemoryDirectory(customers), renderer: ContentOnly(inner: renderer), logger: pipelineQuietLogger)
        return (try await direct.process(records, now: Self.now), try await encoded.process(records, now: Self.now))
    }

    func expectSameRecords(_ a: BatchOutcome, _ b: BatchOutcome) {
        let x = a.jobs.byTopic, y = b.jobs.byTopic
        #expect(x.map(\.topic) == y.map(\.topic))
        for (l, r) in zip(x, y) {
            #expect(l.records.count == r.records.count, "\(l.topic)")
            for (p, q) in zip(l.records, r.records) {
                #expect(p.key == q.key)
                #expect(p.headers == q.headers)
                #expect(p.value == q.value, "\(String(decoding: p.value, as: UTF8.self))\n!=\n\(String(decoding: q.value, as: UTF8.self))")
            }
        }
        #expect(a.skipped.map { "\($0.event) \($0.decision)" } == b.skipped.map { "\($0.event) \($0.decision)" })
    }

    @Test("every shipped template, both languages, every channel: the same bytes as encoding the rendered job")
    func shippedTemplates() async throws {
        let (events, customers) = try Self.shippedBatch()
        let (direct, encoded) = try await bothRenderers(RenderingFixtures.renderer, events, customers)
        #expect(direct.jobs.count > 40, "\(direct.jobs.count) jobs")
        expectSameRecords(direct, encoded)
        // The records decode, each with the id derived from its event, customer and channel.
        let decoded = try direct.jobs.decoded()
        #expect(decoded.count == direct.jobs.count)
        #expect(decoded.allSatisfy { $0.id == JobID(event: $0.event, customer: $0.customer, channel: $0.channel) })
    }

    /// SHA-256 over every lane's topic and records (key, headers, value) and every skip, in order.
    static func digest(_ outcome: BatchOutcome) -> String {
        var bytes: [UInt8] = []
        func add(_ part: some Collection<UInt8>) {
            bytes.append(contentsOf: String(part.count).utf8)
            bytes.append(0x3A)
            bytes.append(contentsOf: part)
        }
        for lane in outcome.jobs.byTopic {
            add(lane.topic.rawValue.utf8)
            for record in lane.records {
                add(record.key ?? [])
                for header in record.headers {
                    add(header.key.utf8)
                    add(header.value)
                }
                add(record.value)
            }
        }
        for (event, decision) in outcome.skipped { add("\(event) \(decision)".utf8) }
        return SHA256.hash(bytes).map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }

    /// Every shipped template on every channel in both languages: the fixtures' transactions and
    /// direct messages for a Persian and an English customer, and a second Persian customer in
    /// another zone (dates and times are shared between customers only when their local day or
    /// minute, and language, match).
    static func shippedBatch() throws -> (events: [Event], customers: [CustomerProfile]) {
        let f = RenderingFixtures.self
        var berlin = Self.allChannels(f.maryam, id: "c-fa-2")
        berlin.timeZone = "Europe/Berlin"
        let customers = [Self.allChannels(f.maryam, id: "c-fa-1"), Self.allChannels(f.sara, id: "c-en-1"), berlin]
        var events = [f.debit, f.credit, f.salary]
        for m in [f.otp, f.loginAlert, f.cardBlocked, f.birthday, f.campaign] {
            guard case .message(var d) = m else { continue }
            events.append(.message(d))
            d.id = try EventID(d.id.rawValue + "-en")
            d.customer = customers[1].id
            events.append(.message(d))
        }
        return (events, customers)
    }

    @Test("the job records are byte for byte those of the pipeline before issue 13 (two paths chosen by a downcast, at 58888d1)")
    func recordsUnchanged() async throws {
        let (events, customers) = try Self.shippedBatch()
        let (direct, encoded) = try await bothRenderers(RenderingFixtures.renderer, events, customers)
        #expect(direct.jobs.count == 76 && direct.skipped.isEmpty, "\(direct.jobs.count) jobs, \(direct.skipped.count) skipped")
        let recorded = "7dcf05f819ee5dc5be33d25fdd77aec1094421b24792b4235e7c607f0a3cd352"
        #expect(Self.digest(direct) == recorded, "MessageRenderer, rendering into the records")
        #expect(Self.digest(encoded) == recorded, "the protocol default, encoding RenderedContent")
    }

    @Test("the String-only cases: a shortened SMS, a multi-line subject, CRLF fax lines, JSON escapes, a customer that cannot be rendered for")
    func edgeCases() async throws {
        var files: [String: String] = [
            "sms/debit.en.mustache": "{{description}} {{description}} {{description}} {{description}}\n",
            "email/debit.en.mustache": "=== subject ===\nDebit\n  of {{amount}}\n=== text ===\n\n\n{{amount}} \"quoted\"\\ \t\n=== html ===\n<p>{{description}}</p>\n",
            "fax/debit.en.mustache": "=== title ===\nDebit\n=== body ===\nline one\r\nstill one\nline two\n\n{{#balance}}\n{{.}}\n{{/balance}}\n{{description}}\n\n",
            "im/debit.en.mustache": "*{{amount}}* {{description}}\n",
        ]
        for (name, text) in files { files[name.replacingOccurrences(of: ".en.", with: ".fa.")] = text }
        let dir = try TemplateDirectory(files)
        defer { dir.remove() }
        let renderer = MessageRenderer(catalog: try TemplateCatalog.load(directory: dir.path), configuration: RenderConfiguration(smsMaxSegments: 1))
        // A CR LF inside a value is one Character: the String path does not split a fax line there.
        let long = String(repeating: "Card purchase at the market_[x] ", count: 3) + "\r\nend"
        let event = Event.transaction(TransactionEvent(
            id: try EventID("tx-1"), account: RenderingFixtures.account, direction: .debit, amount: RenderingFixtures.irr(1_250),
            balanceAfter: RenderingFixtures.irr(9_000), bookedAt: Self.now, description: long))
        var lost = Self.allChannels(RenderingFixtures.sara, id: "c-lost")
        lost.timeZone = "Mars/Olympus_Mons"
        let customers = [Self.allChannels(RenderingFixtures.sara, id: "c-en-1"), Self.allChannels(RenderingFixtures.maryam, id: "c-fa-1"), lost]
        let (direct, encoded) = try await bothRenderers(renderer, [event], customers)
        expectSameRecords(direct, encoded)
        #expect(Self.digest(direct) == "5c0b84bdee06dee635a2ec05bd7b04cda84ebcb2270940959c1351fd680a7bd0", "the records of the pipeline before issue 13 (58888d1)")
        // Four jobs each for sara and maryam; the customer whose time zone does not exist cannot be
        // rendered for: each channel is skipped (and logged), the others still go out.
        #expect(direct.jobs.count == 8)
        #expect(direct.skipped.filter { $0.decision.outcome == .skip(.noTemplate) }.count == 4)
        let jobs = try direct.jobs.decoded()
        let sms = try #require(jobs.first { $0.channel == .sms && $0.language == .en })
        guard case .sms(let text, _, let segments) = sms.content else { Issue.record("not an SMS"); return }
        #expect(text.hasSuffix("...") && segments == 1, "\(text)")
        let email = try #require(jobs.first { $0.channel == .email })
        guard case .email(let subject, let body, _) = email.content else { Issue.record("not an email"); return }
        #expect(subject == "Debit of 1,250 IRR", "\(subject)")
        #expect(body.hasSuffix("\"quoted\"\\"), "\(body)")
        let fax = try #require(jobs.first { $0.channel == .fax })
        guard case .fax(_, let lines) = fax.content else { Issue.record("not a fax"); return }
        // The catalog reads template files with LF line ends; the value's CR LF stays inside its line.
        #expect(lines.count == 6 && lines.prefix(5) == ["line one", "still one", "line two", "", "9,000 IRR"], "\(lines)")
        #expect(lines.last?.hasSuffix("\r\nend") == true, "\(lines)")
    }

    @Test("SMS measured over UTF-8 bytes matches the String measure", arguments: [
        "", "Hello", "€ [x] {y}", String(repeating: "a", count: 161), String(repeating: "€", count: 80), "سلام دنیا",
        String(repeating: "س", count: 71), "emoji 😀 and more", String(repeating: "😀", count: 40), "£¥ èé ÇØ",
    ])
    func smsMeasure(text: String) {
        var copy = text
        let bytes = copy.withUTF8 { SMSEncoding(measuringUTF8: $0) }
        #expect(bytes == SMSEncoding(measuring: text))
    }
}
