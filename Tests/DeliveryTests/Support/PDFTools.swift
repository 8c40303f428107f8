import ChannelFax
import ChaparModels
import Foundation

// Fax documents for the fax tests, and poppler-utils (pdfinfo, pdftotext) to read PDFs back.

/// Jobs and a letterhead with realistic Persian and English bank text.
enum FaxFixtures {
    /// Latin name with a Persian address line, so both scripts appear on every page.
    static func letterhead() throws -> FaxLetterhead {
        try FaxLetterhead(bankName: "Chapar Bank", lines: ["12 Valiasr Avenue, Tehran 1591834511", "خیابان ولیعصر، تهران · تلفن ۰۲۱۵۵۵۵۰۱۰۰"],
                          senderFax: try FaxNumber("+982155550101"))
    }

    static let persianTitle = "بانک چاپار — صورتحساب تراکنش‌ها"
    static let persianLines = [
        "مشتری گرامی،",
        "مبلغ ۱۲٬۵۰۰٬۰۰۰ ریال از حساب \u{2066}****0002\u{2069} برداشت شد.",
        "",
        "تاریخ: ۲۱ اسفند ۱۴۰۴ ساعت ۱۴:۰۵",
        "مانده: ۹۸٬۷۶۵٬۴۳۲ ریال",
        "شرح: خرید از فروشگاه \u{2066}Lamiz 2\u{2069} تهران",
    ]
    static let englishTitle = "Chapar Bank — Transaction statement"
    static let englishLines = [
        "Dear customer,",
        "12,500,000 IRR was debited from account ****0002.",
        "",
        "Date: 12 Mar 2026 14:05",
        "Balance: 98,765,432 IRR",
        "Description: Card purchase at Lamiz Coffee, Tehran",
    ]

    /// A fax job for `address` in `language`, created at 2026-03-12 10:35 UTC.
    static func job(_ n: Int, language: Language, title: String, lines: [String], address: String = "+982155512345") -> DeliveryJob {
        let event = try! EventID("FAX-\(n)")  // literal test ids
        let customer = try! CustomerID("C\(String(format: "%07d", n))")
        return DeliveryJob(id: JobID(event: event, customer: customer, channel: .fax), event: event, customer: customer, channel: .fax,
                           priority: .normal, kind: .debit, address: address, language: language,
                           content: .fax(title: title, lines: lines), createdAt: Timestamp(milliseconds: 1_773_311_700_000))
    }

    static func persianJob(_ n: Int = 1, address: String = "+982155512345") -> DeliveryJob {
        job(n, language: .fa, title: persianTitle, lines: persianLines, address: address)
    }

    static func englishJob(_ n: Int = 2, address: String = "+982155512345") -> DeliveryJob {
        job(n, language: .en, title: englishTitle, lines: englishLines, address: address)
    }
}

/// pdfinfo and pdftotext (Debian poppler-utils) on a PDF file.
enum PDFTools {
    /// Writes `bytes` to `directory/name` and returns the path.
    static func write(_ bytes: [UInt8], to directory: String, name: String) throws -> String {
        let path = directory + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// pdfinfo's `Key: value` lines.
    static func info(_ path: String) throws -> [String: String] {
        let output = try run("/usr/bin/pdfinfo", [path])
        var fields: [String: String] = [:]
        for line in output.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return fields
    }

    /// The text of the whole document, or of page `page` (1-based). Layout order, not `-raw`.
    static func text(_ path: String, page: Int? = nil) throws -> String {
        let pages = page.map { ["-f", "\($0)", "-l", "\($0)"] } ?? []
        return try run("/usr/bin/pdftotext", pages + ["-enc", "UTF-8", path, "-"])
    }

    /// The words of `text` as a set (see ``wordList(_:)``).
    static func words(_ text: String) -> Set<String> { Set(wordList(text)) }

    /// The words of `text` in the order pdftotext printed them (lines top to bottom), normalised
    /// so that what pdftotext prints and what the fax was given compare:
    ///
    /// - bidi controls removed (pdftotext wraps right-to-left runs in U+202B … U+202C, and the
    ///   notifier isolates Latin runs with U+2066 … U+2069), and the zero-width (non-)joiner,
    ///   which shapes letters but is not a glyph of its own and so is not in the PDF's text;
    /// - NFC;
    /// - split at white space and at punctuation that separates words;
    /// - split where the script changes between Arabic letters, Arabic-Indic digits and
    ///   anything else. pdftotext prints a right-to-left line in visual order and, where a Latin
    ///   or number run meets Persian, puts the space on the wrong side of the run (`به+9821…`,
    ///   `۱۲٬۵۰۰٬۰۰۰ریال`), so words are only ever compared as such, never phrases.
    static func wordList(_ text: String) -> [String] {
        let dropped = Set<UInt32>([0x200C, 0x200D, 0x200E, 0x200F] + Array(0x202A...0x202E) + Array(0x2066...0x2069))
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: text.unicodeScalars.filter { !dropped.contains($0.value) })
        let normalized = String(scalars).precomposedStringWithCanonicalMapping
        let separators = CharacterSet.whitespacesAndNewlines.union(CharacterSet(charactersIn: ",.:;()·—،؛"))
        return normalized.components(separatedBy: separators).flatMap(splitAtScriptChanges).filter { !$0.isEmpty }
    }

