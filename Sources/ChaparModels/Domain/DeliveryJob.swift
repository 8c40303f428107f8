/// What a channel worker sends, already rendered in the customer's language.
public enum RenderedContent: Hashable, Sendable {
    /// `encoding` is `gsm7` or `ucs2`; `segments` is how many SMS parts the gateway will send.
    case sms(text: String, encoding: String, segments: Int)
    case email(subject: String, text: String, html: String)
    /// A fax document: a title and body lines, laid out by the fax adapter.
    case fax(title: String, lines: [String])
    /// A short message; `format` is `plain`, `markdown` or `html` (light markup only).
    case im(text: String, format: String)

    public var channel: Channel {
        switch self {
        case .sms: .sms
        case .email: .email
        case .fax: .fax
        case .im: .im
        }
    }
}

/// One notification for one customer on one channel, as written to a `notify.*` topic.
///
/// It carries everything the worker needs, so delivery never reads the customer store: a change of
/// address after the job was made applies to the next event, not to this one.
public struct DeliveryJob: Hashable, Sendable {
    /// Deterministic: see ``JobID``. A job produced twice after a crash has the same id.
    public var id: JobID
    public var event: EventID
    public var customer: CustomerID
    public var channel: Channel
    public var priority: Priority
    public var kind: EventKind
    /// The normalized address to deliver to.
    public var address: String
    public var language: Language
    public var content: RenderedContent
    public var createdAt: Timestamp
    /// Quiet hours: do not send before this time.
    public var notBefore: Timestamp?
    /// Do not send after this time (an expired OTP is worse than none).
    public var deadline: Timestamp?
    /// The account the event was about, masked (`****1234`), for the console.
    public var account: String?
    /// Where the event came from, for tracing a message back to a file line.
    public var source: EntryLocation?

    public init(id: JobID, event: EventID, customer: CustomerID, channel: Channel, priority: Priority, kind: EventKind,
                address: String, language: Language, content: RenderedContent, createdAt: Timestamp,
                notBefore: Timestamp? = nil, deadline: Timestamp? = nil, account: String? = nil, source: EntryLocation? = nil) {
        self.id = id
        self.event = event
        self.customer = customer
        self.channel = channel
        self.priority = priority
        self.kind = kind
        self.address = address
        self.language = language
        self.content = content
        self.createdAt = createdAt
        self.notBefore = notBefore
        self.deadline = deadline
        self.account = account
        self.source = source
    }

    /// The lane topic this job belongs on.
    public var topic: TopicName { Topics.jobs(channel, priority) }
}

/// The record format of jobs on `notify.*` topics (see `docs/events.md`): compact JSON, keyed by
/// customer so one customer's messages on a channel stay in order.
public enum JobCodec {
    public static let idHeader = "chapar.job"

    public static func record(_ job: DeliveryJob) -> ProducerRecord {
        var writer = JobRecordWriter()
        writer.begin(id: job.id, event: job.event, customer: job.customer, channel: job.channel, priority: job.priority,
                     kind: job.kind, address: job.address, language: job.language)
        writer.content(job.content)
        return writer.finish(createdAt: job.createdAt, notBefore: job.notBefore, deadline: job.deadline, account: job.account,
                             source: job.source, key: Array(job.customer.rawValue.utf8))
    }

    public static func decode(_ value: some Collection<UInt8>) throws(InvalidValue) -> DeliveryJob {
        let result: Result<DeliveryJob, InvalidValue>? = value.withContiguousStorageIfAvailable { buffer in
            Result { () throws(InvalidValue) -> DeliveryJob in try decode(buffer) }
        }
        if let result { return try result.get() }
        return try Array(value).withUnsafeBufferPointer { (buffer) throws(InvalidValue) -> DeliveryJob in try decode(buffer) }
    }

