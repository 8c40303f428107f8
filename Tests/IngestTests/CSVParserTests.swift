import ChaparModels
import Foundation
import Testing
@testable import Ingest

/// CSV: malformed input first, then the shapes real exports have (BOM, CRLF, quoted newlines, code pages).
@Suite struct CSVParserTests {
    static let acct = Fixture.account

    @Test(arguments: [
        ("T1,\(acct),debit,12x,IRR,,2026-11-24,,,,", "amount: '12x' is not a valid amount"),
        ("T1,\(acct),debit,-100,IRR,,2026-11-24,,,,", "amount: '-100' is not a valid amount"),
        ("T1,\(acct),debit,0,IRR,,2026-11-24,,,,", "must be greater than zero"),
        ("T1,\(acct),debit,12.505,EUR,,2026-11-24,,,,", "EUR has 2 decimal places"),
        ("T1,\(acct),debit,100,IRT,,2026-11-24,,,,", "'IRT' is not an ISO 4217 currency, current or historic"),
        ("T1,\(acct),debit,100,EURO,,2026-11-24,,,,", "is not an ISO 4217 currency code"),
        ("T1,\(acct),debit,100,IRR,,2026-02-30,,,,", "is not a valid date"),
        ("T1,\(acct),debit,100,IRR,,24/11/2026,,,,", "is not a date or time"),
        ("T1,\(acct),debit,100,IRR,,2026-11-24T25:00:00,,,,", "invalid time of day"),
        ("T1,\(acct),debit,100,IRR,,2026-11-24T10:00:00+3,,,,", "is not a date or time"),
        ("T1,\(acct),debit,100,IRR,,2026-11-24,2026-11-31,,,", "value_date"),
        ("T1,\(acct),sideways,100,IRR,,2026-11-24,,,,", "is not a direction"),
        ("T1,,debit,100,IRR,,2026-11-24,,,,", "account: missing"),
        ("T1,\(acct),debit,100,IRR,1.2.3,2026-11-24,,,,", "balance:"),
        ("T 1,\(acct),debit,100,IRR,,2026-11-24,,,,", "is not an event id"),
        ("T1,\(acct),debit,100,IRR,,2026-11-24,,,", "expected 11 columns as in the header, found 10"),
        ("T1,\(acct),debit,100,IRR,,2026-11-24,,a\"b,,", "a quote inside unquoted column 9"),
        ("T1,\(acct),debit,100,IRR,,2026-11-24,,\"ab\"c,,", "unexpected text after the closing quote of column 9"),
    ])
    func badEntryIsRejectedWithItsLineAndTheOthersStillParse(row: String, message: String) throws {
        let good = "T0,\(Self.acct),credit,100,IRR,,2026-11-24,,ok,,\n"
        let result = try Fixture.csv(Fixture.header + good + row + "\n" + good.replacingOccurrences(of: "T0", with: "T9"))
        #expect(result.error == nil)
        #expect(result.entries.count == 3)
        let reject = try #require(result.entries[1].rejection, "line 3 should be rejected: \(row)")
        #expect(reject.location == EntryLocation(file: "in.csv", line: 3))
        #expect(reject.description.hasPrefix("in.csv:3: "))
        #expect(reject.message.contains(message), "\(reject.message)")
        #expect(result.entries[0].transaction != nil && result.entries[2].transaction != nil)
    }

    @Test func headerMissingRequiredColumnsIsAFileError() throws {
        let result = try Fixture.csv("id,account,amount,currency\nT1,\(Self.acct),100,IRR\n")
        let error = try #require(result.error)
        #expect(error.code == .invalidFormat)
        #expect(error.message.contains("in.csv:1: the header has no direction, booked_at columns"), "\(error.message)")
    }

    @Test func missingCurrencyColumnIsFineWithADefault() throws {
        let text = "account,direction,amount,booked_at\n\(Self.acct),debit,100,2026-11-24\n"
        #expect(try Fixture.csv(text).error?.message.contains("currency") == true)
        let withDefault = try Fixture.csv(text, options: ParserOptions(defaultCurrency: .irr))
        #expect(withDefault.entries.first?.transaction?.amount == Money(minorUnits: 10_000, currency: .irr))
    }

    @Test func unknownColumnAndMissingHeaderAreClear() throws {
        let unknown = try Fixture.csv("id,account,direction,amount,currency,booked_at,amnt\n")
        #expect(unknown.error?.message.contains("unknown column 'amnt'; the columns are type, id, account") == true, "\(String(describing: unknown.error))")
        let noHeader = try Fixture.csv("T1,\(Self.acct),debit,100,IRR,2026-11-24\n")
        #expect(noHeader.error?.message.contains("the first line must be a header row") == true, "\(String(describing: noHeader.error))")
        let twice = try Fixture.csv("account,account\n")
        #expect(twice.error?.message.contains("appears twice") == true)
    }

