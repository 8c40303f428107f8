import ChaparModels
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import Ingest

/// Throughput and memory of the bank-format parsers on generated files. Off by default (it writes
/// ~100 MB); run in a release build:
///
///     CHAPAR_FORMATS_BENCH=100000 swift test -c release -Xswiftc -enable-testing \
///         --scratch-path .build-release-tests --filter FormatsBenchmark
enum FormatsBenchmarkSupport {
    static var entries: Int? { ProcessInfo.processInfo.environment["CHAPAR_FORMATS_BENCH"].flatMap(Int.init) }

    /// Resident set size and its high-water mark, in MiB (Linux `/proc/self/status`).
    static func rss() -> (current: Double, peak: Double) {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return (0, 0) }
        func field(_ name: String) -> Double {
            for line in s.split(separator: "\n") where line.hasPrefix(name) {
                return Double(line.split(separator: " ").dropFirst().first { !$0.isEmpty }.flatMap { Double($0) } ?? 0) / 1024
            }
            return 0
        }
        return (field("VmRSS:"), field("VmHWM:"))
    }

    static let words = ["خرید", "کارت", "فروشگاه", "واریز", "حقوق", "انتقال", "پایا", "ساتنا", "قبض", "برق", "شارژ", "همراه"]

    /// A camt.054.001.08 notification with `count` entries over 1,000 Iranian accounts (one Ntfctn
    /// per account block), each with one TxDtls, UETR, Persian remittance text.
    static func writeCamt(count: Int, to path: String) {
        precondition(FileManager.default.createFile(atPath: path, contents: nil), "cannot create \(path)")
        let h = FileHandle(forWritingAtPath: path)!
        var buf = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.054.001.08\">\n<BkToCstmrDbtCdtNtfctn>\n<GrpHdr><MsgId>BENCH</MsgId><CreDtTm>2024-03-20T10:00:00+03:30</CreDtTm></GrpHdr>\n"
        var rng = FormatsFuzzRNG(seed: 42)
        let perNotification = 100
        for i in 0..<count {
            if i % perNotification == 0 {
                if i > 0 { buf += "</Ntfctn>\n" }
                let iban = IBAN.make(country: "IR", bban: "0170" + String(1_000_000_000_000_000 + (i / perNotification) % 1000).suffix(18))
                buf += "<Ntfctn><Id>N\(i)</Id><Acct><Id><IBAN>\(iban)</IBAN></Id></Acct>\n"
            }
            let amount = Int.random(in: 1000...50_000_000, using: &rng)
            let credit = rng.next() % 3 == 0
            let text = (0..<4).map { _ in words.randomElement(using: &rng)! }.joined(separator: " ")
            buf += """
            <Ntry><Amt Ccy="IRR">\(amount)</Amt><CdtDbtInd>\(credit ? "CRDT" : "DBIT")</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
            <BookgDt><DtTm>2024-03-20T\(10 + i % 10):\(10 + i % 50):00+03:30</DtTm></BookgDt><ValDt><Dt>2024-03-20</Dt></ValDt>
            <AcctSvcrRef>BMI\(i)</AcctSvcrRef>
            <NtryDtls><TxDtls><Refs><EndToEndId>E2E\(i)</EndToEndId><UETR>\(uuid(&rng))</UETR></Refs>
            <RltdPties><\(credit ? "Dbtr" : "Cdtr")><Pty><Nm>مشتری \(i % 977)</Nm></Pty></\(credit ? "Dbtr" : "Cdtr")></RltdPties>
            <RmtInf><Ustrd>\(text)</Ustrd></RmtInf></TxDtls></NtryDtls>
            </Ntry>

            """
            if buf.utf8.count > 1 << 20 { h.write(Data(buf.utf8)); buf = "" }
        }
        buf += "</Ntfctn>\n</BkToCstmrDbtCdtNtfctn>\n</Document>\n"
        h.write(Data(buf.utf8))
        try? h.close()
    }

    static func uuid(_ rng: inout FormatsFuzzRNG) -> String {
        let a = String(rng.next(), radix: 16).padding(toLength: 16, withPad: "0", startingAt: 0)
        let b = String(rng.next(), radix: 16).padding(toLength: 16, withPad: "0", startingAt: 0)
        let s = Array(a + b)
        return String(s[0..<8]) + "-" + String(s[8..<12]) + "-4" + String(s[13..<16]) + "-8" + String(s[17..<20]) + "-" + String(s[20..<32])
    }

    /// An MT940 file of `count` entries in statements of 100, with reconciling balances.
    static func writeMT940(count: Int, to path: String) {
        precondition(FileManager.default.createFile(atPath: path, contents: nil), "cannot create \(path)")
        let h = FileHandle(forWritingAtPath: path)!
        var buf = ""
        var rng = FormatsFuzzRNG(seed: 7)
        var i = 0
        while i < count {
            let n = min(100, count - i)
            let iban = IBAN.make(country: "IR", bban: "0170" + String(1_000_000_000_000_000 + (i / 100) % 1000).suffix(18))
            var balance = 1_000_000_000
            buf += ":20:ST\(i)\n:25:\(iban)\n:28C:\(i / 100 + 1)/1\n:60F:C240320IRR\(balance),\n"
            for k in 0..<n {
                let amount = Int.random(in: 1000...500_000, using: &rng)
                let credit = rng.next() % 3 == 0
                balance += credit ? amount : -amount
                let text = (0..<4).map { _ in words.randomElement(using: &rng)! }.joined(separator: " ")
                buf += ":61:2403200320\(credit ? "C" : "D")\(amount),NTRFNONREF//B\(i + k)\n:86:/EREF/E2E\(i + k)/REMI/USTD//\(text)/NAME/مشتری \(k)/\n"
            }
            buf += ":62F:C240320IRR\(balance),\n-\n"
            i += n
            if buf.utf8.count > 1 << 20 { h.write(Data(buf.utf8)); buf = "" }
        }
        h.write(Data(buf.utf8))
        try? h.close()
    }
}

