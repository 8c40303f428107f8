import CKafka
import ChaparModels
import Logging

// The raw-pointer kernel of the Kafka backend: every call into librdkafka lives in this file
// (and KafkaHandle+Reader.swift), so the rest of the module works with Swift values only.
//
// Memory rules followed here: everything librdkafka returns is destroyed with its matching
// *_destroy in a `defer` next to where it was obtained; bytes handed to librdkafka are copied by
// it (RD_KAFKA_MSG_F_COPY, the admin constructors), so Swift buffers need to live only for the call.

/// One librdkafka client instance (`rd_kafka_t`), producer or consumer.
///
/// `@unchecked Sendable`: librdkafka documents its handle API as thread-safe; the Swift side
/// holds only immutable values besides the pointer.
final class KafkaHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    /// `bootstrap.servers`, for error messages.
    let servers: String
    private let context: Unmanaged<HandleContext>

    /// What the C callbacks reach through `rd_kafka_opaque`.
    final class HandleContext: Sendable {
        let logger: Logger
        let servers: String
        /// A group member's partitions, kept by the rebalance callback; nil for other clients.
        let assignment: GroupAssignment?
        init(logger: Logger, servers: String, assignment: GroupAssignment?) {
            self.logger = logger
            self.servers = servers
            self.assignment = assignment
        }
    }

    /// Creates a client with `properties` (applied in order). `deliveryReports` makes it a
    /// producer whose delivery reports go to ``DeliverySlot``s (served by `rd_kafka_poll`).
    /// `assignment` makes it a group consumer whose rebalances are applied by
    /// ``serveRebalance(_:_:_:_:)`` and recorded there.
    init(consumer: Bool, properties: [(String, String)], servers: String, logger: Logger, deliveryReports: Bool,
         assignment: GroupAssignment? = nil) throws(LogError) {
        guard let conf = rd_kafka_conf_new() else { throw LogError(.storage, "librdkafka could not allocate a configuration") }
        var errorText = [CChar](repeating: 0, count: 512)
        for (name, value) in properties {
            if rd_kafka_conf_set(conf, name, value, &errorText, errorText.count) != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                throw LogError(.invalidArgument, "Kafka property \(name): \(cText(errorText)); fix the Kafka configuration")
            }
        }
        let context = Unmanaged.passRetained(HandleContext(logger: logger, servers: servers, assignment: assignment))
        rd_kafka_conf_set_opaque(conf, context.toOpaque())
        rd_kafka_conf_set_log_cb(conf) { handle, level, facility, message in
            guard let handle, let opaque = rd_kafka_opaque(handle) else { return }
            let context = Unmanaged<HandleContext>.fromOpaque(opaque).takeUnretainedValue()
            let text = message.map { String(cString: $0) } ?? ""
            // A library logs at info or lower (swift-log's best practices); callers get typed errors.
            let logLevel: Logger.Level = level <= 4 ? .info : level <= 6 ? .debug : .trace
            context.logger.log(level: logLevel, "librdkafka: \(text)", metadata: [
                "chapar.kafka.facility": .string(facility.map { String(cString: $0) } ?? ""),
                "chapar.kafka.servers": .string(context.servers),
            ])
        }
        // Without an error callback librdkafka logs every connection failure as an error line;
        // the calls already turn them into typed errors, so these only go to the debug log.
        rd_kafka_conf_set_error_cb(conf) { handle, error, reason, _ in
            guard let handle, let opaque = rd_kafka_opaque(handle) else { return }
            let context = Unmanaged<HandleContext>.fromOpaque(opaque).takeUnretainedValue()
            context.logger.debug("librdkafka: \(reason.map { String(cString: $0) } ?? "")", metadata: [
                "chapar.kafka.error": .string(String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(rawValue: error)))),
                "chapar.kafka.servers": .string(context.servers),
            ])
        }
        if deliveryReports {
            rd_kafka_conf_set_dr_msg_cb(conf) { _, message, _ in
                guard let message, let slot = message.pointee._private else { return }
                Unmanaged<DeliverySlot>.fromOpaque(slot).takeRetainedValue().report(message)
            }
        }
        if assignment != nil {
            rd_kafka_conf_set_rebalance_cb(conf) { handle, error, partitions, opaque in
                guard let handle, let opaque else { return }
                let context = Unmanaged<HandleContext>.fromOpaque(opaque).takeUnretainedValue()
                serveRebalance(handle, error, partitions, context)
            }
        }
        // rd_kafka_new takes ownership of conf on success only.
        guard let handle = rd_kafka_new(consumer ? RD_KAFKA_CONSUMER : RD_KAFKA_PRODUCER, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)
            context.release()
            throw LogError(.invalidArgument, "cannot create a Kafka client for \(servers): \(cText(errorText))")
        }
        if consumer { rd_kafka_poll_set_consumer(handle) }
        self.pointer = handle
        self.servers = servers
        self.context = context
    }

    deinit {
        rd_kafka_destroy(pointer)
        context.release()
    }

    /// Serves delivery reports and log lines for up to `timeout`; blocking.
    func poll(timeout: Duration) {
        rd_kafka_poll(pointer, Int32(clamping: timeout.milliseconds))
    }

    /// Waits up to `timeout` for every queued record to be delivered or failed; blocking.
    func flush(timeout: Duration) -> Bool {
        rd_kafka_flush(pointer, Int32(clamping: timeout.milliseconds)) == RD_KAFKA_RESP_ERR_NO_ERROR
    }

    // MARK: Producing

    /// Hands one record to the producer's queue, waiting while the queue is full; blocking.
    /// `slot` receives the delivery report (it is retained until then).
    func produce(topic: TopicName, partition: PartitionID?, record: ProducerRecord, slot: DeliverySlot) throws(LogError) {
        var headers: OpaquePointer?
        if !record.headers.isEmpty {
            headers = rd_kafka_headers_new(record.headers.count)
            for header in record.headers {
                header.value.withUnsafeBytes { bytes in
                    _ = rd_kafka_header_add(headers, header.key, -1, bytes.baseAddress, bytes.count)
                }
            }
        }
        let opaque = Unmanaged.passRetained(slot).toOpaque()
        let error = record.value.withUnsafeBytes { value in
            withOptionalBytes(record.key) { key in
                ckafka_produce(
                    pointer, topic.rawValue, Int32(partition?.rawValue ?? Int(ckafka_partition_unassigned())),
                    record.key == nil ? 0 : 1, key?.baseAddress, key?.count ?? 0, value.baseAddress, value.count,
                    headers, record.timestamp?.milliseconds ?? 0, opaque, 1)
            }
        }
        if let error {
            Unmanaged<DeliverySlot>.fromOpaque(opaque).release()
            defer { rd_kafka_error_destroy(error) }
            throw Self.logError(rd_kafka_error_code(error), doing: "queueing a record for \(topic)", servers: servers)
        }
    }

    // MARK: Metadata

    /// A topic's partition count as the cluster reports it, or nil when there is no such topic; blocking.
    func partitionCounts(timeout: Duration) throws(LogError) -> [TopicName: Int] {
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let error = rd_kafka_metadata(pointer, 1, nil, &metadata, Int32(clamping: timeout.milliseconds))
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw Self.logError(error, doing: "reading cluster metadata", servers: servers, timeout: timeout)
        }
        defer { rd_kafka_metadata_destroy(metadata) }
        var counts: [TopicName: Int] = [:]
        for index in 0..<Int(metadata.pointee.topic_cnt) {
            let topic = metadata.pointee.topics[index]
            guard topic.err == RD_KAFKA_RESP_ERR_NO_ERROR, let name = topic.topic,
                  // Internal topics (__consumer_offsets) fail TopicName's rules and are not ours.
                  let topicName = try? TopicName(String(cString: name)) else { continue }
            counts[topicName] = Int(topic.partition_cnt)
        }
        return counts
    }

    /// The first and one-past-last offsets of a partition, asked of its leader; blocking.
    func watermarks(_ topic: TopicName, _ partition: PartitionID, timeout: Duration) throws(LogError) -> (low: Offset, high: Offset) {
        var low: Int64 = -1, high: Int64 = -1
        let error = rd_kafka_query_watermark_offsets(pointer, topic.rawValue, Int32(partition.rawValue), &low, &high, Int32(clamping: timeout.milliseconds))
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw Self.logError(error, doing: "reading the offsets of \(topic)-\(partition)", servers: servers, timeout: timeout)
        }
        return (Offset(low), Offset(high))
    }

    /// The first offset at or after `timestamp` in a partition, nil when every record is older; blocking.
    func offset(for timestamp: Timestamp, topic: TopicName, partition: PartitionID, timeout: Duration) throws(LogError) -> Offset? {
        guard let list = rd_kafka_topic_partition_list_new(1) else { throw LogError(.storage, "librdkafka could not allocate a partition list") }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        let entry = rd_kafka_topic_partition_list_add(list, topic.rawValue, Int32(partition.rawValue))
        entry?.pointee.offset = timestamp.milliseconds
        let error = rd_kafka_offsets_for_times(pointer, list, Int32(clamping: timeout.milliseconds))
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw Self.logError(error, doing: "looking up offsets by time in \(topic)-\(partition)", servers: servers, timeout: timeout)
        }
        let result = list.pointee.elems[0]
        guard result.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw Self.logError(result.err, doing: "looking up offsets by time in \(topic)-\(partition)", servers: servers)
        }
        return result.offset >= 0 ? Offset(result.offset) : nil
    }

    // MARK: Admin

    /// Creates a topic with the admin API and waits for the controller's answer; blocking.
    /// `settings` are topic configs (e.g. `cleanup.policy=compact`).
    func createTopic(_ topic: TopicName, partitions: Int, replicationFactor: Int?, settings: [(String, String)] = [], timeout: Duration) throws(LogError) {
        var errorText = [CChar](repeating: 0, count: 512)
        guard let newTopic = rd_kafka_NewTopic_new(topic.rawValue, Int32(partitions), Int32(replicationFactor ?? -1), &errorText, errorText.count) else {
            throw LogError(.invalidArgument, "cannot create topic \(topic): \(cText(errorText))")
        }
        defer { rd_kafka_NewTopic_destroy(newTopic) }
        for (name, value) in settings where rd_kafka_NewTopic_set_config(newTopic, name, value) != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw LogError(.invalidArgument, "cannot create topic \(topic): topic setting \(name)=\(value) was refused")
        }
        var topics: [OpaquePointer?] = [newTopic]
        try adminRequest(RD_KAFKA_ADMIN_OP_CREATETOPICS, doing: "creating topic \(topic)", timeout: timeout) { options, queue in
            rd_kafka_CreateTopics(pointer, &topics, 1, options, queue)
        } result: { event throws(LogError) in
            try Self.checkCreated(event, topic: topic, partitions: partitions, servers: servers)
        }
    }

    /// The creation's outcome in a CreateTopics result event.
    private static func checkCreated(_ event: OpaquePointer, topic: TopicName, partitions: Int, servers: String) throws(LogError) {
        var count = 0
        guard let result = rd_kafka_event_CreateTopics_result(event),
              let results = rd_kafka_CreateTopics_result_topics(result, &count), count == 1 else {
            throw LogError(.storage, "Kafka at \(servers) gave no result for the creation of topic \(topic); retry")
        }
        let topicError = rd_kafka_topic_result_error(results[0])
        guard topicError == RD_KAFKA_RESP_ERR_NO_ERROR else {
            if topicError == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS {
                throw LogError(.topicExists, "topic \(topic) already exists on Kafka at \(servers)")
            }
            let detail = rd_kafka_topic_result_error_string(results[0]).map { String(cString: $0) }
            throw Self.logError(topicError, doing: "creating topic \(topic) with \(partitions) partitions", servers: servers, detail: detail)
        }
    }

    // MARK: Errors

    /// A ``LogError`` for a librdkafka error code: which code, what was being done, and what to do.
    static func logError(_ error: rd_kafka_resp_err_t, doing action: String, servers: String, timeout: Duration? = nil, detail: String? = nil) -> LogError {
        let name = String(cString: rd_kafka_err2name(error))
        let text = detail ?? String(cString: rd_kafka_err2str(error))
        let what = "Kafka at \(servers): \(action) failed: \(text) (\(name))"
        switch error {
        case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, RD_KAFKA_RESP_ERR__TIMED_OUT, RD_KAFKA_RESP_ERR__TRANSPORT,
             RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__RESOLVE, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
             RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
             RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
            let bound = timeout.map { " within \($0)" } ?? ""
            return LogError(.unavailable, "\(what)\(bound); check that the brokers run and the bootstrap servers are right, then retry")
        case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
            return LogError(.unknownTopic, "\(what); create the topic first (chapar log create-topic)")
        case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
            return LogError(.unknownPartition, "\(what); describe the topic for its partitions")
        case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
            return LogError(.topicExists, what)
        case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE, RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
            return LogError(.offsetOutOfRange, "\(what); describe the topic for the valid offsets")
        case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS, RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR,
             RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE,
             RD_KAFKA_RESP_ERR_INVALID_CONFIG, RD_KAFKA_RESP_ERR_INVALID_REQUEST, RD_KAFKA_RESP_ERR__INVALID_ARG:
            return LogError(.invalidArgument, what)
        case RD_KAFKA_RESP_ERR__DESTROY:
            return LogError(.closed, "\(what); the Kafka log was closed")
        default:
            return LogError(.storage, "\(what); see the brokers' logs")
        }
    }
}

