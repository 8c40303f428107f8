import CKafka
import ChaparModels
import Foundation
import Logging
import Synchronization

/// A member of a Kafka consumer group: one librdkafka consumer subscribed to the group's topics,
/// with cooperative rebalancing (`cooperative-sticky`) for ``AssignmentStrategy/sticky``, so a
/// member that joins or leaves moves only the partitions that must move. See ``GroupMember``.
///
/// - The assignment comes from librdkafka's rebalance callback (``GroupAssignment``), which runs
///   inside `poll` and `leave`, on this member's threads.
/// - A partition newly assigned starts at the group's committed offset, or at the start position
///   of ``GroupOptions`` when nothing was committed (`auto.offset.reset`).
/// - `commit` writes explicit offsets synchronously (`rd_kafka_commit`), so it returns once the
///   group coordinator has stored them. A commit the coordinator refuses because the group has
///   moved on (`ILLEGAL_GENERATION`, `UNKNOWN_MEMBER_ID`, `REBALANCE_IN_PROGRESS`) throws
///   `notPartitionOwner`: those records will be read again by the partition's next owner.
/// - Offsets of a partition that was revoked a moment ago are still committed when the coordinator
///   accepts them: they are offsets of records this member finished, so the commit can never skip an
///   unfinished record; the worst case is that the new owner sends some of them again, with the
///   same job id (docs/kafka.md, "Duplicates").
///
/// Threading: two dedicated threads (`KafkaThreads`), one for polls (which block up to their
/// timeout) and one so that a commit does not wait behind a poll. Nothing blocks the cooperative pool.
final class KafkaGroupMember: GroupMember {
    let group: GroupID
    let memberID: MemberID
    private let handle: KafkaHandle
    private let assignment: GroupAssignment
    private let threads: KafkaThreads
    private let left = Atomic<Bool>(false)
    private let logger: Logger

