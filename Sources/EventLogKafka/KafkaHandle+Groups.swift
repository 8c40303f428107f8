import CKafka
import ChaparModels
#if canImport(Glibc)
import Glibc
#endif

// Consumer-group administration through librdkafka's admin API (part of the raw-pointer kernel,
// with KafkaHandle.swift): list groups, describe their members and assignments, read and
// overwrite committed offsets. Every call blocks until the answer or its timeout: run them on
// `KafkaThreads`.

/// One group as the cluster describes it: its members (by client id, which Chapar sets to the
/// member id) and which member owns which partition.
struct KafkaGroupState {
    var members: [MemberID]
    var owners: [TopicPartition: MemberID]
    /// Kafka's group state name (`Stable`, `Empty`, `PreparingRebalance`, …).
    var state: String
}

extension KafkaHandle {
    /// Every consumer group the cluster knows whose name is a valid Chapar group name.
    func groupIDs(timeout: Duration) throws(LogError) -> [GroupID] {
        try adminRequest(RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS, doing: "listing consumer groups", timeout: timeout) { options, queue in
            rd_kafka_ListConsumerGroups(pointer, options, queue)
        } result: { event throws(LogError) in
            var count = 0
            guard let result = rd_kafka_event_ListConsumerGroups_result(event),
                  let listings = rd_kafka_ListConsumerGroups_result_valid(result, &count) else { return [] }
            return (0..<count).compactMap { index in
                rd_kafka_ConsumerGroupListing_group_id(listings[index]).flatMap { try? GroupID(String(cString: $0)) }
            }
        }
    }

