import ChaparModels
import Foundation
import Testing
@testable import Ingest

/// A camt.054 document around `entries`, for the malformed-input tests.
func camtDocument(_ entries: String, namespace: String = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08",
                  message: String = "BkToCstmrDbtCdtNtfctn",
                  account: String = "<Acct><Id><IBAN>IR270170000000100324200001</IBAN></Id></Acct>") -> String {
    """
    <?xml version="1.0" encoding="UTF-8"?>
    <Document xmlns="\(namespace)">
    <\(message)>
    <GrpHdr><MsgId>T</MsgId></GrpHdr>
    <Ntfctn>
    <Id>N</Id>
    \(account)
    \(entries)
    </Ntfctn>
    </\(message)>
    </Document>

    """
}

/// One booked entry; the parameters replace single fields to break them.
func camtEntry(amount: String = "1000", ccy: String = "IRR", indicator: String = "CRDT", status: String = "<Sts><Cd>BOOK</Cd></Sts>",
               booking: String = "<BookgDt><Dt>2024-03-20</Dt></BookgDt>", ref: String = "R1", extra: String = "") -> String {
    "<Ntry><Amt Ccy=\"\(ccy)\">\(amount)</Amt><CdtDbtInd>\(indicator)</CdtDbtInd>\(status)\(booking)<AcctSvcrRef>\(ref)</AcctSvcrRef>\(extra)</Ntry>"
}

@Suite("camt.054 parser")
struct Camt054Tests {
    static let fixtures = FormatTestSupport.fixtures.appendingPathComponent("camt054")

    // MARK: failure paths first

    @Test("a wrong message type is refused with a clear reason", arguments: [
        ("urn:iso:std:iso:20022:tech:xsd:camt.053.001.08", "BkToCstmrStmt", "this is camt.053 (BkToCstmrStmt, an account statement), not camt.054"),
        ("urn:iso:std:iso:20022:tech:xsd:camt.052.001.08", "BkToCstmrAcctRpt", "this is camt.052"),
        ("urn:iso:std:iso:20022:tech:xsd:pain.001.001.09", "CstmrCdtTrfInitn", "this is ISO 20022 pain.001.001.09, not camt.054"),
        ("urn:iso:std:iso:20022:tech:xsd:camt.054.001.99", "BkToCstmrDbtCdtNtfctn", "version '001.99' is not supported"),
        ("http://example.com/other", "BkToCstmrDbtCdtNtfctn", "namespace 'http://example.com/other' is not camt.054"),
        ("", "BkToCstmrStmt", "camt.053 account statement"),
    ])
    func wrongNamespace(namespace: String, message: String, expected: String) throws {
        let out = FormatTestSupport.camt(text: camtDocument(camtEntry(), namespace: namespace, message: message))
        let error = try #require(out.error)
        #expect(error.code == .invalidFormat)
        #expect(error.message.contains(expected), "\(error.message)")
        #expect(error.message.contains(".xml:2") || error.message.contains(".xml:3"), "\(error.message)")
        #expect(out.events.isEmpty)
    }

    @Test("a broken field rejects only its entry, located by line and path", arguments: [
        (camtEntry(amount: "12,50"), "must use '.' as decimal point"),
        (camtEntry(amount: "abc"), "is not a valid amount"),
        (camtEntry(amount: "-5"), "is not a valid amount"),
        (camtEntry(amount: "1.234"), "IRR has 2 decimal places"),
        (camtEntry(amount: ""), "has no amount"),
        (camtEntry(ccy: "XYZ"), "'XYZ' is not an ISO 4217 currency code"),
        (camtEntry(indicator: "CREDIT"), "CdtDbtInd 'CREDIT' is neither CRDT nor DBIT"),
        (camtEntry(status: ""), "has no status (Sts)"),
        (camtEntry(booking: "<BookgDt><Dt>2024-02-30</Dt></BookgDt>"), "booking date '2024-02-30' is not a date"),
        (camtEntry(booking: "<BookgDt><DtTm>2024-03-20 10:00</DtTm></BookgDt>"), "is not a date"),
        (camtEntry(booking: ""), "neither a booking date"),
        (camtEntry(extra: "<NtryDtls><TxDtls><Amt Ccy=\"IRR\">10</Amt></TxDtls><TxDtls></TxDtls></NtryDtls>"), "1 of the entry's 2 transaction details have no amount"),
    ])
    func badField(entry: String, expected: String) throws {
        try checkBadField(entry: entry, expected: expected)
    }

