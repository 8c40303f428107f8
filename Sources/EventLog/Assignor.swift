public import ChaparModels

/// Partition assignment strategies: pure functions from members and partitions to owners.
public enum Assignor {
    /// A member's subscription, as the assignors see it.
    public struct Subscriber: Sendable, Hashable {
        public let id: MemberID
        public let topics: Set<TopicName>
        public init(id: MemberID, topics: Set<TopicName>) {
            self.id = id
            self.topics = topics
        }
    }

    /// Computes the target assignment for `strategy`. Every partition of every subscribed topic
    /// gets exactly one subscribed owner; per topic, owners differ by at most one partition.
    public static func assign(_ strategy: AssignmentStrategy, members: [Subscriber], partitions: [TopicName: Int],
                              current: [TopicPartition: MemberID]) -> [TopicPartition: MemberID] {
        switch strategy {
        case .range: range(members: members, partitions: partitions)
        case .sticky: sticky(members: members, partitions: partitions, current: current)
        }
    }

    /// Kafka's RangeAssignor: per topic, members in id order take contiguous ranges, the first
    /// `partitions % members` of them one extra.
    public static func range(members: [Subscriber], partitions: [TopicName: Int]) -> [TopicPartition: MemberID] {
        var result: [TopicPartition: MemberID] = [:]
        for (topic, count) in partitions.sorted(by: { $0.key < $1.key }) {
            let subscribed = members.filter { $0.topics.contains(topic) }.map(\.id).sorted()
            guard !subscribed.isEmpty else { continue }
            let base = count / subscribed.count, extra = count % subscribed.count
            var next = 0
            for (i, member) in subscribed.enumerated() {
                let take = base + (i < extra ? 1 : 0)
                for p in next..<(next + take) { result[TopicPartition(topic, PartitionID(p))] = member }
                next += take
            }
        }
        return result
    }

    /// Balanced like range, but keeps each partition with its current owner whenever the
    /// balance allows, so a member joining or leaving moves as few partitions as possible.
    public static func sticky(members: [Subscriber], partitions: [TopicName: Int], current: [TopicPartition: MemberID]) -> [TopicPartition: MemberID] {
        var result: [TopicPartition: MemberID] = [:]
        var totals: [MemberID: Int] = [:]
        for (topic, count) in partitions.sorted(by: { $0.key < $1.key }) {
            let subscribed = members.filter { $0.topics.contains(topic) }.map(\.id).sorted()
            guard !subscribed.isEmpty else { continue }
            let members = Set(subscribed)
            let base = count / subscribed.count, extra = count % subscribed.count
            var counts: [MemberID: Int] = Dictionary(uniqueKeysWithValues: subscribed.map { ($0, 0) })
            var extrasUsed = 0
            var unassigned: [Int] = []
            // Keep up to `base` partitions per current owner, then hand out the extra slots.
            var overflow: [(Int, MemberID)] = []
            for p in 0..<count {
                let tp = TopicPartition(topic, PartitionID(p))
                if let owner = current[tp], members.contains(owner) {
                    if counts[owner]! < base {
                        counts[owner]! += 1
                        result[tp] = owner
                    } else {
                        overflow.append((p, owner))
                    }
                } else {
                    unassigned.append(p)
                }
            }
            for (p, owner) in overflow {
                if counts[owner]! == base && extrasUsed < extra {
                    counts[owner]! += 1
                    extrasUsed += 1
                    result[TopicPartition(topic, PartitionID(p))] = owner
                } else {
                    unassigned.append(p)
                }
            }
            for p in unassigned.sorted() {
                // Fewest in this topic first; ties go to the member with the fewest overall, then by id.
                let member = subscribed.min { a, b in
                    (counts[a]!, totals[a, default: 0], a) < (counts[b]!, totals[b, default: 0], b)
                }!
                counts[member]! += 1
                result[TopicPartition(topic, PartitionID(p))] = member
            }
            for (m, c) in counts { totals[m, default: 0] += c }
        }
        return result
    }
}
