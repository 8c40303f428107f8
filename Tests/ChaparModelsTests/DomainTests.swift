import Testing
import Foundation
@testable import ChaparModels

@Suite("Domain values")
struct DomainTests {
    @Test("SHA-256 matches the FIPS 180-4 test vectors", arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func sha256(input: String, digest: String) {
        #expect(SHA256.hex(input) == digest)
    }

    @Test("SHA-256 of a million 'a's (multi-block)")
    func sha256Long() {
        #expect(SHA256.hash([UInt8](repeating: 0x61, count: 1_000_000)).hexString == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("job ids are stable, distinct per field, and immune to field-boundary shifts")
    func jobIDs() throws {
        let e = try EventID("TX-1"), c = try CustomerID("c1")
        let a = JobID(event: e, customer: c, channel: .sms)
        #expect(a == JobID(event: e, customer: c, channel: .sms))
        #expect(a != JobID(event: e, customer: c, channel: .email))
        #expect(JobID(event: try EventID("ab"), customer: try CustomerID("c"), channel: .sms) != JobID(event: try EventID("a"), customer: try CustomerID("bc"), channel: .sms))
        #expect(a.rawValue.count == 32)
        // Frozen: job ids are stored in ledgers and sent to gateways; the derivation must never change
        // (value computed independently with Python's hashlib, see docs/events.md).
        #expect(a.rawValue == "3165df05eeeb31a48afa40f6de31f08f")
        #expect(try JobID(a.rawValue) == a)
    }

    @Test("money parses decimal text exactly", arguments: [
        ("12500000", "IRR", Int64(1_250_000_000)), ("1250.5", "EUR", 125_050), ("1,250.50", "USD", 125_050),
        ("0.001", "KWD", 1), ("100", "JPY", 100), ("12.50", "EUR", 1250), ("7.000", "EUR", 700),
    ])
    func moneyParses(text: String, currency: String, minor: Int64) throws {
        #expect(try Money(parsing: Substring(text), currency: try CurrencyCode(currency)).minorUnits == minor)
    }

    @Test("money rejects what is not an exact amount", arguments: ["", "1.2.3", "-5", "1e5", "12,50", "1,2345", "12.345", "abc", "99999999999999999999", " 12"])
    func moneyRejects(text: String) {
        #expect(throws: InvalidValue.self) { try Money(parsing: Substring(text), currency: .eur) }
    }

    @Test("SWIFT decimal comma") func decimalComma() throws {
        #expect(try Money(parsing: "1250,50", currency: .eur, decimalComma: true).minorUnits == 125_050)
        #expect(Money(minorUnits: 125_050, currency: .eur).decimalString == "1250.50")
        #expect(Money(minorUnits: 5, currency: try CurrencyCode("JPY")).decimalString == "5")
    }

    @Test("calendar dates round-trip through days since the epoch", arguments: [0, 1, -1, 19_000, 20_533, 2_932_896, -719_162])
    func epochDays(days: Int) {
        #expect(CalendarDate(daysSinceEpoch: days).daysSinceEpoch == days)
    }

    @Test("dates validate month lengths and leap years") func dates() throws {
        #expect(try CalendarDate(iso: "2024-02-29").day == 29)
        #expect(throws: InvalidValue.self) { try CalendarDate(iso: "2025-02-29") }
        #expect(throws: InvalidValue.self) { try CalendarDate(iso: "2025-13-01") }
        #expect(try CalendarDate(iso: "2026-03-21").daysSinceEpoch == 20_533)
    }

    @Test("quiet hours wrap past midnight", arguments: [
        ("22:00-07:00", "23:30", true), ("22:00-07:00", "06:59", true), ("22:00-07:00", "07:00", false),
        ("22:00-07:00", "22:00", true), ("22:00-07:00", "12:00", false), ("13:00-14:00", "13:59", true), ("13:00-14:00", "14:00", false),
    ])
    func quietHours(window: String, time: String, inside: Bool) throws {
        let q = try QuietHours(parsing: window)
        #expect(q.contains(try TimeOfDay(parsing: time)) == inside)
    }

    @Test("transaction events round-trip through the record codec, Persian text intact")
    func eventCodec() throws {
        let t = TransactionEvent(id: try EventID("REF-1"), account: try AccountID("ir06 2960 0000 0010 0324 2000 01"), direction: .debit,
                                 amount: Money(minorUnits: 1_250_000_000, currency: .irr), balanceAfter: Money(minorUnits: 5, currency: .irr),
                                 bookedAt: Timestamp(milliseconds: 1_774_000_000_000), valueDate: try CalendarDate(iso: "2026-03-21"),
                                 description: "خرید از \"فروشگاه\"\nکوروش", counterparty: "کوروش", originChannel: "pos",
                                 references: ["AcctSvcrRef": "X1"], source: EntryLocation(file: "a.csv", line: 7))
        #expect(t.account.rawValue == "IR062960000000100324200001")
        let record = EventCodec.record(.transaction(t))
        #expect(record.key.map { String(decoding: $0, as: UTF8.self) } == "IR062960000000100324200001")
        #expect(try EventCodec.decode(record.value) == .transaction(t))
        let m = DirectMessage(id: try EventID("OTP-1"), customer: try CustomerID("c1"), kind: .security, template: "otp",
                              variables: ["code": "123456"], createdAt: Timestamp(milliseconds: 1), expiresAt: Timestamp(milliseconds: 2))
        #expect(try EventCodec.decode(EventCodec.record(.message(m)).value) == .message(m))
        #expect(Event.message(m).priority == .urgent)
    }

    @Test("jobs round-trip through the record codec", arguments: [
        RenderedContent.sms(text: "سلام", encoding: "ucs2", segments: 1),
        .email(subject: "s", text: "t", html: "<p>t</p>"), .fax(title: "T", lines: ["a", "b"]), .im(text: "*x*", format: "markdown"),
    ])
    func jobCodec(content: RenderedContent) throws {
        let e = try EventID("E"), c = try CustomerID("c")
        let job = DeliveryJob(id: JobID(event: e, customer: c, channel: content.channel), event: e, customer: c, channel: content.channel,
                              priority: .normal, kind: .debit, address: "+989121234567", language: .fa, content: content,
                              createdAt: Timestamp(milliseconds: 5), notBefore: Timestamp(milliseconds: 9), account: "****0001")
        #expect(try JobCodec.decode(JobCodec.record(job).value) == job)
        #expect(job.topic.rawValue.hasPrefix("notify.\(content.channel.rawValue)"))
    }

    @Test("the job record's bytes are the documented format, field for field (docs/events.md)")
    func jobRecordBytes() throws {
        let e = try EventID("tx-1"), c = try CustomerID("C0000042")
        let id = JobID(event: e, customer: c, channel: .email)
        let job = DeliveryJob(id: id, event: e, customer: c, channel: .email, priority: .normal, kind: .debit, address: "a@example.com",
                              language: .fa, content: .email(subject: "S \"q\"", text: "t\n2", html: "<p>t</p>"),
                              createdAt: Timestamp(milliseconds: 5), notBefore: Timestamp(milliseconds: 9), account: "****0001",
                              source: EntryLocation(file: "f.csv", line: 3, path: nil))
        let record = JobCodec.record(job)
        let expected = #"{"id":"\#(id.rawValue)","event":"tx-1","customer":"C0000042","channel":"email","priority":"normal","kind":"debit","address":"a@example.com","language":"fa","content":{"subject":"S \"q\"","text":"t\n2","html":"<p>t</p>"},"createdAt":5,"notBefore":9,"account":"****0001","source":{"file":"f.csv","line":3}}"#
        #expect(String(decoding: record.value, as: UTF8.self) == expected)
        #expect(record.key == Array("C0000042".utf8))
        #expect(record.headers == [RecordHeader(JobCodec.idHeader, id.rawValue)])
    }

    @Test("the record writer derives the job id in place: the same bytes as with JobID (seeded)")
    func writerDerivesJobID() throws {
        let seed: UInt64 = 0x10B1D
        print("writerDerivesJobID seed \(seed)")
        var state = seed
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 33 }
        let letters = Array("abcXYZ019-_.".utf8)
        func word(_ max: Int) -> String { String(decoding: (0...Int(next() % UInt64(max))).map { _ in letters[Int(next() % 12)] }, as: UTF8.self) }
        for _ in 0..<300 {
            let e = try EventID(word(127)), c = try CustomerID(word(63))
            let channel = Channel.allCases[Int(next() % 4)]
            var derived = JobRecordWriter(), given = JobRecordWriter()
            derived.begin(event: e, customer: c, channel: channel, priority: .urgent, kind: .security, address: "a@b.example", language: .en)
            given.begin(id: JobID(event: e, customer: c, channel: channel), event: e, customer: c, channel: channel, priority: .urgent,
                        kind: .security, address: "a@b.example", language: .en)
            derived.content(.im(text: "x", format: "markdown"))
            given.content(.im(text: "x", format: "markdown"))
            let a = derived.finish(createdAt: Timestamp(milliseconds: 1), notBefore: nil, deadline: nil, account: nil, source: nil, key: Array(c.rawValue.utf8))
            let b = given.finish(createdAt: Timestamp(milliseconds: 1), notBefore: nil, deadline: nil, account: nil, source: nil, key: Array(c.rawValue.utf8))
            #expect(a.value == b.value && a.headers == b.headers, "\(e) \(c) \(channel)")
            #expect(try JobCodec.decode(a.value).id == JobID(event: e, customer: c, channel: channel))
        }
    }
}

@Suite("JSON writer and reader")
struct JSONCodecTests {
    @Test("random strings (controls, quotes, Persian, emoji) round-trip and match Foundation's reading (seeded)")
    func roundTrip() throws {
        var seed: UInt64 = 0xC0DEC
        func next() -> UInt64 { seed = seed &* 6364136223846793005 &+ 1442695040888963407; return seed >> 33 }
        let alphabet: [Character] = ["a", "\"", "\\", "\n", "\r", "\t", "\u{0}", "\u{1F}", "/", "ا", "۱", "😀", "\u{200F}", " ", "{", "}"]
        for _ in 0..<500 {
            let text = String((0..<Int(next() % 24)).map { _ in alphabet[Int(next() % UInt64(alphabet.count))] })
            var w = JSONWriter()
            w.beginObject()
            w.field("k", text)
            w.field("n", Int64(bitPattern: next() << 31) )
            w.endObject()
            let bytes = w.bytes
            let viaFoundation = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any]
            #expect(viaFoundation?["k"] as? String == text)
            var got = ""
            try bytes.withUnsafeBufferPointer { (buffer) throws(InvalidValue) in
                var r = JSONReader(buffer)
                try r.readObject { (r: inout JSONReader, key: String) throws(InvalidValue) in
                    if key == "k" { got = try r.readString() } else { try r.skipValue() }
                }
                try r.end()
            }
            #expect(got == text)
        }
    }

