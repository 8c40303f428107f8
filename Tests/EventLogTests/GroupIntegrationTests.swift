import ChaparModels
@testable import EventLog
import Foundation
import Testing

/// Polls until `count` records arrived or `attempts` polls came back empty.
func pollUntil(_ member: any GroupMember, count: Int, attempts: Int = 40, timeout: Duration = .milliseconds(50)) async throws -> [ConsumerRecord] {
    var records: [ConsumerRecord] = []
    var empty = 0
    while records.count < count && empty < attempts {
        let got = try await member.poll(maxRecords: 1000, timeout: timeout)
        if got.isEmpty { empty += 1 }
        records += got
    }
    return records
}

@Suite("Consumer groups on the embedded log")
struct GroupIntegrationTests {
    /// The generation fence: a commit whose ownership check passed before a rebalance moved the
    /// partition is refused when it reaches the offset store, and the new owner's commit stands.
    @Test("a commit overtaken by a rebalance is refused at the offset store; the new owner's commit stands")
    func commitFence() async throws {
        try await withTemporaryDirectory { dir in
            let log = try openLog(dir)
            _ = try await log.createTopic("events", configuration: TopicConfiguration(partitions: 1))
            _ = try await log.append((0..<10).map { ProducerRecord(key: nil, value: Array("e\($0)".utf8)) }, to: "events")
            let options = GroupOptions(startPosition: .earliest, sessionTimeout: .seconds(30), clientID: "fence")
            let a = try await log.joinGroup("fenced", topics: ["events"], options: options)
            #expect(try await pollUntil(a, count: 10).count == 10)
            let tp = TopicPartition("events", PartitionID(0))
            try await a.commit([tp: Offset(4)])

            // The store's fence is what a member passes: here it answers as a member that lost the
            // partition between its own check and the write.
            let refused = LogError(.notPartitionOwner, "lost in a rebalance")
            await expectLogError(.notPartitionOwner) {
                try log.offsets.commit("fenced", [tp: 2], fence: { refused })
            }
            #expect(log.committedOffsets("fenced")[tp] == Offset(4), "a fenced commit wrote nothing")

            // Through the member API: A leaves the partition to B, then A's late commit is refused.
            await a.leave()
            let b = try await log.joinGroup("fenced", topics: ["events"], options: options)
            // B takes the partition on its first poll, from A's committed offset.
            #expect(try await pollUntil(b, count: 6).map(\.offset.rawValue) == Array(4..<10))
            #expect(await b.assignment() == [tp])
            try await b.commit([tp: Offset(10)])
            await expectLogError(.notPartitionOwner) { try await a.commit([tp: Offset(7)]) }
            #expect(log.committedOffsets("fenced")[tp] == Offset(10))
            await b.leave()
            await log.close()
        }
    }

    /// Shared bookkeeping for the concurrent-members test.
    struct Ledger: Sendable {
        /// Who is processing each partition right now (between a poll returning and the next poll).
        var processing: [TopicPartition: MemberID] = [:]
        /// Next offset expected per partition, across all members.
        var next: [TopicPartition: Int64] = [:]
        /// Every delivery: partition → offset → values delivered.
        var delivered: [TopicPartition: [Int64: [String]]] = [:]
        var perMember: [MemberID: Int] = [:]
        var violations: [String] = []
    }

