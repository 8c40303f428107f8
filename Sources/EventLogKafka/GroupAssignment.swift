import ChaparModels
import Synchronization

/// What one group member knows about its partitions: the assignment librdkafka's rebalance
/// callback gives and takes, the position after the last record handed to the caller, and
/// records read but not handed out yet. Shared by the member (on its threads) and the rebalance
/// callback (inside `rd_kafka_consumer_poll` or `rd_kafka_consumer_close`).
final class GroupAssignment: Sendable {
    private struct State {
        var owned: Set<TopicPartition> = []
        /// Next offset to consume per owned partition, after the records returned by `poll`.
        var positions: [TopicPartition: Offset] = [:]
        /// What this member committed last per partition (so `commitPolled` sends only changes).
        var committed: [TopicPartition: Offset] = [:]
        /// Read by a zero-record poll (a heartbeat) and kept for the next poll.
        var pending: [ConsumerRecord] = []
    }

    private let state = Mutex(State())

    var owned: [TopicPartition] { state.withLock { $0.owned.sorted() } }

    func owns(_ tp: TopicPartition) -> Bool { state.withLock { $0.owned.contains(tp) } }

    /// Partitions the group gave this member (added to what it owns: cooperative rebalancing).
    func assigned(_ partitions: [TopicPartition]) {
        state.withLock { $0.owned.formUnion(partitions) }
    }

    /// Partitions taken away (revoked, or lost after a session timeout): their positions and
    /// pending records go, so nothing of theirs is handed out or committed by `commitPolled`.
    func revoked(_ partitions: [TopicPartition]) {
        let gone = Set(partitions)
        state.withLock { s in
            s.owned.subtract(gone)
            for tp in gone {
                s.positions[tp] = nil
                s.committed[tp] = nil
            }
            s.pending.removeAll { gone.contains(TopicPartition($0.topic, $0.partition)) }
        }
    }

    /// Everything was taken (the member left or was closed).
    func revokeAll() { revoked(owned) }

    /// Up to `max` kept records of partitions still owned.
    func takePending(max: Int) -> [ConsumerRecord] {
        state.withLock { s in
            let taken = Array(s.pending.prefix(max))
            s.pending.removeFirst(taken.count)
            return taken
        }
    }

    func keep(_ record: ConsumerRecord) { state.withLock { $0.pending.append(record) } }

    /// Drops records of partitions revoked while they were being read (a rebalance inside the
    /// poll), and moves the positions past the rest: these are the records the caller gets.
    func handOut(_ records: [ConsumerRecord]) -> [ConsumerRecord] {
        state.withLock { s in
            let kept = records.filter { s.owned.contains(TopicPartition($0.topic, $0.partition)) }
            for record in kept { s.positions[TopicPartition(record.topic, record.partition)] = record.offset + 1 }
            return kept
        }
    }

    /// Positions that moved since the last commit, for `commitPolled`.
    func uncommittedPositions() -> [TopicPartition: Offset] {
        state.withLock { s in s.positions.filter { s.committed[$0.key] != $0.value } }
    }

    func didCommit(_ offsets: [TopicPartition: Offset]) {
        state.withLock { s in for (tp, offset) in offsets where s.owned.contains(tp) { s.committed[tp] = offset } }
    }

    /// After a seek: the next record of `tp` is at `offset`; kept records of `tp` are dropped.
    func moved(_ tp: TopicPartition, to offset: Offset) {
        state.withLock { s in
            s.positions[tp] = offset
            s.pending.removeAll { $0.topic == tp.topic && $0.partition == tp.partition }
        }
    }
}
