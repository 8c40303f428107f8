import ChaparModels
import Foundation
import Testing
@testable import Ingest

/// A one-entry MT940 statement; the parameters replace single fields to break them.
func mt940Statement(account: String = "IR270170000000100324200001", opening: String = ":60F:C240320IRR1000,",
                    line61: String = ":61:2403200320D250,NTRFNONREF//REF1", narrative: String = ":86:test",
                    closing: String = ":62F:C240320IRR750,") -> String {
    [":20:T1", ":25:\(account)", ":28C:1/1", opening, ":61:2403200320C1,NTRFNONREF//GOOD1", ":86:good",
     line61, narrative, ":61:2403200320D1,NTRFNONREF//GOOD2", closing, "-", ""].joined(separator: "\n")
}

@Suite("MT940/MT942 parser")
struct MT940Tests {
    static let fixtures = FormatTestSupport.fixtures.appendingPathComponent("mt940")

    // MARK: failure paths first

    @Test("a broken :61: rejects only its entry, located by line", arguments: [
        (":61:2403200320D250.00NTRFNONREF", "expected the transaction type"),
        (":61:2413320320D250,NTRFNONREF", "value date '241332' is not a valid YYMMDD date"),
        (":61:2403201332D250,NTRFNONREF", "entry date '1332' is not a valid MMDD date"),
        (":61:240320X250,NTRFNONREF", "expected the debit/credit mark C, D, RC or RD"),
        (":61:2403200320D250,", "expected the transaction type"),
        (":61:24032", "must start with the value date YYMMDD"),
        (":61:2403200320D1,234NTRFNONREF", "IRR has 2 decimal places"),
    ])
    func badLine(line61: String, expected: String) throws {
        try checkBadLine(line61: line61, expected: expected)
    }

    /// Some banks' exports write whole amounts without SWIFT's decimal comma (`500` for `500,`).
    @Test func amountsWithoutADecimalCommaAreWholeAmounts() throws {
        let out = FormatTestSupport.mt940(text: mt940Statement(line61: ":61:2403200320D250NTRFNONREF//NOCOMMA"))
        #expect(out.error == nil)
        let entry = try #require(out.events.first { $0.amount.minorUnits == 25_000 }, "\(out.events.map(\.amount))")
        #expect(entry.direction == .debit)
        #expect(out.rejects.allSatisfy { !$0.message.contains("decimal comma") }, "\(out.rejects)")
    }

    private func checkBadLine(line61: String, expected: String) throws {
        let out = FormatTestSupport.mt940(text: mt940Statement(line61: line61))
        #expect(out.error == nil)
        let reject = try #require(out.rejects.first)
        #expect(out.rejects.count == 1, "\(out.rejects)")
        #expect(out.warnings.isEmpty, "a rejected entry must not also report the balance mismatch: \(out.warnings)")
        #expect(reject.message.contains(expected), "\(reject.message)")
        #expect(reject.location.line == 7)
        #expect(reject.description.hasSuffix(".sta:7: \(reject.message)"))
        #expect(out.events.count == 2)
        #expect(out.events.allSatisfy { $0.balanceAfter == nil })
    }

    @Test func entriesOfAStatementWithoutAnAccountAreRejected() throws {
        let out = FormatTestSupport.mt940(text: mt940Statement(account: ""))
        #expect(out.error == nil)
        let reject = try #require(out.rejects.first)
        #expect(reject.message.contains("the statement has no account (:25:)"), "\(out.rejects)")
        #expect(reject.location.line == 5)
        #expect(out.events.isEmpty)
    }

    /// Issue 13: a statement whose balances do not reconcile is a warning about the statement; its
    /// entries are all appended (without balances), none is rejected.
    @Test("statement-level problems are warnings where they are; every entry is still appended", arguments: [
        (mt940Statement(closing: ":62F:C240320IRR751,"), 10, "does not equal the opening balance plus the entries (750.00 IRR)"),
        (mt940Statement(closing: ":62F:C240320EUR750,"), 10, "differs from the opening balance currency IRR"),
        (mt940Statement(closing: ":62F:C2403"), 10, "closing balance :62F:C2403 is not"),
        (mt940Statement(closing: ""), 4, "without a closing balance"),
    ])
    func statementProblems(text: String, line: Int, expected: String) throws {
        let out = FormatTestSupport.mt940(text: text)
        #expect(out.error == nil)
        #expect(out.rejects.isEmpty, "\(out.rejects)")
        #expect(out.warnings.count == 1, "\(out.warnings)")
        let warning = try #require(out.warnings.first)
        #expect(warning.message.contains(expected), "\(out.warnings)")
        #expect(warning.location.line == line)
        #expect(warning.warningDescription.hasSuffix(".sta:\(line): warning: \(warning.message)"))
        #expect(out.events.count == 3)
        #expect(out.events.allSatisfy { $0.balanceAfter == nil })
    }

