public import ChaparModels
import Foundation
public import Logging
import Synchronization

/// The ingest pipeline, shared by `chapar ingest` and (later) the server's HTTP API: entries from
/// an ``EntryParser`` are validated, deduplicated against a ``SeenIndex`` and appended in batches
/// to `transactions` (key = account) or `messages` (key = customer) on a ``MessageLog``.
///
/// Ingests through one ``SeenIndex`` are serialised (dedupe-check, append and index commit of a
/// batch form one critical section), so two concurrent uploads of the same file still append it
/// once, whichever `Ingestor` (local run, or ``IngestEndpoint`` request) they come through.
public final class Ingestor: Sendable {
    /// How an input is treated.
    public enum Mode: String, Sendable, CaseIterable {
        /// Append the valid entries; rejected ones are reported and make the run fail (exit 65).
        case append
        /// Validate the whole input first; append nothing unless every entry is valid (warnings
        /// about the file, which reject no entry, do not refuse it).
        case strict
        /// Validate only; open nothing, append nothing.
        case dryRun = "dry-run"
    }

    /// Settings with documented defaults.
    public struct Configuration: Sendable {
        /// Entries per log append (one batch per partition, so the log's group commit is used).
        public var batchSize: Int
        /// Created with this configuration when missing. Default 8 partitions, fsync always.
        public var transactionsTopic: TopicConfiguration
        /// Created with this configuration when missing. Default 4 partitions, fsync always.
        public var messagesTopic: TopicConfiguration
        /// Appends in flight at once; concurrent appends share the log's fsyncs (group commit).
        public var maxInFlight: Int
        /// After each input, log at debug level how long the append side waited for the parser
        /// and the parser for the append side (`chapar.ingest.pipeline_wait_seconds`,
        /// `chapar.ingest.parser_wait_seconds`), to see which side is the bottleneck. Default off.
        public var tracesPipeline: Bool
        /// Where topic creation and the pipeline trace are reported.
        public var logger: Logger

        public init(batchSize: Int = 2_000,
                    transactionsTopic: TopicConfiguration = TopicConfiguration(partitions: 8, durability: .always),
                    messagesTopic: TopicConfiguration = TopicConfiguration(partitions: 4, durability: .always),
                    maxInFlight: Int = 3,
                    tracesPipeline: Bool = false,
                    logger: Logger = Logger(label: "chapar.ingest")) {
            self.maxInFlight = maxInFlight
            self.batchSize = batchSize
            self.transactionsTopic = transactionsTopic
            self.messagesTopic = messagesTopic
            self.tracesPipeline = tracesPipeline
            self.logger = logger
        }
    }

    /// One input to ingest: how to open it (twice in strict mode) and what to call it in messages.
    public struct Source: Sendable {
        public var displayName: String
        /// Size in bytes when known, for the ETA.
        public var size: Int64?
        public var open: @Sendable () throws(IngestError) -> any EntryParser

        public init(displayName: String, size: Int64? = nil, open: @escaping @Sendable () throws(IngestError) -> any EntryParser) {
            self.displayName = displayName
            self.size = size
            self.open = open
        }
    }

    /// Counters, reported while running and at the end.
    public struct Progress: Sendable, Hashable {
        /// Entries read (events and rejects).
        public var read = 0
        public var appended = 0
        public var duplicates = 0
        public var rejected = 0
        /// Problems with the file that rejected no entry (see ``ParsedEntry/warning(_:)``).
        public var warnings = 0
        /// Input bytes consumed, or -1 when the parser cannot tell.
        public var bytesRead: Int64 = 0
        public var phase: String = "ingest"
        public init() {}
    }

    /// What one input gave.
    public struct Summary: Sendable {
        public var file: String
        public var counts: Progress
        public var seconds: Double
        /// The input could not be read to its end (bad header, broken XML, I/O error).
        public var failure: IngestError?
        /// In strict mode: the input had rejects, so nothing was appended.
        public var refused: Bool

        public init(file: String, counts: Progress, seconds: Double, failure: IngestError? = nil, refused: Bool = false) {
            self.file = file
            self.counts = counts
            self.seconds = seconds
            self.failure = failure
            self.refused = refused
        }

