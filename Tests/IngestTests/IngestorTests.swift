import ChaparModels
import EventLog
import Foundation
import Logging
import Testing
@testable import Ingest

/// The pipeline against the real durable log: dedupe across restarts, crash consistency of the
/// seen index, strict and dry-run semantics.
@Suite struct IngestorTests {
    static let acct = Fixture.account

    /// One "process lifetime": open the log and the index, catch up, run `body`, close.
    static func withIngestor<T>(_ dir: String, batchSize: Int = 3, mergeThreshold: Int = 250_000, closeIndex: Bool = true, _ body: (Ingestor, EventLog, SeenIndex) async throws -> T) async throws -> T {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let log = try EventLog.open(EventLog.Configuration(directory: dir + "/data", logger: logger))
        let index = try SeenIndex(path: dir + "/data/ingest/seen.sqlite", mergeThreshold: mergeThreshold)
        var config = Ingestor.Configuration(batchSize: batchSize)
        config.transactionsTopic.partitions = 3
        config.messagesTopic.partitions = 2
        config.logger = logger
        let ingestor = Ingestor(log: log, index: index, configuration: config)
        try await ingestor.prepare()
        do {
            let result = try await body(ingestor, log, index)
            if closeIndex { try index.close() }
            await log.close()
            return result
        } catch {
            await log.close()
            throw error
        }
    }

    static func source(_ path: String) -> Ingestor.Source {
        Ingestor.Source(displayName: (path as NSString).lastPathComponent) { () throws(IngestError) -> any EntryParser in
            try CSVParser(path: path, displayName: (path as NSString).lastPathComponent, options: ParserOptions(defaultCurrency: .irr))
        }
    }

    static func records(_ log: EventLog, _ topic: TopicName) async throws -> [ConsumerRecord] {
        guard let d = try? await log.describeTopic(topic) else { return [] }
        var all: [ConsumerRecord] = []
        for p in d.partitions {
            let r = try await log.fetch(topic, partition: p.partition, from: Offset(0), limits: FetchLimits(maxRecords: 100_000, maxBytes: 64 << 20))
            all.append(contentsOf: r.records)
        }
        return all
    }

    /// Direct messages on both their topics (`messages`, and `messages.urgent` for security kinds).
    static func messageRecords(_ log: EventLog) async throws -> [ConsumerRecord] {
        try await records(log, Topics.messages) + records(log, Topics.urgentMessages)
    }

    static func file(_ dir: String, rows: Int, bad: Set<Int> = [], name: String = "in.csv", messages: Bool = false) -> String {
        var text = "type,id,account,direction,amount,booked_at,description,customer,kind,template,vars\n"
        for i in 0..<rows {
            if bad.contains(i) {
                text += "transaction,T\(i),\(acct),debit,not-a-number,2026-11-24,bad,,,,\n"
            } else if messages && i % 4 == 3 {
                text += "message,,,,,2026-11-24T10:00:00Z,,C\(i),security,otp,code=\(100000 + i)\n"
            } else {
                text += "transaction,,IR\(i % 7)00000000000,\(i % 2 == 0 ? "debit" : "credit"),\(1000 + i),2026-11-24T10:00:\(String(format: "%02d", i % 60)),خرید \(i),,,,\n"
            }
        }
        return Fixture.file(dir, name, text)
    }

    @Test func securityMessagesGoToTheUrgentTopicAndTheRestToMessages() async throws {
        let dir = Fixture.directory("urgent-topic")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = Fixture.file(dir, "mixed.csv", """
            type,id,booked_at,customer,kind,template,vars
            message,M1,2026-11-24T10:00:00Z,C1,security,otp,code=1
            message,M2,2026-11-24T10:00:00Z,C1,marketing,birthday,campaign=x
            message,M3,2026-11-24T10:00:01Z,C2,security,otp,code=2

            """)
        try await Self.withIngestor(dir) { i, log, _ in
            let s = try await i.ingest(Self.source(path), mode: .append)
            #expect(s.counts.appended == 3)
            let urgent = try await Self.records(log, Topics.urgentMessages).compactMap(EventCodec.eventID)
            let other = try await Self.records(log, Topics.messages).compactMap(EventCodec.eventID)
            #expect(Set(urgent) == ["M1", "M3"])
            #expect(other == ["M2"])
        }
    }