    @Test("members joining and leaving while records arrive: everything consumed once, never two owners at once")
    func concurrentMembers() async throws {
        try await withTemporaryDirectory { dir in
            let log = try openLog(dir)
            _ = try await log.createTopic("events", configuration: TopicConfiguration(partitions: 6))
            let ledger = Box(Ledger())
            let produced = Box<[TopicPartition: [Int64: String]]>([:])
            let producedCount = Box(0)
            let producerDone = Box(false)
            let options = GroupOptions(startPosition: .earliest, strategy: .sticky, sessionTimeout: .seconds(30), clientID: "worker")
            let total = 600

            @Sendable func consume(_ member: any GroupMember, stop: Box<Bool>) async throws {
                var mine: Set<TopicPartition> = []
                while !stop.value {
                    ledger.withLock { l in for tp in mine where l.processing[tp] == member.memberID { l.processing[tp] = nil } }
                    mine = []
                    let records = try await member.poll(maxRecords: 40, timeout: .milliseconds(30))
                    ledger.withLock { l in
                        for (tp, group) in Dictionary(grouping: records, by: \.topicPartition) {
                            if let other = l.processing[tp], other != member.memberID {
                                l.violations.append("\(tp) processed by \(other) and \(member.memberID) at once")
                            }
                            l.processing[tp] = member.memberID
                            mine.insert(tp)
                            let offsets = group.map(\.offset.rawValue)
                            let expected = l.next[tp] ?? 0
                            if offsets.first != expected { l.violations.append("\(tp): \(member.memberID) got \(offsets.first!) where \(expected) was next") }
                            if offsets != Array(offsets.first!..<(offsets.first! + Int64(offsets.count))) { l.violations.append("\(tp): gap inside one poll \(offsets)") }
                            l.next[tp] = offsets.last! + 1
                            for r in group { l.delivered[tp, default: [:]][r.offset.rawValue, default: []].append(r.valueText) }
                        }
                        l.perMember[member.memberID, default: 0] += records.count
                    }
                    if !records.isEmpty { try await Task.sleep(for: .milliseconds(1)) }  // "processing"
                    try await member.commitPolled()
                }
                ledger.withLock { l in for tp in mine where l.processing[tp] == member.memberID { l.processing[tp] = nil } }
            }

            let m1 = try await log.joinGroup("workers", topics: ["events"], options: options)
            let m2 = try await log.joinGroup("workers", topics: ["events"], options: options)
            let stop1 = Box(false), stop2 = Box(false), stop3 = Box(false)
            let m3Box = Box<(any GroupMember)?>(nil)
            let deadline = ContinuousClock.now.advanced(by: .seconds(30))

            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await consume(m1, stop: stop1); await m1.leave() }
                group.addTask { try await consume(m2, stop: stop2) }
                group.addTask {
                    // A third member joins once a third of the records exist.
                    while producedCount.value < 200 { try await Task.sleep(for: .milliseconds(1)) }
                    let m3 = try await log.joinGroup("workers", topics: ["events"], options: options)
                    m3Box.withLock { $0 = m3 }
                    try await consume(m3, stop: stop3)
                }
                group.addTask {
                    // The producer: 60 appends of 10 keyed records.
                    for i in 0..<60 {
                        let batch = (0..<10).map { j in record("customer-\((i * 10 + j) % 37)", "e\(i * 10 + j)") }
                        let positions = try await log.append(batch, to: "events")
                        produced.withLock { p in
                            for (pos, r) in zip(positions, batch) { p[TopicPartition(pos.topic, pos.partition), default: [:]][pos.offset.rawValue] = String(decoding: r.value, as: UTF8.self) }
                        }
                        let count = producedCount.withLock { c -> Int in c += 10; return c }
                        if count == 400 { stop1.withLock { $0 = true } }  // m1 commits, then leaves
                        try await Task.sleep(for: .milliseconds(3))
                    }
                    producerDone.withLock { $0 = true }
                    // Wait until everything was delivered (or give up at the deadline), then stop the others.
                    while ContinuousClock.now < deadline {
                        let delivered = ledger.withLock { l in l.delivered.values.reduce(0) { $0 + $1.count } }
                        if delivered >= total { break }
                        try await Task.sleep(for: .milliseconds(20))
                    }
                    stop2.withLock { $0 = true }
                    stop3.withLock { $0 = true }
                }
                try await group.waitForAll()
            }

