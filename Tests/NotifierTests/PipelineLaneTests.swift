import ChaparModels
@testable import Notifier
import Testing

@Suite("Job lanes")
struct PipelineLaneTests {
    @Test("every lane has its own index and topic, in channel then priority order")
    func lanesAreDistinct() {
        #expect(Lane.all.count == Channel.allCases.count * Priority.allCases.count)
        #expect(Lane.all.map(\.index) == Array(Lane.all.indices))
        #expect(Set(Lane.all.map(\.topic)).count == Lane.all.count)
        #expect(Lane.all.prefix(3).map(\.topic.rawValue) == ["notify.sms.urgent", "notify.sms", "notify.sms.bulk"])
        #expect(Lane.all.map(\.channel.index) == Lane.all.map { Channel.allCases.firstIndex(of: $0.channel)! })
        #expect(Lane.all.map(\.priority.index) == Lane.all.map { Priority.allCases.firstIndex(of: $0.priority)! })
    }

    @Test("records keep their order per lane and are counted per channel")
    func recordsPerLane() {
        var jobs = JobRecords()
        func record(_ n: UInt8) -> ProducerRecord { ProducerRecord(key: [n], value: [n]) }
        jobs.append(record(1), to: Lane(.email, .bulk))
        jobs.append(record(2), to: Lane(.sms, .normal))
        jobs.append(record(3), to: Lane(.email, .bulk))
        jobs.append(record(4), to: Lane(.sms, .urgent))
        #expect(jobs.count == 4)
        #expect(jobs.count(for: .email) == 2 && jobs.count(for: .sms) == 2 && jobs.count(for: .im) == 0)
        #expect(jobs.records(in: Lane(.email, .bulk)).map(\.value) == [[1], [3]])
        #expect(jobs.byTopic.map(\.topic.rawValue) == ["notify.sms.urgent", "notify.sms", "notify.email.bulk"])
    }
}