@Suite("bank-format throughput", .serialized, .enabled(if: FormatsBenchmarkSupport.entries != nil))
struct FormatsBenchmarkTests {
    @Test func camt054() throws {
        let count = FormatsBenchmarkSupport.entries ?? 0
        let path = NSTemporaryDirectory() + "chapar-bench-camt054.xml"
        FormatsBenchmarkSupport.writeCamt(count: count, to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        let before = FormatsBenchmarkSupport.rss()
        let clock = ContinuousClock()
        var events = 0
        let elapsed = try clock.measure {
            var p = try Camt054Parser(path: path, displayName: "bench.xml", options: ParserOptions())
            while let e = try p.next() { if case .event = e { events += 1 } }
        }
        let after = FormatsBenchmarkSupport.rss()
        let seconds = Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds)
        print(String(format: "camt.054: %d entries, %.1f MB in %.3f s = %.0f entries/s, %.1f MB/s; RSS %.1f -> %.1f MiB (peak %.1f)",
                     events, Double(size) / 1e6, seconds, Double(events) / seconds, Double(size) / 1e6 / seconds, before.current, after.current, after.peak))
        #expect(events == count)

        #if canImport(FoundationXML)
        // Foundation's XMLParser over an InputStream, only counting <Ntry> elements, for comparison.
        final class Counter: NSObject, XMLParserDelegate {
            var entries = 0
            func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
                if elementName == "Ntry" { entries += 1 }
            }
        }
        let counter = Counter()
        let xmlElapsed = clock.measure {
            let parser = XMLParser(stream: InputStream(fileAtPath: path)!)
            parser.delegate = counter
            _ = parser.parse()
        }
        let xmlAfter = FormatsBenchmarkSupport.rss()
        let xs = Double(xmlElapsed.components.attoseconds) / 1e18 + Double(xmlElapsed.components.seconds)
        print(String(format: "Foundation XMLParser(stream:) counting <Ntry> only: %d in %.3f s = %.0f entries/s; RSS %.1f MiB (peak %.1f)",
                     counter.entries, xs, Double(counter.entries) / xs, xmlAfter.current, xmlAfter.peak))
        #endif
    }

    @Test func mt940() throws {
        let count = FormatsBenchmarkSupport.entries ?? 0
        let path = NSTemporaryDirectory() + "chapar-bench-mt940.sta"
        FormatsBenchmarkSupport.writeMT940(count: count, to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        let clock = ContinuousClock()
        var events = 0
        var rejects = 0
        let elapsed = try clock.measure {
            var p = try MT940Parser(path: path, displayName: "bench.sta", options: ParserOptions())
            while let e = try p.next() { if case .event = e { events += 1 } else { rejects += 1 } }
        }
        let after = FormatsBenchmarkSupport.rss()
        let seconds = Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds)
        print(String(format: "MT940: %d entries, %.1f MB in %.3f s = %.0f entries/s; RSS %.1f MiB (peak %.1f)",
                     events, Double(size) / 1e6, seconds, Double(events) / seconds, after.current, after.peak))
        #expect(events == count)
        #expect(rejects == 0)
    }
}