        /// `read N, appended A, duplicates D, rejected R in T s`, with `, warnings W` before ` in`
        /// when there were warnings (so the line stays as it was for files without any).
        public var line: String {
            let warnings = counts.warnings > 0 ? ", warnings \(counts.warnings)" : ""
            return "read \(counts.read), appended \(counts.appended), duplicates \(counts.duplicates), rejected \(counts.rejected)\(warnings) in \(Self.seconds(seconds)) s"
        }

        static func seconds(_ s: Double) -> String {
            let tenths = Int((s * 10).rounded())
            return "\(tenths / 10).\(tenths % 10)"
        }
    }

    private let log: (any MessageLog)?
    private let index: SeenIndex?
    private let configuration: Configuration

    /// An ingestor that appends to `log`, deduplicating with `index`. Call ``prepare()`` once (it
    /// catches the index up with the log) before the first ingest.
    public init(log: any MessageLog, index: SeenIndex, configuration: Configuration = Configuration()) {
        self.log = log
        self.index = index
        self.configuration = configuration
    }

    /// A validation-only ingestor (`--dry-run`): no log, no index.
    public init(validatingWith configuration: Configuration = Configuration()) {
        log = nil
        index = nil
        self.configuration = configuration
    }

    /// Brings the dedupe index up to date with the log (records appended but not indexed before a
    /// crash, or by another producer). Returns how many records it read.
    @discardableResult
    public func prepare() async throws(IngestError) -> Int {
        guard let log, let index else { return 0 }
        do {
            return try await index.exclusively { try await index.catchUp(from: log) }
        } catch let error as IngestError {
            throw error
        } catch {
            throw IngestError.storage("cannot bring the dedupe index up to date", error)
        }
    }

    /// Ingests one input. Rejected entries go to `onReject` and warnings (problems with the file that
    /// reject no entry) to `onWarning` as they are found (in input order); `onProgress` is called
    /// after every batch. Never throws for bad entries: they are counted.
    ///
    /// A storage failure (disk full, I/O error) stops the input and is thrown as `.diskFull` or
    /// `.storage` with ``IngestError/durable`` set: how many entries were read and how many are
    /// durable in the log (counted from the log itself, so a batch that reached some partitions
    /// before the disk filled is counted too). Those are skipped by a re-run of the same input.
    public func ingest(_ source: Source, mode: Mode,
                       onReject: @Sendable (EntryError) -> Void = { _ in },
                       onWarning: @Sendable (EntryError) -> Void = { _ in },
                       onProgress: @Sendable (Progress) -> Void = { _ in }) async throws(IngestError) -> Summary {
        let clock = ContinuousClock()
        let started = clock.now
        var summary = Summary(file: source.displayName, counts: Progress(), seconds: 0, failure: nil, refused: false)
        let effective: Mode = (log == nil) ? .dryRun : mode
        if effective == .strict {
            // Pass 1: validate everything, report rejects, append nothing.
            var counts = Progress()
            counts.phase = "validate"
            let failure = try await validate(source, counts: &counts, onReject: onReject, onWarning: onWarning, onProgress: onProgress)
            summary.counts.rejected = counts.rejected
            summary.counts.warnings = counts.warnings
            summary.counts.read = counts.read
            if let failure {
                summary.failure = failure
                summary.refused = true
            } else if counts.rejected > 0 {
                summary.refused = true
            }
            if summary.refused {
                summary.seconds = started.duration(to: clock.now).secondsDouble
                return summary
            }
            summary.counts = Progress()
        }
        if effective == .dryRun {
            var counts = Progress()
            counts.phase = "validate"
            summary.failure = try await validate(source, counts: &counts, onReject: onReject, onWarning: onWarning, onProgress: onProgress)
            summary.counts = counts
        } else {
            // In strict mode the first pass already reported the warnings: the second counts them again, silently.
            let strict = effective == .strict
            try await append(source, summary: &summary, strict: strict, onReject: onReject,
                             onWarning: { if !strict { onWarning($0) } }, onProgress: onProgress)
        }
        summary.seconds = started.duration(to: clock.now).secondsDouble
        return summary
    }

