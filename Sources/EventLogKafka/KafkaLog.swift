public import ChaparModels
public import Logging
import CKafka
import Foundation
import Synchronization

/// The log on a Kafka-API cluster (Apache Kafka, Redpanda, Tansu…) through librdkafka: the same
/// ``MessageLog`` the embedded `EventLog` implements, so nothing above it changes when a bank
/// scales out (issue 12, docs/kafka.md).
///
/// - Appends go through one idempotent producer (`enable.idempotence`, `acks=all`). The
///   partition is chosen here with ``Partitioner`` (Kafka's murmur2), so a key lands in the same
///   partition as on the embedded log; `append` returns once the brokers acknowledged every record.
/// - Fetches use a consumer with manual assignment (no group), see `KafkaReader`.
/// - Consumer groups are Kafka's own (``KafkaGroupMember``: one consumer per member, cooperative
///   rebalancing); `listGroups` and `resetOffsets` use the admin API.
///
/// Threading: librdkafka's blocking calls never run on Swift's cooperative pool. Metadata,
/// watermark, admin and fetch calls, and enqueueing records (which may wait for queue space),
/// run on a few dedicated threads (`KafkaThreads`); delivery reports are served by one more
/// thread that polls the producer and resumes each `append`'s continuation from the report.
///
/// Call ``close()`` when done: it flushes the producer and stops the threads.
public final class KafkaLog: MessageLog {
    /// The settings this log was opened with.
    public let configuration: Configuration
    private let producer: KafkaHandle
    private let reader: KafkaReader
    private let threads: KafkaThreads
    private let logger: Logger
    /// Partition counts learned from metadata, so appends need no round trip per call.
    private let partitionCounts = Mutex<[TopicName: Int]>([:])
    /// Round-robin for records with neither key nor partition: one partition per `append`.
    private let roundRobin = Atomic<Int>(0)
    private let closed = SetOnceFlag()
    /// Members joined through this log, left by `close()` if their owners did not.
    private let members = Mutex<[WeakMember]>([])
    /// The members of this node that are still in their groups.
    private var liveMembers: [KafkaGroupMember] { members.withLock { $0.compactMap(\.member) }.filter { !$0.hasLeft } }

    /// Creates the producer and reader clients. No broker is contacted yet: a cluster that is not
    /// there shows as `unavailable` errors from the calls, each within its bound.
    public init(configuration: Configuration, logger: Logger = Logger(label: "chapar.log.kafka")) throws {
        guard configuration.blockingThreads > 0 else {
            throw LogError(.invalidArgument, "the Kafka log needs at least one blocking thread (got \(configuration.blockingThreads))")
        }
        if let replicas = configuration.replicationFactor, replicas < 1 {
            throw LogError(.invalidArgument, "replication factor must be at least 1 (got \(replicas)), or nil for the brokers' default")
        }
        self.configuration = configuration
        self.logger = logger
        let common = configuration.commonProperties, extra = configuration.extraProperties
        producer = try KafkaHandle(
            consumer: false,
            properties: common + [
                ("enable.idempotence", "true"),
                ("acks", "all"),
                ("linger.ms", String(configuration.linger.milliseconds)),
                ("message.timeout.ms", String(max(configuration.deliveryTimeout.milliseconds, 1))),
                // The partition is always chosen by this class; librdkafka's would only be used for
                // a record without one, and there is none.
                ("partitioner", "murmur2_random"),
            ] + extra,
            servers: configuration.bootstrapServers, logger: logger, deliveryReports: true)
        reader = KafkaReader(handle: try KafkaHandle(
            consumer: true,
            properties: common + [
                ("group.id", "chapar-reader-\(UUID().uuidString.prefix(8))"),
                ("enable.auto.commit", "false"),
                ("enable.auto.offset.store", "false"),
                ("enable.partition.eof", "true"),
                ("auto.offset.reset", "error"),
                ("allow.auto.create.topics", "false"),
                ("fetch.wait.max.ms", "100"),
            ] + extra,
            servers: configuration.bootstrapServers, logger: logger, deliveryReports: false))
        threads = KafkaThreads(count: configuration.blockingThreads, name: "chapar-kafka")
        // The delivery-report thread: serves rd_kafka_poll until close().
        let producer = self.producer, closed = self.closed
        let poller = Thread {
            while !closed.isSet { producer.poll(timeout: .milliseconds(100)) }
        }
        poller.name = "chapar-kafka-reports"
        poller.start()
    }