            let final = ledger.value
            #expect(final.violations.isEmpty, "\(final.violations.prefix(10))")
            let producedNow = produced.value
            #expect(producedNow.values.reduce(0) { $0 + $1.count } == total)
            for (tp, records) in producedNow {
                let delivered = final.delivered[tp] ?? [:]
                for (offset, value) in records {
                    #expect(delivered[offset] == [value], "\(tp) offset \(offset): delivered \(delivered[offset] ?? [])")
                }
                #expect(delivered.count == records.count, "\(tp): nothing extra delivered")
            }
            let m3 = try #require(m3Box.value)
            #expect((final.perMember[m3.memberID] ?? 0) > 0, "the member that joined mid-way took over some partitions: \(final.perMember)")
            #expect((final.perMember[m1.memberID] ?? 0) > 0)
            // Committed offsets reached the end everywhere.
            let committed = log.committedOffsets("workers")
            for (tp, records) in producedNow { #expect(committed[tp] == Offset(Int64(records.count)), "\(tp)") }
            let remaining = Set(await m2.assignment()).union(await m3.assignment())
            #expect(remaining.count == 6, "the two remaining members own every partition after m1 left")
            #expect(Set(await m2.assignment()).isDisjoint(with: await m3.assignment()))
            await m2.leave()
            await m3.leave()
            await log.close()
        }
    }

    @Test("committed offsets survive close and reopen, and the group resumes there")
    func commitsSurviveReopen() async throws {
        try await withTemporaryDirectory { dir in
            var log = try openLog(dir)
            _ = try await log.createTopic("t", configuration: TopicConfiguration(partitions: 2))
            _ = try await log.append((0..<10).map { record(nil, "v\($0)", partition: $0 % 2) }, to: "t")
            let member = try await log.joinGroup("g", topics: ["t"], options: GroupOptions(startPosition: .earliest))
            #expect(try await pollUntil(member, count: 10).count == 10)
            let p0 = TopicPartition("t", PartitionID(0)), p1 = TopicPartition("t", PartitionID(1))
            try await member.commit([p0: Offset(3), p1: Offset(4)])
            await member.leave()
            await log.close()

            log = try openLog(dir)
            #expect(log.committedOffsets("g") == [p0: Offset(3), p1: Offset(4)])
            let groups = try await log.listGroups()
            #expect(groups.map(\.group) == ["g"])
            #expect(groups[0].members.isEmpty)
            #expect(groups[0].partitions.map(\.lag) == [2, 1])
            #expect(groups[0].partitions.map(\.committed) == [Offset(3), Offset(4)])
            let again = try await log.joinGroup("g", topics: ["t"], options: GroupOptions(startPosition: .earliest))
            let resumed = try await pollUntil(again, count: 3)
            #expect(Set(resumed.map(\.valueText)) == ["v6", "v8", "v9"], "offsets 3,4 of p0 and 4 of p1")
            let live = try await log.listGroups()[0]
            #expect(live.members == [again.memberID])
            #expect(live.partitions.allSatisfy { $0.owner == again.memberID })
            await again.leave()
            await log.close()
        }
    }

    @Test("a new group with .earliest reads history; with .latest only records appended after it joined")
    func startPositions() async throws {
        try await withTemporaryDirectory { dir in
            let log = try openLog(dir)
            _ = try await log.createTopic("t", configuration: TopicConfiguration(partitions: 3))
            _ = try await log.append((0..<12).map { record("k\($0)", "old\($0)") }, to: "t")
            let historian = try await log.joinGroup("history", topics: ["t"], options: GroupOptions(startPosition: .earliest))
            let live = try await log.joinGroup("live", topics: ["t"], options: GroupOptions(startPosition: .latest))
            let history = try await pollUntil(historian, count: 12)
            #expect(Set(history.map(\.valueText)) == Set((0..<12).map { "old\($0)" }))
            #expect(try await live.poll(maxRecords: 100, timeout: .milliseconds(50)).isEmpty, "no history for .latest")
            _ = try await log.append((0..<5).map { record("k\($0)", "new\($0)") }, to: "t")
            let fresh = try await pollUntil(live, count: 5)
            #expect(Set(fresh.map(\.valueText)) == Set((0..<5).map { "new\($0)" }))
            // The earliest group sees the new ones too, after its history.
            #expect(Set(try await pollUntil(historian, count: 5).map(\.valueText)) == Set((0..<5).map { "new\($0)" }))
            // A poll that waits wakes up when a record arrives.
            async let waiting = live.poll(maxRecords: 10, timeout: .seconds(20))
            try await Task.sleep(for: .milliseconds(50))
            _ = try await log.append([record("late", "late")], to: "t")
            #expect(try await waiting.map(\.valueText) == ["late"])
            await historian.leave()
            await live.leave()
            await log.close()
        }
    }

    @Test("commits and seeks on partitions a member does not own are refused")
    func notOwner() async throws {
        try await withTemporaryDirectory { dir in
            let log = try openLog(dir)
            _ = try await log.createTopic("t", configuration: TopicConfiguration(partitions: 2))
            _ = try await log.createTopic("other", configuration: TopicConfiguration(partitions: 1))
            let a = try await log.joinGroup("g", topics: ["t"], options: GroupOptions(strategy: .range))
            _ = try await a.poll(maxRecords: 10, timeout: .milliseconds(10))
            #expect(await a.assignment().count == 2)
            let b = try await log.joinGroup("g", topics: ["t"], options: GroupOptions(strategy: .range))
            _ = try await b.poll(maxRecords: 10, timeout: .milliseconds(10))
            #expect(await b.assignment().isEmpty, "b waits until a gives partitions up")
            _ = try await a.poll(maxRecords: 10, timeout: .milliseconds(10))
            _ = try await b.poll(maxRecords: 10, timeout: .milliseconds(10))
            let ownedA = await a.assignment(), ownedB = await b.assignment()
            #expect(ownedA.count == 1 && ownedB.count == 1 && ownedA != ownedB)
            let error = await expectLogError(.notPartitionOwner) { try await a.commit([ownedB[0]: Offset(0)]) }
            #expect(error?.isRetriable == true)
            await expectLogError(.notPartitionOwner) { try await a.commit([ownedA[0]: Offset(0), ownedB[0]: Offset(0)]) }
            await expectLogError(.notPartitionOwner) { try await a.commit([TopicPartition("other", PartitionID(0)): Offset(0)]) }
            await expectLogError(.notPartitionOwner) { try await a.seek(ownedB[0], to: Offset(0)) }
            await expectLogError(.invalidArgument) { try await a.commit([ownedA[0]: Offset(-1)]) }
            await expectLogError(.invalidArgument) { try await a.seek(ownedA[0], to: Offset(-5)) }
            #expect(log.committedOffsets("g").isEmpty, "refused commits stored nothing")
            try await a.commit([ownedA[0]: Offset(0)])
            #expect(log.committedOffsets("g") == [ownedA[0]: Offset(0)])
            // Resetting offsets needs the group to be idle.
            await expectLogError(.invalidArgument) { try await log.resetOffsets("g", to: [ownedA[0]: Offset(0)]) }
            await a.leave()
            await expectLogError(.notMember) { try await a.poll(maxRecords: 1, timeout: .zero) }
            await expectLogError(.notPartitionOwner) { try await a.commit([ownedA[0]: Offset(0)]) }
            await b.leave()
            await expectLogError(.offsetOutOfRange) { try await log.resetOffsets("g", to: [ownedA[0]: Offset(99)]) }
            try await log.resetOffsets("g", to: [ownedA[0]: Offset(0), ownedB[0]: Offset(0)])
            #expect(log.committedOffsets("g").count == 2)
            await log.close()
        }
    }

    @Test("seek replays from an earlier offset")
    func seekReplays() async throws {
        try await withTemporaryDirectory { dir in
            let log = try openLog(dir)
            _ = try await log.createTopic("t", configuration: TopicConfiguration(partitions: 1))
            _ = try await log.append((0..<5).map { record(nil, "v\($0)") }, to: "t")
            let m = try await log.joinGroup("g", topics: ["t"], options: GroupOptions())
            #expect(try await pollUntil(m, count: 5).count == 5)
            try await m.seek(TopicPartition("t", PartitionID(0)), to: Offset(2))
            #expect(try await pollUntil(m, count: 3).map(\.valueText) == ["v2", "v3", "v4"])
            try await m.commitPolled()
            #expect(log.committedOffsets("g") == [TopicPartition("t", PartitionID(0)): Offset(5)])
            await m.leave()
            await log.close()
        }
    }

    @Test("a member that stops polling is expired and its partitions move to the others")
    func sessionExpiry() async throws {
        try await withTemporaryDirectory { dir in
            let log = try openLog(dir)
            _ = try await log.createTopic("t", configuration: TopicConfiguration(partitions: 4))
            let options = GroupOptions(strategy: .sticky, sessionTimeout: .milliseconds(1500))
            let silent = try await log.joinGroup("g", topics: ["t"], options: options)
            _ = try await silent.poll(maxRecords: 1, timeout: .zero)
            let active = try await log.joinGroup("g", topics: ["t"], options: options)
            _ = try await active.poll(maxRecords: 1, timeout: .zero)
            // The timeout is generous so that a loaded machine does not expire `silent` before this check.
            #expect(await active.assignment().isEmpty)
            // silent never polls again; after the timeout active takes everything.
            var owned: [TopicPartition] = []
            let deadline = ContinuousClock.now.advanced(by: .seconds(10))
            while owned.count < 4 && ContinuousClock.now < deadline {
                _ = try await active.poll(maxRecords: 1, timeout: .milliseconds(100))
                owned = await active.assignment()
            }
            #expect(owned.count == 4)
            await expectLogError(.notMember) { try await silent.poll(maxRecords: 1, timeout: .zero) }
            await active.leave()
            await log.close()
        }
    }

    @Test("closing the log ends a waiting poll")
    func closeWakesPoll() async throws {
        try await withTemporaryDirectory { dir in
            let log = try openLog(dir)
            _ = try await log.createTopic("t", configuration: TopicConfiguration())
            let m = try await log.joinGroup("g", topics: ["t"], options: GroupOptions())
            let started = ContinuousClock.now
            async let waiting: Result<[ConsumerRecord], any Error> = { () async -> Result<[ConsumerRecord], any Error> in
                do { return .success(try await m.poll(maxRecords: 10, timeout: .seconds(20))) } catch { return .failure(error) }
            }()
            try await Task.sleep(for: .milliseconds(50))
            await log.close()
            let result = await waiting
            #expect(started.duration(to: .now) < .seconds(10))
            if case .failure(let error) = result {
                #expect((error as? LogError)?.code == .closed, "\(error)")
            } else if case .success(let records) = result {
                #expect(records.isEmpty)
            }
        }
    }
}