    /// Reads every entry, counting rejects; within-batch duplicates are counted too.
    private func validate(_ source: Source, counts: inout Progress, onReject: @Sendable (EntryError) -> Void,
                          onWarning: @Sendable (EntryError) -> Void, onProgress: @Sendable (Progress) -> Void) async throws(IngestError) -> IngestError? {
        let parser = try source.open()
        let thread = ParsingThread(parser: parser, batchSize: configuration.batchSize)
        while true {
            let batch = await thread.next()
            var seen = Set<Fingerprint>()
            for e in batch.events where !seen.insert(e.fingerprint).inserted { counts.duplicates += 1 }
            counts.read += batch.events.count + batch.rejects.count
            counts.rejected += batch.rejects.count
            counts.warnings += batch.warnings.count
            batch.rejects.forEach(onReject)
            batch.warnings.forEach(onWarning)
            counts.bytesRead = batch.bytesRead
            onProgress(counts)
            if batch.isLast { return batch.failure }
        }
    }

    private func append(_ source: Source, summary: inout Summary, strict: Bool, onReject: @Sendable (EntryError) -> Void,
                        onWarning: @Sendable (EntryError) -> Void, onProgress: @Sendable (Progress) -> Void) async throws(IngestError) {
        guard let log, let index else { return }
        let parser = try source.open()
        let thread = ParsingThread(parser: parser, batchSize: configuration.batchSize, isNew: { index.definitelyNew($0) })
        do {
            summary = try await index.exclusively { [summary] () async throws -> Summary in
                var summary = summary
                try await self.pipeline(thread, log: log, index: index, summary: &summary, strict: strict, onReject: onReject,
                                        onWarning: onWarning, onProgress: onProgress)
                return summary
            }
        } catch let error as IngestError {
            thread.cancel()
            throw error
        } catch {
            thread.cancel()
            throw IngestError.storage("ingest of \(source.displayName) failed", error)
        }
    }

    /// The append loop: up to ``Configuration/maxInFlight`` appends run concurrently so the log's
    /// group commit shares fsyncs between them; each batch's ids are committed to the index right
    /// after its own append is durable. Fingerprints of batches still in flight are kept in memory
    /// so that a later batch never appends them again.
    ///
    /// On a storage failure no further batch is started, the appends in flight are waited for, and
    /// the failure is thrown with the counts of what is durable (see ``ingest(_:mode:onReject:onProgress:)``).
    private func pipeline(_ thread: ParsingThread, log: any MessageLog, index: SeenIndex, summary: inout Summary, strict: Bool,
                          onReject: @Sendable (EntryError) -> Void, onWarning: @Sendable (EntryError) -> Void,
                          onProgress: @Sendable (Progress) -> Void) async throws {
        var topicsReady = Set<TopicName>()
        let maxInFlight = max(1, configuration.maxInFlight)
        // The ends of the event topics before this input: on a failure, what the log grew by is what is durable.
        let before = await Self.endOffsets(log)
        var failure: IngestError? = nil
        // Entries of appends that failed: some may have reached some partitions before the failure.
        var unconfirmed = 0
        await withTaskGroup(of: Completed.self) { group in
            var inFlight = 0
            var pending = FingerprintSet(minimumCapacity: configuration.batchSize * (maxInFlight + 1))
            func reap(_ done: Completed) {
                inFlight -= 1
                summary.counts.appended += done.appended
                for f in done.fingerprints { pending.remove(f) }
                unconfirmed += done.unconfirmed
                if let e = done.failure, failure == nil { failure = e }
            }
            let clock = ContinuousClock()
            var starved = Duration.zero
            defer {
                if configuration.tracesPipeline {
                    let stalled = thread.stalls.withLock { $0 }
                    configuration.logger.debug("ingest pipeline waits", metadata: [
                        "chapar.file": "\(summary.file)",
                        "chapar.ingest.pipeline_wait_seconds": "\(starved.secondsDouble)",
                        "chapar.ingest.parser_wait_seconds": "\(Double(stalled) / 1e9)",
                    ])
                }
            }
            while failure == nil {
                let waitStart = clock.now
                let batch = await thread.next()
                starved += waitStart.duration(to: clock.now)
                summary.counts.read += batch.events.count + batch.rejects.count
                summary.counts.rejected += batch.rejects.count
                summary.counts.warnings += batch.warnings.count
                batch.rejects.forEach(onReject)
                batch.warnings.forEach(onWarning)
                if strict && !batch.rejects.isEmpty {
                    // The file changed between the passes: stop rather than append more of it.
                    summary.failure = IngestError(.rejected, "\(summary.file) changed while it was being ingested (entries valid in the first pass are now rejected); stopped")
                    thread.cancel()
                    break
                }
                if !batch.events.isEmpty {
                    let plan: Plan
                    do throws(IngestError) {
                        let fps = batch.events.map { $0.fingerprint }
                        let seen = try await index.contains(fps)
                        plan = Self.plan(batch.events, fps, seen: seen, pending: &pending)
                        summary.counts.duplicates += plan.duplicates
                        for (topic, records, config) in [(Topics.transactions, plan.transactions, configuration.transactionsTopic),
                                                         (Topics.urgentMessages, plan.urgentMessages, configuration.messagesTopic),
                                                         (Topics.messages, plan.messages, configuration.messagesTopic)]
                            where !records.isEmpty && !topicsReady.contains(topic) {
                            try await ensureTopic(topic, config, log)
                            topicsReady.insert(topic)
                        }
                    } catch {
                        failure = error
                        break
                    }
                    while inFlight >= maxInFlight, let done = await group.next() { reap(done) }
                    if failure != nil { break }
                    inFlight += 1
                    group.addTask {
                        await Self.appendAndRecord(plan, log: log, index: index)
                    }
                }
                summary.counts.bytesRead = batch.bytesRead
                onProgress(summary.counts)
                if batch.isLast {
                    summary.failure = batch.failure
                    break
                }
            }
            while let done = await group.next() { reap(done) }
            onProgress(summary.counts)
        }
        guard var failure else { return }
        thread.cancel()
        if unconfirmed > 0, let before, let after = await Self.endOffsets(log) {
            // Only this pipeline appends to the event topics while it holds the index's gate, so
            // the growth is this input's; clamped to what it sent, in case another producer wrote.
            let grown = after.reduce(0) { $0 + Int($1.value - (before[$1.key] ?? 0)) }
            summary.counts.appended = min(max(grown, summary.counts.appended), summary.counts.appended + unconfirmed)
        }
        failure.durable = summary.counts
        throw failure
    }