    @Test func aMalformedOpeningBalanceIsAWarningAndEntriesWithoutACurrencyAreRejected() throws {
        let out = FormatTestSupport.mt940(text: mt940Statement(opening: ":60F:C240320XYZ1000,"))
        let warning = try #require(out.warnings.first)
        #expect(warning.message.contains("opening balance :60F:C240320XYZ1000, is not"), "\(out.warnings)")
        #expect(warning.location.line == 4)
        // With no valid opening balance the statement has no currency: its entries cannot be read.
        #expect(out.rejects.count == 3 && out.rejects.allSatisfy { $0.message.contains("no currency") }, "\(out.rejects)")
        let withDefault = FormatTestSupport.mt940(text: mt940Statement(opening: ":60F:C240320XYZ1000,"), ParserOptions(defaultCurrency: .irr, timeZone: "UTC"))
        #expect(withDefault.rejects.isEmpty && withDefault.events.count == 3, "\(withDefault.rejects)")
    }

    @Test func entriesWithoutAnyCurrencyAreRejected() {
        let text = ":20:X\n:25:123\n:28C:1\n:61:2403200320D250,NTRFNONREF\n-\n"
        let out = FormatTestSupport.mt940(text: text)
        #expect(out.rejects.first?.message.contains("no currency") == true)
        let withDefault = FormatTestSupport.mt940(text: text, ParserOptions(defaultCurrency: .irr, timeZone: "UTC"))
        #expect(withDefault.events.first?.amount == Money(minorUnits: 25000, currency: .irr))
    }

    @Test("files that are not MT940 are refused", arguments: [
        ("", "the file is empty"),
        ("hello\nworld\n", "no MT940/MT942 field"),
        ("{\"a\":1}\n", "no MT940/MT942 field"),
    ])
    func notMT940(text: String, expected: String) throws {
        let out = FormatTestSupport.mt940(text: text)
        let error = try #require(out.error)
        #expect(error.code == .invalidFormat)
        #expect(error.message.contains(expected), "\(error.message)")
        #expect(error.message.contains(".sta:1:"))
    }

    @Test func invalidUTF8IsRejectedWithAnEncodingHint() throws {
        let path = Self.fixtures.appendingPathComponent("persian.windows1256.sta").path
        let out = FormatTestSupport.mt940(path, ParserOptions(encoding: .utf8, timeZone: "UTC"))
        #expect(out.events.isEmpty)
        #expect(out.rejects.count == 2)
        #expect(out.rejects.map(\.location.line) == [5, 7])
        #expect(out.rejects[0].message.contains("line 6 is not valid utf-8 (byte 1); if the bank writes another encoding, pass it with --encoding"), "\(out.rejects)")
    }

    @Test func aTenMegabyteLineRejectsOnlyItsEntry() throws {
        let huge = ":86:" + String(repeating: "x", count: 10 << 20)
        let out = FormatTestSupport.mt940(text: mt940Statement(narrative: huge))
        #expect(out.events.count == 2)
        #expect(out.rejects.first?.message.contains("longer than 65536 bytes") == true)
    }

    @Test func truncatedStatementKeepsItsEntriesWithoutBalances() {
        let text = ":20:T\n:25:IR270170000000100324200001\n:28C:1\n:60F:C240320IRR100,\n:61:2403200320D1,NTRFNONREF//A\n:86:x\n:61:2403"
        let out = FormatTestSupport.mt940(text: text)
        #expect(out.events.count == 1)
        #expect(out.events.first?.balanceAfter == nil)
        #expect(out.rejects.map(\.location.line) == [7])
        #expect(out.warnings.map(\.location.line) == [4], "the missing closing balance is about the statement: \(out.warnings)")
    }