/// librdkafka's rebalance callback for group members (it runs inside `rd_kafka_consumer_poll` and
/// `rd_kafka_consumer_close`, on the member's thread). With the cooperative protocol, partitions
/// are added and removed incrementally; with an eager one the whole assignment is replaced.
/// Revoked partitions leave ``GroupAssignment`` before librdkafka drops them, so no record of theirs
/// is handed out afterwards.
private func serveRebalance(_ handle: OpaquePointer, _ event: rd_kafka_resp_err_t,
                            _ partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
                            _ context: KafkaHandle.HandleContext) {
    let cooperative = rd_kafka_rebalance_protocol(handle).map { String(cString: $0) } == "COOPERATIVE"
    let list = partitions.map(topicPartitions) ?? []
    var failure: OpaquePointer?
    if event == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
        if cooperative {
            failure = rd_kafka_incremental_assign(handle, partitions)
        } else {
            context.assignment?.revokeAll()
            _ = rd_kafka_assign(handle, partitions)
        }
        context.assignment?.assigned(list)
    } else {
        context.assignment?.revoked(list)
        if cooperative {
            failure = rd_kafka_incremental_unassign(handle, partitions)
        } else {
            _ = rd_kafka_assign(handle, nil)
        }
    }
    let lost = event != RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS && rd_kafka_assignment_lost(handle) != 0
    context.logger.info(event == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ? "group partitions assigned" : lost ? "group partitions lost" : "group partitions revoked", metadata: [
        "chapar.partitions": .string(list.map(\.description).joined(separator: ",")),
        "chapar.kafka.servers": .string(context.servers),
    ])
    if let failure {
        context.logger.warning("librdkafka: \(String(cString: rd_kafka_error_string(failure)))", metadata: ["chapar.kafka.servers": .string(context.servers)])
        rd_kafka_error_destroy(failure)
    }
}

