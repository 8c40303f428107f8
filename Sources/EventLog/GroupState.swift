public import ChaparModels

/// The membership and ownership state of one consumer group: a pure state machine, driven by
/// joins, leaves, polls (syncs) and time, tested without I/O.
///
/// Rebalancing is cooperative. `target` is where each partition should be; `owners` is who
/// holds it now. A partition is taken from its owner only when that owner syncs (its next
/// poll, after it has committed what it finished), leaves, or expires, and only then granted
/// to its new owner. So no partition ever has two owners.
public struct GroupState: Sendable {
    public struct Member: Sendable {
        public let id: MemberID
        public let topics: Set<TopicName>
        public let clientID: String
        /// Monotonic nanoseconds of the last join or sync.
        public var lastSeen: UInt64
    }

    /// What a sync tells the member.
    public struct SyncResult: Sendable, Equatable {
        /// Partitions the member owns after the sync.
        public let owned: [TopicPartition]
        /// Newly owned: positions must be loaded from committed offsets.
        public let granted: [TopicPartition]
        /// No longer owned: forget positions.
        public let revoked: [TopicPartition]
        public let generation: Int
    }

    public let strategy: AssignmentStrategy
    public let sessionTimeoutNanos: UInt64
    public private(set) var members: [MemberID: Member] = [:]
    public private(set) var generation = 0
    public private(set) var target: [TopicPartition: MemberID] = [:]
    public private(set) var owners: [TopicPartition: MemberID] = [:]
    private var partitionCounts: [TopicName: Int] = [:]

    public init(strategy: AssignmentStrategy, sessionTimeout: Duration) {
        self.strategy = strategy
        sessionTimeoutNanos = UInt64(max(1, sessionTimeout.milliseconds)) * 1_000_000
    }

    /// Adds a member and recomputes the target. `partitions` gives each subscribed topic's count.
    public mutating func join(_ id: MemberID, topics: Set<TopicName>, clientID: String, partitions: [TopicName: Int], now: UInt64) {
        members[id] = Member(id: id, topics: topics, clientID: clientID, lastSeen: now)
        for (t, n) in partitions { partitionCounts[t] = n }
        rebalance()
    }

    /// Removes a member; its partitions become free at once.
    public mutating func leave(_ id: MemberID) {
        guard members.removeValue(forKey: id) != nil else { return }
        for (tp, owner) in owners where owner == id { owners[tp] = nil }
        rebalance()
    }

    /// Removes members that have not synced within the session timeout. Returns them.
    public mutating func expire(now: UInt64) -> [MemberID] {
        let dead = members.values.filter { now > $0.lastSeen && now - $0.lastSeen > sessionTimeoutNanos }.map(\.id).sorted()
        for id in dead { leave(id) }
        return dead
    }

    /// Records that `id` was seen at `now` (no-op for a member that is not in the group).
    public mutating func touch(_ id: MemberID, now: UInt64) {
        if members[id] != nil { members[id]!.lastSeen = now }  // checked just before
    }

    /// A member's poll: releases what it should give up and takes what is free for it.
    public mutating func sync(_ id: MemberID, now: UInt64) -> SyncResult? {
        guard members[id] != nil else { return nil }
        members[id]!.lastSeen = now
        var granted: [TopicPartition] = [], revoked: [TopicPartition] = []
        for (tp, owner) in owners where owner == id && target[tp] != id {
            owners[tp] = nil
            revoked.append(tp)
        }
        for (tp, wanted) in target where wanted == id && owners[tp] == nil {
            owners[tp] = id
            granted.append(tp)
        }
        let owned = owners.filter { $0.value == id }.map(\.key).sorted()
        return SyncResult(owned: owned, granted: granted.sorted(), revoked: revoked.sorted(), generation: generation)
    }

    /// Whether `id` owns every partition in `partitions` right now.
    public func owns(_ id: MemberID, _ partitions: some Sequence<TopicPartition>) -> TopicPartition? {
        partitions.first { owners[$0] != id }
    }

    private mutating func rebalance() {
        let subscribers = members.values.map { Assignor.Subscriber(id: $0.id, topics: $0.topics) }
        var counts: [TopicName: Int] = [:]
        for m in members.values { for t in m.topics { counts[t] = partitionCounts[t] ?? 0 } }
        let next = Assignor.assign(strategy, members: subscribers, partitions: counts, current: owners.merging(target) { owner, _ in owner })
        if next != target {
            target = next
            generation += 1
        }
        // Partitions of topics nobody subscribes to any more are released.
        for (tp, _) in owners where target[tp] == nil { owners[tp] = nil }
    }
}
