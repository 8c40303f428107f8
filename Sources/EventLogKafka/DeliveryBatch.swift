import CKafka
import ChaparModels
import Synchronization

/// The records of one `append` call waiting for their delivery reports. The caller's
/// continuation resumes once every record is acknowledged or failed, with the positions in the
/// order given or with the first failure.
final class DeliveryBatch: Sendable {
    private struct State {
        var positions: [RecordPosition?]
        var outstanding: Int
        var failure: LogError?
        var continuation: CheckedContinuation<[RecordPosition], any Error>?
    }

    let topic: TopicName
    /// The bootstrap servers, for error messages.
    let servers: String
    private let state: Mutex<State>

    init(topic: TopicName, servers: String, count: Int, continuation: CheckedContinuation<[RecordPosition], any Error>) {
        self.topic = topic
        self.servers = servers
        state = Mutex(State(positions: Array(repeating: nil, count: count), outstanding: count, failure: nil, continuation: continuation))
    }

    /// Record `index` is durable at `position`, or failed.
    func finish(_ index: Int, _ result: Result<RecordPosition, LogError>) {
        settle(count: 1) { state in
            switch result {
            case .success(let position): state.positions[index] = position
            case .failure(let error): state.failure = state.failure ?? error
            }
        }
    }

    /// `count` records were never handed to librdkafka (the first enqueue failure): they will
    /// have no delivery report.
    func abandon(count: Int, because error: LogError) {
        settle(count: count) { state in state.failure = state.failure ?? error }
    }

    private func settle(count: Int, _ update: (inout State) -> Void) {
        let done: (CheckedContinuation<[RecordPosition], any Error>, Result<[RecordPosition], any Error>)? = state.withLock { state in
            update(&state)
            state.outstanding -= count
            guard state.outstanding == 0, let continuation = state.continuation else { return nil }
            state.continuation = nil
            if let failure = state.failure { return (continuation, .failure(failure)) }
            // Every slot is filled: each record had exactly one successful report.
            return (continuation, .success(state.positions.map { $0! }))
        }
        if let (continuation, result) = done { continuation.resume(with: result) }
    }
}

/// One record's place in its ``DeliveryBatch``: the per-message opaque of the delivery report.
final class DeliverySlot: Sendable {
    let batch: DeliveryBatch
    let index: Int
    init(batch: DeliveryBatch, index: Int) {
        self.batch = batch
        self.index = index
    }

    /// Called from librdkafka's delivery report (on the thread serving `rd_kafka_poll`).
    func report(_ message: UnsafePointer<rd_kafka_message_t>) {
        let error = message.pointee.err
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            batch.finish(index, .failure(KafkaHandle.logError(error, doing: "appending to \(batch.topic)", servers: batch.servers)))
            return
        }
        var type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &type)
        batch.finish(index, .success(RecordPosition(
            topic: batch.topic, partition: PartitionID(Int(message.pointee.partition)),
            offset: Offset(message.pointee.offset), timestamp: Timestamp(milliseconds: timestamp))))
    }
}