    /// Creates the consumer and subscribes; the group's join completes during the first polls.
    init(group: GroupID, topics: [TopicName], options: GroupOptions, configuration: KafkaLog.Configuration, logger: Logger) throws(LogError) {
        self.group = group
        memberID = MemberID("\(options.clientID)-\(UUID().uuidString.prefix(8).lowercased())")
        var memberLogger = logger
        memberLogger[metadataKey: "chapar.group"] = .string(group.rawValue)
        memberLogger[metadataKey: "chapar.member"] = .string(memberID.rawValue)
        self.logger = memberLogger
        let session = configuration.groupSessionTimeout ?? options.sessionTimeout
        let assignment = GroupAssignment()
        self.assignment = assignment
        handle = try KafkaHandle(
            consumer: true,
            properties: configuration.commonProperties + [
                ("client.id", memberID.rawValue),
                ("group.id", group.rawValue),
                ("partition.assignment.strategy", options.strategy == .sticky ? "cooperative-sticky" : "range"),
                ("session.timeout.ms", String(max(session.milliseconds, 1))),
                ("heartbeat.interval.ms", String(max(session.milliseconds / 10, 100))),
                ("enable.auto.commit", "false"),
                ("enable.auto.offset.store", "false"),
                ("enable.partition.eof", "false"),
                ("auto.offset.reset", options.startPosition == .earliest ? "earliest" : "latest"),
                ("allow.auto.create.topics", "false"),
            ] + configuration.extraProperties,
            servers: configuration.bootstrapServers, logger: memberLogger, deliveryReports: false, assignment: assignment)
        threads = KafkaThreads(count: 2, name: "chapar-kgroup")
        let list = try partitionList([:])
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for topic in topics { rd_kafka_topic_partition_list_add(list, topic.rawValue, ckafka_partition_unassigned()) }
        let error = rd_kafka_subscribe(handle.pointer, list)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            threads.shutdown()
            throw KafkaHandle.logError(error, doing: "joining group \(group)", servers: configuration.bootstrapServers)
        }
    }

    deinit {
        // A member dropped without leave(): librdkafka's destroy closes the consumer (leaving the
        // group) on its own; only the threads must be stopped.
        threads.shutdown()
    }

    func poll(maxRecords: Int, timeout: Duration) async throws -> [ConsumerRecord] {
        try checkMember()
        let cancelled = SetOnceFlag()
        let handle = self.handle, assignment = self.assignment, logger = self.logger
        return try await withTaskCancellationHandler {
            try await threads.run {
                try Self.pollBlocking(handle, assignment, maxRecords: maxRecords, timeout: timeout, cancelled: cancelled, logger: logger)
            }
        } onCancel: {
            cancelled.set()
        }
    }

    /// Reads records of owned partitions: waits up to `timeout` for the first, then takes what is
    /// already fetched, up to `maxRecords`. With `maxRecords` 0 it only serves rebalances and
    /// heartbeats (a record read then is kept for the next poll). Blocking; on a member thread.
    private static func pollBlocking(_ handle: KafkaHandle, _ assignment: GroupAssignment, maxRecords: Int, timeout: Duration,
                                     cancelled: SetOnceFlag, logger: Logger) throws(LogError) -> [ConsumerRecord] {
        if maxRecords == 0 {
            if let record = try nextRecord(handle, wait: .zero, logger: logger) { assignment.keep(record) }
            return []
        }
        let clock = ContinuousClock(), deadline = clock.now.advanced(by: timeout)
        var records = assignment.takePending(max: maxRecords)
        var polled = false
        while records.count < maxRecords && !cancelled.isSet {
            let left = clock.now.duration(to: deadline)
            if records.isEmpty && left <= .zero && polled { break }
            polled = true
            // Wait (in slices, to notice a cancellation) only while nothing was read; after the
            // first record, take only what librdkafka has already fetched.
            let wait = records.isEmpty ? max(.zero, min(left, .milliseconds(100))) : .zero
            if let record = try nextRecord(handle, wait: wait, logger: logger) {
                records.append(record)
            } else if !records.isEmpty {
                break
            }
        }
        return assignment.handOut(records)
    }

    /// One `rd_kafka_consumer_poll` (which also runs rebalance callbacks): the record it returned,
    /// or nil for nothing or a transient error. Only a fatal client error throws.
    private static func nextRecord(_ handle: KafkaHandle, wait: Duration, logger: Logger) throws(LogError) -> ConsumerRecord? {
        guard let message = rd_kafka_consumer_poll(handle.pointer, Int32(clamping: wait.milliseconds)) else { return nil }
        defer { rd_kafka_message_destroy(message) }
        let error = message.pointee.err
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            if rd_kafka_fatal_error(handle.pointer, nil, 0) != RD_KAFKA_RESP_ERR_NO_ERROR {
                throw KafkaHandle.logError(error, doing: "consuming as a group member", servers: handle.servers)
            }
            // Broker trouble and max.poll.interval reports: librdkafka retries and rejoins by itself.
            logger.debug("librdkafka: \(String(cString: rd_kafka_err2str(error)))", metadata: ["chapar.kafka.error": .string(String(cString: rd_kafka_err2name(error)))])
            return nil
        }
        guard let rkt = message.pointee.rkt, let name = rd_kafka_topic_name(rkt), let topic = try? TopicName(String(cString: name)) else { return nil }
        let tp = TopicPartition(topic, PartitionID(Int(message.pointee.partition)))
        return KafkaReader.consumerRecord(message, tp: tp, offset: Offset(message.pointee.offset))
    }

    func assignment() async -> [TopicPartition] { assignment.owned }

    /// What ``assignment()`` returns, for callers that cannot wait.
    var ownedPartitions: [TopicPartition] { assignment.owned }
    var hasLeft: Bool { left.load(ordering: .acquiring) }

    func commit(_ offsets: [TopicPartition: Offset]) async throws {
        guard !offsets.isEmpty else { return }
        for (tp, offset) in offsets where offset.rawValue < 0 {
            throw LogError(.invalidArgument, "cannot commit negative offset \(offset) for \(tp)")
        }
        try checkMember()
        let handle = self.handle, group = self.group, memberID = self.memberID
        try await threads.run {
            let list = try partitionList(offsets)
            defer { rd_kafka_topic_partition_list_destroy(list) }
            var error = rd_kafka_commit(handle.pointer, list, 0)
            if error == RD_KAFKA_RESP_ERR_NO_ERROR {
                for index in 0..<Int(list.pointee.cnt) where list.pointee.elems[index].err != RD_KAFKA_RESP_ERR_NO_ERROR {
                    error = list.pointee.elems[index].err
                    break
                }
            }
            switch error {
            case RD_KAFKA_RESP_ERR_NO_ERROR:
                return
            case RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION, RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID, RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS,
                 RD_KAFKA_RESP_ERR__STATE, RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID:
                throw LogError(.notPartitionOwner, "member \(memberID) of group \(group) could not commit \(offsets.keys.sorted()): the group rebalanced (\(String(cString: rd_kafka_err2name(error)))); the records after the last commit will be delivered again to the partitions' owners")
            default:
                throw KafkaHandle.logError(error, doing: "committing offsets of group \(group)", servers: handle.servers)
            }
        }
        assignment.didCommit(offsets)
    }

    func commitPolled() async throws {
        try await commit(assignment.uncommittedPositions())
    }

    func seek(_ partition: TopicPartition, to offset: Offset) async throws {
        guard assignment.owns(partition) else {
            throw LogError(.notPartitionOwner, "member \(memberID) does not own \(partition); seek only partitions in assignment()")
        }
        guard offset.rawValue >= 0 else { throw LogError(.invalidArgument, "offsets are never negative (got \(offset))") }
        let handle = self.handle, timeout = Duration.seconds(10)
        try await threads.run {
            let list = try partitionList([partition: offset])
            defer { rd_kafka_topic_partition_list_destroy(list) }
            if let error = rd_kafka_seek_partitions(handle.pointer, list, Int32(clamping: timeout.milliseconds)) {
                defer { rd_kafka_error_destroy(error) }
                throw KafkaHandle.logError(rd_kafka_error_code(error), doing: "seeking \(partition) to \(offset)", servers: handle.servers)
            }
            let result = list.pointee.elems[0].err
            guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaHandle.logError(result, doing: "seeking \(partition) to \(offset)", servers: handle.servers)
            }
        }
        assignment.moved(partition, to: offset)
    }

    func leave() async {
        guard !left.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let handle = self.handle
        // Closing serves the last revoke and leaves the group at once (no session timeout to wait).
        _ = try? await threads.run { _ = rd_kafka_consumer_close(handle.pointer) }
        assignment.revokeAll()
        threads.shutdown()
    }

    private func checkMember() throws(LogError) {
        if left.load(ordering: .acquiring) { throw LogError(.notMember, "member \(memberID) has left group \(group); join again") }
    }
}
