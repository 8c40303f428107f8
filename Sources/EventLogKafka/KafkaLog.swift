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
/// - Consumer groups are not implemented on this backend yet: `joinGroup`, `listGroups` and
///   `resetOffsets` throw `unsupported`.
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
    private let closed = ClosedFlag()

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
        let common: [(String, String)] = [
            ("bootstrap.servers", configuration.bootstrapServers),
            ("client.id", configuration.clientID),
            ("socket.timeout.ms", String(max(configuration.requestTimeout.milliseconds, 10))),
        ]
        let extra = configuration.properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
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
        let producer = self.producer, timeout = configuration.deliveryTimeout
        _ = try? await threads.run { producer.flush(timeout: timeout) }
        closed.set()
        threads.shutdown()
    }

    // MARK: Topics

    public func createTopic(_ topic: TopicName, configuration topicConfiguration: TopicConfiguration) async throws -> TopicDescription {
        if let problem = topicConfiguration.problem { throw LogError(.invalidArgument, "cannot create topic \(topic): \(problem)") }
        let producer = self.producer, partitions = topicConfiguration.partitions
        let replicas = configuration.replicationFactor, timeout = configuration.requestTimeout
        try await blocking { try producer.createTopic(topic, partitions: partitions, replicationFactor: replicas, timeout: timeout) }
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

    // MARK: Groups (not yet)

    public func joinGroup(_ group: GroupID, topics: [TopicName], options: GroupOptions) async throws -> any GroupMember {
        throw Self.groupsUnsupported("joinGroup(\(group))")
    }

    public func listGroups() async throws -> [GroupDescription] {
        throw Self.groupsUnsupported("listGroups")
    }

    public func resetOffsets(_ group: GroupID, to offsets: [TopicPartition: Offset]) async throws {
        throw Self.groupsUnsupported("resetOffsets(\(group))")
    }

    private static func groupsUnsupported(_ call: String) -> LogError {
        LogError(.unsupported, "\(call): consumer groups are not implemented on the Kafka backend yet (issue 12); use the embedded log (log.backend = embedded) for the notifier and delivery groups")
    }

    /// Runs a blocking librdkafka call on the dedicated threads.
    private func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        guard !closed.isSet else { throw LogError(.closed, "the Kafka log was closed; open a new KafkaLog") }
        return try await threads.run(body)
    }
}

/// Set once by `close()`; read by the delivery-report thread and every call. A class so that the
/// thread can hold it without holding the log.
private final class ClosedFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}