    /// Instant-payment notifications often give no BookgDt or ValDt: the entry is booked at the
    /// notification's CreDtTm, else the message's (GrpHdr) CreDtTm.
    @Test func entriesWithoutDatesAreBookedAtTheNotificationsCreationTime() throws {
        let undated = camtEntry(booking: "", ref: "INST1")
        func document(group: String, notification: String) -> String {
            camtDocument(undated)
                .replacingOccurrences(of: "<GrpHdr><MsgId>T</MsgId></GrpHdr>", with: "<GrpHdr><MsgId>T</MsgId>\(group)</GrpHdr>")
                .replacingOccurrences(of: "<Id>N</Id>", with: "<Id>N</Id>\(notification)")
        }
        let both = FormatTestSupport.camt(text: document(group: "<CreDtTm>2024-03-20T09:00:00+03:30</CreDtTm>",
                                                         notification: "<CreDtTm>2024-03-20T10:15:30+03:30</CreDtTm>"))
        #expect(both.error == nil && both.rejects.isEmpty, "\(both.rejects)")
        let fromNotification = try #require(both.events.first)
        // 10:15:30 at +03:30 is 06:45:30 UTC.
        #expect(fromNotification.bookedAt == Timestamp(milliseconds: 1_710_917_130_000))

        let groupOnly = FormatTestSupport.camt(text: document(group: "<CreDtTm>2024-03-20T09:00:00+03:30</CreDtTm>", notification: ""))
        #expect(groupOnly.rejects.isEmpty, "\(groupOnly.rejects)")
        #expect(groupOnly.events.first?.bookedAt == Timestamp(milliseconds: 1_710_912_600_000))
    }

    private func checkBadField(entry: String, expected: String) throws {
        let good = camtEntry(ref: "GOOD")
        let out = FormatTestSupport.camt(text: camtDocument(good + "\n" + entry + "\n" + good.replacingOccurrences(of: "GOOD", with: "GOOD2")))
        #expect(out.error == nil)
        let reject = try #require(out.rejects.first)
        #expect(reject.message.contains(expected), "\(reject.message)")
        #expect(reject.location.line == 9)
        #expect(reject.location.path?.hasPrefix("/Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[2]") == true)
        #expect(reject.description.hasPrefix(reject.location.file + ":9 (/Document/"))
        // The entries around it still count (a batch entry may also have emitted its good line).
        #expect(out.events.first?.references["AcctSvcrRef"] == "GOOD")
        #expect(out.events.last?.references["AcctSvcrRef"] == "GOOD2")
    }

    @Test("missing or invalid accounts reject every entry of the notification", arguments: [
        ("", "has no account"),
        ("<Acct><Id><IBAN>IR280170000000100324200001</IBAN></Id></Acct>", "wrong check digits"),
        ("<Acct><Id><Othr><Id>has space\u{7}</Id></Othr></Id></Acct>", "not an account number"),
    ])
    func badAccount(account: String, expected: String) {
        let out = FormatTestSupport.camt(text: camtDocument(camtEntry() + camtEntry(ref: "R2"), account: account))
        #expect(out.events.isEmpty)
        #expect(out.rejects.count == 2)
        #expect(out.rejects.allSatisfy { $0.message.contains(expected) }, "\(out.rejects)")
    }

    @Test("XML that is not well-formed stops the file with a located error", arguments: [
        ("", "no XML element (is it empty?)"),
        ("   \n\n", "no XML element"),
        ("hello", "this is not XML"),
        ("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.054.001.08\"><BkToCstmrDbtCdtNtfctn></Document>", "does not match <BkToCstmrDbtCdtNtfctn>"),
        ("<!DOCTYPE x [<!ENTITY a \"b\">]><Document/>", "DOCTYPE"),
        ("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><Document/>", "encoding \"ISO-8859-1\""),
        ("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.054.001.08\"><BkToCstmrDbtCdtNtfctn>&nbsp;</BkToCstmrDbtCdtNtfctn></Document>", "unknown entity &nbsp;"),
        ("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.054.001.08\"><BkToCstmrDbtCdtNtfctn a=b/></Document>", "must be quoted"),
        ("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.054.001.08\"><BkToCstmrDbtCdtNtfctn/></Document><Document/>", "second root element"),
    ])
    func malformed(text: String, expected: String) throws {
        let out = FormatTestSupport.camt(text: text)
        let error = try #require(out.error)
        #expect(error.code == .invalidFormat)
        #expect(error.message.contains(expected), "\(error.message)")
        #expect(error.message.contains(".xml:1") || text.hasPrefix(" "), "\(error.message)")
    }