    @Test(arguments: ["", "\u{FEFF}", "\n\n", "\u{FEFF}" + Fixture.header])
    func emptyInputsYieldNothing(text: String) throws {
        let result = try Fixture.csv(text)
        #expect(result.error == nil)
        #expect(result.entries.isEmpty)
    }

    @Test func bomCRLFAndQuotedNewlinesKeepLineNumbers() throws {
        let text = "\u{FEFF}" + Fixture.header.replacingOccurrences(of: "\n", with: "\r\n")
            + "T1,\(Self.acct),debit,1200000,IRR,,2026-11-24T09:30:00+03:30,,\"خرید، \"\"فروشگاه\"\"\r\nشعبه دوم\",shop,POS\r\n"
            + "T2,\(Self.acct),debit,bad,IRR,,2026-11-24,,x,,\r\n"
            + "T3,\(Self.acct),credit,5,USD,,2026-11-24,,\"a,b\",,\r\n"
        let result = try Fixture.csv(text)
        #expect(result.error == nil)
        #expect(result.entries.count == 3)
        let t1 = try #require(result.entries[0].transaction)
        #expect(t1.description == "خرید، \"فروشگاه\"\nشعبه دوم")
        #expect(t1.source?.line == 2)
        #expect(t1.originChannel == "pos")
        #expect(t1.bookedAt == Timestamp(milliseconds: 1_795_500_000_000))
        #expect(result.entries[1].rejection?.location.line == 4, "the quoted newline on line 2-3 must not shift line numbers")
        #expect(result.entries[2].transaction?.description == "a,b")
        #expect(result.entries[2].transaction?.source?.line == 5)
    }

    @Test func unterminatedQuoteIsRejectedAtItsFirstLine() throws {
        let text = Fixture.header + "T1,\(Self.acct),debit,100,IRR,,2026-11-24,,\"never closed,,\nmore\n"
        let result = try Fixture.csv(text)
        #expect(result.entries.count == 1)
        #expect(result.entries[0].rejection?.location.line == 2)
        #expect(result.entries[0].rejection?.message.contains("unterminated quoted field") == true)
    }

    @Test func invalidUTF8RejectsOnlyThatLine() throws {
        var bytes = Array((Fixture.header + "T1,\(Self.acct),debit,100,IRR,,2026-11-24,,").utf8)
        bytes += [0xC3, 0x28]  // invalid continuation
        bytes += Array(",,\nT2,\(Self.acct),debit,100,IRR,,2026-11-24,,ok,,\n".utf8)
        let result = try Fixture.csv(bytes: bytes)
        #expect(result.entries.count == 2)
        let reject = try #require(result.entries[0].rejection)
        #expect(reject.location.line == 2)
        #expect(reject.message.contains("invalid UTF-8 at byte"))
        #expect(reject.message.contains("--encoding windows-1256"))
        #expect(result.entries[1].transaction?.id.rawValue == "T2")
    }