    /// The end offset of every partition of the event topics, or nil when the log cannot say.
    private static func endOffsets(_ log: any MessageLog) async -> [TopicPartition: Int64]? {
        var ends: [TopicPartition: Int64] = [:]
        for topic in Topics.events {
            do {
                for p in try await log.describeTopic(topic).partitions { ends[TopicPartition(topic, p.partition)] = p.endOffset.rawValue }
            } catch let e as LogError where e.code == .unknownTopic {
                continue
            } catch {
                return nil
            }
        }
        return ends
    }

    /// One batch split by topic, without entries already in the index, in flight, or earlier in the batch.
    struct Plan: Sendable {
        /// The whole batch (moved, not copied: an event holds a dozen references).
        var events: [PreparedEvent] = []
        /// Indices into `events` of the new entries per topic.
        var transactions: [Int] = []
        var messages: [Int] = []
        var urgentMessages: [Int] = []
        var transactionFPs: [Fingerprint] = []
        var messageFPs: [Fingerprint] = []
        var urgentMessageFPs: [Fingerprint] = []
        var duplicates = 0
    }

    /// What one batch's append gave.
    struct Completed: Sendable {
        /// Entries whose append returned: durable in the log.
        var appended: Int
        var fingerprints: [Fingerprint]
        /// Entries of an append that failed: the log may hold some of them (a batch spans partitions).
        var unconfirmed = 0
        var failure: IngestError? = nil
    }