    @Test func rejectsAreReportedWithLinesAndValidEntriesAreAppended() async throws {
        let dir = Fixture.directory("pipeline")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = Self.file(dir, rows: 10, bad: [2, 7])
        let collected = Collected()
        let summary = try await Self.withIngestor(dir) { ingestor, log, _ in
            try await ingestor.ingest(Self.source(path), mode: .append, onReject: { collected.add($0) })
        }
        #expect(summary.counts == { var p = Ingestor.Progress(); p.read = 10; p.appended = 8; p.rejected = 2; p.bytesRead = summary.counts.bytesRead; return p }())
        #expect(collected.lines == ["in.csv:4: amount: 'not-a-number' is not a valid amount: only digits and one decimal point are allowed",
                                    "in.csv:9: amount: 'not-a-number' is not a valid amount: only digits and one decimal point are allowed"])
        #expect(summary.line.hasPrefix("read 10, appended 8, duplicates 0, rejected 2 in "))
    }

    @Test func reingestAfterRestartAppendsNothing() async throws {
        let dir = Fixture.directory("restart")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = Self.file(dir, rows: 50, messages: true)
        let first = try await Self.withIngestor(dir) { i, _, _ in try await i.ingest(Self.source(path), mode: .append) }
        #expect(first.counts.appended == 50)
        for _ in 0..<2 {
            let again = try await Self.withIngestor(dir) { i, _, _ in try await i.ingest(Self.source(path), mode: .append) }
            #expect(again.counts.appended == 0)
            #expect(again.counts.duplicates == 50)
        }
        // A file that overlaps: 50 known entries plus 10 new ones.
        let bigger = Self.file(dir, rows: 60, name: "bigger.csv", messages: true)
        let overlap = try await Self.withIngestor(dir) { i, log, _ in
            let s = try await i.ingest(Self.source(bigger), mode: .append)
            let t = try await Self.records(log, Topics.transactions), m = try await Self.messageRecords(log)
            #expect(t.count + m.count == 60)
            #expect(Set((t + m).compactMap(EventCodec.eventID)).count == 60, "no event id appears twice in the log")
            #expect(m.allSatisfy { $0.keyString?.hasPrefix("C") == true }, "messages are keyed by customer")
            return s
        }
        #expect(overlap.counts.appended == 10)
        #expect(overlap.counts.duplicates == 50)
    }

    @Test func idsMergedFromRecentIntoSeenStillDeduplicate() async throws {
        let dir = Fixture.directory("merge")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = Self.file(dir, rows: 100, messages: true)
        let first = try await Self.withIngestor(dir, batchSize: 7, mergeThreshold: 10) { i, _, index in
            let s = try await i.ingest(Self.source(path), mode: .append)
            #expect(try await index.count() == 100)
            return s
        }
        #expect(first.counts.appended == 100)
        let again = try await Self.withIngestor(dir, batchSize: 7, mergeThreshold: 10) { i, _, _ in try await i.ingest(Self.source(path), mode: .append) }
        #expect(again.counts.duplicates == 100)
        #expect(again.counts.appended == 0)
    }

    @Test func duplicatesWithinOneFileAreAppendedOnce() async throws {
        let dir = Fixture.directory("samefile")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let row = "T1,\(Self.acct),debit,100,2026-11-24\n"
        let path = Fixture.file(dir, "d.csv", "id,account,direction,amount,booked_at\n" + String(repeating: row, count: 7))
        let s = try await Self.withIngestor(dir) { i, _, _ in try await i.ingest(Self.source(path), mode: .append) }
        #expect(s.counts.appended == 1)
        #expect(s.counts.duplicates == 6)
    }

    @Test func crashBetweenLogAppendAndIndexCommitNeverDuplicates() async throws {
        let dir = Fixture.directory("crash")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = Self.file(dir, rows: 40, messages: true)
        // Run 1 appends everything; then we roll the index back to "before the last commits":
        // checkpoints to 0 and every fingerprint gone, as if the process died after the appends.
        try await Self.withIngestor(dir) { i, log, index in
            #expect(try await i.ingest(Self.source(path), mode: .append).counts.appended == 40)
            let all = try await Self.records(log, Topics.transactions) + Self.messageRecords(log)
            try await index.forget(all.compactMap(EventCodec.eventID).map { Fingerprint(try EventID($0)) })
            for r in all { try await index.setCheckpoint(r.topicPartition, 0) }
            #expect(try await index.count() == 0)
        }
        // Run 2: opening catches up from the log, so re-ingest appends nothing.
        try await Self.withIngestor(dir) { i, log, index in
            #expect(try await index.count() == 40)
            let s = try await i.ingest(Self.source(path), mode: .append)
            #expect(s.counts.appended == 0)
            #expect(s.counts.duplicates == 40)
            #expect(try await Self.records(log, Topics.transactions).count + Self.messageRecords(log).count == 40)
        }
    }

    @Test(arguments: [true, false])
    func reingestAfterCleanStopOrCrashAppendsNothing(cleanStop: Bool) async throws {
        let dir = Fixture.directory("filter-restart")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = Self.file(dir, rows: 60, messages: true)
        // Small merge threshold: part of the ids are merged into `seen`, the rest stay in `run`.
        let first = try await Self.withIngestor(dir, batchSize: 7, mergeThreshold: 25, closeIndex: cleanStop) { i, _, _ in
            try await i.ingest(Self.source(path), mode: .append)
        }
        #expect(first.counts.appended == 60)
        try await Self.withIngestor(dir, batchSize: 7, mergeThreshold: 25) { i, log, index in
            #expect(index.filterOrigin == (cleanStop ? .loaded : .rebuilt))
            let again = try await i.ingest(Self.source(path), mode: .append)
            #expect(again.counts.appended == 0)
            #expect(again.counts.duplicates == 60)
            #expect(try await Self.records(log, Topics.transactions).count + Self.messageRecords(log).count == 60)
        }
    }

    @Test func maybeSeenEntriesThatAreNewAreAppended() async throws {
        let dir = Fixture.directory("false-positive")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = Self.file(dir, rows: 30, messages: true)
        try await Self.withIngestor(dir, batchSize: 4, mergeThreshold: 10) { i, log, index in
            #expect(try await i.ingest(Self.source(path), mode: .append).counts.appended == 30)
            // Drop 5 ids from the stored index only: the Bloom filter still says "maybe seen" for
            // them (exactly what a false positive looks like), so the exact check must decide.
            let all = try await Self.records(log, Topics.transactions) + Self.messageRecords(log)
            let dropped = try all.prefix(5).compactMap(EventCodec.eventID).map { Fingerprint(try EventID($0)) }
            try await index.forget(dropped)
            #expect(dropped.allSatisfy(index.filterMayContain))
            let again = try await i.ingest(Self.source(path), mode: .append)
            #expect(again.counts.appended == 5)
            #expect(again.counts.duplicates == 25)
        }
    }

    @Test func checkpointCoversOnlyContiguousAppends() async throws {
        let dir = Fixture.directory("gap")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = Self.file(dir, rows: 12)
        try await Self.withIngestor(dir) { i, log, index in
            _ = try await i.ingest(Self.source(path), mode: .append)
            let d = try await log.describeTopic(Topics.transactions)
            for p in d.partitions {
                #expect(try await index.checkpoint(TopicPartition(Topics.transactions, p.partition)) == p.endOffset.rawValue)
            }
            // Another producer appends behind the ingestor's back: its ids get indexed on the next prepare.
            let foreign = Event.transaction(TransactionEvent(id: try EventID("FOREIGN-1"), account: try AccountID("IR9"), direction: .debit,
                                                             amount: Money(minorUnits: 5, currency: .irr), bookedAt: Timestamp(milliseconds: 0)))
            _ = try await log.append([EventCodec.record(foreign)], to: Topics.transactions)
            #expect(try await i.prepare() == 1)
            #expect(try await index.contains([Fingerprint(foreign.id)]).count == 1)
        }
    }

    @Test func strictAppendsNothingFromAFileWithRejectsAndAllFromAValidOne() async throws {
        let dir = Fixture.directory("strict")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bad = Self.file(dir, rows: 20, bad: [17], name: "bad.csv")
        let good = Self.file(dir, rows: 20, name: "good.csv")
        try await Self.withIngestor(dir) { i, log, _ in
            let refused = try await i.ingest(Self.source(bad), mode: .strict)
            #expect(refused.refused)
            #expect(refused.counts.appended == 0)
            #expect(refused.counts.rejected == 1)
            #expect(try await Self.records(log, Topics.transactions).isEmpty)
            let ok = try await i.ingest(Self.source(good), mode: .strict)
            #expect(!ok.refused)
            #expect(ok.counts.appended == 20)
        }
    }

    @Test func dryRunTouchesNothing() async throws {
        let dir = Fixture.directory("dry")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = Self.file(dir, rows: 10, bad: [3])
        let s = try await Ingestor(validatingWith: Ingestor.Configuration(batchSize: 4)).ingest(Self.source(path), mode: .append)
        #expect(s.counts.read == 10)
        #expect(s.counts.rejected == 1)
        #expect(s.counts.appended == 0)
        #expect(!FileManager.default.fileExists(atPath: dir + "/data"))
    }

    @Test func fileLevelErrorIsReportedAfterWhatWasAppended() async throws {
        let dir = Fixture.directory("fatal")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = Fixture.file(dir, "x.csv", "acct,amount\n1,2\n")
        let s = try await Self.withIngestor(dir) { i, _, _ in try await i.ingest(Self.source(path), mode: .append) }
        #expect(s.failure?.code == .invalidFormat)
        #expect(s.failure?.message.contains("x.csv:1: unknown column 'acct'; the columns are") == true, "\(String(describing: s.failure))")
    }
}

/// Collects rejects from the pipeline's @Sendable callback.
final class Collected: @unchecked Sendable {
    // Safe: guarded by `lock`.
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ e: EntryError) { lock.lock(); items.append(e.description); lock.unlock() }
    var lines: [String] { lock.lock(); defer { lock.unlock() }; return items }
}