    @Test func aBadTransactionOfABatchRejectsOnlyThatTransaction() throws {
        let details = "<NtryDtls>\n<TxDtls><Amt Ccy=\"IRR\">10</Amt><Refs><TxId>T1</TxId></Refs></TxDtls>\n"
            + "<TxDtls><Amt Ccy=\"IRR\">1O</Amt></TxDtls>\n<TxDtls><Amt Ccy=\"IRR\">30</Amt><CdtDbtInd>DBIT</CdtDbtInd></TxDtls>\n</NtryDtls><RvslInd>true</RvslInd>"
        let out = FormatTestSupport.camt(text: camtDocument(camtEntry(ref: "B", extra: details)))
        #expect(out.events.map(\.amount.minorUnits) == [1000, 3000])
        #expect(out.events.map(\.direction) == [.credit, .debit])
        #expect(out.events.map(\.id.rawValue) == ["IR270170000000100324200001:C:ASR:B#1", "IR270170000000100324200001:D:ASR:B#3"])
        let reject = try #require(out.rejects.first)
        #expect(out.rejects.count == 1)
        #expect(reject.location.line == 10)
        #expect(reject.location.path == "/Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[1]/NtryDtls/TxDtls[2]")
        #expect(reject.message.contains("'1O' is not a valid amount"))
        #expect(out.warnings.isEmpty, "a rejected part explains the difference; no warning on top: \(out.warnings)")
    }

    /// Issue 13: a batch whose parts do not add up to the entry is appended part by part, and the
    /// operator is told (a warning, not a rejected entry).
    @Test func splitPartsThatDoNotAddUpToTheEntryAreAWarning() throws {
        let details = "<NtryDtls>\n<TxDtls><Amt Ccy=\"IRR\">4</Amt></TxDtls>\n<TxDtls><Amt Ccy=\"IRR\">5</Amt></TxDtls>\n</NtryDtls>"
        let out = FormatTestSupport.camt(text: camtDocument(camtEntry(amount: "10", ref: "B", extra: details)))
        #expect(out.error == nil)
        #expect(out.rejects.isEmpty, "\(out.rejects)")
        #expect(out.events.map(\.amount.minorUnits) == [400, 500], "every part is appended with its own amount")
        let warning = try #require(out.warnings.first)
        #expect(out.warnings.count == 1)
        #expect(warning.message.contains("the entry's 2 transaction details (TxDtls) add up to 9.00 IRR, not to the entry's amount 10.00 IRR (Ntry/Amt)"), "\(warning.message)")
        #expect(warning.location.line == 8)
        #expect(warning.location.path == "/Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[1]")
        #expect(warning.warningDescription.contains(".xml:8 (/Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[1]): warning: "), "\(warning.warningDescription)")
    }

    @Test("split parts that add up (a part in the other direction counts against the net) give no warning", arguments: [
        ("<TxDtls><Amt Ccy=\"IRR\">4</Amt></TxDtls><TxDtls><Amt Ccy=\"IRR\">6</Amt></TxDtls>", 2),
        ("<TxDtls><Amt Ccy=\"IRR\">12</Amt></TxDtls><TxDtls><Amt Ccy=\"IRR\">2</Amt><CdtDbtInd>DBIT</CdtDbtInd></TxDtls>", 2),
        // A part in another currency: the sum cannot be checked, so nothing is said.
        ("<TxDtls><Amt Ccy=\"IRR\">4</Amt></TxDtls><TxDtls><Amt Ccy=\"EUR\">1</Amt></TxDtls>", 2),
    ])
    func splitPartsThatAddUp(parts: String, events: Int) throws {
        let out = FormatTestSupport.camt(text: camtDocument(camtEntry(amount: "10", ref: "B", extra: "<NtryDtls>\(parts)</NtryDtls>")))
        #expect(out.rejects.isEmpty, "\(out.rejects)")
        #expect(out.events.count == events)
        #expect(out.warnings.isEmpty, "\(out.warnings)")
    }