    /// Flushes records still queued (up to the delivery timeout) and stops the threads. Calls
    /// made after this throw `closed`.
    public func close() async {
        guard !closed.isSet else { return }
        for member in liveMembers { await member.leave() }
        let producer = self.producer, timeout = configuration.deliveryTimeout
        _ = try? await threads.run { producer.flush(timeout: timeout) }
        closed.set()
        threads.shutdown()
    }

    // MARK: Topics

    public func createTopic(_ topic: TopicName, configuration topicConfiguration: TopicConfiguration) async throws -> TopicDescription {
        if let problem = topicConfiguration.problem { throw LogError(.invalidArgument, "cannot create topic \(topic): \(problem)") }
        return try await create(topic, partitions: topicConfiguration.partitions, settings: [])
    }

    /// Creates a compacted topic (`cleanup.policy=compact`): the brokers keep at least the last
    /// record of every key, so a reader from the start gets the latest state per key. For state
    /// shared by nodes, such as `chapar.customers`; the embedded log has no compaction.
    public func createCompactedTopic(_ topic: TopicName, partitions: Int) async throws -> TopicDescription {
        try await create(topic, partitions: partitions, settings: [("cleanup.policy", "compact")])
    }

    private func create(_ topic: TopicName, partitions: Int, settings: [(String, String)]) async throws -> TopicDescription {
        let producer = self.producer
        let replicas = configuration.replicationFactor, timeout = configuration.requestTimeout
        try await blocking { try producer.createTopic(topic, partitions: partitions, replicationFactor: replicas, settings: settings, timeout: timeout) }
        logger.info("created topic", metadata: ["chapar.topic": .string(topic.rawValue), "chapar.partitions": .stringConvertible(partitions)])
        // Metadata can trail the controller for a moment after a creation.
        let clock = ContinuousClock(), deadline = clock.now.advanced(by: timeout)
        while true {
            do {
                return try await describeTopic(topic)
            } catch let error as LogError where error.code == .unknownTopic && clock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    public func listTopics() async throws -> [TopicDescription] {
        let counts = try await refreshPartitionCounts()
        var topics: [TopicDescription] = []
        for (topic, partitions) in counts.sorted(by: { $0.key < $1.key }) {
            topics.append(try await describe(topic, partitions: partitions))
        }
        return topics
    }

    public func describeTopic(_ topic: TopicName) async throws -> TopicDescription {
        guard let partitions = try await refreshPartitionCounts()[topic] else {
            throw LogError(.unknownTopic, "topic \(topic) does not exist on Kafka at \(configuration.bootstrapServers); create it first")
        }
        return try await describe(topic, partitions: partitions)
    }

    /// Partitions with their offsets. Kafka does not tell clients segment sizes or counts, so
    /// `bytes` and `segments` are 0, and the configuration carries only the partition count.
    private func describe(_ topic: TopicName, partitions: Int) async throws -> TopicDescription {
        let handle = reader.handle, timeout = configuration.requestTimeout
        let descriptions = try await blocking {
            try (0..<partitions).map { index throws(LogError) -> PartitionDescription in
                let (low, high) = try handle.watermarks(topic, PartitionID(index), timeout: timeout)
                return PartitionDescription(partition: PartitionID(index), startOffset: low, endOffset: high, bytes: 0, segments: 0)
            }
        }
        return TopicDescription(name: topic, configuration: TopicConfiguration(partitions: partitions), partitions: descriptions)
    }

    /// Asks the cluster for every topic's partition count and caches the answer.
    private func refreshPartitionCounts() async throws -> [TopicName: Int] {
        let handle = reader.handle, timeout = configuration.requestTimeout
        let counts = try await blocking { try handle.partitionCounts(timeout: timeout) }
        partitionCounts.withLock { $0 = counts }
        return counts
    }

    // MARK: Records

    public func append(_ records: [ProducerRecord], to topic: TopicName) async throws -> [RecordPosition] {
        guard !records.isEmpty else { return [] }
        var count = partitionCounts.withLock { $0[topic] }
        if count == nil { count = try await refreshPartitionCounts()[topic] }
        guard let count else {
            throw LogError(.unknownTopic, "topic \(topic) does not exist on Kafka at \(configuration.bootstrapServers); create it first")
        }
        let unkeyed = PartitionID(roundRobin.add(1, ordering: .relaxed).oldValue % count)
        var partitions: [PartitionID] = []
        partitions.reserveCapacity(records.count)
        for record in records {
            if let partition = record.partition {
                guard partition.rawValue >= 0 && partition.rawValue < count else {
                    throw LogError(.unknownPartition, "topic \(topic) has partitions 0..<\(count); there is no partition \(partition)")
                }
                partitions.append(partition)
            } else if let key = record.key {
                partitions.append(Partitioner.partition(forKey: key, count: count))
            } else {
                partitions.append(unkeyed)
            }
        }
        guard !closed.isSet else { throw LogError(.closed, "the Kafka log was closed; open a new KafkaLog") }
        let producer = self.producer, servers = configuration.bootstrapServers, chosen = partitions
        return try await withCheckedThrowingContinuation { continuation in
            let batch = DeliveryBatch(topic: topic, servers: servers, count: records.count, continuation: continuation)
            // Enqueueing may wait for queue space (RD_KAFKA_MSG_F_BLOCK): on our threads, not the pool.
            let accepted = threads.submit {
                for (index, record) in records.enumerated() {
                    do throws(LogError) {
                        try producer.produce(topic: topic, partition: chosen[index], record: record, slot: DeliverySlot(batch: batch, index: index))
                    } catch {
                        batch.abandon(count: records.count - index, because: error)
                        return
                    }
                }
            }
            if !accepted { batch.abandon(count: records.count, because: LogError(.closed, "the Kafka log was closed; open a new KafkaLog")) }
        }
    }

    public func fetch(_ topic: TopicName, partition: PartitionID, from offset: Offset, limits: FetchLimits) async throws -> FetchResult {
        guard offset.rawValue >= 0 else { throw LogError(.invalidArgument, "offset must not be negative (got \(offset))") }
        guard limits.maxRecords > 0 else { return FetchResult(records: [], nextOffset: offset, logStartOffset: offset, highWatermark: offset) }
        let reader = self.reader, timeout = configuration.requestTimeout
        return try await blocking { try reader.fetch(topic, partition, from: offset, limits: limits, timeout: timeout) }
    }

    public func offset(for timestamp: Timestamp, topic: TopicName, partition: PartitionID) async throws -> Offset? {
        let handle = reader.handle, timeout = configuration.requestTimeout
        return try await blocking { try handle.offset(for: timestamp, topic: topic, partition: partition, timeout: timeout) }
    }

    // MARK: Groups

    /// Joins `group` as a new member with its own consumer (``KafkaGroupMember``): Kafka's group
    /// protocol spreads the topics' partitions over every member on every node.
    public func joinGroup(_ group: GroupID, topics: [TopicName], options: GroupOptions) async throws -> any GroupMember {
        guard !topics.isEmpty else { throw LogError(.invalidArgument, "a group member must subscribe to at least one topic") }
        guard !closed.isSet else { throw LogError(.closed, "the Kafka log was closed; open a new KafkaLog") }
        let counts = try await refreshPartitionCounts()
        if let missing = topics.first(where: { counts[$0] == nil }) {
            throw LogError(.unknownTopic, "topic \(missing) does not exist on Kafka at \(configuration.bootstrapServers); create it first")
        }
        let member = try KafkaGroupMember(group: group, topics: topics, options: options, configuration: configuration, logger: logger)
        members.withLock { list in
            // Members that rejoin leave their old selves behind: drop the released ones.
            list.removeAll { $0.member == nil }
            list.append(WeakMember(member))
        }
        return member
    }

    /// Every group the cluster knows, with members, owners and lag per partition. Partitions come
    /// from the committed offsets and from the live assignment.
    public func listGroups() async throws -> [GroupDescription] {
        let handle = producer, timeout = configuration.requestTimeout
        let groups = try await blocking { try handle.groupIDs(timeout: timeout) }
        var states = try await blocking { try handle.describeGroups(groups, timeout: timeout) }
        // This node's own members, which some brokers (Tansu) leave out of DescribeGroups.
        for member in liveMembers {
            var state = states[member.group] ?? KafkaGroupState(members: [], owners: [:], state: "Stable")
            if !state.members.contains(member.memberID) { state.members = (state.members + [member.memberID]).sorted() }
            for tp in member.ownedPartitions where state.owners[tp] == nil { state.owners[tp] = member.memberID }
            states[member.group] = state
        }
        var committed: [GroupID: [TopicPartition: Offset]] = [:]
        for group in groups { committed[group] = try await blocking { try handle.committedOffsets(group, timeout: timeout) } }
        var ends: [TopicPartition: (start: Offset, end: Offset)] = [:]
        var descriptions: [GroupDescription] = []
        for group in Set(groups).union(states.keys).sorted() {
            let state = states[group]
            let partitions = Set(committed[group, default: [:]].keys).union(state?.owners.keys ?? [:].keys)
            var rows: [GroupPartitionLag] = []
            for tp in partitions.sorted() {
                if ends[tp] == nil {
                    guard let description = try? await describeTopic(tp.topic) else { continue }
                    for p in description.partitions { ends[TopicPartition(tp.topic, p.partition)] = (p.startOffset, p.endOffset) }
                }
                guard let (start, end) = ends[tp] else { continue }
                let done = committed[group]?[tp]
                rows.append(GroupPartitionLag(topic: tp.topic, partition: tp.partition, committed: done, end: end,
                                              lag: max(0, end.rawValue - (done ?? start).rawValue), owner: state?.owners[tp]))
            }
            descriptions.append(GroupDescription(group: group, members: state?.members ?? [], generation: 0, partitions: rows))
        }
        return descriptions
    }

    /// Overwrites a group's committed offsets (replay or skip). Refused while the group has live
    /// members, as on the embedded log: stop the consumers (every node) first.
    public func resetOffsets(_ group: GroupID, to offsets: [TopicPartition: Offset]) async throws {
        guard !offsets.isEmpty else { return }
        let local = liveMembers.filter { $0.group == group }.map(\.memberID)
        if !local.isEmpty { throw KafkaHandle.liveGroup(group, members: local) }
        let handle = producer, timeout = configuration.requestTimeout
        try await blocking {
            if let live = try handle.describeGroups([group], timeout: timeout)[group], !live.members.isEmpty {
                throw KafkaHandle.liveGroup(group, members: live.members)
            }
            try handle.alterOffsets(group, offsets, timeout: timeout)
        }
    }

    /// Runs a blocking librdkafka call on the dedicated threads.
    private func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        guard !closed.isSet else { throw LogError(.closed, "the Kafka log was closed; open a new KafkaLog") }
        return try await threads.run(body)
    }
}

/// A member the log does not keep alive.
private struct WeakMember: Sendable {
    weak var member: KafkaGroupMember?
    init(_ member: KafkaGroupMember) { self.member = member }
}