    @Test func mt942TotalsThatDisagreeAreReported() {
        let text = ":20:X\n:25:PL29114010810000267002001002\n:28C:1/1\n:34F:PLN0\n:13D:1701191815+0100\n:61:1701190119CN0,01NTRFNONREF//MB1\n:90C:2PLN0,02\n-\n"
        let out = FormatTestSupport.mt940(text: text)
        #expect(out.events.count == 1)
        #expect(out.rejects.isEmpty)
        #expect(out.warnings.first?.message.contains(":90C: says 2 credit entries totalling 0.02 PLN, but the report has 1 totalling 0.01 PLN") == true)
        #expect(out.warnings.first?.location.line == 7)
    }

    @Test func unknownTimeZoneAndMissingFileAreErrors() {
        let path = Self.fixtures.appendingPathComponent("structured.sta").path
        #expect(throws: IngestError.self) { try MT940Parser(path: path, displayName: "x", options: ParserOptions(timeZone: "Nowhere/Else")) }
        #expect(throws: IngestError.self) { try MT940Parser(path: "/nonexistent/x.sta", displayName: "x", options: ParserOptions()) }
    }

    // MARK: mapping

    @Test func structuredNarrativesReversalsYearRollOverAndContinuations() throws {
        let out = FormatTestSupport.mt940(Self.fixtures.appendingPathComponent("structured.sta").path)
        #expect(out.error == nil)
        #expect(out.rejects.isEmpty, "\(out.rejects)")
        try #require(out.events.count == 5)
        let (sepa, coffee, storno, reversal, salary) = (out.events[0], out.events[1], out.events[2], out.events[3], out.events[4])
        // BIC prefix stripped from the account; the same bank reference on another account is another event.
        #expect(sepa.id.rawValue == "DE89370400440532013000:C:BREF:B-100")
        #expect(salary.id.rawValue == "IR370560611828005123456789:C:BREF:B-100")
        // ?20-style narrative.
        #expect(sepa.description == "Rechnung 2024-12/77 Danke")
        #expect(sepa.counterparty == "Muster GmbH Berlin")
        #expect(sepa.references["EndToEndId"] == "E2E-4711")
        // Entry date 01-02 after value date 12-31: the next year.
        #expect(sepa.valueDate?.description == "2024-12-31")
        #expect(sepa.bookedAt.milliseconds == Int64(try CalendarDate(year: 2025, month: 1, day: 2).daysSinceEpoch) * 86_400_000)
        // /CODE/ narrative, wrapped in the middle of an IBAN.
        #expect(coffee.description == "Kaffee und Kuchen")
        #expect(coffee.counterparty == "Cafe Centraal")
        #expect(coffee.references["EndToEndId"] == nil)
        #expect(coffee.id.rawValue.hasPrefix("H"))
        // RD is a reversal of a debit (a credit), RC of a credit (a debit).
        #expect(storno.direction == .credit && storno.references["Reversal"] == "RD")
        #expect(storno.description == "Storno Kaffee" && storno.counterparty == "Cafe Centraal")
        #expect(reversal.direction == .debit && reversal.references["CustomerReference"] == "CUST-9")
        // Both messages reconcile (:62M: then :60M:/:62F:), so balances are reported.
        #expect(out.events.map { $0.balanceAfter?.decimalString } == ["1150.00", "1129.50", "1150.00", "1000.00", "1500000.00"])
        #expect(salary.references["SupplementaryDetails"] == "SALARY")
        #expect(salary.source?.line == 30)
    }

    @Test func windows1256PersianStatement() throws {
        let path = Self.fixtures.appendingPathComponent("persian.windows1256.sta").path
        let out = FormatTestSupport.mt940(path, ParserOptions(encoding: .windows1256, timeZone: "Asia/Tehran"))
        #expect(out.rejects.isEmpty, "\(out.rejects)")
        try #require(out.events.count == 2)
        // Windows-1256 has the Arabic yeh (U+064A), not the Persian one.
        #expect(out.events[0].description == "خريد از فروشگاه رفاه - کارت 6037")
        #expect(out.events[1].description == "واريز حقوق پرداخت از حساب شرکت")
        #expect(out.events[0].amount.minorUnits == 125_000_000)
        #expect(out.events[1].balanceAfter == Money(minorUnits: 7_375_000_000, currency: .irr))
        #expect(out.events[0].id.rawValue == "IR270170000000100324200001:D:BREF:BMI240320001")
        #expect(out.events[0].bookedAt.milliseconds == FormatTestSupport.millis("2024-03-19T20:30:00Z"))
    }

