import ChaparModels
import EventLog
import Foundation
import Logging
import Notifier
import Synchronization
import Testing

@Suite("Notifier consumer group on the embedded log")
struct PipelineServiceTests {
    /// 40 accounts, each held by one customer; every 5th also by a second (joint) customer.
    static func population() -> [CustomerProfile] {
        var out: [CustomerProfile] = []
        for n in 1...40 {
            out.append(customer("c\(n)", accounts: [account(n)], channels: [sms(), email()]))
            if n % 5 == 0 { out.append(customer("j\(n)", accounts: [account(n)], channels: [sms()])) }
        }
        return out
    }

    static func expectedJobs(events: Int) -> Int {
        // Event i goes to account (i % 40) + 1: 2 jobs for the holder, +1 when the account is joint.
        (0..<events).reduce(0) { sum, i in sum + 2 + (((i % 40) + 1) % 5 == 0 ? 1 : 0) }
    }

    func produce(_ log: EventLog, count: Int, from start: Int = 0) async throws {
        var batch: [ProducerRecord] = []
        for i in start..<(start + count) {
            batch.append(EventCodec.record(transaction("e\(i)", account: account((i % 40) + 1), amount: Int64(1000 + i))))
            if batch.count == 500 {
                _ = try await log.append(batch, to: Topics.transactions)
                batch.removeAll()
            }
        }
        if !batch.isEmpty { _ = try await log.append(batch, to: Topics.transactions) }
    }

    func makeService(_ log: EventLog, directory: any CustomerDirectory = MemoryDirectory(population()), members: Int = 2,
                     batch: Int = 100, renderer: LineRenderer = LineRenderer()) -> NotifierService {
        NotifierService(log: log, directory: directory, renderer: renderer,
                        configuration: NotifierConfiguration(members: members, batchSize: batch, pollTimeout: .milliseconds(50),
                                                             retryDelay: .milliseconds(20), clock: ManualClock(utc("2026-01-10T08:30:00Z"))),
                        logger: pipelineQuietLogger)
    }

    /// Checks the invariants on the jobs in the log: every event has all its jobs, each job id once,
    /// and per customer and lane the jobs follow the events' order within each account.
    func verify(_ log: EventLog, events: Int, allowDuplicates: Bool = false) async throws {
        let jobs = try await allJobs(log)
        var seen: [JobID: DeliveryJob] = [:]
        for (_, _, _, job) in jobs {
            if let earlier = seen[job.id] {
                #expect(allowDuplicates, "job \(job.id) appended twice")
                #expect(earlier == job, "a duplicate job id must carry the same job")
            }
            seen[job.id] = job
        }
        #expect(seen.count == Self.expectedJobs(events: events), "every event has all its jobs")
        #expect(Set(seen.values.map(\.event)).count == events)
        // Order: within one (topic, partition), jobs for one customer appear in increasing event number.
        var last: [String: Int] = [:]
        for (topic, partition, _, job) in jobs {
            let key = "\(topic)-\(partition)-\(job.customer)"
            let n = Int(job.event.rawValue.dropFirst())!
            if let previous = last[key] {
                #expect(previous <= n || allowDuplicates, "\(key): event \(n) after \(previous)")
            }
            last[key] = n
        }
    }

    @Test("every event becomes its jobs on the lane topics, once, in order, and offsets are committed")
    func happyPath() async throws {
        try await withPipelineDirectory { dir in
            let log = try EventLog.open(.init(directory: dir, logger: pipelineQuietLogger))
            let service = makeService(log)
            try await service.prepareTopics()
            try await produce(log, count: 1_000)
            let runner = Task { try await service.run() }
            try await eventually("all events are processed") { service.statistics.events == 1_000 }
            runner.cancel()
            _ = await runner.result
            try await verify(log, events: 1_000)
            let stats = service.statistics
            #expect(stats.jobs[.sms] == 1_000 + 200 && stats.jobs[.email] == 1_000)
            let lags = try await log.listGroups().filter { $0.group == "notifier" }.flatMap(\.partitions).map(\.lag)
            #expect(!lags.isEmpty && lags.allSatisfy { $0 == 0 }, "committed up to the end: \(lags)")
            await log.close()
        }
    }

    @Test("a restart resumes after the committed offsets: nothing is processed twice without a crash")
    func restartResumes() async throws {
        try await withPipelineDirectory { dir in
            let log1 = try EventLog.open(.init(directory: dir, logger: pipelineQuietLogger))
            try await makeService(log1).prepareTopics()
            try await produce(log1, count: 300)
            let first = makeService(log1)
            let runner1 = Task { try await first.run() }
            try await eventually("the first 300 are processed") { first.statistics.events == 300 }
            runner1.cancel()
            _ = await runner1.result
            await log1.close()

            let log = try EventLog.open(.init(directory: dir, logger: pipelineQuietLogger))
            try await produce(log, count: 200, from: 300)
            let service = makeService(log)
            let runner = Task { try await service.run() }
            try await eventually("the next 200 are processed") { service.statistics.events >= 200 }
            try await Task.sleep(for: .milliseconds(200))
            runner.cancel()
            _ = await runner.result
            #expect(service.statistics.events == 200, "only the new events after a clean restart")
            try await verify(log, events: 500)
            await log.close()
        }
    }

