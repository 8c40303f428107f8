/// The name of a log topic, e.g. `transactions` or `notify.sms`.
///
/// Names are 1 to 200 characters of ASCII letters, digits, `.`, `_` and `-`, and may not start
/// with `__` (reserved for internal use) or `.`. The same rules are safe for Kafka topic names,
/// so a topic can move to the Kafka backend unchanged.
public struct TopicName: Hashable, Comparable, Sendable, Codable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The validated name.
    public let rawValue: String

    /// Validates `rawValue`, throwing ``LogError`` with code `invalidArgument` when it is not a legal name.
    public init(_ rawValue: String) throws(LogError) {
        if let problem = TopicName.problem(with: rawValue) {
            throw LogError(.invalidArgument, "invalid topic name '\(rawValue)': \(problem)")
        }
        self.rawValue = rawValue
    }

    /// A literal topic name in code; a bad literal is a programming error.
    public init(stringLiteral value: String) {
        precondition(TopicName.problem(with: value) == nil, "invalid topic name literal '\(value)'")
        self.rawValue = value
    }

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        try self.init(raw)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public var description: String { rawValue }

    public static func < (lhs: TopicName, rhs: TopicName) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Why `name` is not a legal topic name, or nil when it is.
    public static func problem(with name: String) -> String? {
        if name.isEmpty { return "it is empty" }
        if name.utf8.count > 200 { return "it is longer than 200 characters" }
        if name.hasPrefix("__") { return "names starting with '__' are reserved" }
        if name.hasPrefix(".") { return "it may not start with '.'" }
        for byte in name.utf8 {
            let ok = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2E || byte == 0x5F || byte == 0x2D
            if !ok { return "only letters, digits, '.', '_' and '-' are allowed" }
        }
        return nil
    }
}
