import ChaparModels
import Foundation
import Testing
@testable import Ingest

/// Issue 13: currencies come from a complete ISO 4217 table, current and historic, with their
/// minor units, so old statements in Deutsche Mark or lire are read, and typos are still refused.
@Suite struct CurrencyTableTests {
    @Test("minor units from ISO 4217, historic codes included", arguments: [
        ("DEM", 2), ("ITL", 0), ("ESP", 0), ("FRF", 2), ("BEF", 0), ("GRD", 0), ("PTE", 0), ("NLG", 2), ("TRL", 0),
        ("IRR", 2), ("BHD", 3), ("JPY", 0), ("CLF", 4), ("UYW", 4), ("KWD", 3), ("ISK", 0), ("MGA", 2), ("MRO", 2),
        ("XAU", 2), ("EUR", 2),
    ])
    func minorUnits(code: String, digits: Int) throws {
        #expect(ISO4217.isAssigned(code), "\(code)")
        #expect(try CurrencyCode(code).minorUnitDigits == digits, "\(code)")
    }

    @Test func theTableIsWellFormedAndComplete() {
        for code in ISO4217.minorUnits.keys {
            #expect(code.utf8.count == 3 && code.utf8.allSatisfy { $0 >= 0x41 && $0 <= 0x5A }, "\(code)")
        }
        let both = Set(ISO4217.current.keys).intersection(ISO4217.historic.keys)
        #expect(both.isEmpty, "a code is current or historic, not both: \(both.sorted())")
        // List one has about 180 codes, list three about 140: a hand-picked list would be far shorter.
        #expect(ISO4217.current.count >= 175, "\(ISO4217.current.count)")
        #expect(ISO4217.historic.count >= 130, "\(ISO4217.historic.count)")
        for typo in ["IRT", "EUE", "ERU", "ABC", "TMN"] { #expect(!ISO4217.isAssigned(typo), "\(typo)") }
    }

    @Test func anOldMT940StatementInDeutscheMarkIsReadWithItsMinorUnits() throws {
        let text = [":20:OLD", ":25:DE89370400440532013000", ":28C:1/1", ":60F:C981231DEM1000,50",
                    ":61:9901040104D250,25NTRFNONREF//DM1", ":86:Miete", ":62F:C990104DEM750,25", "-", ""].joined(separator: "\n")
        let out = FormatTestSupport.mt940(text: text)
        #expect(out.rejects.isEmpty && out.warnings.isEmpty, "\(out.rejects) \(out.warnings)")
        let e = try #require(out.events.first)
        #expect(e.amount == Money(minorUnits: 25_025, currency: try CurrencyCode("DEM")))
        #expect(e.balanceAfter?.decimalString == "750.25", "the statement reconciles in DEM")
    }

    @Test func lireHaveNoDecimalsAndAFractionIsRejectedOnItsLine() throws {
        let text = [":20:OLD", ":25:IT60X0542811101000000123456", ":28C:1/1", ":60F:C981231ITL1500000,",
                    ":61:9901040104D250000,NTRFNONREF//L1", ":61:9901040104D12,50NTRFNONREF//L2", ":62F:C990104ITL1250000,", "-", ""].joined(separator: "\n")
        let out = FormatTestSupport.mt940(text: text)
        #expect(out.events.map(\.amount.minorUnits) == [250_000])
        let reject = try #require(out.rejects.first)
        #expect(reject.location.line == 6)
        #expect(reject.message.contains("ITL has 0 decimal places"), "\(reject.message)")
    }

    @Test func camtAndCSVAcceptHistoricCodesAndRefuseTypos() throws {
        let camt = FormatTestSupport.camt(text: camtDocument(camtEntry(amount: "1500", ccy: "ESP")))
        #expect(camt.events.first?.amount == Money(minorUnits: 1500, currency: try CurrencyCode("ESP")), "\(camt.rejects)")
        let typo = FormatTestSupport.camt(text: camtDocument(camtEntry(ccy: "ERU")))
        #expect(typo.rejects.first?.message.contains("'ERU' is not an ISO 4217 currency code") == true, "\(typo.rejects)")
        let csv = try Fixture.csv(Fixture.header + "T1,\(Fixture.account),debit,12.50,FRF,,2001-11-24,,,,\n")
        #expect(csv.entries.first?.transaction?.amount == Money(minorUnits: 1250, currency: try CurrencyCode("FRF")), "\(csv.entries)")
    }
}
