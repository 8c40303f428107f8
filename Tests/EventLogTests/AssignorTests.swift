import ChaparModels
@testable import EventLog
import Foundation
import Testing

func members(_ n: Int, topics: Set<TopicName> = ["t"]) -> [Assignor.Subscriber] {
    (0..<n).map { Assignor.Subscriber(id: MemberID(String(format: "m%02d", $0)), topics: topics) }
}

func allPartitions(_ counts: [TopicName: Int]) -> Set<TopicPartition> {
    Set(counts.flatMap { t, n in (0..<n).map { TopicPartition(t, PartitionID($0)) } })
}

/// Complete, owned only by subscribers, and balanced per topic (owners differ by at most one).
func expectValidAssignment(_ a: [TopicPartition: MemberID], members: [Assignor.Subscriber], partitions: [TopicName: Int],
                           _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
    for (topic, count) in partitions {
        let subscribed = members.filter { $0.topics.contains(topic) }
        let tps = (0..<count).map { TopicPartition(topic, PartitionID($0)) }
        if subscribed.isEmpty {
            #expect(tps.allSatisfy { a[$0] == nil }, "\(label): unsubscribed topic assigned", sourceLocation: sourceLocation)
            continue
        }
        #expect(tps.allSatisfy { a[$0] != nil }, "\(label): \(topic) incomplete", sourceLocation: sourceLocation)
        #expect(tps.allSatisfy { tp in subscribed.contains { $0.id == a[tp] } }, "\(label): owner not subscribed", sourceLocation: sourceLocation)
        let counts = subscribed.map { m in tps.filter { a[$0] == m.id }.count }
        #expect(counts.max()! - counts.min()! <= 1, "\(label): \(topic) unbalanced \(counts)", sourceLocation: sourceLocation)
    }
    #expect(Set(a.keys).isSubset(of: allPartitions(partitions)), "\(label): unknown partition assigned", sourceLocation: sourceLocation)
}

@Suite("Assignor")
struct AssignorTests {
    static let shapes: [(Int, Int)] = (1...5).flatMap { m in [1, 2, 3, 5, 6, 7, 12].map { (m, $0) } }

    @Test("range: complete, disjoint, balanced, contiguous in member order", arguments: shapes)
    func range(_ memberCount: Int, _ partitionCount: Int) {
        let subs = members(memberCount)
        let a = Assignor.range(members: subs, partitions: ["t": partitionCount])
        expectValidAssignment(a, members: subs, partitions: ["t": partitionCount], "range \(memberCount)x\(partitionCount)")
        // Contiguous ranges, earlier members first and larger.
        let order = (0..<partitionCount).map { a[TopicPartition("t", PartitionID($0))]! }
        #expect(order == order.sorted(), "ranges follow member order: \(order)")
        let sizes = subs.map { m in order.filter { $0 == m.id }.count }
        #expect(sizes == sizes.sorted(by: >), "the first members take the extra partitions: \(sizes)")
        #expect(Assignor.assign(.range, members: subs.reversed(), partitions: ["t": partitionCount], current: [:]) == a, "independent of input order")
    }

    @Test("range matches Kafka's documented example")
    func rangeKafkaExample() {
        // Two consumers, two topics of three partitions: C0 gets t0p0, t0p1, t1p0, t1p1; C1 gets t0p2, t1p2.
        let subs = [Assignor.Subscriber(id: MemberID("C0"), topics: ["t0", "t1"]), Assignor.Subscriber(id: MemberID("C1"), topics: ["t0", "t1"])]
        let a = Assignor.range(members: subs, partitions: ["t0": 3, "t1": 3])
        let c0 = a.filter { $0.value == MemberID("C0") }.keys.map(\.description).sorted()
        let c1 = a.filter { $0.value == MemberID("C1") }.keys.map(\.description).sorted()
        #expect(c0 == ["t0-0", "t0-1", "t1-0", "t1-1"])
        #expect(c1 == ["t0-2", "t1-2"])
    }

