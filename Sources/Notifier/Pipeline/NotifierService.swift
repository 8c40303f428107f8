public import ChaparModels
public import Logging
import Synchronization

/// Counters of what the notifier did since it started, for the console, metrics and benchmarks.
public struct NotifierStatistics: Sendable, Hashable {
    public var events = 0
    public var batches = 0
    public var jobs: [Channel: Int] = [:]
    public var skipped: [SkipReason: Int] = [:]
    public var invalidRecords = 0
    public var failedBatches = 0

    public var totalJobs: Int { jobs.values.reduce(0, +) }
}

/// The notifier consumer group: `members` concurrent consumers of the event topics that turn each
/// event into delivery jobs on the `notify.*` lane topics.
///
/// Per batch a member polls, processes (customers → rules → templates), appends the jobs (each
/// append returns only once durable), and only then commits the batch's offsets. A crash before the
/// commit replays the batch: its jobs may be appended again, always with the same ``JobID``s, and no
/// event is ever left without its jobs. Partitions move between members only when a member polls
/// again, i.e. after it committed its previous batch, so no event is processed by two members at once.
public final class NotifierService: Sendable {
    private let log: any MessageLog
    private let directory: any CustomerDirectory
    private let renderer: any NotificationRendering
    private let configuration: NotifierConfiguration
    private let logger: Logger
    private let stats = Mutex(NotifierStatistics())

    public init(log: any MessageLog, directory: any CustomerDirectory, renderer: any NotificationRendering,
                configuration: NotifierConfiguration = NotifierConfiguration(), logger: Logger = Logger(label: "chapar.notifier")) {
        self.log = log
        self.directory = directory
        self.renderer = renderer
        self.configuration = configuration
        self.logger = logger
    }

    /// What happened so far.
    public var statistics: NotifierStatistics { stats.withLock { $0 } }

    /// Creates the event topics and every `notify.<channel>[.urgent|.bulk]` topic that is missing.
    public func prepareTopics(eventPartitions: Int = 8) async throws {
        let existing = Set(try await log.listTopics().map(\.name))
        for topic in configuration.topics + configuration.urgentTopics where !existing.contains(topic) {
            try await createIfMissing(topic, partitions: eventPartitions)
        }
        for channel in Channel.allCases {
            for priority in Priority.allCases where !existing.contains(Topics.jobs(channel, priority)) {
                try await createIfMissing(Topics.jobs(channel, priority), partitions: configuration.jobTopicPartitions)
            }
        }
    }

    private func createIfMissing(_ topic: TopicName, partitions: Int) async throws {
        do {
            _ = try await log.createTopic(topic, configuration: TopicConfiguration(partitions: partitions))
        } catch let error as LogError where error.code == .topicExists {
            // Another process or member created it first: fine.
        }
    }

