public import ChaparModels

/// Which offsets of one lane's partitions may be committed: only the contiguous prefix of
/// finished jobs, so a crash never skips a job that was still in flight or waiting to retry.
public struct OffsetTracker: Sendable {
    private struct Partition {
        /// Offsets handed out, in order; `head` is the first not yet committed.
        var offsets: [Int64] = []
        var head = 0
        var finished: Set<Int64> = []
        /// The next offset to commit, once the prefix before it is finished.
        var commitable: Int64?
    }

    private var partitions: [TopicPartition: Partition] = [:]

    public init() {}

    /// Registers a record handed to the pool. Offsets of one partition arrive in increasing order.
    public mutating func track(_ partition: TopicPartition, _ offset: Offset) {
        partitions[partition, default: Partition()].offsets.append(offset.rawValue)
    }

    /// Marks a record's job as finished (its outcome is in the ledger queue).
    public mutating func finish(_ partition: TopicPartition, _ offset: Offset) {
        guard var p = partitions[partition] else { return }
        p.finished.insert(offset.rawValue)
        while p.head < p.offsets.count, p.finished.remove(p.offsets[p.head]) != nil {
            p.commitable = p.offsets[p.head] + 1
            p.head += 1
        }
        if p.head > 1024 && p.head * 2 > p.offsets.count {
            p.offsets.removeFirst(p.head)
            p.head = 0
        }
        partitions[partition] = p
    }

    /// The offsets that became committable since the last call, and forgets them.
    public mutating func takeCommitable() -> [TopicPartition: Offset] {
        var result: [TopicPartition: Offset] = [:]
        for (tp, p) in partitions {
            if let c = p.commitable {
                result[tp] = Offset(c)
                partitions[tp]?.commitable = nil
            }
        }
        return result
    }

    /// Gives back offsets taken by ``takeCommitable()`` whose commit failed, so the next commit
    /// covers them (a partition that has become committable further since keeps the newer offset).
    public mutating func restore(_ offsets: [TopicPartition: Offset]) {
        for (tp, offset) in offsets where partitions[tp] != nil && partitions[tp]?.commitable == nil {
            partitions[tp]?.commitable = offset.rawValue
        }
    }

    /// Records handed out and not yet finished.
    public var outstanding: Int { partitions.values.reduce(0) { $0 + $1.offsets.count - $1.head } }
}