    @Test("both strategies respect subscriptions across topics", arguments: AssignmentStrategy.allCases)
    func subscriptions(_ strategy: AssignmentStrategy) {
        let subs = [
            Assignor.Subscriber(id: MemberID("a"), topics: ["x", "y"]),
            Assignor.Subscriber(id: MemberID("b"), topics: ["y"]),
            Assignor.Subscriber(id: MemberID("c"), topics: ["y", "z"]),
        ]
        let counts: [TopicName: Int] = ["x": 4, "y": 7, "z": 2, "unused": 3]
        let a = Assignor.assign(strategy, members: subs, partitions: counts, current: [:])
        expectValidAssignment(a, members: subs, partitions: counts, "\(strategy)")
        #expect((0..<4).allSatisfy { a[TopicPartition("x", PartitionID($0))] == MemberID("a") })
        #expect((0..<2).allSatisfy { a[TopicPartition("z", PartitionID($0))] == MemberID("c") })
        #expect(Assignor.assign(strategy, members: [], partitions: counts, current: [:]).isEmpty)
    }

    @Test("sticky from scratch is balanced and stable when nothing changes", arguments: shapes)
    func stickyStable(_ memberCount: Int, _ partitionCount: Int) {
        let subs = members(memberCount)
        let counts: [TopicName: Int] = ["t": partitionCount]
        let first = Assignor.sticky(members: subs, partitions: counts, current: [:])
        expectValidAssignment(first, members: subs, partitions: counts, "sticky \(memberCount)x\(partitionCount)")
        #expect(Assignor.sticky(members: subs, partitions: counts, current: first) == first, "no change, no moves")
    }

    @Test("sticky moves only what the joining member receives", arguments: shapes)
    func stickyJoin(_ memberCount: Int, _ partitionCount: Int) {
        let counts: [TopicName: Int] = ["t": partitionCount]
        let before = Assignor.sticky(members: members(memberCount), partitions: counts, current: [:])
        let grown = members(memberCount + 1)
        let newcomer = grown.last!.id
        let after = Assignor.sticky(members: grown, partitions: counts, current: before)
        expectValidAssignment(after, members: grown, partitions: counts, "join \(memberCount)x\(partitionCount)")
        let moved = after.filter { before[$0.key] != $0.value }
        #expect(moved.allSatisfy { $0.value == newcomer }, "only the newcomer gains partitions: \(moved)")
        #expect(moved.count == partitionCount / (memberCount + 1), "the minimum number of partitions moved")
    }

    @Test("sticky moves only the leaving member's partitions", arguments: shapes.filter { $0.0 >= 2 })
    func stickyLeave(_ memberCount: Int, _ partitionCount: Int) {
        let counts: [TopicName: Int] = ["t": partitionCount]
        let all = members(memberCount)
        for leaver in all.indices {
            let before = Assignor.sticky(members: all, partitions: counts, current: [:])
            var remaining = all
            let gone = remaining.remove(at: leaver).id
            let after = Assignor.sticky(members: remaining, partitions: counts, current: before)
            expectValidAssignment(after, members: remaining, partitions: counts, "leave \(leaver) of \(memberCount)x\(partitionCount)")
            let moved = after.filter { before[$0.key] != $0.value }
            #expect(moved.allSatisfy { before[$0.key] == gone }, "only the leaver's partitions move: \(moved)")
            #expect(moved.count == before.filter { $0.value == gone }.count)
        }
    }

    @Test("sticky keeps balance through a seeded sequence of joins and leaves over several topics")
    func stickyChurn() {
        let seed: UInt64 = 4242
        var rng = SplitMix64(seed: seed)
        let counts: [TopicName: Int] = ["a": 6, "b": 5, "c": 1]
        var live: [Assignor.Subscriber] = []
        var current: [TopicPartition: MemberID] = [:]
        var next = 0
        for step in 0..<300 {
            var joined: MemberID?
            var left: MemberID?
            if live.isEmpty || (live.count < 7 && rng.next() % 2 == 0) {
                let topics: Set<TopicName> = rng.next() % 3 == 0 ? ["a", "c"] : ["a", "b", "c"]
                joined = MemberID("m\(next)")
                live.append(Assignor.Subscriber(id: joined!, topics: topics))
                next += 1
            } else {
                left = live.remove(at: Int(rng.next() % UInt64(live.count))).id
            }
            let after = Assignor.sticky(members: live, partitions: counts, current: current)
            expectValidAssignment(after, members: live, partitions: counts, "seed \(seed) step \(step)")
            // Nothing moves between two members that were there before and after the change.
            let moved = after.filter { tp, owner in current[tp] != nil && current[tp] != owner }
            for (tp, owner) in moved {
                #expect(owner == joined || current[tp] == left, "seed \(seed) step \(step): \(tp) moved from \(current[tp]!) to \(owner)")
            }
            current = after
        }
    }
}