    @Test func prefixedNamespacesCommentsAndCDATA() throws {
        let text = """
        <?xml version="1.0" encoding="utf-8"?>
        <!-- exported by a Java core system -->
        <ns2:Document xmlns:ns2="urn:iso:std:iso:20022:tech:xsd:camt.054.001.02"><ns2:BkToCstmrDbtCdtNtfctn>
        <ns2:Ntfctn><ns2:Acct><ns2:Id><ns2:Othr><ns2:Id>ACC-1</ns2:Id></ns2:Othr></ns2:Id></ns2:Acct>
        <ns2:Ntry><ns2:Amt Ccy='EUR'>5.5</ns2:Amt><ns2:CdtDbtInd>DBIT</ns2:CdtDbtInd><ns2:Sts>BOOK</ns2:Sts>
        <ns2:BookgDt><ns2:Dt>2024-01-31</ns2:Dt></ns2:BookgDt><ns2:AddtlNtryInf><![CDATA[Caf\u{E9} <&> "x"]]> &#x2713;&amp;</ns2:AddtlNtryInf></ns2:Ntry>
        </ns2:Ntfctn></ns2:BkToCstmrDbtCdtNtfctn></ns2:Document>
        <?trailer ok?>
        """
        let out = FormatTestSupport.camt(text: text)
        #expect(out.error == nil)
        let e = try #require(out.events.first)
        #expect(e.account.rawValue == "ACC-1")
        #expect(e.amount.decimalString == "5.50")
        #expect(e.description == "Caf\u{E9} <&> \"x\" \u{2713}&")
        #expect(e.source?.line == 5)
    }

    @Test func reversalFlagIsKeptAsAReference() {
        let out = FormatTestSupport.camt(text: camtDocument(camtEntry(extra: "<RvslInd>true</RvslInd>")))
        #expect(out.events.first?.references["Reversal"] == "true")
    }

    @Test func utf16IsRefusedWithAConversionHint() throws {
        let out = FormatTestSupport.camt(bytes: [0xFF, 0xFE, 0x3C, 0x00])
        #expect(try #require(out.error).message.contains("UTF-16"))
    }

    @Test func truncatedFileYieldsTheCompleteEntriesThenAnError() throws {
        let full = try Data(contentsOf: Self.fixtures.appendingPathComponent("camt054.v08.persian.xml"))
        let text = String(decoding: full, as: UTF8.self)
        // Cut inside the second TxDtls of the batch entry.
        let cut = try #require(text.range(of: "<Refs><EndToEndId>PAY-2"))
        let out = FormatTestSupport.camt(text: String(text[..<cut.lowerBound]))
        #expect(out.events.count == 2)  // the salary entry and the batch's first complete TxDtls
        let error = try #require(out.error)
        #expect(error.code == .invalidFormat)
        #expect(error.message.contains("the file ends inside <TxDtls> opened at line 61: it is truncated"), "\(error.message)")
        #expect(error.message.contains("Ntry[3]"), "\(error.message)")
    }

    @Test func invalidUTF8RejectsOnlyItsEntry() throws {
        var bytes = Array(camtDocument(camtEntry(ref: "A") + "\n" + camtEntry(ref: "B", extra: "<AddtlNtryInf>XX</AddtlNtryInf>")).utf8)
        let i = try #require(bytes.firstRange(of: Array("XX".utf8)))
        bytes.replaceSubrange(i, with: [0xC3, 0x28])
        let out = FormatTestSupport.camt(bytes: bytes)
        #expect(out.events.count == 1)
        #expect(out.rejects.first?.message.contains("<AddtlNtryInf> is not valid UTF-8") == true)
    }

    @Test func byteOrderMarkAndCRLFAreAccepted() throws {
        let text = camtDocument(camtEntry()).replacingOccurrences(of: "\n", with: "\r\n")
        let out = FormatTestSupport.camt(bytes: [0xEF, 0xBB, 0xBF] + Array(text.utf8))
        #expect(out.error == nil)
        #expect(out.events.count == 1)
        #expect(out.events.first?.source?.line == 8)
    }

    @Test func aTenMegabyteElementRejectsOnlyItsEntry() throws {
        let huge = String(repeating: "x", count: 10 << 20)
        let out = FormatTestSupport.camt(text: camtDocument(camtEntry(ref: "A") + "\n" + camtEntry(ref: "B", extra: "<AddtlNtryInf>\(huge)</AddtlNtryInf>")
            + "\n" + camtEntry(ref: "C")))
        #expect(out.error == nil)
        #expect(out.events.map { $0.references["AcctSvcrRef"] } == ["A", "C"])
        #expect(out.rejects.first?.message == "<AddtlNtryInf> is longer than \(XMLPullParser.maxTextLength) bytes")
        #expect(out.rejects.first?.location.line == 9)
    }