    /// Runs the members until the task is cancelled (or the log closes), then each finishes its
    /// current batch, commits, and leaves the group.
    public func run() async throws {
        try await prepareTopics()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<configuration.members {
                group.addTask { try await self.runMember(index) }
            }
            if !configuration.urgentTopics.isEmpty {
                group.addTask { try await self.runMember(self.configuration.members, urgent: true) }
            }
            try await group.waitForAll()
        }
    }

    /// One member's loop; public so tests and benchmarks can run members on their own.
    ///
    /// If the member loses its partitions to a session timeout (it was silent too long), it drops
    /// the batch it holds (the new owners process those events; nothing was committed) and
    /// joins again. Cancellation lets the current batch finish and commit before the member leaves.
    public func runMember(_ index: Int, urgent: Bool = false) async throws {
        var memberLogger = logger
        var member = try await join(index, urgent: urgent)
        memberLogger[metadataKey: "chapar.member"] = "\(member.memberID)"
        var processor = BatchProcessor(directory: directory, renderer: renderer, logger: memberLogger)
        defer { memberLogger.debug("notifier member stopped") }
        while !Task.isCancelled {
            let records: [ConsumerRecord]
            do {
                records = try await member.poll(maxRecords: configuration.batchSize, timeout: configuration.pollTimeout)
            } catch let error as LogError where error.code == .closed {
                return
            } catch let error as LogError where error.code == .notMember {
                memberLogger.warning("notifier member was expired; joining again", metadata: ["chapar.problem": "\(error.message)"])
                member = try await join(index, urgent: urgent)
                memberLogger[metadataKey: "chapar.member"] = "\(member.memberID)"
                continue
            }
            guard !records.isEmpty else { continue }
            // The batch runs in its own task so that a shutdown (cancellation of this one) lets it
            // finish and commit instead of abandoning it half-way; it is awaited right here.
            let batch = Task { [processor, configuration, member] in
                var processor = processor
                let outcome = try await processor.process(records, now: configuration.clock.now())
                try await self.appendJobs(outcome.jobs)
                try await member.commitPolled()
                return (outcome, processor)
            }
            switch await batch.result {
            case .success(let (outcome, updated)):
                processor = updated
                record(outcome)
            case .failure(let error as LogError) where error.code == .closed:
                return
            case .failure(let error as LogError) where error.code == .notMember || error.code == .notPartitionOwner:
                // Another member owns (some of) these records now; they were not committed here.
                memberLogger.warning("notifier member lost its partitions during a batch; dropping the batch and rejoining",
                                     metadata: ["chapar.problem": "\(error.message)"])
                await member.leave()
                member = try await join(index, urgent: urgent)
                memberLogger[metadataKey: "chapar.member"] = "\(member.memberID)"
            case .failure(let error):
                // Nothing was committed: go back to the batch's first records and try again later.
                stats.withLock { $0.failedBatches += 1 }
                memberLogger.error("notifier batch failed; it will be retried", metadata: ["chapar.problem": "\(error)"])
                await rewind(member, to: records)
                try? await Task.sleep(for: configuration.retryDelay)
            }
        }
        await member.leave()
    }

    /// Joins the main group on the event topics, or (`urgent`) the urgent group on the urgent topics.
    private func join(_ index: Int, urgent: Bool = false) async throws -> any GroupMember {
        try await log.joinGroup(urgent ? configuration.urgentGroup : configuration.group, topics: urgent ? configuration.urgentTopics : configuration.topics,
                                options: GroupOptions(startPosition: configuration.startPosition, sessionTimeout: configuration.sessionTimeout,
                                                      clientID: "notifier-\(index)"))
    }

    /// Appends jobs lane by lane, lanes concurrently so their fsyncs overlap. Order within a lane
    /// (and so per customer and channel) is event order.
    func appendJobs(_ jobs: JobRecords) async throws {
        guard jobs.count > 0 else { return }
        let lanes = jobs.byTopic
        if lanes.count == 1 {
            _ = try await log.append(lanes[0].records, to: lanes[0].topic)
            return
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (topic, records) in lanes {
                group.addTask { _ = try await self.log.append(records, to: topic) }
            }
            try await group.waitForAll()
        }
    }

    /// Seeks each partition of a failed batch back to its first record. A partition that is no
    /// longer ours is skipped: its new owner starts from the committed offset anyway.
    private func rewind(_ member: any GroupMember, to records: [ConsumerRecord]) async {
        var first: [TopicPartition: Offset] = [:]
        for r in records where first[TopicPartition(r.topic, r.partition)] == nil {
            first[TopicPartition(r.topic, r.partition)] = r.offset
        }
        for (tp, offset) in first { try? await member.seek(tp, to: offset) }
    }

    private func record(_ outcome: BatchOutcome) {
        stats.withLock { s in
            s.batches += 1
            s.events += outcome.events
            s.invalidRecords += outcome.invalid.count
            for channel in Channel.allCases where outcome.jobs.count(for: channel) > 0 {
                s.jobs[channel, default: 0] += outcome.jobs.count(for: channel)
            }
            for (_, decision) in outcome.skipped {
                if case .skip(let reason) = decision.outcome { s.skipped[reason, default: 0] += 1 }
            }
        }
    }
}