@Suite("GroupState cooperative rebalancing")
struct GroupStateTests {
    static let topic: TopicName = "t"
    static let second: UInt64 = 1_000_000_000

    static func tps(_ r: GroupState.SyncResult?) -> Set<Int> { Set(r?.owned.map(\.partition.rawValue) ?? []) }

    @Test("a partition moves only after its previous owner syncs; never two owners")
    func handoffOnSync() throws {
        var g = GroupState(strategy: .sticky, sessionTimeout: .seconds(30))
        let a = MemberID("a"), b = MemberID("b")
        g.join(a, topics: [Self.topic], clientID: "x", partitions: [Self.topic: 6], now: 0)
        #expect(g.generation == 1)
        let a1 = g.sync(a, now: 1)
        #expect(Self.tps(a1) == Set(0..<6))
        #expect(a1?.granted.count == 6)

        g.join(b, topics: [Self.topic], clientID: "x", partitions: [Self.topic: 6], now: 2)
        #expect(g.generation == 2)
        #expect(g.target.values.filter { $0 == b }.count == 3)
        // b asks first: everything is still a's, so b gets nothing yet.
        let b1 = g.sync(b, now: 3)
        #expect(b1?.owned == [])
        #expect(g.owners.count == 6 && g.owners.values.allSatisfy { $0 == a })
        // a syncs: gives up b's share, keeps the rest.
        let a2Result = g.sync(a, now: 4)
        let a2 = try #require(a2Result)
        #expect(a2.revoked.count == 3)
        #expect(a2.granted.isEmpty)
        #expect(Self.tps(a2).count == 3)
        #expect(g.owners.count == 3, "revoked partitions are unowned until b syncs")
        let b2Result = g.sync(b, now: 5)
        let b2 = try #require(b2Result)
        #expect(Set(b2.granted) == Set(a2.revoked))
        #expect(Self.tps(b2).isDisjoint(with: Self.tps(a2)))
        #expect(g.owners == g.target)
        // Settled: further syncs change nothing.
        #expect(g.sync(a, now: 6)?.revoked == [])
        #expect(g.sync(b, now: 6)?.granted == [])
        #expect(g.generation == 2)
    }

    @Test("a leaving member's partitions are free at once and go to the others at their next sync")
    func handoffOnLeave() {
        var g = GroupState(strategy: .range, sessionTimeout: .seconds(30))
        let a = MemberID("a"), b = MemberID("b")
        for m in [a, b] { g.join(m, topics: [Self.topic], clientID: "x", partitions: [Self.topic: 4], now: 0) }
        _ = g.sync(a, now: 1)
        _ = g.sync(b, now: 1)
        #expect(g.owners.count == 4)
        g.leave(a)
        #expect(g.owners.values.allSatisfy { $0 == b })
        #expect(g.owners.count == 2)
        #expect(g.sync(a, now: 2) == nil, "a left")
        let b2 = g.sync(b, now: 2)
        #expect(Self.tps(b2) == Set(0..<4))
        g.leave(a)  // leaving twice is harmless
        #expect(g.members.count == 1)
    }

    @Test("a member that stops syncing expires after the session timeout and its partitions move")
    func expiry() {
        var g = GroupState(strategy: .sticky, sessionTimeout: .seconds(10))
        let a = MemberID("a"), b = MemberID("b")
        g.join(a, topics: [Self.topic], clientID: "x", partitions: [Self.topic: 3], now: 0)
        g.join(b, topics: [Self.topic], clientID: "x", partitions: [Self.topic: 3], now: 0)
        _ = g.sync(a, now: 1)
        _ = g.sync(b, now: 1)
        #expect(g.expire(now: 5 * Self.second).isEmpty)
        _ = g.sync(b, now: 9 * Self.second)
        #expect(g.expire(now: 10 * Self.second + 1).isEmpty, "exactly at the timeout is still alive")
        #expect(g.expire(now: 12 * Self.second) == [a])
        #expect(g.members.keys.sorted() == [b])
        #expect(Self.tps(g.sync(b, now: 12 * Self.second)) == Set(0..<3))
    }

