/// The record format of events on the `transactions` and `messages` topics (see `docs/events.md`).
///
/// The value is one compact JSON object with a `type` field; the key is the account (transactions)
/// or the customer (messages), so each one's events share a partition and keep their order. A
/// header `chapar.id` carries the event id so tools can index records without parsing JSON.
public enum EventCodec {
    public static let idHeader = "chapar.id"
    public static let typeHeader = "chapar.type"
    private static let transactionTypeBytes = Array("transaction".utf8)
    private static let messageTypeBytes = Array("message".utf8)
    /// The fields of both event types, by position (see `decode`).
    private static let eventKeys = JSONKeys([
        "type", "id", "account", "direction", "kind", "amount", "currency", "balance", "balanceCurrency", "bookedAt", "valueDate",
        "description", "counterparty", "originChannel", "references", "customer", "template", "variables", "createdAt", "expiresAt",
        "source",
    ])

    /// The record to append for `event`.
    public static func record(_ event: Event) -> ProducerRecord {
        var w = JSONWriter(capacity: 384)
        w.beginObject()
        switch event {
        case .transaction(let t):
            w.field("type", "transaction")
            w.field("id", t.id.rawValue)
            w.field("account", t.account.rawValue)
            w.field("direction", t.direction.rawValue)
            w.field("kind", t.kind.rawValue)
            w.field("amount", t.amount.minorUnits)
            w.field("currency", t.amount.currency.rawValue)
            if let b = t.balanceAfter {
                w.field("balance", b.minorUnits)
                if b.currency != t.amount.currency { w.field("balanceCurrency", b.currency.rawValue) }
            }
            w.field("bookedAt", t.bookedAt.milliseconds)
            w.field("valueDate", t.valueDate?.description)
            w.field("description", t.description)
            w.field("counterparty", t.counterparty)
            w.field("originChannel", t.originChannel)
            writeMap(&w, "references", t.references)
            writeSource(&w, t.source)
        case .message(let m):
            w.field("type", "message")
            w.field("id", m.id.rawValue)
            w.field("customer", m.customer.rawValue)
            w.field("kind", m.kind.rawValue)
            w.field("template", m.template)
            writeMap(&w, "variables", m.variables)
            w.field("createdAt", m.createdAt.milliseconds)
            w.field("expiresAt", m.expiresAt?.milliseconds)
            writeSource(&w, m.source)
        }
        w.endObject()
        let key: String, type: String, timestamp: Timestamp
        switch event {
        case .transaction(let t): (key, type, timestamp) = (t.account.rawValue, "transaction", t.bookedAt)
        case .message(let m): (key, type, timestamp) = (m.customer.rawValue, "message", m.createdAt)
        }
        _ = timestamp  // the log stamps append time; booking time lives in the value
        // The type header's value is one of two shared constants: no allocation per record.
        return ProducerRecord(key: Array(key.utf8), value: w.bytes,
                              headers: [RecordHeader(idHeader, event.id.rawValue),
                                        RecordHeader(typeHeader, type == "transaction" ? transactionTypeBytes : messageTypeBytes)])
    }

    /// The event in a record, or an ``InvalidValue`` saying what is wrong with it.
    public static func decode(_ value: some Collection<UInt8>) throws(InvalidValue) -> Event {
        let result: Result<Event, InvalidValue>? = value.withContiguousStorageIfAvailable { buffer in
            Result { () throws(InvalidValue) -> Event in try decode(buffer) }
        }
        if let result { return try result.get() }
        return try Array(value).withUnsafeBufferPointer { (buffer) throws(InvalidValue) -> Event in try decode(buffer) }
    }

    private static func decode(_ buffer: UnsafeBufferPointer<UInt8>) throws(InvalidValue) -> Event {
        var dto = EventDTO()
        var reader = JSONReader(buffer)
        try reader.readObject(keys: eventKeys) { (r: inout JSONReader, key: Int?) throws(InvalidValue) in
            if r.readNull() { return }
            switch key {
            case 0: dto.type = try r.readString()
            case 1: dto.id = try r.readString()
            case 2: dto.account = try r.readString()
            case 3: dto.direction = try r.readString()
            case 4: dto.kind = try r.readString()
            case 5: dto.amount = try r.readInt()
            case 6: dto.currency = try r.readString()
            case 7: dto.balance = try r.readInt()
            case 8: dto.balanceCurrency = try r.readString()
            case 9: dto.bookedAt = try r.readInt()
            case 10: dto.valueDate = try r.readString()
            case 11: dto.description = try r.readString()
            case 12: dto.counterparty = try r.readString()
            case 13: dto.originChannel = try r.readString()
            case 14: dto.references = try r.readStringMap()
            case 15: dto.customer = try r.readString()
            case 16: dto.template = try r.readString()
            case 17: dto.variables = try r.readStringMap()
            case 18: dto.createdAt = try r.readInt()
            case 19: dto.expiresAt = try r.readInt()
            case 20: dto.source = try readLocation(&r)
            default: try r.skipValue()
            }
        }
        try reader.end()
        return try dto.event()
    }