    @Test("escapes written by others are read: \\u, surrogate pairs, \\/", arguments: [
        (#"{"k":"\u0627\u06F1"}"#, "ا۱"), (#"{"k":"\ud83d\ude00"}"#, "😀"), (#"{"k":"a\/b\b\f"}"#, "a/b\u{8}\u{C}"),
    ])
    func escapes(json: String, expected: String) throws {
        #expect(try read(json) == expected)
    }

    @Test("malformed JSON is an error, never a crash", arguments: [
        "", "{", #"{"k":"#, #"{"k":"abc"#, #"{"k":"\ud83d"}"#, #"{"k":"\x"}"#, #"{"k" "v"}"#, #"{"k":"v",}"#, #"{"k":"v"} x"#,
        "[1]", #"{"k":"a\u12"}"#, "{\"k\":\"\u{1}\"}",
    ])
    func malformed(json: String) {
        #expect(throws: InvalidValue.self) { try read(json) }
    }

    @Test("events with unknown fields (from a newer version) still decode")
    func unknownFieldsAreSkipped() throws {
        let json = #"{"type":"message","id":"m1","customer":"c1","kind":"security","template":"otp","createdAt":5,"future":{"a":[1,2.5e3,true,null]}}"#
        guard case .message(let m) = try EventCodec.decode(Array(json.utf8)) else { Issue.record("not a message"); return }
        #expect(m.id.rawValue == "m1" && m.createdAt.milliseconds == 5)
    }

    @Test("escaped keys still name their field; a key that only shares a length or prefix is unknown")
    func escapedKeys() throws {
        let json = #"{"type":"message","\u0069d":"m1","customer":"c1","kind":"security","templatf":"x","template":"otp","createdAt":5,"creat":1}"#
        guard case .message(let m) = try EventCodec.decode(Array(json.utf8)) else { Issue.record("not a message"); return }
        #expect(m.id.rawValue == "m1" && m.template == "otp" && m.createdAt.milliseconds == 5)
        #expect(throws: InvalidValue.self) { try EventCodec.decode(Array(#"{"type":"message","\u0069d":"m1","customer":"c1"}"#.utf8)) }
        #expect(throws: InvalidValue.self) { try EventCodec.decode(Array(#"{"type":"message","\u006"#.utf8)) }
    }

    private func read(_ json: String) throws(InvalidValue) -> String {
        var got = ""
        try Array(json.utf8).withUnsafeBufferPointer { (buffer) throws(InvalidValue) in
            var r = JSONReader(buffer)
            try r.readObject { (r: inout JSONReader, key: String) throws(InvalidValue) in got = try r.readString() }
            try r.end()
        }
        return got
    }
}