    private static func decode(_ buffer: UnsafeBufferPointer<UInt8>) throws(InvalidValue) -> DeliveryJob {
        var dto = JobDTO()
        var reader = JSONReader(buffer)
        try reader.readObject { (r: inout JSONReader, key: String) throws(InvalidValue) in
            if r.readNull() { return }
            switch key {
            case "id": dto.id = try r.readString()
            case "event": dto.event = try r.readString()
            case "customer": dto.customer = try r.readString()
            case "channel": dto.channel = try r.readString()
            case "priority": dto.priority = try r.readString()
            case "kind": dto.kind = try r.readString()
            case "address": dto.address = try r.readString()
            case "language": dto.language = try r.readString()
            case "createdAt": dto.createdAt = try r.readInt()
            case "notBefore": dto.notBefore = try r.readInt()
            case "deadline": dto.deadline = try r.readInt()
            case "account": dto.account = try r.readString()
            case "source": dto.source = try EventCodec.readLocation(&r)
            case "content":
                try r.readObject { (r: inout JSONReader, key: String) throws(InvalidValue) in
                    if r.readNull() { return }
                    switch key {
                    case "text": dto.content.text = try r.readString()
                    case "encoding": dto.content.encoding = try r.readString()
                    case "segments": dto.content.segments = Int(try r.readInt())
                    case "subject": dto.content.subject = try r.readString()
                    case "html": dto.content.html = try r.readString()
                    case "title": dto.content.title = try r.readString()
                    case "lines": dto.content.lines = try r.readStringArray()
                    case "format": dto.content.format = try r.readString()
                    default: try r.skipValue()
                    }
                }
            default: try r.skipValue()
            }
        }
        try reader.end()
        let channel = try Channel(parsing: dto.channel)
        let content: RenderedContent
        switch channel {
        case .sms: content = .sms(text: dto.content.text ?? "", encoding: dto.content.encoding ?? "ucs2", segments: dto.content.segments ?? 1)
        case .email: content = .email(subject: dto.content.subject ?? "", text: dto.content.text ?? "", html: dto.content.html ?? "")
        case .fax: content = .fax(title: dto.content.title ?? "", lines: dto.content.lines ?? [])
        case .im: content = .im(text: dto.content.text ?? "", format: dto.content.format ?? "plain")
        }
        guard let priority = Priority(rawValue: dto.priority) else { throw InvalidValue("priority", "'\(dto.priority)' is not a priority") }
        guard let createdAt = dto.createdAt else { throw InvalidValue("createdAt", "missing") }
        return DeliveryJob(id: try JobID(dto.id), event: try EventID(dto.event), customer: try CustomerID(dto.customer), channel: channel,
                           priority: priority, kind: try EventKind(dto.kind), address: dto.address,
                           language: try Language(parsing: dto.language), content: content,
                           createdAt: Timestamp(milliseconds: createdAt), notBefore: dto.notBefore.map { Timestamp(milliseconds: $0) },
                           deadline: dto.deadline.map { Timestamp(milliseconds: $0) }, account: dto.account, source: dto.source)
    }
}

/// Encodes job records without building a ``DeliveryJob`` first: the notifier's hot path writes each
/// job's fields, including content rendered straight into bytes, into one reused buffer.
///
/// The bytes are exactly those of ``JobCodec/record(_:)`` (which is built on this writer): call
/// ``begin(id:event:customer:channel:priority:kind:address:language:)``, write the channel's content
/// fields into ``json`` (or call ``content(_:)``), then ``finish(createdAt:notBefore:deadline:account:source:key:)``.
/// Abandoning a job half-way is fine: the next `begin` starts afresh.
public struct JobRecordWriter: Sendable {
    /// The record being written. Between `begin` and `finish` the `content` object is open: write
    /// only the content's fields (in the order of ``content(_:)``) into it.
    public var json = JSONWriter(capacity: 4096)
    private var idRange = 0..<0

    /// A writer with an empty buffer.
    public init() {}

    /// Starts the record of the job for (`event`, `customer`, `channel`), deriving its ``JobID``
    /// straight into the buffer (the same id as ``JobID/init(event:customer:channel:)``, without a
    /// `String` for it).
    public mutating func begin(event: EventID, customer: CustomerID, channel: Channel, priority: Priority, kind: EventKind,
                               address: String, language: Language) {
        json.removeAll()
        json.beginObject()
        // The JobID hash input: "chapar-job-v1", then each field as a 2-byte big-endian length and its UTF-8 bytes.
        let e = event.rawValue.utf8, c = customer.rawValue.utf8, ch = channel.rawValue.utf8
        let digest = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 13 + 6 + e.count + c.count + ch.count) { input -> [UInt8] in
            var i = 0
            func add(_ bytes: some Collection<UInt8>, prefixed: Bool) {
                if prefixed {
                    input[i] = UInt8(truncatingIfNeeded: bytes.count >> 8)
                    input[i + 1] = UInt8(truncatingIfNeeded: bytes.count)
                    i += 2
                }
                for b in bytes {
                    input[i] = b
                    i += 1
                }
            }
            add("chapar-job-v1".utf8, prefixed: false)
            add(e, prefixed: true)
            add(c, prefixed: true)
            add(ch, prefixed: true)
            return SHA256.hash(UnsafeBufferPointer(rebasing: input[0..<i]))
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { hex in
            let digits: StaticString = "0123456789abcdef"
            let h = digits.utf8Start
            for k in 0..<16 {
                hex[2 * k] = h[Int(digest[k] >> 4)]
                hex[2 * k + 1] = h[Int(digest[k] & 0x0F)]
            }
            json.field("id", utf8: UnsafeBufferPointer(hex))
        }
        idRange = 7..<39
        fields(event: event, customer: customer, channel: channel, priority: priority, kind: kind, address: address, language: language)
    }

