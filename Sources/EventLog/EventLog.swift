public import ChaparModels
import Foundation
public import Logging
import Synchronization

/// The embedded partitioned log: topics of partitions of CRC-framed segments in one data
/// directory, with group-committed durable appends, crash recovery at open, retention and
/// consumer groups. One process owns a data directory at a time (see `LOCK`).
///
/// Layout of the data directory:
///
///     LOCK                         flock'd by the owning process; holds its pid
///     topics/<topic>.json          topic configuration, written atomically
///     groups/<group>.json          committed offsets of a consumer group, written atomically
///     <topic>-<partition>/         segments: <20-digit base offset>.log and .index
public final class EventLog: MessageLog {
    /// Settings for opening a data directory. Every field has a documented default.
    public struct Configuration: Sendable {
        /// The data directory; created when missing.
        public var directory: String
        /// Threads doing writes and fsyncs. Default 2: fsyncs of different partitions overlap.
        public var ioThreads: Int
        public var fileSystem: any FileSystem
        public var clock: any ChaparClock
        public var logger: Logger

        public init(directory: String, ioThreads: Int = 2, fileSystem: any FileSystem = PosixFileSystem(),
                    clock: any ChaparClock = SystemClock(), logger: Logger = Logger(label: "chapar.eventlog")) {
            self.directory = directory
            self.ioThreads = ioThreads
            self.fileSystem = fileSystem
            self.clock = clock
            self.logger = logger
        }
    }

    struct Topic {
        let configuration: TopicConfiguration
        let partitions: [PartitionLog]
    }

    struct State {
        var topics: [TopicName: Topic] = [:]
        var groups: [GroupID: GroupCoordinator] = [:]
        var closed = false
        var roundRobin = 0
        var memberCounter = 0
        /// Names being created right now, reserved so a concurrent create of the same name fails
        /// instead of opening the same partition directories and overwriting the stored configuration.
        var creating: Set<TopicName> = []
    }

    public let configuration: Configuration
    /// What opening the directory found and repaired.
    public let recoveryReport: RecoveryReport
    let state: Mutex<State>
    let executor: BlockingExecutor
    let offsets: OffsetStore
    let logger: Logger
    private let lock: any FileLock
    var fileSystem: any FileSystem { configuration.fileSystem }
    var clock: any ChaparClock { configuration.clock }

    /// Who the LOCK file says holds the directory: `process 4242 (chapar ingest tx.csv)`, or
    /// `another process` when it says nothing readable (an older chapar wrote only the pid).
    static func lockHolder(_ text: String) -> String {
        let lines = text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard let pid = lines.first, Int(pid) != nil else { return "another process" }
        guard lines.count > 1 else { return "process \(pid)" }
        return "process \(pid) (\(lines[1]))"
    }

    /// Takes a data directory's `LOCK` (flock, holding this process's id and command line), or
    /// throws `locked` naming the process that holds it.
    static func lockDirectory(_ dir: String, fileSystem fs: any FileSystem) throws(LogError) -> any FileLock {
        do {
            return try fs.lockFile(dir + "/LOCK")
        } catch where error.kind == .locked {
            let holder = (try? AtomicFile.read(dir + "/LOCK", fileSystem: fs)).map { String(decoding: $0, as: UTF8.self) } ?? ""
            throw LogError(.locked, "data directory \(dir) is in use by \(Self.lockHolder(holder)); stop it first, or use a different --data-dir")
        } catch {
            throw LogError(.storage, "cannot lock data directory \(dir) (\(error))")
        }
    }

    /// Opens (creating if needed) a data directory, running recovery on every partition.
    public static func open(_ configuration: Configuration) throws(LogError) -> EventLog {
        try EventLog(configuration)
    }

