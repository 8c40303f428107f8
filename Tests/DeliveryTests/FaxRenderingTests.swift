import ChannelFax
import ChaparModels
import Foundation
import Testing

// Fax documents rendered by ChannelFax and read back with poppler-utils: page size and count from
// pdfinfo, the words from pdftotext (compared as sets: pdftotext prints right-to-left runs in
// visual order, so phrases never compare), on every page of a paginated fax.

// Serialized: rendering and poppler are CPU-bound and these tests are synchronous, so in parallel
// they took both cooperative threads of a 2-core machine from the timing-sensitive tests of the run.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct FaxRenderingTests {
    func renderer() throws -> FaxRenderer {
        try FaxRenderer(letterhead: try FaxFixtures.letterhead())
    }

    /// The letterhead's words, as every page must show them.
    var letterheadWords: Set<String> {
        PDFTools.expectedWords(["Chapar Bank", "12 Valiasr Avenue, Tehran 1591834511", "خیابان ولیعصر، تهران · تلفن ۰۲۱۵۵۵۵۰۱۰۰", "+982155550101"])
    }

    @Test func persianFaxIsOneA4PageWithItsWordsTheLetterheadAndAPersianHeader() throws {
        let directory = TestPaths.temporaryDirectory("fax")  // kept with CHAPAR_KEEP_PEERS=1, to look at the PDFs
        defer { TestPaths.removePeerDirectory(directory) }
        let job = FaxFixtures.persianJob()
        let pdf = try renderer().render(try FaxDocument(job: job))
        let path = try PDFTools.write(pdf, to: directory, name: "fa.pdf")
        let info = try PDFTools.info(path)
        #expect(info["Page size"] == "595.28 x 841.89 pts (A4)")
        #expect(info["Pages"] == "1")
        #expect(info["Title"] == FaxFixtures.persianTitle)

        let words = PDFTools.words(try PDFTools.text(path))
        let expected = PDFTools.expectedWords([FaxFixtures.persianTitle] + FaxFixtures.persianLines)
            .union(letterheadWords)
            // The header: to, the Jalali date in Tehran (10:35 UTC is 14:05 there), reference, page 1 of 1.
            .union(PDFTools.expectedWords(["به", "+982155512345", "تاریخ", "۲۱", "اسفند", "۱۴۰۴", "ساعت", "۱۴:۰۵",
                                           "شماره پیگیری", job.id.rawValue, "صفحه ۱ از ۱", "دورنگار"]))
        #expect(expected.subtracting(words).isEmpty, "missing words: \(expected.subtracting(words).sorted()); pdftotext gave \(words.sorted())")
    }

    @Test func englishFaxIsOneA4PageWithItsWordsTheLetterheadAndAnEnglishHeader() throws {
        let directory = TestPaths.temporaryDirectory("fax")  // kept with CHAPAR_KEEP_PEERS=1, to look at the PDFs
        defer { TestPaths.removePeerDirectory(directory) }
        let job = FaxFixtures.englishJob()
        let pdf = try renderer().render(try FaxDocument(job: job))
        #expect(pdf.starts(with: Array("%PDF-".utf8)))
        let path = try PDFTools.write(pdf, to: directory, name: "en.pdf")
        let info = try PDFTools.info(path)
        #expect(info["Page size"] == "595.28 x 841.89 pts (A4)")
        #expect(info["Pages"] == "1")

        let words = PDFTools.words(try PDFTools.text(path))
        let expected = PDFTools.expectedWords([FaxFixtures.englishTitle] + FaxFixtures.englishLines)
            .union(letterheadWords)
            .union(PDFTools.expectedWords(["To", "+982155512345", "Date", "12 Mar 2026", "14:05", "Reference", job.id.rawValue,
                                           "Page 1 of 1", "Fax"]))
        #expect(expected.subtracting(words).isEmpty, "missing words: \(expected.subtracting(words).sorted()); pdftotext gave \(words.sorted())")
    }

    /// A Persian fax is right-aligned (its lines end at the right margin, 50 pt from the edge of
    /// the 595.28 pt page), an English one left-aligned, line by line; the header's second column
    /// (reference, page) sits at the other side.
    @Test(arguments: [Language.fa, .en])
    func linesAreAlignedToTheSideTheLanguageReadsFrom(language: Language) throws {
        let directory = TestPaths.temporaryDirectory("fax")  // kept with CHAPAR_KEEP_PEERS=1, to look at the PDFs
        defer { TestPaths.removePeerDirectory(directory) }
        let job = language == .fa ? FaxFixtures.persianJob() : FaxFixtures.englishJob()
        let path = try PDFTools.write(try renderer().render(try FaxDocument(job: job)), to: directory, name: "align.pdf")
        let lines = try PDFTools.lines(path)
        let (first, last) = language == .fa ? (FaxFixtures.persianTitle, FaxFixtures.persianLines) : (FaxFixtures.englishTitle, FaxFixtures.englishLines)
        let startWords = ([first] + last).compactMap { PDFTools.wordList($0).first }
        for word in startWords + (language == .fa ? ["به", "تاریخ"] : ["To", "Date"]) {
            let line = try #require(lines.first { Self.shows($0, word) }, "no line with '\(word)': \(lines.map(\.words))")
            if language == .fa {
                #expect(abs(line.xMax - 545.28) < 1.5, "'\(word)' line ends at \(line.xMax), not at the right margin: \(line.words)")
            } else {
                #expect(abs(line.xMin - 50) < 1.5, "'\(word)' line starts at \(line.xMin), not at the left margin: \(line.words)")
            }
        }
        let page = try #require(lines.first { Self.shows($0, language == .fa ? "صفحه" : "Page") })
        if language == .fa {
            #expect(abs(page.xMin - 50) < 1.5, "the page number is not at the left: \(page)")
        } else {
            #expect(abs(page.xMax - 545.28) < 1.5, "the page number is not at the right: \(page)")
        }
    }

    /// Whether `line` has `word`. In -bbox-layout pdftotext does not assemble right-to-left words:
    /// it lists their letters one by one in visual order, so a Persian word is found in the line's
    /// letters read backwards.
    static func shows(_ line: PDFTools.TextLine, _ word: String) -> Bool {
        line.words.contains(word) || String(line.words.joined().reversed()).contains(word)
    }

    /// 160 numbered transaction lines, some long enough to wrap: every line appears exactly once,
    /// in order, and every page has the letterhead and its own "page X of Y".
    @Test(arguments: [Language.en, .fa])
    func longFaxContinuesOnFurtherPagesEachWithTheHeader(language: Language) throws {
        let directory = TestPaths.temporaryDirectory("fax")  // kept with CHAPAR_KEEP_PEERS=1, to look at the PDFs
        defer { TestPaths.removePeerDirectory(directory) }
        let lines = (1...160).map { n in
            let marker = "T\(String(format: "%03d", n))"
            let filler = n % 7 == 0 ? String(repeating: language == .fa ? " خرید کارت به کارت از پایانه فروش" : " card to card transfer at a point of sale", count: 4) : ""
            return language == .fa
                ? "\u{2066}\(marker)\u{2069} برداشت ۱٬۲۵۰٬۰۰۰ ریال\(filler)"
                : "\(marker) debit 1,250,000 IRR\(filler)"
        }
        let job = FaxFixtures.job(7, language: language, title: language == .fa ? "صورتحساب" : "Statement", lines: lines)
        let pdf = try renderer().render(try FaxDocument(job: job))
        let path = try PDFTools.write(pdf, to: directory, name: "long-\(language).pdf")
        let info = try PDFTools.info(path)
        let pages = try #require(Int(info["Pages"] ?? ""))
        #expect(pages >= 3, "160 lines should need at least 3 pages, got \(pages)")
        #expect(info["Page size"] == "595.28 x 841.89 pts (A4)")

        var seen: [String] = []
        for page in 1...pages {
            let text = try PDFTools.text(path, page: page)
            let words = PDFTools.words(text)
            let number = language == .fa ? persianDigits(page) : String(page)
            let total = language == .fa ? persianDigits(pages) : String(pages)
            let header = language == .fa
                ? PDFTools.expectedWords(["صفحه", number, "از", total, "شماره پیگیری", job.id.rawValue, "به", "+982155512345"])
                : PDFTools.expectedWords(["Page", number, "of", total, "Reference", job.id.rawValue, "To", "+982155512345"])
            let missing = header.union(letterheadWords).subtracting(words)
            #expect(missing.isEmpty, "page \(page) of \(pages) lacks \(missing.sorted())")
            // The markers in the order pdftotext prints them (top to bottom).
            seen += PDFTools.wordList(text).filter { $0.count == 4 && $0.hasPrefix("T") && Int($0.dropFirst()) != nil }
        }
        #expect(seen == (1...160).map { "T\(String(format: "%03d", $0))" }, "body lines lost, repeated or out of order across pages")
    }

    @Test(arguments: ["", "123", "+", "+12", "12a45678", "++4912345", "49+12345", "0215 551234", "۰۲۱۵۵۵۱۲۳۴", String(repeating: "1", count: 21)])
    func invalidFaxNumbersAreRejectedWithAClearMessage(number: String) throws {
        let error = #expect(throws: FaxError.self) { try FaxNumber(number) }
        #expect(error?.code == .invalidNumber)
        let message = error?.message ?? ""
        #expect(message.contains("4 to 20 digits"), "\(message)")
        if number.count > 6 { #expect(!message.contains(number), "the message shows the whole number: \(message)") }
        // The adapter's path: a job with that address is refused before anything is rendered.
        let jobError = #expect(throws: FaxError.self) { try FaxDocument(job: FaxFixtures.englishJob(address: number)) }
        #expect(jobError?.code == .invalidNumber)
    }

    @Test(arguments: ["1234", "+982155512345", "02155512345", String(repeating: "9", count: 20), "+" + String(repeating: "9", count: 20)])
    func validFaxNumbersAreAccepted(number: String) throws {
        #expect(try FaxNumber(number).rawValue == number)
    }

    @Test func aJobForAnotherChannelIsNotAFax() throws {
        var job = FaxFixtures.englishJob()
        job.content = .sms(text: "hello", encoding: "gsm7", segments: 1)
        job.channel = .sms
        let error = #expect(throws: FaxError.self) { try FaxDocument(job: job) }
        #expect(error?.code == .invalidDocument)
        #expect(error?.message.contains("not a fax") == true)
    }

    @Test(arguments: [(" ", ["Tehran"]), ("Chapar Bank", []), ("Chapar Bank", ["a", "b", "c"]), ("Chapar Bank", ["a\nb"]), ("Chapar Bank", [""])])
    func letterheadNeedsANameAndOneOrTwoLines(name: String, lines: [String]) {
        let error = #expect(throws: FaxError.self) { try FaxLetterhead(bankName: name, lines: lines) }
        #expect(error?.code == .configuration)
    }

    @Test func missingFontsAreAFontErrorNamingThePackage() {
        let configuration = FaxRenderer.Configuration(persianFonts: "Chapar No Such Naskh", latinFonts: "Chapar No Such Sans")
        let error = #expect(throws: FaxError.self) { try FaxRenderer(letterhead: try FaxFixtures.letterhead(), configuration: configuration) }
        #expect(error?.code == .font)
        #expect(error?.message.contains("fonts-noto-core") == true, "\(error?.message ?? "")")
    }

    @Test func anUnknownTimeZoneIsRefused() {
        let configuration = FaxRenderer.Configuration(timeZone: "Mars/Olympus")
        let error = #expect(throws: FaxError.self) { try FaxRenderer(letterhead: try FaxFixtures.letterhead(), configuration: configuration) }
        #expect(error?.code == .configuration)
        #expect(error?.message.contains("Mars/Olympus") == true)
    }

    @Test func charactersNoFontCanShowAreRefusedUnlessAllowed() throws {
        let job = FaxFixtures.job(3, language: .en, title: "Notice", lines: ["Private use \u{10FFFD} character"])
        let error = #expect(throws: FaxError.self) { try renderer().render(try FaxDocument(job: job)) }
        #expect(error?.code == .invalidDocument)
        #expect(error?.message.contains("no installed font") == true, "\(error?.message ?? "")")
        let lenient = try FaxRenderer(letterhead: try FaxFixtures.letterhead(),
                                      configuration: FaxRenderer.Configuration(rejectsUnknownCharacters: false))
        #expect(try lenient.render(try FaxDocument(job: job)).count > 1000)
    }

    @Test func aFaxLongerThanTheLimitIsRefused() throws {
        let limited = try FaxRenderer(letterhead: try FaxFixtures.letterhead(), configuration: FaxRenderer.Configuration(maxPages: 2))
        let job = FaxFixtures.job(4, language: .en, title: "Statement", lines: (1...200).map { "Line \($0)" })
        let error = #expect(throws: FaxError.self) { try limited.render(try FaxDocument(job: job)) }
        #expect(error?.code == .invalidDocument)
        #expect(error?.message.contains("the limit is 2") == true, "\(error?.message ?? "")")
    }

    @Test func emptyTitleAndBodyStillMakeOnePage() throws {
        let directory = TestPaths.temporaryDirectory("fax")  // kept with CHAPAR_KEEP_PEERS=1, to look at the PDFs
        defer { TestPaths.removePeerDirectory(directory) }
        let job = FaxFixtures.job(5, language: .fa, title: "", lines: [])
        let path = try PDFTools.write(try renderer().render(try FaxDocument(job: job)), to: directory, name: "empty.pdf")
        #expect(try PDFTools.info(path)["Pages"] == "1")
    }

    /// One renderer shared by threads, as the delivery workers will: a document renders to the
    /// same bytes on every thread, every time (the PDF's creation date is the job's).
    @Test func oneRendererServesSeveralThreadsWithTheSameBytes() async throws {
        let renderer = try renderer()
        let documents = [try FaxDocument(job: FaxFixtures.persianJob()), try FaxDocument(job: FaxFixtures.englishJob())]
        let expected = try documents.map { try renderer.render($0) }
        let mismatches = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    try await offPool { try (0..<25).filter { try renderer.render(documents[$0 % 2]) != expected[$0 % 2] }.count }
                }
            }
            var total = 0
            for try await count in group { total += count }
            return total
        }
        #expect(mismatches == 0, "\(mismatches) of 100 renders on 4 threads differed from the first render")
    }

    /// Thousands of renders in one process keep the resident set flat: every Pango, Cairo and GLib
    /// object is freed. Measured in a child (`chapar bench fax --json`), so that the other tests of
    /// this run, allocating meanwhile, do not move the figure.
    @Test func manyRendersKeepMemoryFlat() async throws {
        // 1,000 renders: leaking one Pango layout per render grew RSS by about 90 MiB over them,
        // far past the bound. Run off the cooperative pool: the child takes ~20 s in a debug build.
        let result = try await offPool { try ChaparCLI.run(["bench", "fax", "--documents", "1000", "--json"], timeout: .seconds(240)) }
        try #require(result.status == 0, "chapar bench fax failed: \(result.stderr)")
        let figures = try JSONDecoder().decode(FaxBenchFigures.self, from: Data(result.stdout.utf8))
        #expect(figures.documents == 1000)
        let growth = figures.residentEndMiB - figures.residentAfterWarmupMiB
        #expect(growth < 12, "RSS grew \(growth) MiB over \(figures.documents - figures.warmup) renders after warm-up (\(figures.residentAfterWarmupMiB) → \(figures.residentEndMiB) MiB)")
    }

    struct FaxBenchFigures: Decodable {
        var documents: Int
        var warmup: Int
        var residentAfterWarmupMiB: Double
        var residentEndMiB: Double
    }

    func persianDigits(_ n: Int) -> String {
        String(String(n).unicodeScalars.map { Character(Unicode.Scalar($0.value - 0x30 + 0x06F0) ?? $0) })
    }
}
