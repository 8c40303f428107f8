import CKafka
import ChaparModels
import Synchronization

/// Random-access reads (`fetch`) over one consumer handle with manual assignment: no consumer
/// group is joined and nothing is committed (the `group.id` librdkafka requires for `assign` is
/// a private one that never subscribes).
///
/// A fetch that continues where the previous one stopped keeps the assignment, so librdkafka's
/// prefetched records are used and sequential reading streams; any other fetch reassigns. Every
/// method blocks: call them on ``KafkaThreads`` only. Fetches are serialized by `state`'s lock.
final class KafkaReader: Sendable {
    private struct State {
        /// The partition assigned now and the next offset the consumer will return.
        var assigned: TopicPartition?
        var position = Offset(0)
        /// The log start offset from the last query of the assigned partition.
        var logStart = Offset(0)
    }

    let handle: KafkaHandle
    private let state = Mutex(State())

    init(handle: KafkaHandle) { self.handle = handle }

    /// Reads records of one partition from `offset`, like the embedded log: an offset before the
    /// log start or after the end is `offsetOutOfRange`; at the end, the result is empty (after
    /// waiting up to `maxWait` for new records). Bounded by `timeout` otherwise.
    ///
    /// The end of the partition is learned from fetch responses (their high watermark, or the
    /// partition-EOF event), not from ListOffsets: Tansu 0.6 answers ListOffsets(latest) with the
    /// last batch's base offset + 1, which is short by the batch's other records (docs/kafka.md).
    func fetch(_ topic: TopicName, _ partition: PartitionID, from offset: Offset, limits: FetchLimits, timeout: Duration) throws(LogError) -> FetchResult {
        let tp = TopicPartition(topic, partition)
        return try state.withLock { (state: inout State) throws(LogError) -> FetchResult in
            let continuing = state.assigned == tp && state.position == offset
            // Continuing at the known end: librdkafka reports a partition's EOF once per end
            // offset, so the end is taken from the last fetch response instead of waited for.
            var knownEnd: Offset?
            if continuing, let high = cachedHighWatermark(tp), offset >= high {
                if limits.maxWait <= .zero {
                    return FetchResult(records: [], nextOffset: offset, logStartOffset: state.logStart, highWatermark: high)
                }
                knownEnd = high
            }
            if !continuing {
                let (low, listedEnd) = try handle.watermarks(topic, partition, timeout: timeout)
                guard offset >= low else {
                    throw LogError(.offsetOutOfRange, "offset \(offset) of \(tp) was removed by retention: the partition starts at \(low) on Kafka at \(handle.servers)")
                }
                if offset > listedEnd {
                    // Past the end as listed. Apache Kafka's list is exact, Tansu's may be short
                    // (see above): read the last batch to learn the real end before refusing.
                    let end = try trueEnd(tp, listedEnd: listedEnd, low: low, into: &state, timeout: timeout)
                    guard offset <= end else {
                        throw LogError(.offsetOutOfRange, "offset \(offset) is past the end of \(tp), which holds offsets \(low)..<\(end) on Kafka at \(handle.servers)")
                    }
                }
                state.assigned = nil
                try assign(tp, at: offset)
                state.assigned = tp
                state.position = offset
                state.logStart = low
            }
            do throws(LogError) {
                let (records, high) = try poll(tp, into: &state, knownEnd: knownEnd, limits: limits, timeout: timeout)
                return FetchResult(records: records, nextOffset: state.position, logStartOffset: state.logStart, highWatermark: max(high, state.position))
            } catch {
                state.assigned = nil
                throw error
            }
        }
    }

