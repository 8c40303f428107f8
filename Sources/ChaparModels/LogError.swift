/// The one error type of the log API, shared by every backend (embedded or Kafka) so callers
/// can react to `code` without knowing which backend is behind ``MessageLog``.
///
/// `message` says what happened and what to do; it never contains record contents.
public struct LogError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Stable codes for scripts and callers. Raw values are part of the CLI's documented output.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// The topic does not exist.
        case unknownTopic = "unknown-topic"
        /// The topic exists but not that partition.
        case unknownPartition = "unknown-partition"
        /// A topic with that name already exists.
        case topicExists = "topic-exists"
        /// A malformed name, negative offset, zero partitions, oversize record or similar.
        case invalidArgument = "invalid-argument"
        /// The offset is before the log start (removed by retention) or after the end.
        case offsetOutOfRange = "offset-out-of-range"
        /// Another process owns the data directory.
        case locked = "locked"
        /// The disk is full; nothing was acknowledged that is not durable.
        case diskFull = "disk-full"
        /// An I/O failure; the message says whether a restart (recovery) is needed.
        case storage = "storage"
        /// Stored bytes failed their checksum.
        case corrupt = "corrupt"
        /// The member no longer owns that partition: it was reassigned in a rebalance.
        case notPartitionOwner = "not-partition-owner"
        /// The member left or was expired from its group.
        case notMember = "not-member"
        /// The log was closed.
        case closed = "closed"
        /// The backend could not be reached in time (Kafka brokers down or unreachable); retrying
        /// later can succeed once they are back.
        case unavailable = "unavailable"
        /// This backend does not offer the operation (yet); the message says which one and why.
        case unsupported = "unsupported"
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// Whether retrying the same call later can succeed without an operator's action.
    public var isRetriable: Bool {
        switch code {
        case .diskFull, .notPartitionOwner, .unavailable: true
        default: false
        }
    }
}