    @Test func latin1Narrative() throws {
        var bytes = Array(mt940Statement(narrative: ":86:M__ller").utf8)
        let r = try #require(bytes.firstRange(of: Array("__".utf8)))
        bytes.replaceSubrange(r, with: [0xFC])
        let out = FormatTestSupport.mt940(bytes: bytes, ParserOptions(encoding: .latin1, timeZone: "UTC"))
        #expect(out.events[1].description == "Müller")
    }

    @Test func byteOrderMarkCRLFAndSOHFraming() throws {
        let text = "\u{1}" + mt940Statement().replacingOccurrences(of: "\n", with: "\r\n") + "\u{3}"
        let out = FormatTestSupport.mt940(bytes: [0xEF, 0xBB, 0xBF] + Array(text.utf8))
        #expect(out.rejects.isEmpty, "\(out.rejects)")
        #expect(out.events.count == 3)
        #expect(out.events.map { $0.balanceAfter?.decimalString } == ["1001.00", "751.00", "750.00"])
        #expect(out.events[1].source?.line == 7)
    }

    @Test func identicalEntriesWithoutReferencesGetDistinctStableIds() {
        let line = ":61:2403200320D5,NTRFNONREF"
        let text = [":20:T", ":25:IR270170000000100324200001", ":28C:1", line, ":86:coffee", line, ":86:coffee", "-", ""].joined(separator: "\n")
        let a = FormatTestSupport.mt940(text: text, ParserOptions(defaultCurrency: .irr, timeZone: "UTC"))
        let b = FormatTestSupport.mt940(text: text, ParserOptions(defaultCurrency: .irr, timeZone: "UTC"))
        #expect(a.events.count == 2)
        #expect(a.events[0].id != a.events[1].id)
        #expect(a.events.map(\.id) == b.events.map(\.id))
        let fields = ["IR270170000000100324200001", "D", "5.00", "IRR", "2024-03-20", "2024-03-20", "", "coffee"]
        #expect(a.events[0].id == EventIDs.contentHash(fields + ["1"]))
    }

    @Test("narrative styles", arguments: [
        (["GIRO 123", "  second   line"], "GIRO 123 second line", nil as String?, nil as String?),
        (["/EREF/ABC//123/REMI/USTD//Invoice 7/NAME/Jan"], "Invoice 7", "Jan", "ABC//123"),
        (["/REMI/STRD/CUR/RF18539007547034/TRTP/iDEAL"], "RF18539007547034", nil, nil),
        (["105?00LASTSCHRIFT?20EREF+X1?21MREF+M1?22CRED+C1?23SVWZ+Beitrag?32Verein"], "Beitrag", "Verein", "X1"),
        (["806?00GEBUEHREN?20Kontofuehrung?21Januar"], "KontofuehrungJanuar", nil, nil),
    ])
    func narratives(lines: [String], description: String, counterparty: String?, endToEnd: String?) {
        let r = MT940Narrative.read(lines)
        #expect(r.description == description)
        #expect(r.counterparty == counterparty)
        #expect(r.references["EndToEndId"] == endToEnd)
    }

    @Test("sniffing recognises MT940/MT942 only", arguments: [
        (":20:STMT\n:25:123", true),
        ("\u{FEFF}\r\n{1:F01ABNANL2AXXX0000000000}", true),
        ("\u{1}\n:20:ST170119CYC/0001\n", true),
        ("ABNANL2A\n940\nABNANL2A\n:20:ABN AMRO BANK NV\n:25:517852257\n", true),
        ("<?xml version=\"1.0\"?><Document/>", false),
        ("account,amount\n", false),
        ("", false),
    ])
    func sniff(text: String, expected: Bool) {
        #expect(MT940Parser.sniff(Array(text.utf8)[...]) == expected)
    }
}