    private init(_ configuration: Configuration) throws(LogError) {
        let started = ContinuousClock.now
        self.configuration = configuration
        logger = configuration.logger
        let fs = configuration.fileSystem
        let dir = configuration.directory
        do { try fs.createDirectory(dir) } catch {
            throw LogError(.storage, "cannot create data directory \(dir) (\(error)); check the path and permissions")
        }
        lock = try Self.lockDirectory(dir, fileSystem: fs)
        executor = BlockingExecutor(threads: configuration.ioThreads, name: "chapar-io")
        var report = RecoveryReport()
        var topics: [TopicName: Topic] = [:]
        do {
            try fs.createDirectory(dir + "/topics")
            for name in try fs.listDirectory(dir + "/topics") {
                let path = dir + "/topics/" + name
                if name.hasSuffix(AtomicFile.temporarySuffix) {
                    try? fs.removeFile(path)
                    report.actions.append(.init(kind: .removedTemporary, partition: "topics", detail: "\(name) from an interrupted topic creation"))
                    continue
                }
                guard name.hasSuffix(".json") else { continue }
                let meta = try Self.readTopicMetadata(path, fileSystem: fs)
                var partitions: [PartitionLog] = []
                for p in 0..<meta.configuration.partitions {
                    let tp = TopicPartition(meta.name, PartitionID(p))
                    partitions.append(try PartitionLog.open(
                        topicPartition: tp, directory: "\(dir)/\(tp)", configuration: meta.configuration, fileSystem: fs,
                        clock: configuration.clock, executor: executor, logger: logger, report: &report))
                }
                topics[meta.name] = Topic(configuration: meta.configuration, partitions: partitions)
            }
            offsets = try OffsetStore(directory: dir + "/groups", fileSystem: fs, report: &report)
        } catch let error as LogError {
            executor.shutdown()
            lock.release()
            throw error
        } catch {
            executor.shutdown()
            lock.release()
            throw LogError(.storage, "opening \(dir) failed (\(error))")
        }
        report.milliseconds = started.duration(to: .now).milliseconds
        recoveryReport = report
        state = Mutex(State(topics: topics))
        for action in report.actions where action.kind != .removedTemporary {
            logger.warning("recovery: \(action.kind.rawValue)", metadata: ["chapar.partition": "\(action.partition)", "chapar.detail": "\(action.detail)"])
        }
        logger.info("log opened", metadata: [
            "chapar.dir": "\(dir)", "chapar.topics": "\(topics.count)", "chapar.partitions": "\(report.partitions)",
            "chapar.repairs": "\(report.actions.count)", "chapar.ms": "\(report.milliseconds)",
        ])
    }

    struct TopicMetadata: Codable {
        var name: TopicName
        var configuration: TopicConfiguration
    }

    static func readTopicMetadata(_ path: String, fileSystem: any FileSystem) throws -> TopicMetadata {
        let bytes = try AtomicFile.read(path, fileSystem: fileSystem)
        do {
            return try JSONDecoder().decode(TopicMetadata.self, from: Data(bytes))
        } catch {
            throw LogError(.corrupt, "topic metadata \(path) is unreadable (\(error)); restore it from a backup (it holds the topic's partition count and settings)")
        }
    }

    // MARK: Topics

