/// The Notifier module's error: a stable code and a message that says what to do.
public struct NotifierError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// A template file is missing, unreadable or does not compile (the message names file and line).
        case template
        /// An event cannot be rendered (a template references something the event cannot supply).
        case render
        /// Configuration is inconsistent (unknown channel directory, bad SMS limit…).
        case configuration
        /// The log or the customer store failed underneath the notifier.
        case storage
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
