/// The `Delivery` module's error: a stable code and a message that says what happened and what to do.
public struct DeliveryError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// The ledger or the log could not be read or written.
        case storage
        /// Another process holds the ledger beyond the busy timeout: retry.
        case busy
        /// The ledger or pool was closed.
        case closed
        /// A configuration that cannot work (unknown gateway, failover loop, bad URL).
        case configuration
        /// Unknown job, transaction or dead letter.
        case notFound
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
