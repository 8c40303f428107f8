import ChaparModels
import Foundation
import Testing
@testable import Ingest

/// camt.054 samples written by others (github.com/genkgo/camt `test/data/`, MIT, see
/// `/work/shared/samples/SOURCES.md`), read in place and compared with that library's own parse
/// (`.json` beside each sample). Differences are explained in docs/formats-camt054-mt940.md.
@Suite("camt.054 golden samples", .enabled(if: FormatTestSupport.samplesAvailable, FormatTestSupport.samplesMissing))
struct Camt054GoldenTests {
    struct PeerTx {
        var minorUnits: Int64
        var currency: String
        var endToEnd: String?
    }

    /// The peer's reading: per entry, its transactions (TxDtls with amounts) or the entry itself.
    static func peer(_ name: String) throws -> (account: String, booking: [String], value: [String], asr: [String], txs: [[PeerTx]]) {
        let url = FormatTestSupport.samples.appendingPathComponent("camt054/\(name).json")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let entries = try #require(root["getEntries"] as? [[String: Any]])
        var account = ""
        var booking: [String] = [], value: [String] = [], asr: [String] = [], txs: [[PeerTx]] = []
        for e in entries {
            let record = e["getRecord"] as? [String: Any]
            account = ((record?["getAccount"] as? [String: Any])?["getIdentification"] as? String) ?? ""
            booking.append(((e["getBookingDate"] as? [String: Any])?["0"] as? String) ?? "")
            value.append(((e["getValueDate"] as? [String: Any])?["0"] as? String) ?? "")
            asr.append(e["getAccountServicerReference"] as? String ?? "")
            let single = e["getTransactionDetail"] as? [String: Any]
            let details: [[String: Any]] = (e["getTransactionDetails"] as? [Any] ?? []).compactMap { ($0 as? String) == "__RECURSIVITY__" ? single : $0 as? [String: Any] }
            func money(_ m: Any?) -> (Int64, String)? {
                guard let m = m as? [String: Any], let a = m["getAmount"] as? String, let v = Int64(a),
                      let c = (m["getCurrency"] as? [String: Any])?["getCode"] as? String else { return nil }
                return (abs(v), c)
            }
            let withAmounts = details.compactMap { d -> PeerTx? in
                guard let (v, c) = money(d["getAmount"]) else { return nil }
                return PeerTx(minorUnits: v, currency: c, endToEnd: (d["getReference"] as? [String: Any])?["getEndToEndId"] as? String)
            }
            if !withAmounts.isEmpty && withAmounts.count == details.count {
                txs.append(withAmounts)
            } else {
                let (v, c) = try #require(money(e["getAmount"]))
                let e2e = (details.first?["getReference"] as? [String: Any])?["getEndToEndId"] as? String
                txs.append([PeerTx(minorUnits: v, currency: c, endToEnd: e2e)])
            }
        }
        return (account, booking, value, asr, txs)
    }

    @Test("matches the peer's amounts, currencies, account, dates and references", arguments: ["camt054.v2", "camt054.v4"])
    func matchesPeer(name: String) throws {
        let path = FormatTestSupport.samples.appendingPathComponent("camt054/\(name).xml").path
        let out = FormatTestSupport.camt(path)
        #expect(out.error == nil)
        #expect(out.rejects.isEmpty, "\(out.rejects)")
        let peer = try Self.peer(name)
        let expected = peer.txs.flatMap { $0 }
        try #require(out.events.count == expected.count)
        for (event, tx) in zip(out.events, expected) {
            #expect(event.amount.minorUnits == tx.minorUnits)
            #expect(event.amount.currency.rawValue == tx.currency)
            #expect(event.references["EndToEndId"] == tx.endToEnd)
            #expect(event.account.rawValue == peer.account)
            // The peer reads BookgDt/Dt as UTC midnight; the options here say UTC too.
            #expect(event.bookedAt.milliseconds == FormatTestSupport.millis(peer.booking[0]))
            #expect(event.valueDate?.description == String(peer.value[0].prefix(10)))
            #expect(event.references["AcctSvcrRef"] == peer.asr[0])
            #expect(event.source?.path?.hasPrefix("/Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[1]") == true)
        }
    }

    @Test func v2BatchWithoutAmountsIsOneEventForTheEntry() throws {
        let out = FormatTestSupport.camt(FormatTestSupport.samples.appendingPathComponent("camt054/camt054.v2.xml").path)
        let e = try #require(out.events.first)
        #expect(out.events.count == 1)
        #expect(e.direction == .debit)
        #expect(e.amount == Money(minorUnits: 20_000_000, currency: try CurrencyCode("SEK")))
        #expect(e.id.rawValue == "CH2801234000123456789:D:ASR:AAAASESS-FP-ACCR001")
        #expect(e.description == "Unstructured Remittance Information V1")
        #expect(e.source?.line == 58)
        #expect(e.source?.path == "/Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[1]")
    }

    @Test func v4BatchIsSplitPerTransactionDetail() throws {
        let out = FormatTestSupport.camt(FormatTestSupport.samples.appendingPathComponent("camt054/camt054.v4.xml").path)
        try #require(out.events.count == 3)
        #expect(out.events.map(\.id.rawValue) == [
            "CH2801234000123456789:C:ASR:ACSR160617103200001#1",
            "CH2801234000123456789:C:ASR:ACSR160617103200001#2",
            "CH2801234000123456789:C:ASR:ACSR160617103200001#3",
        ])
        // TxDtls/CdtDbtInd says CRDT (the peer keeps the entry's DBIT; see the docs).
        #expect(out.events.allSatisfy { $0.direction == .credit })
        #expect(out.events[0].counterparty == "UNIFITS GmbH")
        #expect(out.events[0].description == "Unstructured Remittance Information V1")
        #expect(out.events[2].description == "Unstructured Remittance Information V3 block 1 Unstructured Remittance Information V3 block 2")
        // No Ustrd: the structured block's text; the peer shows the creditor reference instead.
        #expect(out.events[1].description == "Additional Remittance Information V2")
        #expect(out.events[1].references["CreditorReference"] == "ISR ref number V2")
        #expect(out.events[1].source?.path == "/Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[1]/NtryDtls/TxDtls[2]")
    }
}