    public func createTopic(_ topic: TopicName, configuration topicConfiguration: TopicConfiguration) async throws -> TopicDescription {
        if let problem = topicConfiguration.problem { throw LogError(.invalidArgument, "cannot create \(topic): \(problem)") }
        let fs = fileSystem, dir = configuration.directory, clock = clock, logger = logger, executor = executor
        let exists = try state.withLock { s throws(LogError) -> Bool in
            if s.closed { throw LogError(.closed, "the log is closed") }
            if s.topics[topic] != nil || s.creating.contains(topic) { return true }
            s.creating.insert(topic)
            return false
        }
        if exists { throw LogError(.topicExists, "topic \(topic) already exists; see it with `chapar log describe \(topic)`") }
        defer { _ = state.withLock { $0.creating.remove(topic) } }
        let opened = try await executor.run { () throws -> Topic in
            var report = RecoveryReport()
            var partitions: [PartitionLog] = []
            for p in 0..<topicConfiguration.partitions {
                let tp = TopicPartition(topic, PartitionID(p))
                partitions.append(try PartitionLog.open(topicPartition: tp, directory: "\(dir)/\(tp)", configuration: topicConfiguration,
                                                        fileSystem: fs, clock: clock, executor: executor, logger: logger, report: &report))
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            do {
                let bytes = Array(try encoder.encode(TopicMetadata(name: topic, configuration: topicConfiguration)))
                try AtomicFile.write(bytes, to: "\(dir)/topics/\(topic).json", fileSystem: fs)
            } catch let error as FileSystemError {
                throw LogError(error.kind == .noSpace ? .diskFull : .storage, "cannot store topic \(topic) (\(error))")
            } catch {
                throw LogError(.storage, "cannot store topic \(topic) (\(error))")
            }
            return Topic(configuration: topicConfiguration, partitions: partitions)
        }
        try state.withLock { s throws(LogError) in
            if s.topics[topic] != nil { throw LogError(.topicExists, "topic \(topic) already exists") }
            s.topics[topic] = opened
        }
        logger.info("topic created", metadata: ["chapar.topic": "\(topic)", "chapar.partitions": "\(topicConfiguration.partitions)"])
        return try await describeTopic(topic)
    }

    /// Creates the topic unless it exists; returns its description either way.
    public func ensureTopic(_ topic: TopicName, configuration topicConfiguration: TopicConfiguration) async throws -> TopicDescription {
        if let existing = try? await describeTopic(topic) { return existing }
        do {
            return try await createTopic(topic, configuration: topicConfiguration)
        } catch let error as LogError where error.code == .topicExists {
            return try await describeTopic(topic)
        }
    }

    func topic(_ name: TopicName) throws(LogError) -> Topic {
        try state.withLock { s throws(LogError) in
            if s.closed { throw LogError(.closed, "the log is closed") }
            guard let t = s.topics[name] else {
                throw LogError(.unknownTopic, "topic \(name) does not exist; list topics with `chapar log topics` or create it with `chapar log create \(name) --partitions N`")
            }
            return t
        }
    }

    func partition(_ tp: TopicPartition) throws(LogError) -> PartitionLog {
        let t = try topic(tp.topic)
        guard tp.partition.rawValue >= 0 && tp.partition.rawValue < t.partitions.count else {
            throw LogError(.unknownPartition, "topic \(tp.topic) has partitions 0 to \(t.partitions.count - 1); there is no partition \(tp.partition)")
        }
        return t.partitions[tp.partition.rawValue]
    }

    public func listTopics() async throws -> [TopicDescription] {
        let topics = state.withLock { $0.topics }
        return topics.keys.sorted().map { name in
            let t = topics[name]!
            return TopicDescription(name: name, configuration: t.configuration, partitions: t.partitions.map { $0.describe() })
        }
    }

    public func describeTopic(_ name: TopicName) async throws -> TopicDescription {
        let t = try topic(name)
        return TopicDescription(name: name, configuration: t.configuration, partitions: t.partitions.map { $0.describe() })
    }

    // MARK: Produce

    public func append(_ records: [ProducerRecord], to topicName: TopicName) async throws -> [RecordPosition] {
        guard !records.isEmpty else { return [] }
        let topic = try topic(topicName)
        let count = topic.partitions.count
        let keyless = state.withLock { s -> Int in
            defer { s.roundRobin &+= 1 }
            return s.roundRobin % count
        }
        // Group by partition, keeping each record's input index (an array per partition: hashing
        // a dictionary key per record showed in ingest profiles).
        var groups = [[Int]](repeating: [], count: count)
        for (i, r) in records.enumerated() {
            let p: Int
            if let explicit = r.partition {
                guard explicit.rawValue >= 0 && explicit.rawValue < count else {
                    throw LogError(.unknownPartition, "topic \(topicName) has partitions 0 to \(count - 1); there is no partition \(explicit)")
                }
                p = explicit.rawValue
            } else if let key = r.key {
                p = Partitioner.partition(forKey: key, count: count).rawValue
            } else {
                p = keyless
            }
            groups[p].append(i)
        }
        let now = clock.now().milliseconds
        let maxBatch = topic.configuration.maxBatchBytes
        var jobs: [(partition: PartitionLog, indices: [Int], batch: BatchFormat.Encoded)] = []
        for (p, indices) in groups.enumerated() where !indices.isEmpty {
            for chunk in Self.chunks(indices, of: records, maxBytes: maxBatch) {
                let batch = BatchFormat.encode(records, indices: chunk, now: now)
                guard batch.bytes.count <= maxBatch + 1024 else {
                    throw LogError(.invalidArgument, "a record of \(batch.bytes.count) bytes exceeds the topic's max batch size of \(maxBatch) bytes; split the value or raise maxBatchBytes")
                }
                jobs.append((topic.partitions[p], chunk, batch))
            }
        }
        let results = await withCheckedContinuation { (c: CheckedContinuation<[Result<Int64, LogError>], Never>) in
            let collector = Collector(count: jobs.count, continuation: c)
            for (i, job) in jobs.enumerated() {
                job.partition.append(job.batch) { collector.set(i, $0) }
            }
        }
        var bases: [Int64] = []
        bases.reserveCapacity(jobs.count)
        for result in results { bases.append(try result.get()) }
        // Every input index is in exactly one job, so every slot is written once.
        return [RecordPosition](unsafeUninitializedCapacity: records.count) { out, initialized in
            for (job, base) in zip(jobs, bases) {
                let partition = job.partition.topicPartition.partition
                for (k, index) in job.indices.enumerated() {
                    (out.baseAddress! + index).initialize(to: RecordPosition(topic: topicName, partition: partition, offset: Offset(base + Int64(k)),
                                                                             timestamp: Timestamp(milliseconds: job.batch.timestamps[k])))
                }
            }
            initialized = records.count
        }
    }

    /// Splits record indices so each encoded batch stays under `maxBytes` (estimated generously).
    static func chunks(_ indices: [Int], of records: [ProducerRecord], maxBytes: Int) -> [[Int]] {
        var result: [[Int]] = []
        var current: [Int] = []
        var size = BatchFormat.headerSize
        // Records are read in place (binding one to a local copied it and retained its buffers).
        records.withUnsafeBufferPointer { all in
            for i in indices {
                var estimate = 32 + (all[i].key?.count ?? 0) + all[i].value.count
                for h in all[i].headers { estimate += 16 + h.key.utf8.count + h.value.count }
                if !current.isEmpty && size + estimate > maxBytes {
                    result.append(current)
                    current = []
                    size = BatchFormat.headerSize
                }
                current.append(i)
                size += estimate
            }
        }
        if !current.isEmpty { result.append(current) }
        return result
    }

    // MARK: Fetch

    public func fetch(_ topic: TopicName, partition: PartitionID, from offset: Offset, limits: FetchLimits) async throws -> FetchResult {
        guard offset.rawValue >= 0 else {
            throw LogError(.invalidArgument, "offsets are never negative (got \(offset)); use 0 or --from-beginning for the oldest record")
        }
        let log = try self.partition(TopicPartition(topic, partition))
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: limits.maxWait)
        while true {
            let seen = log.signal.version
            let result = try log.read(from: offset.rawValue, maxRecords: limits.maxRecords, maxBytes: limits.maxBytes)
            let now = clock.now
            if !result.records.isEmpty || now >= deadline || Task.isCancelled { return result }
            await waitForChange([(log.signal, seen)], timeout: now.duration(to: deadline))
        }
    }