    @Test("members joining and leaving while busy: no event handled twice, none missed")
    func rebalanceWhileBusy() async throws {
        try await withPipelineDirectory { dir in
            let log = try EventLog.open(.init(directory: dir, logger: pipelineQuietLogger))
            let service = makeService(log, members: 1, batch: 50)
            try await service.prepareTopics()
            let producer = Task { try await produce(log, count: 3_000) }
            // Members come and go while events arrive; each member is its own task.
            var members: [Task<Void, any Error>] = [Task { try await service.runMember(0) }]
            for i in 1...4 {
                try await Task.sleep(for: .milliseconds(60))
                members.append(Task { try await service.runMember(i) })
                if i % 2 == 0 {
                    let leaving = members.removeFirst()
                    leaving.cancel()
                    _ = await leaving.result
                }
            }
            try await producer.value
            try await eventually("all events are processed") { service.statistics.events >= 3_000 }
            for m in members { m.cancel(); _ = await m.result }
            #expect(service.statistics.events == 3_000, "no batch was processed twice")
            try await verify(log, events: 3_000)
            await log.close()
        }
    }

    @Test("a customer-store failure retries the batch: no event is lost or skipped")
    func directoryFailureRetries() async throws {
        try await withPipelineDirectory { dir in
            let log = try EventLog.open(.init(directory: dir, logger: pipelineQuietLogger))
            let service = makeService(log, directory: MemoryDirectory(Self.population(), failFirst: 3))
            try await service.prepareTopics()
            try await produce(log, count: 400)
            let runner = Task { try await service.run() }
            try await eventually("all events are processed") { service.statistics.events == 400 }
            runner.cancel()
            _ = await runner.result
            #expect(service.statistics.failedBatches == 3)
            try await verify(log, events: 400)
            await log.close()
        }
    }

    @Test("a member stalled past its session timeout drops its batch and rejoins; nothing is lost, duplicates keep their ids")
    func stalledMemberRejoins() async throws {
        try await withPipelineDirectory { dir in
            let log = try EventLog.open(.init(directory: dir, logger: pipelineQuietLogger))
            let directory = StallingDirectory(MemoryDirectory(Self.population()), stall: .milliseconds(800))
            let service = NotifierService(log: log, directory: directory, renderer: LineRenderer(),
                                          configuration: NotifierConfiguration(members: 2, batchSize: 100, pollTimeout: .milliseconds(50),
                                                                               retryDelay: .milliseconds(20), sessionTimeout: .milliseconds(250),
                                                                               clock: ManualClock(utc("2026-01-10T08:30:00Z"))),
                                          logger: pipelineQuietLogger)
            try await service.prepareTopics()
            try await produce(log, count: 1_000)
            let runner = Task { try await service.run() }
            try await eventually("all events are processed") { service.statistics.events >= 1_000 }
            try await eventually("every partition is committed to its end") {
                let lags = try await log.listGroups().filter { $0.group == "notifier" }.flatMap(\.partitions).map(\.lag)
                return !lags.isEmpty && lags.allSatisfy { $0 == 0 }
            }
            runner.cancel()
            let result = await runner.result
            if case .failure(let error) = result { Issue.record("the notifier stopped with \(error)") }
            try await verify(log, events: 1_000, allowDuplicates: true)
            await log.close()
        }
    }

    @Test("records that are not events are counted and passed over; the rest are processed")
    func invalidRecords() async throws {
        try await withPipelineDirectory { dir in
            let log = try EventLog.open(.init(directory: dir, logger: pipelineQuietLogger))
            let service = makeService(log)
            try await service.prepareTopics()
            try await produce(log, count: 50)
            _ = try await log.append([ProducerRecord(key: Array("x".utf8), value: Array("not json".utf8)),
                                      ProducerRecord(key: Array("x".utf8), value: Array(#"{"type":"transaction","id":"bad"}"#.utf8))],
                                     to: Topics.transactions)
            try await produce(log, count: 50, from: 50)
            let runner = Task { try await service.run() }
            try await eventually("all valid events are processed") { service.statistics.events == 100 }
            try await eventually("both bad records are counted") { service.statistics.invalidRecords == 2 }
            runner.cancel()
            _ = await runner.result
            try await verify(log, events: 100)
            await log.close()
        }
    }

    @Test("quiet hours reach the job as notBefore; urgent messages go to the urgent lane without it")
    func lanesAndDeferral() async throws {
        try await withPipelineDirectory { dir in
            let log = try EventLog.open(.init(directory: dir, logger: pipelineQuietLogger))
            let people = [customer("c1", accounts: [account(1)], channels: [sms(kinds: [.debit, .credit, .security, .marketing], quiet: "22:00-07:00")])]
            let service = NotifierService(log: log, directory: MemoryDirectory(people), renderer: LineRenderer(),
                                          configuration: NotifierConfiguration(members: 1, pollTimeout: .milliseconds(50), clock: ManualClock(utc("2026-01-10T20:00:00Z"))),
                                          logger: pipelineQuietLogger)
            try await service.prepareTopics()
            _ = try await log.append([EventCodec.record(transaction("t1", account: account(1)))], to: Topics.transactions)
            _ = try await log.append([EventCodec.record(message("otp1", to: "c1", kind: .security)),
                                      EventCodec.record(message("bd1", to: "c1", kind: .marketing))], to: Topics.messages)
            let runner = Task { try await service.run() }
            try await eventually("three events are processed") { service.statistics.events == 3 }
            runner.cancel()
            _ = await runner.result
            let jobs = try await allJobs(log)
            let byEvent = Dictionary(uniqueKeysWithValues: jobs.map { ($0.job.event.rawValue, $0) })
            #expect(byEvent["t1"]?.topic == "notify.sms" && byEvent["t1"]?.job.notBefore == utc("2026-01-11T03:30:00Z"))
            #expect(byEvent["otp1"]?.topic == "notify.sms.urgent" && byEvent["otp1"]?.job.notBefore == nil)
            #expect(byEvent["bd1"]?.topic == "notify.sms.bulk" && byEvent["bd1"]?.job.notBefore == utc("2026-01-11T03:30:00Z"))
            #expect(byEvent["t1"]?.job.account == account(1).masked)
            await log.close()
        }
    }
}
