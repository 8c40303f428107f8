/// The backend-neutral log API: what the notifier, channels, CLI and server use. The embedded
/// `EventLog` implements it; a Kafka backend implements the same protocol, so callers never
/// change when a bank scales out.
///
/// Semantics every backend keeps: records with the same key land in the same partition and are
/// read in append order; `append` returns only once the records are durable under the topic's
/// policy; readers never see a record that is not yet acknowledged.
public protocol MessageLog: Sendable {
    /// Creates a topic; throws `topicExists` if it is there already.
    func createTopic(_ topic: TopicName, configuration: TopicConfiguration) async throws -> TopicDescription
    /// Every topic with its partitions' offsets and sizes, sorted by name.
    func listTopics() async throws -> [TopicDescription]
    /// One topic; throws `unknownTopic`.
    func describeTopic(_ topic: TopicName) async throws -> TopicDescription
    /// Appends records and returns their positions, in the order given, once durable.
    func append(_ records: [ProducerRecord], to topic: TopicName) async throws -> [RecordPosition]
    /// Reads records from one partition starting at `offset`.
    func fetch(_ topic: TopicName, partition: PartitionID, from offset: Offset, limits: FetchLimits) async throws -> FetchResult
    /// The first offset whose timestamp is at or after `timestamp`, or nil when every record is older.
    func offset(for timestamp: Timestamp, topic: TopicName, partition: PartitionID) async throws -> Offset?
    /// Joins (or creates) a consumer group as a new member subscribed to `topics`.
    func joinGroup(_ group: GroupID, topics: [TopicName], options: GroupOptions) async throws -> any GroupMember
    /// Every group with committed offsets or live members, with lag per partition.
    func listGroups() async throws -> [GroupDescription]
    /// Overwrites a group's committed offsets (operators' reset/replay); fails while the group has live members.
    func resetOffsets(_ group: GroupID, to offsets: [TopicPartition: Offset]) async throws
}

/// One member of a consumer group. Partitions are assigned cooperatively: a partition moves to
/// another member only after its current owner has polled again (or left, or timed out), so
/// no two members ever process the same partition at once.
///
/// Contract: commit what you have finished before you poll again; records polled but not
/// committed before a rebalance are delivered again to the partition's next owner.
public protocol GroupMember: Sendable {
    var group: GroupID { get }
    var memberID: MemberID { get }
    /// Waits up to `timeout` for records from the assigned partitions. Also where rebalances take effect.
    func poll(maxRecords: Int, timeout: Duration) async throws -> [ConsumerRecord]
    /// The partitions this member owns right now.
    func assignment() async -> [TopicPartition]
    /// Durably and atomically stores "next offset to consume" for the given partitions.
    func commit(_ offsets: [TopicPartition: Offset]) async throws
    /// Commits the position after the last record returned by `poll` for every owned partition.
    func commitPolled() async throws
    /// Moves this member's position in an owned partition (replay).
    func seek(_ partition: TopicPartition, to offset: Offset) async throws
    /// Leaves the group; the member's partitions are reassigned to the others.
    func leave() async
}