    /// Splits a batch by topic, dropping ids already in the index (`seen`), in flight or earlier in
    /// the batch; the new ones join `pending` (one set insert per entry does both checks).
    private static func plan(_ events: [PreparedEvent], _ fps: [Fingerprint], seen: Set<Fingerprint>, pending: inout FingerprintSet) -> Plan {
        var plan = Plan()
        plan.transactions.reserveCapacity(events.count)
        plan.transactionFPs.reserveCapacity(events.count)
        for i in events.indices {
            let fp = fps[i]
            if (!seen.isEmpty && seen.contains(fp)) || !pending.insert(fp) {
                plan.duplicates += 1
                continue
            }
            if events[i].isMessage && events[i].event.priority == .urgent {
                plan.urgentMessages.append(i)
                plan.urgentMessageFPs.append(fp)
            } else if events[i].isMessage {
                plan.messages.append(i)
                plan.messageFPs.append(fp)
            } else {
                plan.transactions.append(i)
                plan.transactionFPs.append(fp)
            }
        }
        plan.events = events
        return plan
    }

    /// Appends the batch topic by topic, recording each append's ids in the index once it is
    /// durable. Stops at the first failure and says what it reached (never throws).
    private static func appendAndRecord(_ plan: Plan, log: any MessageLog, index: SeenIndex) async -> Completed {
        var done = Completed(appended: 0, fingerprints: plan.transactionFPs + plan.urgentMessageFPs + plan.messageFPs)
        for (topic, indices, fps) in [(Topics.transactions, plan.transactions, plan.transactionFPs),
                                      (Topics.urgentMessages, plan.urgentMessages, plan.urgentMessageFPs),
                                      (Topics.messages, plan.messages, plan.messageFPs)] where !indices.isEmpty {
            // Usually encoded on the parsing thread already; possible duplicates that turned out new are encoded here.
            let records = indices.map { plan.events[$0].encoded }
            let positions: [RecordPosition]
            do {
                positions = try await log.append(records, to: topic)
            } catch {
                done.unconfirmed += records.count
                done.failure = IngestError.storage("cannot append to \(topic)", error)
                return done
            }
            done.appended += records.count
            do {
                try await index.record(fps, ranges: ranges(positions))
            } catch {
                // The entries are durable; the next catch-up indexes them from the log.
                done.failure = error
                return done
            }
        }
        return done
    }

    /// Per partition: first and last offset and count of `positions` (a short linear list, not a
    /// dictionary: an append touches a handful of partitions and hashing topic names per record costs).
    static func ranges(_ positions: [RecordPosition]) -> [SeenIndex.AppendedRange] {
        var out: [SeenIndex.AppendedRange] = []
        var last = -1
        for p in positions {
            if last < 0 || out[last].topicPartition.partition != p.partition || out[last].topicPartition.topic != p.topic {
                last = out.firstIndex { $0.topicPartition.partition == p.partition && $0.topicPartition.topic == p.topic } ?? -1
                if last < 0 {
                    out.append(SeenIndex.AppendedRange(topicPartition: TopicPartition(p.topic, p.partition), first: p.offset, last: p.offset, count: 1))
                    last = out.count - 1
                    continue
                }
            }
            out[last].first = min(out[last].first, p.offset)
            out[last].last = max(out[last].last, p.offset)
            out[last].count += 1
        }
        return out
    }

    private func ensureTopic(_ topic: TopicName, _ config: TopicConfiguration, _ log: any MessageLog) async throws(IngestError) {
        do {
            _ = try await log.describeTopic(topic)
            return
        } catch let e as LogError where e.code == .unknownTopic {
            // create below
        } catch {
            throw IngestError.storage("cannot read topic \(topic)", error)
        }
        do {
            _ = try await log.createTopic(topic, configuration: config)
            configuration.logger.info("topic created for ingest", metadata: ["chapar.topic": "\(topic)", "chapar.partitions": "\(config.partitions)"])
        } catch let e as LogError where e.code == .topicExists {
            return
        } catch {
            throw IngestError.storage("cannot create topic \(topic)", error)
        }
    }
}

/// Runs async critical sections one at a time, in arrival order (an actor alone would interleave
/// them at every `await`).
final class AsyncGate: Sendable {
    private struct State {
        var busy = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state = Mutex(State())

    func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if !s.busy {
                    s.busy = true
                    return true
                }
                s.waiters.append(c)
                return false
            }
            if now { c.resume() }
        }
        defer {
            let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
                if s.waiters.isEmpty {
                    s.busy = false
                    return nil
                }
                return s.waiters.removeFirst()
            }
            next?.resume()
        }
        return try await body()
    }
}

extension Duration {
    var secondsDouble: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }
}