    public func offset(for timestamp: Timestamp, topic: TopicName, partition: PartitionID) async throws -> Offset? {
        try self.partition(TopicPartition(topic, partition)).offset(for: timestamp.milliseconds).map { Offset($0) }
    }

    // MARK: Groups

    public func joinGroup(_ group: GroupID, topics: [TopicName], options: GroupOptions) async throws -> any GroupMember {
        guard !topics.isEmpty else { throw LogError(.invalidArgument, "a group member must subscribe to at least one topic") }
        var counts: [TopicName: Int] = [:]
        for t in topics { counts[t] = try topic(t).partitions.count }
        let (coordinator, id) = try state.withLock { s throws(LogError) in
            if s.closed { throw LogError(.closed, "the log is closed") }
            let c = s.groups[group] ?? GroupCoordinator(group: group, strategy: options.strategy, sessionTimeout: options.sessionTimeout, logger: logger)
            s.groups[group] = c
            s.memberCounter += 1
            return (c, MemberID("\(options.clientID)-\(s.memberCounter)"))
        }
        coordinator.join(id, topics: Set(topics), clientID: options.clientID, partitions: counts)
        return LogGroupMember(group: group, memberID: id, options: options, log: self, coordinator: coordinator)
    }

    public func listGroups() async throws -> [GroupDescription] {
        let (topics, coordinators) = state.withLock { ($0.topics, $0.groups) }
        let names = Set(offsets.groups).union(coordinators.keys)
        return names.sorted().map { group in
            let committed = offsets.committed(group)
            let live = coordinators[group]?.state.withLock { s in (members: s.members.keys.sorted(), generation: s.generation, owners: s.owners, topics: Set(s.members.values.flatMap(\.topics))) }
            var tps = Set(committed.keys)
            for t in live?.topics ?? [] { for p in 0..<(topics[t]?.partitions.count ?? 0) { tps.insert(TopicPartition(t, PartitionID(p))) } }
            let rows = tps.sorted().compactMap { tp -> GroupPartitionLag? in
                guard let t = topics[tp.topic], tp.partition.rawValue < t.partitions.count else { return nil }
                let p = t.partitions[tp.partition.rawValue]
                let end = p.highWatermark
                let c = committed[tp]
                let lag = max(0, end - (c ?? p.logStartOffset))
                return GroupPartitionLag(topic: tp.topic, partition: tp.partition, committed: c.map { Offset($0) }, end: Offset(end), lag: lag, owner: live?.owners[tp])
            }
            return GroupDescription(group: group, members: live?.members ?? [], generation: live?.generation ?? 0, partitions: rows)
        }
    }