/// The topic-partitions of a librdkafka list (topics that are not Chapar names are skipped).
func topicPartitions(_ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> [TopicPartition] {
    (0..<Int(list.pointee.cnt)).compactMap { index in
        let element = list.pointee.elems[index]
        guard let name = element.topic, let topic = try? TopicName(String(cString: name)) else { return nil }
        return TopicPartition(topic, PartitionID(Int(element.partition)))
    }
}

/// A librdkafka partition list with an offset per partition; destroy it with
/// `rd_kafka_topic_partition_list_destroy`.
func partitionList(_ offsets: [TopicPartition: Offset]) throws(LogError) -> UnsafeMutablePointer<rd_kafka_topic_partition_list_t> {
    guard let list = rd_kafka_topic_partition_list_new(Int32(max(offsets.count, 1))) else {
        throw LogError(.storage, "librdkafka could not allocate a partition list")
    }
    for (tp, offset) in offsets.sorted(by: { $0.key < $1.key }) {
        rd_kafka_topic_partition_list_add(list, tp.topic.rawValue, Int32(tp.partition.rawValue))?.pointee.offset = offset.rawValue
    }
    return list
}

/// Calls `body` with the bytes of `array`, or nil when there is none.
private func withOptionalBytes<R>(_ array: [UInt8]?, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
    guard let array else { return body(nil) }
    return array.withUnsafeBytes { body($0) }
}

/// The NUL-terminated text librdkafka wrote into `buffer` (an `errstr` argument).
private func cText(_ buffer: [CChar]) -> String {
    let end = buffer.firstIndex(of: 0) ?? buffer.endIndex
    return String(decoding: buffer[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
