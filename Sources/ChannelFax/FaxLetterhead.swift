/// The sending bank's letterhead, at the top of every page of every fax it sends.
///
/// Comes from the fax gateway's configuration. It is printed as given, in the fax's reading
/// direction (right-aligned on a Persian fax, left-aligned on an English one), so write it in the
/// language most of the bank's faxes use, or mix both (Pango shapes each run in its own script).
public struct FaxLetterhead: Hashable, Sendable {
    /// The bank's name, printed large and bold.
    public let bankName: String
    /// One or two lines of address and contact details.
    public let lines: [String]
    /// The bank's own fax number, printed after the contact lines when set.
    public let senderFax: FaxNumber?

    /// Validates that there is a name and one or two non-empty lines, each a single line of text.
    public init(bankName: String, lines: [String], senderFax: FaxNumber? = nil) throws(FaxError) {
        guard !bankName.allSatisfy(\.isWhitespace) else {
            throw FaxError(.configuration, "the fax letterhead needs the bank's name")
        }
        guard (1...2).contains(lines.count), lines.allSatisfy({ !$0.allSatisfy(\.isWhitespace) }) else {
            throw FaxError(.configuration, "the fax letterhead takes one or two non-empty address/contact lines (got \(lines.count))")
        }
        guard !([bankName] + lines).contains(where: { $0.contains(where: \.isNewline) }) else {
            throw FaxError(.configuration, "the fax letterhead's name and lines must each be a single line; give a second line as its own entry")
        }
        self.bankName = bankName
        self.lines = lines
        self.senderFax = senderFax
    }
}
