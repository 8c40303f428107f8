/// The ChannelFax module's error: a stable code and a message that says what happened and what to do.
///
/// Messages never carry a whole fax number (it is masked) or any of the document's text.
public struct FaxError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// A fax number is not 4 to 20 digits with an optional leading `+`. Permanent for the job.
        case invalidNumber
        /// The job is not a fax, or its document cannot be laid out (too many pages, characters no
        /// installed font can show). Permanent for the job.
        case invalidDocument
        /// The renderer's settings are wrong: the letterhead, the time zone, the page limit.
        case configuration
        /// A font the renderer needs is not installed (the message names the package to install).
        case font
        /// Cairo failed to create or finish the PDF (out of memory, an internal Cairo error).
        case rendering
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