    static func readLocation(_ r: inout JSONReader) throws(InvalidValue) -> EntryLocation {
        var file = "", line = 0
        var path: String?
        try r.readObject { (r: inout JSONReader, key: String) throws(InvalidValue) in
            if r.readNull() { return }
            switch key {
            case "file": file = try r.readString()
            case "line": line = Int(try r.readInt())
            case "path": path = try r.readString()
            default: try r.skipValue()
            }
        }
        return EntryLocation(file: file, line: line, path: path)
    }

    /// The event id from the header, without parsing the value.
    public static func eventID(_ record: ConsumerRecord) -> String? {
        record.headers.first(where: { $0.key == idHeader }).map { String(decoding: $0.value, as: UTF8.self) }
    }

    private static func writeMap(_ w: inout JSONWriter, _ key: StaticString, _ map: [String: String]) {
        guard !map.isEmpty else { return }
        w.beginObject(key)
        for k in map.keys.sorted() { w.field(named: k, map[k]!) }  // k comes from map.keys
        w.endObject()
    }

    private static func writeSource(_ w: inout JSONWriter, _ source: EntryLocation?) {
        guard let source else { return }
        w.beginObject("source")
        w.field("file", source.file)
        w.field("line", source.line)
        w.field("path", source.path)
        w.endObject()
    }
}

/// The JSON shape of both event types, read field by field and then validated.
private struct EventDTO {
    var type = ""
    var id = ""
    var account: String?
    var direction: String?
    var kind: String?
    var amount: Int64?
    var currency: String?
    var balance: Int64?
    var balanceCurrency: String?
    var bookedAt: Int64?
    var valueDate: String?
    var description: String?
    var counterparty: String?
    var originChannel: String?
    var references: [String: String]?
    var customer: String?
    var template: String?
    var variables: [String: String]?
    var createdAt: Int64?
    var expiresAt: Int64?
    var source: EntryLocation?

    func event() throws(InvalidValue) -> Event {
        func need<T>(_ v: T?, _ name: String) throws(InvalidValue) -> T {
            guard let v else { throw InvalidValue(name, "missing") }
            return v
        }
        switch type {
        case "transaction":
            let currency = try CurrencyCode(try need(currency, "currency"))
            let amount = Money(minorUnits: try need(amount, "amount"), currency: currency)
            let balanceAfter = try balance.map { (b: Int64) throws(InvalidValue) in
                Money(minorUnits: b, currency: try balanceCurrency.map { (c: String) throws(InvalidValue) in try CurrencyCode(c) } ?? currency)
            }
            return .transaction(TransactionEvent(
                id: try EventID(id), account: try AccountID(try need(account, "account")),
                direction: try Direction(parsing: try need(direction, "direction")),
                kind: try kind.map { (k: String) throws(InvalidValue) in try EventKind(k) },
                amount: amount, balanceAfter: balanceAfter,
                bookedAt: Timestamp(milliseconds: try need(bookedAt, "bookedAt")),
                valueDate: try valueDate.map { (d: String) throws(InvalidValue) in try CalendarDate(iso: d) },
                description: description ?? "", counterparty: counterparty, originChannel: originChannel,
                references: references ?? [:], source: source))
        case "message":
            return .message(DirectMessage(
                id: try EventID(id), customer: try CustomerID(try need(customer, "customer")),
                kind: try EventKind(try need(kind, "kind")), template: try need(template, "template"),
                variables: variables ?? [:], createdAt: Timestamp(milliseconds: try need(createdAt, "createdAt")),
                expiresAt: expiresAt.map { Timestamp(milliseconds: $0) }, source: source))
        default:
            throw InvalidValue("type", "'\(type)' is not an event type (transaction or message)")
        }
    }
}
