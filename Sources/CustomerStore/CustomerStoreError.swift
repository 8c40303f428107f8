public import ChaparModels

/// The one error type of the customer store: a stable code, a message that says what happened
/// and what to do, and for imports every bad row as `FILE:LINE: column: what is wrong`.
public struct CustomerStoreError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure this is; the CLI maps each to a documented exit code.
    public enum Code: String, Hashable, Sendable {
        /// No customer (or link, or channel) with the given identity.
        case notFound
        /// Input failed validation; nothing was changed.
        case invalid
        /// A customer with this id already exists.
        case exists
        /// The database file could not be opened, read or written, or is not a customer store.
        case storage
        /// Another connection held the database longer than the busy timeout; retrying may succeed.
        case busy
    }

    /// The kind of failure.
    public var code: Code
    /// One line for humans: what happened and what to do.
    public var message: String
    /// Every individual problem (import: one `FILE:LINE: column: what is wrong` per bad field).
    public var problems: [String]
    /// A `.storage` error caused by a full disk (`SQLITE_FULL`): nothing is damaged, and the same
    /// command works once space is freed (the CLI exits 75, temporary, instead of 74).
    public var isDiskFull: Bool

    /// Makes an error with a code, a message and optional per-row problems.
    public init(_ code: Code, _ message: String, problems: [String] = [], isDiskFull: Bool = false) {
        self.code = code
        self.message = message
        self.problems = problems
        self.isDiskFull = isDiskFull
    }

    /// A validation failure of one field, e.g. from ``ContactAddress``.
    public init(_ invalid: InvalidValue) {
        self.init(.invalid, invalid.description)
    }

    public var description: String {
        problems.isEmpty ? message : ([message] + problems).joined(separator: "\n")
    }
}
