public import ChaparModels

/// One fax to render: who it goes to, when it was made, its reference, and its text.
///
/// Rendered by ``FaxRenderer`` into an A4 PDF: every page carries the bank's letterhead and a
/// header block (to, date, reference, page X of Y); the first page then the title; the body lines
/// follow and continue on as many pages as they need.
public struct FaxDocument: Hashable, Sendable {
    /// The number the fax is sent to, printed in the header.
    public var to: FaxNumber
    /// Persian faxes are laid out right to left with Jalali dates and Persian digits; English
    /// ones left to right with Gregorian dates.
    public var language: Language
    /// When the notification was made; the header shows it in the renderer's time zone.
    public var createdAt: Timestamp
    /// The reference printed in the header (the job id), so a recipient can quote it.
    public var reference: String
    /// The title, bold, above the body on the first page.
    public var title: String
    /// The body, one paragraph per element; an empty string is a blank line. A paragraph wider
    /// than the page wraps; lines that do not fit continue on the next page.
    public var lines: [String]

    public init(to: FaxNumber, language: Language, createdAt: Timestamp, reference: String, title: String, lines: [String]) {
        self.to = to
        self.language = language
        self.createdAt = createdAt
        self.reference = reference
        self.title = title
        self.lines = lines
    }

    /// The document of a fax job: its address (validated as a ``FaxNumber``), language, creation
    /// time, id as the reference, and the title and lines the notifier rendered. Throws
    /// `.invalidDocument` when the job is not a fax and `.invalidNumber` for a bad address.
    public init(job: DeliveryJob) throws(FaxError) {
        guard case .fax(let title, let lines) = job.content else {
            throw FaxError(.invalidDocument, "job \(job.id) is \(job.channel), not a fax")
        }
        self.init(to: try FaxNumber(job.address), language: job.language, createdAt: job.createdAt,
                  reference: job.id.rawValue, title: title, lines: lines)
    }
}
