/// One partition as reported by metadata calls.
public struct PartitionDescription: Hashable, Sendable, Codable {
    public let partition: PartitionID
    /// First offset still stored.
    public let startOffset: Offset
    /// One past the last durable offset (the high watermark).
    public let endOffset: Offset
    /// Bytes on disk in segment files.
    public let bytes: Int64
    /// Number of segment files.
    public let segments: Int
    public init(partition: PartitionID, startOffset: Offset, endOffset: Offset, bytes: Int64, segments: Int) {
        self.partition = partition
        self.startOffset = startOffset
        self.endOffset = endOffset
        self.bytes = bytes
        self.segments = segments
    }
}

/// A topic and its partitions.
public struct TopicDescription: Hashable, Sendable, Codable {
    public let name: TopicName
    public let configuration: TopicConfiguration
    public let partitions: [PartitionDescription]
    public init(name: TopicName, configuration: TopicConfiguration, partitions: [PartitionDescription]) {
        self.name = name
        self.configuration = configuration
        self.partitions = partitions
    }
    /// Records currently stored across all partitions.
    public var records: Int64 { partitions.reduce(0) { $0 + $1.endOffset.rawValue - $1.startOffset.rawValue } }
    /// Bytes on disk across all partitions.
    public var bytes: Int64 { partitions.reduce(0) { $0 + $1.bytes } }
}

/// A consumer group's committed position in one partition.
public struct GroupPartitionLag: Hashable, Sendable, Codable {
    public let topic: TopicName
    public let partition: PartitionID
    /// The next offset the group will consume, or nil when it has committed nothing there.
    public let committed: Offset?
    /// The partition's end offset.
    public let end: Offset
    /// Records not yet consumed: end − committed (or end − start when nothing is committed).
    public let lag: Int64
    /// The member currently owning the partition in this process, if any.
    public let owner: MemberID?
    public init(topic: TopicName, partition: PartitionID, committed: Offset?, end: Offset, lag: Int64, owner: MemberID?) {
        self.topic = topic
        self.partition = partition
        self.committed = committed
        self.end = end
        self.lag = lag
        self.owner = owner
    }
}

/// A consumer group: its live members (in this process) and its positions.
public struct GroupDescription: Hashable, Sendable, Codable {
    public let group: GroupID
    public let members: [MemberID]
    public let generation: Int
    public let partitions: [GroupPartitionLag]
    public init(group: GroupID, members: [MemberID], generation: Int, partitions: [GroupPartitionLag]) {
        self.group = group
        self.members = members
        self.generation = generation
        self.partitions = partitions
    }
}

/// Where a group starts reading a partition it has never committed.
public enum StartPosition: String, Sendable, Codable, Hashable {
    /// The oldest record still stored (catch up on history).
    case earliest
    /// Only records appended after the partition is assigned.
    case latest
}

/// How a group spreads partitions over its members.
public enum AssignmentStrategy: String, Sendable, Codable, Hashable, CaseIterable {
    /// Kafka's range assignor: per topic, contiguous ranges in member order.
    case range
    /// Balanced like range, but a rebalance moves as few partitions as possible.
    case sticky
}

/// Options for joining a group.
public struct GroupOptions: Sendable {
    public var startPosition: StartPosition
    public var strategy: AssignmentStrategy
    /// A member that has not polled for this long is removed and its partitions reassigned.
    public var sessionTimeout: Duration
    /// A label shown in listings, e.g. `notifier-2`.
    public var clientID: String
    public init(startPosition: StartPosition = .earliest, strategy: AssignmentStrategy = .sticky, sessionTimeout: Duration = .seconds(30), clientID: String = "chapar") {
        self.startPosition = startPosition
        self.strategy = strategy
        self.sessionTimeout = sessionTimeout
        self.clientID = clientID
    }
}