    private enum ScriptClass { case arabicLetter, arabicDigit, other }

    private static func scriptClass(_ scalar: Unicode.Scalar) -> ScriptClass {
        switch scalar.value {
        case 0x0660...0x0669, 0x066B, 0x066C, 0x06F0...0x06F9: .arabicDigit
        case 0x0600...0x06FF, 0x0750...0x077F, 0xFB50...0xFDFF, 0xFE70...0xFEFF: .arabicLetter
        default: .other
        }
    }

    private static func splitAtScriptChanges(_ token: String) -> [String] {
        var parts: [String] = []
        var current = String.UnicodeScalarView()
        var currentClass: ScriptClass?
        for scalar in token.unicodeScalars {
            let kind = scriptClass(scalar)
            if let currentClass, currentClass != kind {
                parts.append(String(current))
                current = String.UnicodeScalarView()
            }
            current.append(scalar)
            currentClass = kind
        }
        if !current.isEmpty { parts.append(String(current)) }
        return parts
    }

    /// The words pdftotext must find for `parts`: `words` of them, without words that contain
    /// lam-alef (ل followed by ا).
    ///
    /// Noto Naskh Arabic draws lam-alef as the lam glyph shaped as the ligature plus a zero-width
    /// alef glyph at the same spot. The PDF maps each glyph to its letter correctly, but poppler
    /// (22.12) takes the overlapping zero-width glyph for a separate word and moves it and the rest
    /// of the word to another line, so `پلاک` comes out as `پ ا` and `لک`. That is a limit of the
    /// tool reading the PDF back, not of the fax, so such words are not asked for.
    static func expectedWords(_ parts: [String]) -> Set<String> {
        words(parts.joined(separator: " ")).filter { !$0.contains("\u{0644}\u{0627}") }
    }

    /// A line of text on a page as pdftotext -bbox-layout finds it: its horizontal extent in points
    /// from the left edge, and its words (normalised as by ``wordList(_:)``).
    struct TextLine {
        var xMin: Double
        var xMax: Double
        var words: [String]
    }

    /// The lines of page `page` with their extents, top to bottom.
    static func lines(_ path: String, page: Int = 1) throws -> [TextLine] {
        let html = try run("/usr/bin/pdftotext", ["-bbox-layout", "-f", "\(page)", "-l", "\(page)", path, "-"])
        var lines: [TextLine] = []
        for chunk in html.components(separatedBy: "<line ").dropFirst() {
            func attribute(_ name: String) -> Double? {
                guard let start = chunk.range(of: name + "=\"") else { return nil }
                return Double(chunk[start.upperBound...].prefix { $0 != "\"" })
            }
            let words = chunk.components(separatedBy: "<word ").dropFirst().compactMap { word -> String? in
                guard let open = word.firstIndex(of: ">"), let close = word.range(of: "</word>") else { return nil }
                return String(word[word.index(after: open)..<close.lowerBound])
            }
            guard let xMin = attribute("xMin"), let xMax = attribute("xMax") else { continue }
            lines.append(TextLine(xMin: xMin, xMax: xMax, words: wordList(words.joined(separator: " "))))
        }
        return lines
    }

    private static func run(_ tool: String, _ arguments: [String]) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: tool) else {
            throw PeerError("\(tool) is missing: run scripts/install-deps.sh (Debian package poppler-utils)")
        }
        let result = try PeerCommand.run(tool, arguments, timeout: .seconds(30))
        guard result.status == 0 else {
            throw PeerError("\(tool) \(arguments.joined(separator: " ")) failed (exit \(result.status)): \(result.stderr)")
        }
        return result.stdout
    }
}