    @Test("owns() names the first partition the member does not own")
    func owns() {
        var g = GroupState(strategy: .range, sessionTimeout: .seconds(30))
        let a = MemberID("a"), b = MemberID("b")
        g.join(a, topics: [Self.topic], clientID: "x", partitions: [Self.topic: 2], now: 0)
        g.join(b, topics: [Self.topic], clientID: "x", partitions: [Self.topic: 2], now: 0)
        _ = g.sync(a, now: 1)
        _ = g.sync(b, now: 1)
        let p0 = TopicPartition(Self.topic, PartitionID(0)), p1 = TopicPartition(Self.topic, PartitionID(1))
        #expect(g.owns(a, [p0]) == nil)
        #expect(g.owns(a, [p0, p1]) == p1)
        #expect(g.owns(b, [p0]) == p0)
        #expect(g.owns(a, [TopicPartition("other", PartitionID(0))]) != nil)
    }

    @Test("random joins, leaves, syncs and expiries never give a partition two owners and always converge (seeded)",
          arguments: [AssignmentStrategy.range, .sticky], [UInt64(1), 2, 3, 4])
    func randomized(_ strategy: AssignmentStrategy, _ seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var g = GroupState(strategy: strategy, sessionTimeout: .seconds(5))
        let counts: [TopicName: Int] = ["t": 7, "u": 3]
        var views: [MemberID: Set<TopicPartition>] = [:]  // what each member believes it owns (its last sync)
        var now: UInt64 = 0
        var next = 0
        func checkInvariants(_ step: Int) {
            let live = Set(g.members.keys)
            views = views.filter { live.contains($0.key) }
            var claimed: [TopicPartition: MemberID] = [:]
            for (m, owned) in views {
                for tp in owned {
                    #expect(claimed[tp] == nil, "seed \(seed) step \(step): \(tp) claimed by \(claimed[tp]!) and \(m)")
                    claimed[tp] = m
                }
                #expect(Set(g.owners.filter { $0.value == m }.keys) == owned, "seed \(seed) step \(step): \(m)'s view differs from the state")
            }
            #expect(g.owners.values.allSatisfy { live.contains($0) }, "seed \(seed) step \(step): a departed member owns something")
        }
        for step in 0..<400 {
            now += UInt64(rng.next() % 2) * Self.second
            switch rng.next() % 10 {
            case 0, 1:
                let id = MemberID("m\(next)")
                next += 1
                let topics: Set<TopicName> = rng.next() % 2 == 0 ? ["t", "u"] : ["t"]
                g.join(id, topics: topics, clientID: "c", partitions: counts, now: now)
            case 2:
                if let victim = g.members.keys.sorted().randomElement(using: &rng) { g.leave(victim) }
            case 3:
                _ = g.expire(now: now)
            default:
                if let m = g.members.keys.sorted().randomElement(using: &rng), let r = g.sync(m, now: now) {
                    #expect(Set(r.granted).isSubset(of: Set(r.owned)))
                    #expect(Set(r.revoked).isDisjoint(with: Set(r.owned)))
                    views[m] = Set(r.owned)
                }
            }
            checkInvariants(step)
        }
        // Everyone syncs twice: the group settles on the target, and every subscribed partition is owned.
        for _ in 0..<2 {
            for m in g.members.keys.sorted() {
                if let r = g.sync(m, now: now) { views[m] = Set(r.owned) }
            }
        }
        checkInvariants(-1)
        #expect(g.owners == g.target, "seed \(seed): did not converge")
        if !g.members.isEmpty {
            let subscribed = Set(g.members.values.flatMap(\.topics))
            let expected = allPartitions(counts.filter { subscribed.contains($0.key) })
            #expect(Set(g.owners.keys) == expected, "seed \(seed)")
        }
    }
}