    /// Starts a job record: every field before the content, then opens the `content` object.
    public mutating func begin(id: JobID, event: EventID, customer: CustomerID, channel: Channel, priority: Priority, kind: EventKind,
                               address: String, language: Language) {
        json.removeAll()
        json.beginObject()
        json.field("id", id.rawValue)
        // `{"id":"` is 7 bytes; a job id is 32 hex digits, which JSON never escapes.
        idRange = 7..<(7 + id.rawValue.utf8.count)
        fields(event: event, customer: customer, channel: channel, priority: priority, kind: kind, address: address, language: language)
    }

    private mutating func fields(event: EventID, customer: CustomerID, channel: Channel, priority: Priority, kind: EventKind,
                                 address: String, language: Language) {
        json.field("event", event.rawValue)
        json.field("customer", customer.rawValue)
        json.member(encoded: Self.vocabulary.channel[Self.position(channel)])
        json.member(encoded: Self.vocabulary.priority[Self.position(priority)])
        json.field("kind", kind.rawValue)
        json.field("address", address)
        json.member(encoded: Self.vocabulary.language[language == .fa ? 0 : 1])
        json.beginObject("content")
    }

    /// Writes a rendered content's fields (the content object is already open).
    public mutating func content(_ content: RenderedContent) {
        switch content {
        case .sms(let text, let encoding, let segments):
            json.field("text", text)
            json.field("encoding", encoding)
            json.field("segments", segments)
        case .email(let subject, let text, let html):
            json.field("subject", subject)
            json.field("text", text)
            json.field("html", html)
        case .fax(let title, let lines):
            json.field("title", title)
            json.beginArray("lines")
            for l in lines { json.element(l) }
            json.endArray()
        case .im(let text, let format):
            json.field("text", text)
            json.field("format", format)
        }
    }

    /// `"channel":"sms"` and the like, encoded once: the same bytes as `JSONWriter.field` writes.
    private static let vocabulary = (
        channel: [Channel.sms, .email, .fax, .im].map { encoded("channel", $0.rawValue) },
        priority: [Priority.urgent, .normal, .bulk].map { encoded("priority", $0.rawValue) },
        language: [Language.fa, .en].map { encoded("language", $0.rawValue) }
    )

    private static func encoded(_ key: StaticString, _ value: String) -> [UInt8] {
        var w = JSONWriter(capacity: 32)
        w.field(key, value)
        return w.bytes
    }

    private static func position(_ channel: Channel) -> Int {
        switch channel {
        case .sms: 0
        case .email: 1
        case .fax: 2
        case .im: 3
        }
    }

    private static func position(_ priority: Priority) -> Int {
        switch priority {
        case .urgent: 0
        case .normal: 1
        case .bulk: 2
        }
    }

    /// Closes the content and the record, and returns it keyed by `key` (the customer id's UTF-8
    /// bytes; pass the same array for every job of one customer to share it) with the id header.
    public mutating func finish(createdAt: Timestamp, notBefore: Timestamp?, deadline: Timestamp?, account: String?,
                                source: EntryLocation?, key: [UInt8]) -> ProducerRecord {
        json.endObject()
        json.field("createdAt", createdAt.milliseconds)
        json.field("notBefore", notBefore?.milliseconds)
        json.field("deadline", deadline?.milliseconds)
        json.field("account", account)
        if let s = source {
            json.beginObject("source")
            json.field("file", s.file)
            json.field("line", s.line)
            json.field("path", s.path)
            json.endObject()
        }
        json.endObject()
        let value = json.copyBytes()
        let id = Array(value[idRange])
        return ProducerRecord(key: key, value: value, headers: [RecordHeader(JobCodec.idHeader, id)])
    }
}

private struct JobDTO {
    struct Content {
        var text: String?
        var encoding: String?
        var segments: Int?
        var subject: String?
        var html: String?
        var title: String?
        var lines: [String]?
        var format: String?
    }
    var id = ""
    var event = ""
    var customer = ""
    var channel = ""
    var priority = ""
    var kind = ""
    var address = ""
    var language = ""
    var content = Content()
    var createdAt: Int64?
    var notBefore: Int64?
    var deadline: Int64?
    var account: String?
    var source: EntryLocation?
}
