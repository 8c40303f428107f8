import ChaparModels
import Foundation
import Notifier

/// Renders fax documents into A4 PDFs in memory, with Pango (shaping, bidi, line breaking) and
/// Cairo (PDF with embedded font subsets).
///
/// Every page: the bank's ``FaxLetterhead``, a rule, a header block (to, date, reference, page X
/// of Y), another rule; the first page then has the title; the body lines fill the rest and
/// continue on further pages. A Persian document is right-to-left and right-aligned throughout
/// (including paragraphs that begin with Latin text), with a Jalali date and Persian digits; an
/// English one is left-to-right and left-aligned. See `docs/fax.md`.
///
/// **Thread safety:** a renderer is an immutable value; share one between any number of threads.
/// Each ``render(_:)`` creates, uses and frees its own Cairo surface, Cairo context, Pango context
/// and layouts, shaped with the calling thread's Pango font map (Pango keeps one per thread).
/// Nothing is cached between calls, so memory does not grow with the number of documents.
public struct FaxRenderer: Sendable {
    /// Fonts, time zone and limits. The defaults need Debian's `fonts-noto-core`.
    public struct Configuration: Sendable, Hashable {
        /// Pango font families for Persian faxes, most preferred first. Noto Naskh Arabic has no
        /// Latin letters, so keep a Latin family in the list for numbers, IBANs and names.
        public var persianFonts: String
        /// Pango font families for English faxes; keep an Arabic-script family for Persian names.
        public var latinFonts: String
        /// The IANA time zone the header's date is shown in (the bank's, not the recipient's).
        public var timeZone: String
        /// A document that needs more pages is refused (a fax line is busy for about a minute a page).
        public var maxPages: Int
        /// Refuse a document with characters no installed font can draw (they would print as boxes).
        public var rejectsUnknownCharacters: Bool

        public init(persianFonts: String = "Noto Naskh Arabic, Noto Sans", latinFonts: String = "Noto Sans, Noto Naskh Arabic",
                    timeZone: String = "Asia/Tehran", maxPages: Int = 20, rejectsUnknownCharacters: Bool = true) {
            self.persianFonts = persianFonts
            self.latinFonts = latinFonts
            self.timeZone = timeZone
            self.maxPages = maxPages
            self.rejectsUnknownCharacters = rejectsUnknownCharacters
        }
    }

    /// The letterhead on every page.
    public let letterhead: FaxLetterhead
    public let configuration: Configuration
    private let zone: TimeZone

    /// Checks that the configured fonts are installed and cover Persian and Latin text, and that
    /// the time zone exists: `.font` and `.configuration` errors say what to install or change.
    public init(letterhead: FaxLetterhead, configuration: Configuration = Configuration()) throws(FaxError) {
        guard configuration.maxPages >= 1 else {
            throw FaxError(.configuration, "the fax renderer's maxPages must be at least 1 (got \(configuration.maxPages))")
        }
        guard let zone = TimeZone(identifier: configuration.timeZone) else {
            throw FaxError(.configuration, "'\(configuration.timeZone)' is not a time zone; use an IANA name such as Asia/Tehran")
        }
        try Self.checkFonts(configuration.persianFonts, probe: "\u{0628}", script: "Persian")
        try Self.checkFonts(configuration.latinFonts, probe: "A", script: "Latin")
        try Self.checkFonts(configuration.persianFonts, probe: "A", script: "Latin")
        self.letterhead = letterhead
        self.configuration = configuration
        self.zone = zone
    }