    /// A file in a legacy encoding read as UTF-8: the rejection names the encoding the bytes look like.
    @Test func aLegacyEncodingIsNamedInTheRejection() throws {
        func reject(_ description: [UInt8]) throws -> String {
            var bytes = Array((Fixture.header + "T1,\(Self.acct),debit,100,IRR,,2026-11-24,,").utf8)
            bytes += description + Array(",,\n".utf8)
            return try #require(try Fixture.csv(bytes: bytes).entries.first?.rejection?.message)
        }
        // "خرید" in Windows-1256: a run of four bytes ≥ 0x80.
        #expect(try reject([0xCE, 0xD1, 0xED, 0xCF]).contains("looks like Windows-1256 (Arabic-script words): pass --encoding windows-1256"))
        // "Café Müller" in ISO-8859-1: single accented letters between ASCII.
        #expect(try reject(Array("Caf".utf8) + [0xE9] + Array(" M".utf8) + [0xFC] + Array("ller".utf8))
            .contains("looks like ISO-8859-1 (accented Latin letters): pass --encoding iso-8859-1"))
    }

    @Test func windows1256AndLatin1AreDecoded() throws {
        // "خرید" in Windows-1256: خ=0xCE ر=0xD1 ی (Arabic yeh)=0xED د=0xCF; "پ"=0x81 "گ"=0x90 "ک"=0x98.
        let persian: [UInt8] = [0xCE, 0xD1, 0xED, 0xCF, 0x20, 0x81, 0x90, 0x98]
        let bytes = Array((Fixture.header + "T1,\(Self.acct),debit,100,IRR,,2026-11-24,,").utf8) + persian + Array(",,\n".utf8)
        let decoded = try Fixture.csv(bytes: bytes, options: ParserOptions(encoding: .windows1256))
        #expect(decoded.entries.first?.transaction?.description.unicodeScalars.map(\.value) == [0x062E, 0x0631, 0x064A, 0x062F, 0x20, 0x067E, 0x06AF, 0x06A9])
        // The same bytes read as UTF-8 are rejected with a hint.
        #expect(try Fixture.csv(bytes: bytes).entries.first?.rejection?.message.contains("windows-1256") == true)
        let latin = Array((Fixture.header + "T1,\(Self.acct),debit,100,EUR,,2026-11-24,,Caf").utf8) + [0xE9] + Array(",Muller,\n".utf8)
        let l = try Fixture.csv(bytes: latin, options: ParserOptions(encoding: .latin1))
        #expect(l.entries.first?.transaction?.description == "Café")
    }

    @Test func windows1256TableMatchesThePublishedMappingAtKnownPoints() {
        #expect(Windows1256.high.count == 128)
        #expect(Windows1256.high[0x80 - 0x80] == 0x20AC)  // €
        #expect(Windows1256.high[0x81 - 0x80] == 0x067E)  // پ
        #expect(Windows1256.high[0x8E - 0x80] == 0x0698)  // ژ
        #expect(Windows1256.high[0x9D - 0x80] == 0x200C)  // ZWNJ, used between Persian word parts
        #expect(Windows1256.high[0xA1 - 0x80] == 0x060C)  // ،
        #expect(Windows1256.high[0xD7 - 0x80] == 0x00D7)  // ×
        #expect(Windows1256.high[0xFF - 0x80] == 0x06D2)  // ے
    }

    @Test func tenMegabyteLineIsRejectedAndTheNextLineStillParses() throws {
        let huge = String(repeating: "x", count: 10 << 20)
        let text = Fixture.header + "T1,\(Self.acct),debit,100,IRR,,2026-11-24,,\(huge),,\nT2,\(Self.acct),debit,100,IRR,,2026-11-24,,ok,,\n"
        let result = try Fixture.csv(text)
        #expect(result.entries.count == 2)
        let reject = try #require(result.entries[0].rejection)
        #expect(reject.location.line == 2)
        #expect(reject.message.contains("longer than the limit of 1048576 bytes"))
        #expect(result.entries[1].transaction?.source?.line == 3)
    }

    @Test func sameContentWithoutIdGetsStableDistinctIds() throws {
        let row = "\(Self.acct),debit,4500,IRR,2026-11-24T08:00:00,قهوه\n"
        let text = "account,direction,amount,currency,booked_at,description\n" + row + row
        let first = try Fixture.csv(text).entries.compactMap(\.transaction)
        let again = try Fixture.csv(text).entries.compactMap(\.transaction)
        #expect(first.count == 2)
        #expect(first[0].id != first[1].id, "two identical coffees are two events")
        #expect(first.map(\.id) == again.map(\.id), "a re-sent file maps to the same ids")
        // The documented hash input (docs/ingest.md).
        let expected = EventIDs.contentHash([Self.acct, "debit", "4500.00", "IRR", "2026-11-24T08:00:00", "", "", "قهوه", "1"])
        #expect(first[0].id == expected)
        #expect(first[0].bookedAt == Timestamp(milliseconds: 1_795_500_000_000 - 5_400_000), "local time in Asia/Tehran is UTC+03:30")
    }

    @Test func messagesWithVariablesAndTypeColumn() throws {
        let text = "type,id,account,direction,amount,currency,booked_at,customer,kind,template,vars,expires_at\n"
            + "message,M1,,,,,2026-11-24T10:00:00Z,C0000001,security,otp,code=123456;device=mobile,2026-11-24T10:02:00Z\n"
            + "message,,,,,,2026-11-24,C0000002,marketing,birthday,,\n"
            + "message,M3,,,,,2026-11-24,C0000003,urgent,otp,,\n"
            + "message,M4,\(Self.acct),,,,2026-11-24,C0000003,security,otp,,\n"
            + "message,M5,,,,,2026-11-24T10:00:00Z,C0000001,security,otp,code,\n"
            + "message,M6,,,,,2026-11-24T10:00:00Z,C0000001,security,otp,,2026-11-24T09:00:00Z\n"
            + "transaction,T1,\(Self.acct),debit,10,IRR,2026-11-24,C1,,,,\n"
            + "transaction,T2,\(Self.acct),debit,10,IRR,2026-11-24,,,,,\n"
        let result = try Fixture.csv(text)
        #expect(result.entries.count == 8)
        let m1 = try #require(result.entries[0].message)
        #expect(m1.variables == ["code": "123456", "device": "mobile"])
        #expect(m1.kind == .security)
        #expect(m1.expiresAt == Timestamp(milliseconds: m1.createdAt.milliseconds + 120_000))
        #expect(result.entries[1].message?.id.rawValue.hasPrefix("H") == true)
        #expect(result.entries[2].rejection?.message.contains("'urgent' is not a message kind") == true)
        #expect(result.entries[3].rejection?.message.contains("messages have no account") == true)
        #expect(result.entries[4].rejection?.message.contains("'code' is not key=value") == true)
        #expect(result.entries[5].rejection?.message.contains("before the message was created") == true)
        #expect(result.entries[6].rejection?.message.contains("only messages have customer") == true)
        #expect(result.entries[7].transaction != nil)
    }
}
