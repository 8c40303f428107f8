import ChaparModels
import Foundation
import Testing
@testable import Ingest

/// MT940/MT942 statements of real banks as published with github.com/wolph/mt940
/// (`mt940_tests/`, BSD-3-Clause, see `/work/shared/samples/SOURCES.md`), read in place and compared
/// with that library's own parse (`.yml` beside each sample).
@Suite("MT940 golden samples", .enabled(if: FormatTestSupport.samplesAvailable, FormatTestSupport.samplesMissing))
struct MT940GoldenTests {
    struct PeerTx {
        var amount = ""
        var currency = ""
        var date: CalendarDate?
        var entryDate: CalendarDate?
        var customerReference: String?
        var bankReference: String?
        var status = ""
        var type = ""
    }

    /// A line-based reading of the peer's YAML dump: just the transaction fields compared here.
    static func peer(_ name: String) throws -> [PeerTx] {
        let text = try String(contentsOf: FormatTestSupport.samples.appendingPathComponent("mt940/\(name).yml"), encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var out: [PeerTx] = []
        var inTransactions = false
        var i = 0
        func unquote(_ s: String) -> String? {
            if s == "null" { return nil }
            if s.hasPrefix("'") && s.hasSuffix("'") && s.count >= 2 { return String(s.dropFirst().dropLast()) }
            return s
        }
        func date(at j: Int) -> CalendarDate? {
            guard j + 2 < lines.count, lines[j + 1].contains("!!binary"),
                  let d = Data(base64Encoded: lines[j + 2].trimmingCharacters(in: .whitespaces)), d.count == 4 else { return nil }
            return try? CalendarDate(year: Int(d[0]) << 8 | Int(d[1]), month: Int(d[2]), day: Int(d[3]))
        }
        while i < lines.count {
            let l = lines[i]
            if l == "transactions:" { inTransactions = true }
            if inTransactions {
                if l.hasPrefix("- !!python/object:mt940.models.Transaction") { out.append(PeerTx()) }
                if !out.isEmpty {
                    if l.hasPrefix("      amount: !!python/object/apply:decimal.Decimal") {
                        out[out.count - 1].amount = String(lines[i + 1].trimmingCharacters(in: .whitespaces).dropFirst(2)).replacingOccurrences(of: "'", with: "")
                    } else if l.hasPrefix("    currency: ") {
                        out[out.count - 1].currency = String(l.dropFirst(14))
                    } else if l.hasPrefix("    date: ") {
                        out[out.count - 1].date = date(at: i)
                    } else if l.hasPrefix("    entry_date: ") {
                        out[out.count - 1].entryDate = date(at: i)
                    } else if l.hasPrefix("    customer_reference: ") {
                        out[out.count - 1].customerReference = unquote(String(l.dropFirst(24)))?.trimmingCharacters(in: .whitespaces)
                    } else if l.hasPrefix("    bank_reference: ") {
                        out[out.count - 1].bankReference = unquote(String(l.dropFirst(20)))
                    } else if l.hasPrefix("    status: ") {
                        out[out.count - 1].status = String(l.dropFirst(12))
                    } else if l.hasPrefix("    id: ") {
                        out[out.count - 1].type = String(l.dropFirst(8))
                    }
                }
            }
            i += 1
        }
        return out
    }

    @Test("matches the peer's amounts, dates, directions and references", arguments: ["abnamro", "ing", "rabobank", "mt942"])
    func matchesPeer(name: String) throws {
        let out = FormatTestSupport.mt940(FormatTestSupport.samples.appendingPathComponent("mt940/\(name).sta").path)
        #expect(out.error == nil)
        let peer = try Self.peer(name)
        try #require(out.events.count == peer.count)
        for (e, p) in zip(out.events, peer) {
            let magnitude = p.amount.hasPrefix("-") ? String(p.amount.dropFirst()) : p.amount
            #expect(e.amount == (try Money(parsing: Substring(magnitude), currency: CurrencyCode(p.currency))))
            #expect(e.direction == (p.status.hasSuffix("D") ? .debit : .credit))
            #expect(e.valueDate == p.date)
            let booking = p.entryDate ?? p.date
            #expect(e.bookedAt.milliseconds == Int64(try #require(booking).daysSinceEpoch) * 86_400_000)
            #expect(e.references["TransactionType"] == p.type)
            let customer = p.customerReference == "NONREF" ? nil : p.customerReference
            #expect(e.references["CustomerReference"] == customer)
            #expect(e.references["BankReference"] == p.bankReference)
        }
    }

    @Test func abnAmroStatementsThatDoNotReconcileAreReportedOnTheClosingBalance() {
        let out = FormatTestSupport.mt940(FormatTestSupport.samples.appendingPathComponent("mt940/abnamro.sta").path)
        #expect(out.events.count == 10)
        #expect(out.events.allSatisfy { $0.account.rawValue == "517852257" && $0.balanceAfter == nil })
        // Both anonymised statements' balances disagree with their entries.
        #expect(out.rejects.isEmpty, "every entry is appended: \(out.rejects)")
        #expect(out.warnings.map(\.location.line) == [27, 40])
        #expect(out.warnings.first?.message.contains("does not equal the opening balance plus the entries (2914.84 EUR)") == true)
    }

    @Test func rabobankAccountLosesItsCurrencySuffixAndReconciledBalancesAreKept() throws {
        let out = FormatTestSupport.mt940(FormatTestSupport.samples.appendingPathComponent("mt940/rabobank.sta").path)
        #expect(out.events.map(\.account.rawValue) == ["1291.99.348", "1291.99.348", "1291.99.348", "1526.89.184", "1526.89.184"])
        // The last statement reconciles (4196.12 − 88.10 − 6.20 = 4101.82): balances are reported.
        #expect(out.events[3].balanceAfter?.decimalString == "4108.02")
        #expect(out.events[4].balanceAfter?.decimalString == "4101.82")
        #expect(out.events[0].balanceAfter == nil)
        // The same customer reference on two different payments must not give the same id.
        #expect(out.events[3].id != out.events[4].id)
        #expect(out.events[0].references["SupplementaryDetails"] == "W.P. Jansen")
        #expect(out.rejects.isEmpty, "\(out.rejects)")
        #expect(out.warnings.count == 2, "\(out.warnings)")
    }

    @Test func mt942UsesTheBankReferenceForIdsAndChecksTheTotals() {
        let out = FormatTestSupport.mt940(FormatTestSupport.samples.appendingPathComponent("mt940/mt942.sta").path)
        #expect(out.rejects.isEmpty, "\(out.rejects)")
        #expect(out.events.map(\.id.rawValue) == [
            "PL29114010810000267002001002:C:BREF:MB170119012058",
            "PL29114010810000267002001002:C:BREF:MB170119012085",
            "PL29114010810000267002001002:C:BREF:MB170119012121",
        ])
        #expect(out.events.allSatisfy { $0.amount.currency.rawValue == "PLN" })
    }

    @Test func ingStatementInformationAfterTheClosingBalanceIsNotNarrative() {
        let out = FormatTestSupport.mt940(FormatTestSupport.samples.appendingPathComponent("mt940/ing.sta").path)
        #expect(out.events.last?.description == "0111111111 Hr S Marechal ROSMALEN Hr S Marechal ROSMALEN Betaling transactiedatum: 22-07-2010")
        #expect(out.events.last?.references["CustomerReference"] == nil)
        #expect(out.events[2].references["CustomerReference"] == "TMG TANGO")
        // 0.00 − 50.27 + 4.68 ≠ 3.47: the anonymised sample does not reconcile either.
        #expect(out.rejects.isEmpty, "\(out.rejects)")
        #expect(out.warnings.map(\.location.line) == [26])
    }
}
