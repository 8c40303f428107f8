import ChaparModels
import Foundation
import Testing
@testable import Ingest

/// JSON Lines: broken JSON and wrong shapes first, then amounts that never pass through Double.
@Suite struct JSONLinesParserTests {
    static let acct = Fixture.account
    static let good = #"{"id":"T0","account":"IR490170000000000000000002","direction":"debit","amount":"100","currency":"IRR","booked_at":"2026-11-24"}"#

    @Test(arguments: [
        (#"{"id":"T1","account":"IR82","direction":"debit","amount":"100","currency":"IRR","booked_at":"2026-11-24""#, "a closing '}' is missing"),
        (#"{"id":"T1",}"#, "expected a field name"),
        (#"["not","an","object"]"#, "each line must be a JSON object"),
        (#"{"id":"T1","amout":"100"}"#, "unknown field 'amout'"),
        (#"{"id":"T1","id":"T2"}"#, "appears twice"),
        (#"{"id":"T1","account":true}"#, "true/false is not allowed"),
        (#"{"id":"T1","account":{"x":"y"}}"#, "an object is allowed only for vars"),
        (#"{"id":"T1","account":"IR82","direction":"debit","amount":1e3,"currency":"IRR","booked_at":"2026-11-24"}"#, "amount: '1e3' is not a valid amount"),
        (#"{"id":"T1","account":"IR82","direction":"debit","amount":012,"currency":"IRR","booked_at":"2026-11-24"}"#, "leading zeros"),
        (#"{"id":"T1","account":"IR82","direction":"debit","amount":"5","currency":"IRR","booked_at":"yesterday"}"#, "booked_at: 'yesterday' is not a date or time"),
        (#"{"id":"T1","description":"bad \q escape"}"#, "invalid escape"),
        (#"{"id":"T1","description":"\ud800"}"#, "unpaired surrogate"),
        (#"{"id":"T1"} trailing"#, "unexpected text after the JSON object"),
        (#"{"type":"message","customer":"C1","kind":"security","template":"otp","created_at":"2026-11-24","vars":{"code":[1]}}"#, "must be a string or number"),
    ])
    func badLineIsRejectedWithItsLineNumber(line: String, message: String) throws {
        let result = try Fixture.jsonl(Self.good + "\n" + line + "\n" + Self.good.replacingOccurrences(of: "T0", with: "T9") + "\n")
        #expect(result.error == nil)
        #expect(result.entries.count == 3)
        let reject = try #require(result.entries[1].rejection, "\(line)")
        #expect(reject.location == EntryLocation(file: "in.jsonl", line: 2))
        #expect(reject.message.contains(message), "\(reject.message)")
    }

    @Test func numbersAreReadFromTheirTextNotFloatingPoint() throws {
        let text = #"{"account":"\#(Self.acct)","direction":"C","amount":0.29,"currency":"EUR","balance":-1234567890123.45,"booked_at":"2026-11-24T09:30:00.250Z"}"# + "\n"
        let t = try #require(try Fixture.jsonl(text).entries.first?.transaction)
        #expect(t.amount == Money(minorUnits: 29, currency: .eur))
        #expect(t.balanceAfter == Money(minorUnits: -123_456_789_012_345, currency: .eur))
        #expect(t.direction == .credit)
        #expect(t.bookedAt == Timestamp(milliseconds: 1_795_512_600_250))
    }

    @Test func messagesTakeAVarsObjectAndEscapes() throws {
        let text = "\r\n" + #"{"type":"message","id":"M1","customer":"C0000007","kind":"marketing","template":"birthday","vars":{"name":"\u0645\u0631\u06cc\u0645","age":30},"created_at":"2026-11-24T08:00:00+03:30"}"# + "\r\n\r\n"
        let result = try Fixture.jsonl(text)
        #expect(result.entries.count == 1)
        let m = try #require(result.entries.first?.message)
        #expect(m.variables == ["name": "مریم", "age": "30"])
        #expect(m.source?.line == 2)
    }

    @Test func emptyFileBlankLinesAndBOMYieldNothing() throws {
        #expect(try Fixture.jsonl("").entries.isEmpty)
        #expect(try Fixture.jsonl("\u{FEFF}\n  \n").entries.isEmpty)
        #expect(try Fixture.jsonl("\u{FEFF}" + Self.good).entries.first?.transaction?.id.rawValue == "T0")
    }

    @Test func tenMegabyteLineIsRejectedWithoutStoppingTheFile() throws {
        let huge = #"{"description":""# + String(repeating: "x", count: 10 << 20) + #""}"#
        let result = try Fixture.jsonl(huge + "\n" + Self.good + "\n")
        #expect(result.entries.count == 2)
        #expect(result.entries[0].rejection?.message.contains("longer than the limit") == true)
        #expect(result.entries[1].transaction?.source?.line == 2)
    }

    @Test func sameIdsAsCSVForTheSameEntryWithoutId() throws {
        let csv = try Fixture.csv("account,direction,amount,currency,booked_at,description\n\(Self.acct),debit,4500,IRR,2026-11-24T08:00:00,قهوه\n")
        let jsonl = try Fixture.jsonl(#"{"account":"\#(Self.acct)","direction":"debit","amount":"4500","currency":"IRR","booked_at":"2026-11-24T08:00:00","description":"قهوه"}"#)
        #expect(csv.entries.first?.transaction?.id == jsonl.entries.first?.transaction?.id)
    }
}
