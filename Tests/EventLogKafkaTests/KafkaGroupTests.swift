import ChaparModels
import EventLogKafka
import Foundation
import Testing

/// Kafka consumer groups through KafkaLog (KafkaGroupMember) against Tansu. Tansu finishes a join
/// about half a session timeout after it starts, so every member here uses 6 s (docs/kafka.md, Tansu quirks).
@Suite("Kafka consumer groups against Tansu", .timeLimit(.minutes(3)))
struct KafkaGroupTests {
    private let options = GroupOptions(startPosition: .earliest, sessionTimeout: .seconds(6), clientID: "test")


    /// Appends `count` keyed records to a new 4-partition topic.
    /// One append per record: Tansu reports a partition's end as its last batch's base offset + 1
    /// (docs/kafka.md), so single-record batches keep lags exact.
    private func seed(_ log: KafkaLog, _ topic: TopicName, count: Int, from first: Int = 0) async throws {
        for i in first..<first + count {
            _ = try await log.append([ProducerRecord(key: "account-\(i % 17)", value: "record \(i)")], to: topic)
        }
    }

    /// Polls `member` until `until` holds or `seconds` pass; returns what it read.
    private func drain(_ member: any GroupMember, seconds: Double, until: ([ConsumerRecord]) async -> Bool) async throws -> [ConsumerRecord] {
        var read: [ConsumerRecord] = []
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int(seconds * 1000)))
        while ContinuousClock.now < deadline, !(await until(read)) {
            read += try await member.poll(maxRecords: 100, timeout: .milliseconds(200))
            try await member.commitPolled()
        }
        return read
    }

    @Test("two members split the partitions; each record is read once; a leave moves its partitions; a new member resumes at the commits")
    func splitLeaveResume() async throws {
        try await withTansu { log in
            let topic: TopicName = "transactions"
            _ = try await log.createTopic(topic, configuration: TopicConfiguration(partitions: 4))
            try await seed(log, topic, count: 200)
            let first = try await log.joinGroup("notifier", topics: [topic], options: options)
            let second = try await log.joinGroup("notifier", topics: [topic], options: options)
            #expect(first.memberID != second.memberID)

            // Both poll concurrently until every record was read by one of them and both own partitions.
            async let readByFirst = drain(first, seconds: 60) { read in
                let owned = await first.assignment()
                return !read.isEmpty && owned.count == 2
            }
            async let readBySecond = drain(second, seconds: 60) { read in
                let owned = await second.assignment()
                return !read.isEmpty && owned.count == 2
            }
            var (a, b) = try await (readByFirst, readBySecond)
            let deadline = ContinuousClock.now.advanced(by: .seconds(30))
            while a.count + b.count < 200 && ContinuousClock.now < deadline {
                a += try await first.poll(maxRecords: 100, timeout: .milliseconds(100))
                b += try await second.poll(maxRecords: 100, timeout: .milliseconds(100))
            }
            try await first.commitPolled()
            try await second.commitPolled()
            let ownedA = Set(await first.assignment()), ownedB = Set(await second.assignment())
            #expect(ownedA.count == 2 && ownedB.count == 2 && ownedA.isDisjoint(with: ownedB))
            #expect(a.count + b.count == 200, "every record read exactly once: \(a.count) + \(b.count)")
            #expect(Set((a + b).map(\.valueString)).count == 200)
            #expect(a.allSatisfy { ownedA.contains(TopicPartition($0.topic, $0.partition)) })
            #expect(b.allSatisfy { ownedB.contains(TopicPartition($0.topic, $0.partition)) })
            // Per partition, offsets come in order.
            for records in [a, b] {
                for (_, group) in Dictionary(grouping: records, by: \.partition) {
                    #expect(group.map(\.offset) == group.map(\.offset).sorted())
                }
            }

            // The committed offsets are the group's, visible in listGroups with zero lag.
            let described = try await log.listGroups().first { $0.group == "notifier" }
            #expect(described?.members.count == 2)
            #expect(described?.partitions.count == 4)
            #expect(described?.partitions.allSatisfy { $0.lag == 0 && $0.owner != nil } == true)

            // A clean leave: the other member takes all four partitions and reads what comes next.
            await second.leave()
            try await seed(log, topic, count: 40, from: 200)
            let late = try await drain(first, seconds: 60) { read in read.count >= 40 }
            #expect(late.count == 40)
            #expect(Set(late.map(\.valueString)) == Set((200..<240).map { "record \($0)" }))
            #expect(await first.assignment().count == 4)
            await first.leave()
            let leftError = await #expect(throws: LogError.self) { _ = try await first.poll(maxRecords: 1, timeout: .zero) }
            #expect(leftError?.code == .notMember)

            // A new member starts at the commits: only records appended since.
            try await seed(log, topic, count: 10, from: 240)
            let third = try await log.joinGroup("notifier", topics: [topic], options: options)
            let resumed = try await drain(third, seconds: 60) { read in read.count >= 10 }
            #expect(Set(resumed.map(\.valueString)) == Set((240..<250).map { "record \($0)" }))
            await third.leave()
        }
    }

    @Test("resetting a group's offsets is refused while it has members and replays from the new offsets after")
    func resetOffsets() async throws {
        try await withTansu { log in
            let topic: TopicName = "notify.sms"
            _ = try await log.createTopic(topic, configuration: TopicConfiguration(partitions: 1))
            try await seed(log, topic, count: 20)
            let member = try await log.joinGroup("delivery.sms", topics: [topic], options: options)
            let read = try await drain(member, seconds: 60) { $0.count >= 20 }
            #expect(read.map(\.offset) == (0..<20).map { Offset(Int64($0)) })
            let tp = TopicPartition(topic, PartitionID(0))
            let refused = await #expect(throws: LogError.self) { try await log.resetOffsets("delivery.sms", to: [tp: Offset(5)]) }
            #expect(refused?.message.contains("live members") == true, "\(String(describing: refused))")

            // seek replays inside a live member.
            try await member.seek(tp, to: Offset(18))
            let replayed = try await drain(member, seconds: 30) { $0.count >= 2 }
            #expect(replayed.map(\.offset) == [Offset(18), Offset(19)])
            await member.leave()

            try await log.resetOffsets("delivery.sms", to: [tp: Offset(15)])
            let group = try await log.listGroups().first { $0.group == "delivery.sms" }
            #expect(group?.partitions.first?.committed == Offset(15))
            #expect(group?.partitions.first?.lag == 5)
            let again = try await log.joinGroup("delivery.sms", topics: [topic], options: options)
            let fromReset = try await drain(again, seconds: 60) { $0.count >= 5 }
            #expect(fromReset.map(\.offset) == (15..<20).map { Offset(Int64($0)) })
            await again.leave()
        }
    }

    @Test("joining a group on a topic that does not exist is unknown-topic")
    func joinUnknownTopic() async throws {
        try await withTansu { log in
            let error = await #expect(throws: LogError.self) { _ = try await log.joinGroup("g", topics: ["nothing.here"], options: options) }
            #expect(error?.code == .unknownTopic)
        }
    }
}
