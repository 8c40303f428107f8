/// A domain value stored as one validated string (ids, codes, kinds).
///
/// Conforming types validate in `init(_:)`; this protocol gives them the shared parts: Codable as
/// a plain JSON string (decoding validates too), `description`, and ordering by the raw string.
public protocol StringValue: Codable, CustomStringConvertible {
    /// The validated, normalized text.
    var rawValue: String { get }
    /// Validates (and normalizes) `raw`.
    init(_ raw: String) throws(InvalidValue)
}

extension StringValue {
    public init(from decoder: any Decoder) throws {
        try self.init(try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public var description: String { rawValue }

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}
