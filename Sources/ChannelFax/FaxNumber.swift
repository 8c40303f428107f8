import Delivery

/// A number a fax can be sent to: 4 to 20 ASCII digits, optionally after one leading `+`.
///
/// No spaces, dashes or brackets: the customer store normalises addresses before jobs are made,
/// so anything else here is a data error the adapter should reject rather than guess at.
public struct FaxNumber: Hashable, Sendable, CustomStringConvertible {
    /// The number as given, e.g. `+982155512345`.
    public let rawValue: String

    /// The fewest and most digits a fax number may have.
    public static let digitCount = 4...20

    /// Validates `text`. The error says what is wrong and shows the number masked (see ``AddressMask``).
    public init(_ text: String) throws(FaxError) {
        let digits = text.utf8.dropFirst(text.utf8.first == UInt8(ascii: "+") ? 1 : 0)
        func reject(_ reason: String) -> FaxError {
            FaxError(.invalidNumber, "'\(AddressMask.mask(text))' is not a fax number: \(reason); use 4 to 20 digits, optionally with a leading +")
        }
        if text.isEmpty { throw FaxError(.invalidNumber, "the fax number is empty; use 4 to 20 digits, optionally with a leading +") }
        if let bad = digits.first(where: { $0 < 0x30 || $0 > 0x39 }) {
            let what = bad == UInt8(ascii: "+") ? "a + is allowed only at the start"
                : bad < 0x80 ? "it contains '\(Character(Unicode.Scalar(bad)))', which is not a digit"
                : "it contains a character that is not an ASCII digit (Persian digits must be converted)"
            throw reject(what)
        }
        guard Self.digitCount.contains(digits.count) else {
            throw reject("it has \(digits.count) digit\(digits.count == 1 ? "" : "s")")
        }
        rawValue = text
    }

    public var description: String { rawValue }
}