    /// Polls the assigned partition until `limits` are reached, the end is reached (then up to
    /// `maxWait` more for new records), or `timeout` passes. Returns the records and the end.
    private func poll(_ tp: TopicPartition, into state: inout State, knownEnd: Offset?, limits: FetchLimits, timeout: Duration) throws(LogError) -> ([ConsumerRecord], Offset) {
        let clock = ContinuousClock()
        var deadline = clock.now.advanced(by: knownEnd == nil ? timeout : limits.maxWait)
        var records: [ConsumerRecord] = []
        var bytes = 0
        var endSeen = knownEnd
        while records.count < limits.maxRecords && bytes < limits.maxBytes {
            if !records.isEmpty, let high = cachedHighWatermark(tp), state.position >= high { break }
            let left = clock.now.duration(to: deadline)
            guard left > .zero else { break }
            guard let message = rd_kafka_consumer_poll(handle.pointer, Int32(clamping: min(left, .milliseconds(100)).milliseconds)) else { continue }
            defer { rd_kafka_message_destroy(message) }
            let error = message.pointee.err
            let topicName = message.pointee.rkt.flatMap { rd_kafka_topic_name($0) }.map { String(cString: $0) }
            let ours = topicName == tp.topic.rawValue && PartitionID(Int(message.pointee.partition)) == tp.partition
            if error == RD_KAFKA_RESP_ERR__PARTITION_EOF {
                guard ours else { continue }
                endSeen = Offset(message.pointee.offset)
                if !records.isEmpty || limits.maxWait <= .zero { break }
                // At the end with nothing yet: wait for new records up to maxWait.
                deadline = min(deadline, clock.now.advanced(by: limits.maxWait))
                continue
            }
            if error != RD_KAFKA_RESP_ERR_NO_ERROR {
                // Transient broker trouble is reported here too; librdkafka retries it by itself.
                guard ours else { continue }
                if error == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET || error == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE {
                    let end = cachedHighWatermark(tp).map { "; it ends at \($0)" } ?? ""
                    throw LogError(.offsetOutOfRange, "offset \(state.position) is past the end of \(tp) on Kafka at \(handle.servers)\(end)")
                }
                let failure = KafkaHandle.logError(error, doing: "fetching \(tp) from offset \(state.position)", servers: handle.servers)
                if failure.code != .unavailable { throw failure }
                continue
            }
            let offset = Offset(message.pointee.offset)
            guard ours, offset >= state.position else { continue }
            let record = Self.consumerRecord(message, tp: tp, offset: offset)
            bytes += record.value.count + (record.key?.count ?? 0)
            records.append(record)
            state.position = offset + 1
        }
        if records.isEmpty && endSeen == nil {
            throw LogError(.unavailable, "Kafka at \(handle.servers) returned neither records of \(tp) from offset \(state.position) nor its end within \(timeout); check that the brokers run, then retry")
        }
        return (records, cachedHighWatermark(tp) ?? endSeen ?? state.position)
    }

    /// The partition's end as a fetch response reports it: reads from the last listed offset.
    private func trueEnd(_ tp: TopicPartition, listedEnd: Offset, low: Offset, into state: inout State, timeout: Duration) throws(LogError) -> Offset {
        let start = max(low, listedEnd + -1)
        state.assigned = nil
        try assign(tp, at: start)
        state.assigned = tp
        state.position = start
        state.logStart = low
        let (_, end) = try poll(tp, into: &state, knownEnd: nil, limits: FetchLimits(maxRecords: Int.max, maxBytes: Int.max), timeout: timeout)
        state.assigned = nil
        return end
    }

    /// Assigns `tp` (only) to the consumer, starting at `offset`.
    private func assign(_ tp: TopicPartition, at offset: Offset) throws(LogError) {
        guard let list = rd_kafka_topic_partition_list_new(1) else { throw LogError(.storage, "librdkafka could not allocate a partition list") }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        rd_kafka_topic_partition_list_add(list, tp.topic.rawValue, Int32(tp.partition.rawValue))?.pointee.offset = offset.rawValue
        let error = rd_kafka_assign(handle.pointer, list)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaHandle.logError(error, doing: "assigning \(tp) for reading", servers: handle.servers)
        }
    }

    /// The high watermark of the last fetch response, without asking the broker.
    private func cachedHighWatermark(_ tp: TopicPartition) -> Offset? {
        var low: Int64 = -1, high: Int64 = -1
        let error = rd_kafka_get_watermark_offsets(handle.pointer, tp.topic.rawValue, Int32(tp.partition.rawValue), &low, &high)
        return error == RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0 ? Offset(high) : nil
    }

    /// Copies a fetched message into a ``ConsumerRecord`` (key, value, headers, timestamp).
    static func consumerRecord(_ message: UnsafeMutablePointer<rd_kafka_message_t>, tp: TopicPartition, offset: Offset) -> ConsumerRecord {
        let m = message.pointee
        let value = m.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: m.len)) } ?? []
        let key = m.key.map { Array(UnsafeRawBufferPointer(start: $0, count: m.key_len)) }
        var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &type)
        var headers: [RecordHeader] = []
        var list: OpaquePointer?
        if rd_kafka_message_headers(message, &list) == RD_KAFKA_RESP_ERR_NO_ERROR, let list {
            var index = 0
            var name: UnsafePointer<CChar>?
            var bytes: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(list, index, &name, &bytes, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                let headerValue = bytes.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
                headers.append(RecordHeader(name.map { String(cString: $0) } ?? "", headerValue))
                index += 1
            }
        }
        return ConsumerRecord(
            topic: tp.topic, partition: tp.partition, offset: offset, timestamp: Timestamp(milliseconds: timestamp),
            key: key.map { $0[...] }, value: value[...], headers: headers)
    }
}