    public func resetOffsets(_ group: GroupID, to newOffsets: [TopicPartition: Offset]) async throws {
        let busy = state.withLock { s in s.groups[group].map { !$0.isEmpty } ?? false }
        if busy { throw LogError(.invalidArgument, "group \(group) has live members; stop its consumers before resetting offsets") }
        for (tp, o) in newOffsets {
            let p = try partition(tp)
            guard o.rawValue >= p.logStartOffset && o.rawValue <= p.highWatermark else {
                throw LogError(.offsetOutOfRange, "offset \(o) is outside \(tp), which holds \(p.logStartOffset) to \(p.highWatermark)")
            }
        }
        let store = offsets, raw = newOffsets.mapValues(\.rawValue)
        try await executor.run { try store.commit(group, raw) }
    }

    /// A group's committed offsets.
    public func committedOffsets(_ group: GroupID) -> [TopicPartition: Offset] { offsets.committed(group).mapValues { Offset($0) } }

    // MARK: Maintenance

    /// Applies every topic's retention once; returns a line per deleted segment.
    @discardableResult
    public func enforceRetention() async -> [String] {
        let topics = state.withLock { $0.topics }
        let now = clock.now().milliseconds
        return await (try? executor.run {
            var lines: [String] = []
            for (_, t) in topics.sorted(by: { $0.key < $1.key }) {
                for p in t.partitions {
                    for d in p.applyRetention(now: now) {
                        lines.append("\(p.label): deleted segment \(d.baseOffset) (\(d.bytes) bytes, by \(d.reason))")
                    }
                }
            }
            return lines
        }) ?? []
    }

    /// Flushes and syncs everything, stops the I/O threads and releases the directory lock.
    public func close() async {
        let (topics, groups) = state.withLock { s -> ([Topic], [GroupCoordinator]) in
            if s.closed { return ([], []) }
            s.closed = true
            return (Array(s.topics.values), Array(s.groups.values))
        }
        for t in topics { for p in t.partitions { await p.close() } }
        for g in groups { g.signal.bump() }
        // Safe to repeat: a second shutdown finds every thread already gone, a second release is a no-op.
        executor.shutdown()
        lock.release()
    }

    /// A log released without ``close()`` still stops its I/O threads (after the jobs already
    /// queued) and releases the directory; what was appended but not yet synced is synced by
    /// those jobs or recovered on the next open, as after a crash.
    deinit {
        executor.shutdown()
        lock.release()
    }
}

/// Gathers results from callbacks and resumes once every one has arrived.
final class Collector: Sendable {
    private let state: Mutex<(results: [Result<Int64, LogError>?], remaining: Int)>
    private let continuation: CheckedContinuation<[Result<Int64, LogError>], Never>

    init(count: Int, continuation: CheckedContinuation<[Result<Int64, LogError>], Never>) {
        state = Mutex((Array(repeating: nil, count: count), count))
        self.continuation = continuation
        if count == 0 { continuation.resume(returning: []) }
    }

    func set(_ index: Int, _ result: Result<Int64, LogError>) {
        let done = state.withLock { s -> [Result<Int64, LogError>]? in
            s.results[index] = result
            s.remaining -= 1
            return s.remaining == 0 ? s.results.map { $0! } : nil
        }
        if let done { continuation.resume(returning: done) }
    }
}
