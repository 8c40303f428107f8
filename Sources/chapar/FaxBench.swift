import ArgumentParser
import ChannelFax
import ChaparDemo
import ChaparModels
import Foundation
import Notifier

/// `chapar bench fax`: fax documents rendered into A4 PDFs on one thread.
struct FaxBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fax",
        abstract: "Fax rendering: bank faxes (70% Persian, 30% English) into A4 PDFs with Pango and Cairo, on one thread.",
        discussion: """
            Builds a pool of up to 1,000 different documents (--kind mixed: 80% debit/credit advices as the fax templates render
            them, 10% login alerts, 10% account statements of 3 to 14 transaction lines, some wrapping, every 50th two pages),
            renders --warmup of them untimed (font loading, caches), then renders --documents timed on this one thread. Prints
            PDFs/s (wall clock and per CPU second), mean PDF size, pages, and the resident set after the warm-up, at the end and
            at its peak. Target: 400 PDFs/s on one core in a release build. Needs fonts-noto-core.
            """)

    @Option(help: "Documents to render (timed).") var documents: Int = 5_000
    @Option(help: "Documents rendered before timing starts.") var warmup: Int = 200
    @Option(help: "Documents: mixed (what the fax templates produce), advice or statement.") var kind: Kind = .mixed
    @Option(help: ArgumentHelp("Write the first Persian and English PDF into this directory, to look at.", valueName: "DIR"))
    var write: String?
    @Option(help: "Pango font families for Persian faxes (default: the renderer's).") var persianFonts: String?
    @Option(help: "Pango font families for English faxes (default: the renderer's).") var latinFonts: String?
    @Flag(help: "Print JSON.") var json = false

    struct Figures: Codable {
        var documents: Int
        var warmup: Int
        var seconds: Double
        var pdfsPerSecond: Double
        /// CPU seconds of the process while timing (one thread renders; the rest is idle).
        var cpuSeconds: Double
        /// Documents per CPU second: the one-core rate even when other processes share the machine.
        var pdfsPerCPUSecond: Double
        var meanKB: Double
        var pages: Int
        var residentAfterWarmupMiB: Double
        var residentEndMiB: Double
        var peakRSSMiB: Double
    }

    func validate() throws {
        guard documents >= 1, warmup >= 0 else { throw ValidationError("--documents must be at least 1 and --warmup at least 0") }
    }

    func run() throws {
        try CLIError.runSync {
            let letterhead = try FaxLetterhead(bankName: "بانک چاپار — Chapar Bank",
                                               lines: ["تهران، خیابان ولیعصر، پلاک ۱۲ — تلفن ۰۲۱-۵۵۵۵۰۱۰۰", "12 Valiasr Ave, Tehran — www.chapar.example"],
                                               senderFax: try FaxNumber("+982155550101"))
            var configuration = FaxRenderer.Configuration()
            if let persianFonts { configuration.persianFonts = persianFonts }
            if let latinFonts { configuration.latinFonts = latinFonts }
            let renderer = try FaxRenderer(letterhead: letterhead, configuration: configuration)
            var random = DemoCustomerRandom(seed: 11)
            let pool = try (0..<min(documents, 1_000)).map { try Self.document($0, kind: kind, random: &random) }

            if let write {
                try FileManager.default.createDirectory(atPath: write, withIntermediateDirectories: true)
                for (language, name) in [(Language.fa, "fax-fa.pdf"), (.en, "fax-en.pdf")] {
                    if let document = pool.first(where: { $0.language == language }) {
                        try Data(try renderer.render(document)).write(to: URL(fileURLWithPath: write + "/" + name))
                    }
                }
            }
            for i in 0..<warmup { _ = try renderer.render(pool[i % pool.count]) }
            let afterWarmup = residentMiB()

            let clock = ContinuousClock()
            let started = clock.now
            let cpuBefore = processCPUSeconds()
            var bytes = 0, pages = 0
            for i in 0..<documents {
                let pdf = try renderer.render(pool[i % pool.count])
                bytes += pdf.count
                pages += Self.pageCount(pdf)
            }
            let seconds = started.duration(to: clock.now).seconds
            let cpu = processCPUSeconds() - cpuBefore
            let figures = Figures(documents: documents, warmup: warmup, seconds: seconds, pdfsPerSecond: Double(documents) / seconds,
                                  cpuSeconds: cpu, pdfsPerCPUSecond: Double(documents) / cpu,
                                  meanKB: Double(bytes) / Double(documents) / 1024, pages: pages,
                                  residentAfterWarmupMiB: afterWarmup, residentEndMiB: residentMiB(), peakRSSMiB: peakResidentMiB())
            if json {
                try printJSON(figures)
            } else {
                print("fax: \(documents) A4 PDFs (\(kind.rawValue), 70% Persian) on one thread after \(warmup) untimed")
                print(String(format: "  %.2f s  %.0f PDFs/s  (target >= 400/s in release)  mean %.1f KB  %d pages", seconds,
                             figures.pdfsPerSecond, figures.meanKB, pages))
                print(String(format: "  %.2f CPU s  %.0f PDFs per CPU second (the one-core rate when other work shares the machine)",
                             cpu, figures.pdfsPerCPUSecond))
                print(String(format: "  RSS %.1f MiB after warm-up, %.1f MiB at the end, peak %.1f MiB (VmHWM)",
                             afterWarmup, figures.residentEndMiB, figures.peakRSSMiB))
            }
        }
    }

    /// Pages of a PDF Cairo wrote (its `/Type /Page` objects). Also checks that the file is complete.
    private static func pageCount(_ pdf: [UInt8]) -> Int {
        precondition(pdf.starts(with: Array("%PDF-".utf8)) && String(decoding: pdf.suffix(8), as: UTF8.self).contains("%%EOF"),
                     "the renderer returned an incomplete PDF")
        let needle = Array("/Type /Page".utf8)
        var count = 0, i = 0
        while let start = pdf[i...].firstIndex(of: needle[0]) {
            let end = start + needle.count
            if end < pdf.count, pdf[start..<end].elementsEqual(needle), pdf[end] != UInt8(ascii: "s") { count += 1 }
            i = start + 1
        }
        return count
    }

    /// Which documents to render.
    enum Kind: String, ExpressibleByArgument, CaseIterable {
        /// What the notifier's fax templates produce: 80% transaction advices (debit or credit:
        /// 4 to 6 lines), 10% security alerts (3 lines), 10% account statements.
        case mixed
        /// Only debit and credit advices.
        case advice
        /// Only account statements: 3 to 14 transaction lines, some wrapping; every 50th 60 lines (two pages).
        case statement
    }

    private static let merchants = [("فروشگاه رفاه", "Refah Store"), ("کافه \u{2066}Lamiz\u{2069}", "Lamiz Coffee"),
                                    ("پمپ بنزین آزادی", "Azadi fuel station"), ("داروخانه دکتر مرادی", "Dr Moradi pharmacy"),
                                    ("اسنپ", "Snapp ride"), ("دیجی‌کالا", "Digikala online"), ("رستوران شاندیز", "Shandiz restaurant")]
    private static let names = [("علی رضایی", "Ali Rezaei"), ("مریم احمدی", "Maryam Ahmadi"), ("حسین کریمی", "Hossein Karimi"),
                                ("زهرا محمدی", "Zahra Mohammadi"), ("سارا نوری", "Sara Nouri"), ("امیر حسینی", "Amir Hosseini")]

    /// Document `n` of the pool: 70% Persian, the rest English; its kind from `kind`.
    private static func document(_ n: Int, kind: Kind, random: inout DemoCustomerRandom) throws -> FaxDocument {
        let language: Language = n % 10 < 7 ? .fa : .en
        let base = Int64(1_773_311_700_000) + Int64(n) * 3_600_000
        let (title, lines): (String, [String])
        switch kind {
        case .advice: (title, lines) = advice(n, language, at: base, random: &random)
        case .statement: (title, lines) = statement(n, language, at: base, random: &random)
        case .mixed:
            switch (n / 10) % 10 {
            case 8: (title, lines) = alert(n, language, at: base)
            case 9: (title, lines) = statement(n, language, at: base, random: &random)
            default: (title, lines) = advice(n, language, at: base, random: &random)
            }
        }
        return FaxDocument(to: try FaxNumber("+98215" + String(5_000_000 + n % 4_000_000)), language: language,
                           createdAt: Timestamp(milliseconds: base), reference: String(format: "%032x", n * 7919 + 1), title: title, lines: lines)
    }

    private static func stamp(_ at: Int64, _ language: Language) -> (date: String, time: String) {
        let local = LocalFormatting.localDayAndMinute(Timestamp(milliseconds: at), offsetSeconds: 12_600)
        return (LocalFormatting.date(daysSinceEpoch: local.day, language), LocalFormatting.time(minuteOfDay: local.minute, language))
    }

    private static func account(_ n: Int, _ language: Language) -> String {
        LocalFormatting.isolated("****" + String(1000 + n % 9000), language)
    }

    /// A debit or credit advice as config/templates/fax/debit.*.mustache and credit.*.mustache render it.
    private static func advice(_ n: Int, _ language: Language, at: Int64, random: inout DemoCustomerRandom) -> (String, [String]) {
        let fa = language == .fa
        let debit = n % 3 != 0
        let amount = LocalFormatting.grouped(UInt64(10_000 + random.next() % 50_000_000) / 1000 * 1000, language)
        let balance = LocalFormatting.grouped(UInt64(50_000_000 + random.next() % 900_000_000), language)
        let merchant = merchants[Int(random.next() % UInt64(merchants.count))]
        let name = names[n % names.count]
        let (date, time) = stamp(at, language)
        var lines: [String]
        if fa {
            lines = ["\(name.0) گرامی،", "مبلغ \(amount) ریال \(debit ? "از" : "به") حساب \(account(n, language)) \(debit ? "برداشت" : "واریز") شد.",
                     "تاریخ: \(date) ساعت \(time)", "شرح: \(debit ? "خرید از \(merchant.0)" : "انتقال وجه")"]
            if !debit { lines.append("طرف حساب: \(names[(n + 1) % names.count].0)") }
            lines.append("مانده: \(balance) ریال")
        } else {
            lines = ["Dear \(name.1),", "\(amount) IRR was \(debit ? "debited from" : "credited to") account \(account(n, language)).",
                     "Date: \(date) \(time)", "Description: \(debit ? "Card purchase at \(merchant.1)" : "Transfer")"]
            if !debit { lines.append("Counterparty: \(names[(n + 1) % names.count].1)") }
            lines.append("Balance: \(balance) IRR")
        }
        return (fa ? "بانک چاپار — \(debit ? "اعلان برداشت" : "اعلان واریز")" : "Chapar Bank — \(debit ? "Debit advice" : "Credit advice")", lines)
    }

    /// A login alert as config/templates/fax/login-alert.*.mustache renders it.
    private static func alert(_ n: Int, _ language: Language, at: Int64) -> (String, [String]) {
        let name = names[n % names.count]
        let (date, time) = stamp(at, language)
        return language == .fa
            ? ("بانک چاپار — هشدار ورود", ["\(name.0) گرامی،", "ورود جدید با اپلیکیشن موبایل از تهران", "تاریخ: \(date) ساعت \(time)"])
            : ("Chapar Bank — login alert", ["Dear \(name.1),", "New sign-in with the mobile app from Tehran", "Date: \(date) \(time)"])
    }

    /// An account statement: 3 to 14 transaction lines (every fifth with a note, so it wraps); every 50th has 60 (two pages).
    private static func statement(_ n: Int, _ language: Language, at base: Int64, random: inout DemoCustomerRandom) -> (String, [String]) {
        let fa = language == .fa
        let count = n % 50 == 49 ? 60 : 3 + Int(random.next() % 12)
        var balance = UInt64(50_000_000 + random.next() % 900_000_000)
        var lines = [fa ? "مشتری گرامی، گردش حساب \(account(n, language)) به شرح زیر است:" : "Dear customer, the transactions on account \(account(n, language)) were:"]
        for k in 0..<count {
            let amount = UInt64(10_000 + random.next() % 50_000_000) / 1000 * 1000
            let debit = random.next() % 4 != 0
            balance = debit ? balance - min(amount, balance) : balance + amount
            let at = LocalFormatting.localDayAndMinute(Timestamp(milliseconds: base + Int64(k) * 5_400_000), offsetSeconds: 12_600)
            let merchant = merchants[Int(random.next() % UInt64(merchants.count))]
            let date = LocalFormatting.numericDate(daysSinceEpoch: at.day, language) + " " + LocalFormatting.time(minuteOfDay: at.minute, language)
            let money = LocalFormatting.grouped(amount, language), rest = LocalFormatting.grouped(balance, language)
            var line = fa
                ? "\(date) — \(debit ? "برداشت" : "واریز") \(money) ریال — \(debit ? merchant.0 : "انتقال از حساب دیگر") — مانده \(rest) ریال"
                : "\(date) — \(debit ? "debit" : "credit") \(money) IRR — \(debit ? merchant.1 : "transfer from another account") — balance \(rest) IRR"
            if k % 5 == 4 {
                line += fa ? " — شرح: پرداخت اینترنتی با کارت، پیگیری \u{2066}\(100_000 + random.next() % 900_000)\u{2069} در درگاه پرداخت الکترونیک"
                    : " — note: online card payment, trace \(100_000 + random.next() % 900_000) at the e-payment gateway"
            }
            lines.append(line)
        }
        lines += ["", fa ? "با سپاس، بانک چاپار" : "Thank you for banking with Chapar Bank."]
        return (fa ? "بانک چاپار — گردش حساب" : "Chapar Bank — account statement", lines)
    }
}

extension FaxError: CLIReportable {
    var exitCode: Int32 {
        switch code {
        case .invalidNumber, .invalidDocument: 65
        case .font, .configuration: 66
        case .rendering: 74
        }
    }

    var cliMessage: String { message }
}