    @Test func unknownTimeZoneIsAUsageError() throws {
        let path = Self.fixtures.appendingPathComponent("camt054.v05.xml").path
        #expect(throws: IngestError.self) { try Camt054Parser(path: path, displayName: "x", options: ParserOptions(timeZone: "Mars/Olympus")) }
        #expect(throws: IngestError.self) { try Camt054Parser(path: "/nonexistent/file.xml", displayName: "x", options: ParserOptions()) }
    }

    // MARK: versions and mapping

    @Test("versions 05 to 07 map the same way", arguments: ["05", "06", "07"])
    func versions(version: String) throws {
        let out = FormatTestSupport.camt(Self.fixtures.appendingPathComponent("camt054.v\(version).xml").path)
        #expect(out.error == nil)
        let e = try #require(out.events.first)
        #expect(out.events.count == 1)
        #expect(e.id.rawValue == "0105-220-1234567-1:C:ASR:V\(version)-REF-1")
        #expect(e.amount.decimalString == "1\(version).50")
        #expect(e.amount.currency == .eur)
        #expect(e.bookedAt.milliseconds == FormatTestSupport.millis("2024-05-02T07:59:30Z")! + 250)
        #expect(e.valueDate?.description == "2024-05-03")
        #expect(e.counterparty == "Jane Doe")
        #expect(e.description == "Invoice \(version)")
        #expect(e.references == ["AcctSvcrRef": "V\(version)-REF-1", "EndToEndId": "E2E-V\(version)"])
        #expect(e.source?.line == 10)
    }

    @Test func v08PersianNotification() throws {
        let path = Self.fixtures.appendingPathComponent("camt054.v08.persian.xml").path
        let out = FormatTestSupport.camt(path, ParserOptions(timeZone: "Asia/Tehran"))
        #expect(out.error == nil)
        #expect(out.rejects.isEmpty)
        try #require(out.events.count == 5)  // the pending (PDNG) entry is not notified
        let salary = out.events[0]
        #expect(salary.id.rawValue == "IR270170000000100324200001:C:UETR:eb6305c9-1f7f-49de-aed0-16487c27b42d")
        #expect(salary.amount.minorUnits == 12_500_000_000)
        #expect(salary.counterparty == "شرکت نمونه & پسران")
        #expect(salary.description == "واریز حقوق اسفند ۱۴۰۲")
        #expect(salary.bookedAt.milliseconds == FormatTestSupport.millis("2024-03-20T05:45:00Z"))
        #expect(salary.references["EndToEndId"] == nil)
        #expect(salary.references["NtryRef"] == "1")
        let (book, taxi) = (out.events[1], out.events[2])
        #expect(book.id.rawValue == "IR270170000000100324200001:D:ASR:BMI-240320-BATCH#1")
        #expect(taxi.id.rawValue == "IR270170000000100324200001:D:ASR:BMI-240320-BATCH#2")
        #expect(book.amount.minorUnits == 200_000_000 && taxi.amount.minorUnits == 150_000_000)
        #expect(book.counterparty == "فروشگاه کتاب" && book.description == "خرید کتاب" && book.references["TxId"] == "TX-1")
        #expect(taxi.description == "سفر")
        // Two identical coffees without references: content hashes that differ by occurrence.
        let (c1, c2) = (out.events[3], out.events[4])
        #expect(c1.id.rawValue.hasPrefix("H") && c2.id.rawValue.hasPrefix("H") && c1.id != c2.id)
        let fields = ["IR270170000000100324200001", "D", "450000.00", "IRR", "2024-03-20", "", "", "کافه"]
        #expect(c1.id == EventIDs.contentHash(fields + ["1"]))
        #expect(c2.id == EventIDs.contentHash(fields + ["2"]))
        // Local booking dates are midnight in the given zone (Tehran is UTC+03:30).
        #expect(c1.bookedAt.milliseconds == FormatTestSupport.millis("2024-03-19T20:30:00Z"))
        // Re-reading the same file gives the same ids.
        #expect(FormatTestSupport.camt(path, ParserOptions(timeZone: "Asia/Tehran")).events.map(\.id) == out.events.map(\.id))
    }

    @Test("sniffing recognises camt.054 only", arguments: [
        ("<?xml version=\"1.0\"?>\n<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.054.001.02\">", true),
        ("\u{FEFF}  <Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.054.001.08\">", true),
        ("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.08\">", false),
        (":20:REF\n:25:123", false),
        ("account,amount\n1,2", false),
        ("", false),
    ])
    func sniff(text: String, expected: Bool) {
        #expect(Camt054Parser.sniff(Array(text.utf8)[...]) == expected)
    }
}