    /// Members and assignments of `groups`.
    func describeGroups(_ groups: [GroupID], timeout: Duration) throws(LogError) -> [GroupID: KafkaGroupState] {
        guard !groups.isEmpty else { return [:] }
        var names = groups.map { strdup($0.rawValue) }
        defer { for name in names { free(name) } }
        return try adminRequest(RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS, doing: "describing consumer groups", timeout: timeout) { options, queue in
            names.withUnsafeMutableBufferPointer { buffer in
                buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffer.count) { base in
                    rd_kafka_DescribeConsumerGroups(pointer, base, buffer.count, options, queue)
                }
            }
        } result: { event throws(LogError) in
            var count = 0
            guard let result = rd_kafka_event_DescribeConsumerGroups_result(event),
                  let descriptions = rd_kafka_DescribeConsumerGroups_result_groups(result, &count) else { return [:] }
            var states: [GroupID: KafkaGroupState] = [:]
            for index in 0..<count {
                let description = descriptions[index]
                guard rd_kafka_ConsumerGroupDescription_error(description) == nil,
                      let name = rd_kafka_ConsumerGroupDescription_group_id(description),
                      let group = try? GroupID(String(cString: name)) else { continue }
                var state = KafkaGroupState(members: [], owners: [:], state: String(cString: rd_kafka_consumer_group_state_name(rd_kafka_ConsumerGroupDescription_state(description))))
                for m in 0..<rd_kafka_ConsumerGroupDescription_member_count(description) {
                    guard let member = rd_kafka_ConsumerGroupDescription_member(description, m) else { continue }
                    let id = MemberID(rd_kafka_MemberDescription_client_id(member).map { String(cString: $0) } ?? "?")
                    state.members.append(id)
                    if let assignment = rd_kafka_MemberDescription_assignment(member),
                       let partitions = rd_kafka_MemberAssignment_partitions(assignment) {
                        for tp in topicPartitions(UnsafeMutablePointer(mutating: partitions)) { state.owners[tp] = id }
                    }
                }
                state.members.sort()
                states[group] = state
            }
            return states
        }
    }

    /// A group's committed offsets (partitions with none are left out).
    func committedOffsets(_ group: GroupID, timeout: Duration) throws(LogError) -> [TopicPartition: Offset] {
        guard let request = rd_kafka_ListConsumerGroupOffsets_new(group.rawValue, nil) else {
            throw LogError(.storage, "librdkafka could not allocate an offsets request")
        }
        defer { rd_kafka_ListConsumerGroupOffsets_destroy(request) }
        var requests: [OpaquePointer?] = [request]
        return try adminRequest(RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS, doing: "reading the offsets of group \(group)", timeout: timeout) { options, queue in
            rd_kafka_ListConsumerGroupOffsets(pointer, &requests, 1, options, queue)
        } result: { event throws(LogError) in
            try groupResultOffsets(rd_kafka_event_ListConsumerGroupOffsets_result(event).flatMap { result in
                var count = 0
                return rd_kafka_ListConsumerGroupOffsets_result_groups(result, &count).flatMap { count == 1 ? $0[0] : nil }
            }, doing: "reading the offsets of group \(group)")
        }
    }

    /// Overwrites a group's committed offsets. Kafka refuses while the group has members.
    func alterOffsets(_ group: GroupID, _ offsets: [TopicPartition: Offset], timeout: Duration) throws(LogError) {
        let list = try partitionList(offsets)
        defer { rd_kafka_topic_partition_list_destroy(list) }
        guard let request = rd_kafka_AlterConsumerGroupOffsets_new(group.rawValue, list) else {
            throw LogError(.storage, "librdkafka could not allocate an offsets request")
        }
        defer { rd_kafka_AlterConsumerGroupOffsets_destroy(request) }
        var requests: [OpaquePointer?] = [request]
        _ = try adminRequest(RD_KAFKA_ADMIN_OP_ALTERCONSUMERGROUPOFFSETS, doing: "resetting the offsets of group \(group)", timeout: timeout) { options, queue in
            rd_kafka_AlterConsumerGroupOffsets(pointer, &requests, 1, options, queue)
        } result: { event throws(LogError) in
            try groupResultOffsets(rd_kafka_event_AlterConsumerGroupOffsets_result(event).flatMap { result in
                var count = 0
                return rd_kafka_AlterConsumerGroupOffsets_result_groups(result, &count).flatMap { count == 1 ? $0[0] : nil }
            }, doing: "resetting the offsets of group \(group)", refusedWhileLive: group)
        }
    }

    /// The offsets in a group result, or its error (the group's, or the first partition's).
    /// `refusedWhileLive` names the group when the brokers refuse because it has members (they
    /// answer a change of a live group's offsets with one of a few codes).
    private func groupResultOffsets(_ groupResult: OpaquePointer?, doing action: String, refusedWhileLive: GroupID? = nil) throws(LogError) -> [TopicPartition: Offset] {
        guard let groupResult else { throw LogError(.storage, "Kafka at \(servers) gave no result when \(action); retry") }
        let liveCodes = [RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID, RD_KAFKA_RESP_ERR_NON_EMPTY_GROUP, RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS,
                         RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION, RD_KAFKA_RESP_ERR_GROUP_SUBSCRIBED_TO_TOPIC]
        let failure = { (code: rd_kafka_resp_err_t, detail: String?) -> LogError in
            if let group = refusedWhileLive, liveCodes.contains(code) { return Self.liveGroup(group, members: []) }
            return Self.logError(code, doing: action, servers: self.servers, detail: detail)
        }
        if let error = rd_kafka_group_result_error(groupResult) {
            throw failure(rd_kafka_error_code(error), rd_kafka_error_string(error).map { String(cString: $0) })
        }
        guard let partitions = rd_kafka_group_result_partitions(groupResult) else { return [:] }
        var offsets: [TopicPartition: Offset] = [:]
        for index in 0..<Int(partitions.pointee.cnt) {
            let element = partitions.pointee.elems[index]
            guard element.err == RD_KAFKA_RESP_ERR_NO_ERROR else { throw failure(element.err, nil) }
            guard element.offset >= 0, let name = element.topic, let topic = try? TopicName(String(cString: name)) else { continue }
            offsets[TopicPartition(topic, PartitionID(Int(element.partition)))] = Offset(element.offset)
        }
        return offsets
    }

    /// Offsets of a group with live members cannot be reset.
    static func liveGroup(_ group: GroupID, members: [MemberID]) -> LogError {
        let which = members.isEmpty ? "" : " (\(members.map(\.rawValue).joined(separator: ", ")))"
        return LogError(.invalidArgument, "group \(group) has live members\(which); stop its consumers on every node before resetting its offsets")
    }

    /// Sends one admin request and waits for its result event: `send` starts it with the options
    /// and reply queue, `result` reads the event (destroyed afterwards). The request's own
    /// timeout is `timeout`; the wait adds a margin only against a lost event.
    func adminRequest<T>(_ operation: rd_kafka_admin_op_t, doing action: String, timeout: Duration,
                         send: (OpaquePointer, OpaquePointer) -> Void,
                         result: (OpaquePointer) throws(LogError) -> T) throws(LogError) -> T {
        guard let queue = rd_kafka_queue_new(pointer) else { throw LogError(.storage, "librdkafka could not allocate a queue") }
        defer { rd_kafka_queue_destroy(queue) }
        guard let options = rd_kafka_AdminOptions_new(pointer, operation) else {
            throw LogError(.storage, "librdkafka could not allocate admin options")
        }
        defer { rd_kafka_AdminOptions_destroy(options) }
        var errorText = [CChar](repeating: 0, count: 512)
        let milliseconds = Int32(clamping: timeout.milliseconds)
        _ = rd_kafka_AdminOptions_set_request_timeout(options, milliseconds, &errorText, errorText.count)
        if operation == RD_KAFKA_ADMIN_OP_CREATETOPICS {
            _ = rd_kafka_AdminOptions_set_operation_timeout(options, milliseconds, &errorText, errorText.count)
        }
        send(options, queue)
        guard let event = rd_kafka_queue_poll(queue, milliseconds + 2_000) else {
            throw LogError(.unavailable, "Kafka at \(servers) did not answer within \(timeout) when \(action); check that the brokers run, then retry")
        }
        defer { rd_kafka_event_destroy(event) }
        let eventError = rd_kafka_event_error(event)
        guard eventError == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw Self.logError(eventError, doing: action, servers: servers, timeout: timeout)
        }
        return try result(event)
    }
}
