/// A value that failed validation: which field, what was given, and what is wrong.
///
/// Parsers and validators throw this; callers add the location (`FILE:LINE`, an XML path or a
/// CLI option) when they report it, so the message itself names only the field and the reason.
public struct InvalidValue: Error, Hashable, Sendable, CustomStringConvertible {
    /// The field or option, e.g. `phone`, `amount`, `quiet-hours`.
    public var field: String
    /// What is wrong and, where it helps, what a valid value looks like.
    public var reason: String

    public init(_ field: String, _ reason: String) {
        self.field = field
        self.reason = reason
    }

    public var description: String { "\(field): \(reason)" }
}
