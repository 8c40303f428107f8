import ChaparModels
import Foundation
import Notifier

/// The words of a fax page other than its title and body, in the document's language: labels,
/// the date in the bank's time zone, the letterhead's contact lines.
///
/// Latin runs inside Persian text (fax numbers, the reference) are wrapped in left-to-right
/// isolates (U+2066 … U+2069) so the bidi algorithm keeps them in order.
struct FaxText {
    let language: Language
    /// The bank's name.
    let bankName: String
    /// The letterhead's address lines and the bank's fax number, one per line.
    let letterheadDetails: String
    /// The header column at the reading start: to and date.
    let headerStart: String
    /// The reference line of the end column; the page line is added per page.
    private let referenceLine: String
    /// The body paragraphs joined by newlines.
    let body: String
    /// The creation time in ISO 8601 (UTC), for the PDF's document information.
    let isoDate: String

    init(_ document: FaxDocument, letterhead: FaxLetterhead, zone: TimeZone) {
        let fa = document.language == .fa
        language = document.language
        let labels = fa ? Labels.persian : Labels.english
        // Each letterhead line keeps its own internal order (first-strong isolate, U+2068 … U+2069):
        // a Latin address line stays `12 Valiasr Ave` on a Persian fax, and a Persian one reads
        // right to left on an English fax; the line as a whole is still aligned with the document.
        bankName = Self.firstStrongIsolated(letterhead.bankName)
        var details = letterhead.lines.map(Self.firstStrongIsolated)
        if let fax = letterhead.senderFax {
            details.append("\(labels.fax): \(LocalFormatting.isolated(fax.rawValue, document.language))")
        }
        letterheadDetails = details.joined(separator: "\n")

        let instant = Date(timeIntervalSince1970: Double(document.createdAt.milliseconds) / 1000)
        let local = LocalFormatting.localDayAndMinute(document.createdAt, offsetSeconds: zone.secondsFromGMT(for: instant))
        let day = LocalFormatting.date(daysSinceEpoch: local.day, document.language)
        let time = LocalFormatting.time(minuteOfDay: local.minute, document.language)
        let date = fa ? "\(day)، ساعت \(time)" : "\(day), \(time)"
        headerStart = "\(labels.to): \(LocalFormatting.isolated(document.to.rawValue, document.language))\n\(labels.date): \(date)"
        referenceLine = "\(labels.reference): \(LocalFormatting.isolated(document.reference, document.language))"
        body = document.lines.joined(separator: "\n")
        isoDate = instant.ISO8601Format()
    }

    /// The header column at the reading end: the reference, and "page X of Y".
    func headerEnd(page: Int, of pages: Int) -> String {
        let fa = language == .fa
        let number = LocalFormatting.digits(String(page), language), total = LocalFormatting.digits(String(pages), language)
        return referenceLine + (fa ? "\nصفحه \(number) از \(total)" : "\nPage \(number) of \(total)")
    }

    private static func firstStrongIsolated(_ text: String) -> String { "\u{2068}" + text + "\u{2069}" }

    private struct Labels {
        var to: String
        var date: String
        var reference: String
        var fax: String
        static let english = Labels(to: "To", date: "Date", reference: "Reference", fax: "Fax")
        static let persian = Labels(to: "به", date: "تاریخ", reference: "شماره پیگیری", fax: "دورنگار")
    }
}
