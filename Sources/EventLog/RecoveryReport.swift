import ChaparModels

/// What opening a data directory found and repaired. Logged at open and returned by
/// ``EventLog/recoveryReport``, so an operator can see exactly what a crash cost.
public struct RecoveryReport: Sendable, Hashable, Codable {
    /// One repair or finding.
    public struct Action: Sendable, Hashable, Codable, CustomStringConvertible {
        public enum Kind: String, Sendable, Hashable, Codable {
            /// Bytes after the last valid batch were cut off (a torn or corrupt tail).
            case truncatedTail = "truncated-tail"
            /// A missing, stale or corrupt index was rebuilt from its segment.
            case rebuiltIndex = "rebuilt-index"
            /// An empty segment that could not be used was removed.
            case removedSegment = "removed-segment"
            /// A temporary file from an interrupted atomic write was removed.
            case removedTemporary = "removed-temporary"
            /// Something unexpected left in place (e.g. corruption inside a sealed segment).
            case warning = "warning"
        }
        public let kind: Kind
        public let partition: String
        public let detail: String
        public var description: String { "\(partition): \(kind.rawValue): \(detail)" }
    }

    public var actions: [Action] = []
    /// Partitions opened and segments scanned.
    public var partitions = 0
    public var segmentsScanned = 0
    public var bytesScanned: Int64 = 0
    /// Bytes removed from torn tails, summed.
    public var bytesTruncated: Int64 = 0
    /// Wall time the whole open took.
    public var milliseconds: Int64 = 0

    public init() {}

    /// True when nothing had to be repaired.
    public var isClean: Bool { actions.allSatisfy { $0.kind == .removedTemporary } }

    mutating func add(_ kind: Action.Kind, _ partition: TopicPartition, _ detail: String) {
        actions.append(Action(kind: kind, partition: partition.description, detail: detail))
    }
}