    /// Renders `document` into a complete PDF file.
    ///
    /// Throws `.invalidDocument` when it would need more than ``Configuration/maxPages`` pages or
    /// (with ``Configuration/rejectsUnknownCharacters``) holds characters no font can show, and
    /// `.rendering` when Cairo fails.
    public func render(_ document: FaxDocument) throws(FaxError) -> [UInt8] {
        let text = FaxText(document, letterhead: letterhead, zone: zone)
        let page = PageGeometry.a4
        let fa = document.language == .fa
        let fonts = fa ? configuration.persianFonts : configuration.latinFonts
        let canvas = try PDFCanvas(
            width: page.width, height: page.height, direction: fa ? .rightToLeft : .leftToRight,
            metadata: PDFMetadata(title: document.title, author: letterhead.bankName, subject: document.reference, creator: "Chapar",
                                  creationDate: text.isoDate))
        let width = page.contentWidth

        let name = canvas.layout(text.bankName, font: "\(fonts) \(Typography.bankName)", width: width)
        let details = canvas.layout(text.letterheadDetails, font: "\(fonts) \(Typography.letterhead)", width: width)
        let startColumn = canvas.layout(text.headerStart, font: "\(fonts) \(Typography.header)", width: page.startColumnWidth)
        let title = canvas.layout(document.title, font: "\(fonts) \(Typography.title)", width: width)
        let body = canvas.layout(text.body, font: "\(fonts) \(Typography.body)", width: width)
        if configuration.rejectsUnknownCharacters {
            let unknown = name.unknownGlyphs + details.unknownGlyphs + startColumn.unknownGlyphs + title.unknownGlyphs + body.unknownGlyphs
            guard unknown == 0 else {
                throw FaxError(.invalidDocument, "fax \(document.reference) has \(unknown) character(s) no installed font can show (fonts: \(fonts)); "
                               + "change the template or install a font that has them")
            }
        }

        // Vertical layout, in points from the top of the page.
        let nameHeight = name.height, detailsHeight = details.height
        let firstRule = page.top + nameHeight + 2 + detailsHeight + 6
        let headerTop = firstRule + 8
        // The end column's text changes from page to page only in its digits: measure it with
        // the widest page numbers it can have.
        let endColumnHeight = canvas.layout(text.headerEnd(page: configuration.maxPages, of: configuration.maxPages),
                                            font: "\(fonts) \(Typography.header)", width: page.endColumnWidth).height
        let headerHeight = max(startColumn.height, endColumnHeight)
        let secondRule = headerTop + headerHeight + 6
        let titleTop = secondRule + 14
        let titleHeight = document.title.isEmpty ? 0 : title.height
        let bodyTopFirst = document.title.isEmpty ? titleTop : titleTop + titleHeight + 10
        let bodyTopLater = titleTop
        let bottom = page.height - page.bottomMargin

        let boxes = body.lines()
        if let first = boxes.first, bodyTopFirst + first.height > bottom {
            throw FaxError(.invalidDocument, "the title of fax \(document.reference) is too long to leave room for the text on the first page")
        }
        let pages = Self.paginate(boxes, firstPage: bottom - bodyTopFirst, laterPages: bottom - bodyTopLater)
        guard pages.count <= configuration.maxPages else {
            throw FaxError(.invalidDocument, "fax \(document.reference) needs \(pages.count) pages; the limit is \(configuration.maxPages) (maxPages)")
        }

        for (index, lines) in pages.enumerated() {
            let x = page.left
            canvas.draw(name, x: x, y: page.top)
            canvas.draw(details, x: x, y: page.top + nameHeight + 2)
            canvas.rule(x: x, y: firstRule, width: width, thickness: 1.0)
            let endColumn = canvas.layout(text.headerEnd(page: index + 1, of: pages.count), font: "\(fonts) \(Typography.header)",
                                          width: page.endColumnWidth, alignment: .end)
            canvas.draw(startColumn, x: fa ? page.right - page.startColumnWidth : x, y: headerTop)
            canvas.draw(endColumn, x: fa ? x : page.right - page.endColumnWidth, y: headerTop)
            canvas.rule(x: x, y: secondRule, width: width, thickness: 0.5)
            let bodyTop: Points
            if index == 0 {
                if titleHeight > 0 { canvas.draw(title, x: x, y: titleTop) }
                bodyTop = bodyTopFirst
            } else {
                bodyTop = bodyTopLater
            }
            if let first = lines.first {
                canvas.draw(body, lines: lines, x: x, y: bodyTop - boxes[first].top, boxes: boxes)
            }
            canvas.showPage()
        }
        return try canvas.finish()
    }

    /// Splits lines into pages: the first page has `firstPage` points for the body, later pages
    /// `laterPages`. A page always takes at least one line, so this ends.
    static func paginate(_ boxes: [LineBox], firstPage: Points, laterPages: Points) -> [Range<Int>] {
        guard let first = boxes.first else { return [0..<0] }
        var pages: [Range<Int>] = []
        var start = 0, pageTop = first.top, room = firstPage
        for (index, box) in boxes.enumerated() where index > start && box.top + box.height - pageTop > room {
            pages.append(start..<index)
            start = index
            pageTop = box.top
            room = laterPages
        }
        pages.append(start..<boxes.count)
        return pages
    }

    /// Throws unless Pango would draw `probe` with one of the families listed in `fonts`.
    private static func checkFonts(_ fonts: String, probe: Unicode.Scalar, script: String) throws(FaxError) {
        let listed = fonts.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        let (family, covers) = try FontCheck.resolve("\(fonts) 11", probe: probe)
        guard covers, listed.contains(family.lowercased()) else {
            throw FaxError(.font, "none of the fax fonts '\(fonts)' is installed with \(script) letters (fontconfig would use '\(family)'): "
                           + "install fonts-noto-core (scripts/install-deps.sh) or configure installed fonts")
        }
    }
}

/// Pango style and size (in points on paper) of each part of the page. A fax prints at about
/// 200 × 100–200 dots per inch, so nothing is set smaller than 10 points.
///
/// One weight only: every face a document uses is embedded as its own font subset (two for
/// Noto Naskh Arabic, whose Latin punctuation Cairo puts in a separate subset), and building and
/// compressing those is most of what a PDF costs. Bold for the name and the title would add two
/// faces, three more subsets and about a third to the time per fax; size sets them apart instead.
enum Typography {
    static let bankName = "20"
    static let letterhead = "10"
    static let header = "10.5"
    static let title = "16"
    static let body = "12"
}

/// A4 portrait and the margins of the fax layout, in points.
struct PageGeometry {
    var width: Points
    var height: Points
    var left: Points
    var right: Points
    var top: Points
    var bottomMargin: Points

    /// 210 × 297 mm (595.28 × 841.89 points). Fax machines print about 4 mm short of each edge; the margins leave more.
    static let a4 = PageGeometry(width: 595.28, height: 841.89, left: 50, right: 595.28 - 50, top: 40, bottomMargin: 46)

    var contentWidth: Points { right - left }
    /// The header's columns: to and date at the reading start, reference and page at the end.
    var startColumnWidth: Points { contentWidth * 0.42 }
    var endColumnWidth: Points { contentWidth * 0.58 - 8 }
}
