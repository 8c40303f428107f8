import ChaparModels
import EventLog
import Foundation
import Logging
import Testing
@testable import Ingest

/// Storage failures during an ingest (issue 13): a full disk stops the input with `.diskFull`
/// and the exact count of what is durable, and a re-run after space is freed appends exactly the
/// rest. The log's disk is a ``FaultInjectingFileSystem`` with a write budget.
@Suite struct IngestorDiskFullTests {
    static func open(_ dir: String, fileSystem: any FileSystem) throws -> (EventLog, SeenIndex, Ingestor) {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let log = try EventLog.open(EventLog.Configuration(directory: dir + "/data", fileSystem: fileSystem, logger: logger))
        let index = try SeenIndex(path: dir + "/data/ingest/seen.sqlite")
        var config = Ingestor.Configuration(batchSize: 7)
        config.transactionsTopic.partitions = 3
        config.messagesTopic.partitions = 2
        config.logger = logger
        return (log, index, Ingestor(log: log, index: index, configuration: config))
    }

    static func eventCount(_ log: EventLog) async throws -> Int {
        try await IngestorTests.records(log, Topics.transactions).count + IngestorTests.messageRecords(log).count
    }

    /// Budgets that run out in the first batch, mid-file, and near the end; batches of 7 span the
    /// three partitions, so some appends reach some partitions before the disk fills.
    @Test("a full disk stops the input with diskFull and the exact durable count; after freeing space a re-run appends exactly the rest",
          arguments: [600, 9_000, 30_000])
    func diskFullMidFile(budget: Int) async throws {
        let dir = Fixture.directory("disk-full")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let rows = 300
        let path = IngestorTests.file(dir, rows: rows, messages: true)
        let fs = FaultInjectingFileSystem(base: PosixFileSystem())
        fs.update { $0.writeBudget = budget; $0.pathFilter = ".log" }

        var (log, index, ingestor) = try Self.open(dir, fileSystem: fs)
        try await ingestor.prepare()
        let error = await #expect(throws: IngestError.self) {
            try await ingestor.ingest(IngestorTests.source(path), mode: .append)
        }
        let failure = try #require(error)
        #expect(failure.code == .diskFull, "\(failure)")
        #expect(failure.message.contains("disk full"), "\(failure.message)")
        #expect(!failure.message.contains("delete"), "a full disk damages nothing: \(failure.message)")
        let durable = try #require(failure.durable, "the error says what is durable")
        let inLog = try await Self.eventCount(log)
        #expect(durable.appended == inLog, "budget \(budget): reported \(durable.appended) durable, the log holds \(inLog)")
        #expect(inLog < rows)
        #expect(durable.read >= durable.appended)

        // Still full: the same file again appends nothing and says the same.
        try await ingestor.prepare()
        let again = await #expect(throws: IngestError.self) { try await ingestor.ingest(IngestorTests.source(path), mode: .append) }
        #expect(again?.code == .diskFull)
        #expect(try await Self.eventCount(log) == inLog)
        try index.close()
        await log.close()

        // Space freed; a new run (as after the process exited) appends exactly the rest.
        fs.update { $0.writeBudget = nil }
        (log, index, ingestor) = try Self.open(dir, fileSystem: fs)
        try await ingestor.prepare()
        let rerun = try await ingestor.ingest(IngestorTests.source(path), mode: .append)
        #expect(rerun.counts.appended == rows - inLog, "budget \(budget)")
        #expect(rerun.counts.duplicates == inLog)
        let t = try await IngestorTests.records(log, Topics.transactions), m = try await IngestorTests.messageRecords(log)
        #expect(t.count + m.count == rows)
        #expect(Set((t + m).compactMap(EventCodec.eventID)).count == rows, "no event id twice")
        try index.close()
        await log.close()
    }

    @Test func aDamagedIndexIsReportedAsDamagedWithWhatToDelete() throws {
        let dir = Fixture.directory("damaged-index")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = Fixture.file(dir, "seen.sqlite", String(repeating: "not a database ", count: 400))
        let error = #expect(throws: IngestError.self) { try SeenIndex(path: path) }
        #expect(error?.code == .storage)
        #expect(error?.message.contains("is damaged") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("delete it") == true, "\(error?.message ?? "")")
    }

    @Test("a full disk is told apart from other storage failures, however it is wrapped", arguments: [
        (POSIXError(.ENOSPC) as any Error, true),
        (POSIXError(.EDQUOT) as any Error, true),
        (NSError(domain: NSPOSIXErrorDomain, code: Int(ENOSPC)) as any Error, true),
        (LogError(.diskFull, "disk full while appending to t-0") as any Error, true),
        (IngestError(.storage, "SQLite: database or disk is full") as any Error, true),
        (POSIXError(.EIO) as any Error, false),
        (LogError(.corrupt, "bad CRC") as any Error, false),
    ])
    func diskFullClassification(error: any Error, full: Bool) {
        #expect(DiskSpace.isDiskFull(error) == full, "\(error)")
        let wrapped = IngestError.storage("cannot write x", error)
        #expect((wrapped.code == .diskFull) == full, "\(wrapped)")
        if full {
            #expect(wrapped.message.contains("disk full"), "\(wrapped.message)")
        }
    }

    @Test func anIOErrorOnAFullFileSystemCountsAsDiskFull() throws {
        // The directory exists and has space here, so an unexplained I/O error stays a storage error.
        let dir = Fixture.directory("io-error")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(!DiskSpace.isFull(dir))
        #expect(IngestError.storage("cannot write x", POSIXError(.EIO), directory: dir).code == .storage)
        #expect(DiskSpace.available(dir + "/not/yet/created") != nil, "the nearest existing parent is measured")
    }
}
