import ChaparModels
import EventLog
import Foundation
import Logging
import Synchronization
import Testing
@testable import Ingest
#if canImport(Glibc)
import Glibc
#endif

/// The ingest endpoint of a data directory's owner, in process: bad requests are refused with a
/// clear error and the endpoint survives them; good ones append once, with rejects and progress relayed.
@Suite struct IngestEndpointTests {
    /// Opens a log and an endpoint on `dir/data`, runs the endpoint beside `body` (as its owners
    /// do), then closes both. `index` is the host's own dedupe index, when it has one.
    static func withEndpoint<T: Sendable>(_ dir: String, index: SeenIndex? = nil, _ body: (EventLog) async throws -> T) async throws -> T {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let log = try EventLog.open(EventLog.Configuration(directory: dir + "/data", logger: logger))
        let endpoint = try IngestEndpoint(dataDirectory: dir + "/data", log: log, index: index, logger: logger)
        let outcome = await withTaskGroup(of: Void.self, returning: Result<T, any Error>.self) { group in
            group.addTask { await endpoint.run() }
            let outcome: Result<T, any Error>
            do { outcome = .success(try await body(log)) } catch { outcome = .failure(error) }
            await endpoint.close()
            await group.waitForAll()
            return outcome
        }
        await log.close()
        return try outcome.get()
    }

    /// Sends raw bytes to the endpoint and returns every line it answers until it closes.
    static func raw(_ dir: String, _ bytes: [UInt8]) -> [String] {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        let ok = IngestSocket.withAddress(IngestSocket.path(dataDirectory: dir + "/data")) { connect(fd, $0, $1) }
        guard ok == 0 else { return ["connect failed: \(errno)"] }
        _ = IngestSocket.send(fd, bytes)
        shutdown(fd, Int32(SHUT_WR))
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return String(decoding: out, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    static func request(_ path: String, mode: Ingestor.Mode = .append) -> RemoteIngestRequest {
        RemoteIngestRequest(path: path, displayName: (path as NSString).lastPathComponent, format: .csv,
                            options: ParserOptions(defaultCurrency: .irr), mode: mode, configuration: Ingestor.Configuration(batchSize: 50))
    }

    @Test("garbage, a wrong version, a relative path, a dry run, a FIFO and a directory are refused with a reason; the endpoint keeps serving")
    func badRequestsAreRefused() async throws {
        let dir = Fixture.directory("endpoint-bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await Self.withEndpoint(dir) { _ in
            let garbage = Self.raw(dir, Array("hello\n".utf8))
            #expect(garbage.count == 1 && garbage[0].contains(#""kind":"error""#) && garbage[0].contains("not an ingest request"), "\(garbage)")
            let file = IngestorTests.file(dir, rows: 3, name: "a.csv")
            var old = Self.request(file)
            old.version = 9
            for (req, expected) in [(old, "protocol version 9"), (Self.request("a.csv"), "must be absolute"), (Self.request(file, mode: .dryRun), "not an ingest mode")] {
                do {
                    _ = try await IngestClient.ingest(req, dataDirectory: dir + "/data")
                    Issue.record("\(expected): accepted")
                } catch let error as IngestError {
                    #expect(error.code == .usage && error.message.contains(expected), "\(error)")
                }
            }
            let missing = Self.request(dir + "/nope.csv")
            do {
                _ = try await IngestClient.ingest(missing, dataDirectory: dir + "/data")
                Issue.record("a missing file was accepted")
            } catch let error as IngestError {
                #expect(error.code == .notFound, "\(error)")
            }
            mkfifo(dir + "/pipe.csv", 0o600)
            for special in [dir + "/pipe.csv", dir] {
                do {
                    _ = try await IngestClient.ingest(Self.request(special), dataDirectory: dir + "/data")
                    Issue.record("\(special) was accepted")
                } catch let error as IngestError {
                    #expect(error.code == .notFound && error.message.contains("not a regular file"), "\(error)")
                }
            }
            let summary = try #require(try await IngestClient.ingest(Self.request(file), dataDirectory: dir + "/data"))
            #expect(summary.counts.appended == 3, "after bad requests the endpoint still ingests")
        }
    }

    @Test("no endpoint: the client says so (nil) instead of failing")
    func noEndpointIsNil() async throws {
        let dir = Fixture.directory("endpoint-none")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/data", withIntermediateDirectories: true)
        #expect(try await IngestClient.ingest(Self.request(dir + "/x.csv"), dataDirectory: dir + "/data") == nil)
        // A stale socket file with nobody listening (the owner was killed) is the same.
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        _ = IngestSocket.withAddress(IngestSocket.path(dataDirectory: dir + "/data")) { bind(fd, $0, $1) }
        close(fd)
        #expect(FileManager.default.fileExists(atPath: dir + "/data/ingest.sock"))
        #expect(try await IngestClient.ingest(Self.request(dir + "/x.csv"), dataDirectory: dir + "/data") == nil)
    }

    @Test("rejects and progress are relayed; concurrent uploads of one file append it once")
    func relaysAndSerialises() async throws {
        let dir = Fixture.directory("endpoint-ok")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = IngestorTests.file(dir, rows: 400, bad: [5, 77])
        try await Self.withEndpoint(dir) { log in
            let rejects = Mutex<[String]>([]), progress = Mutex(0), owner = Mutex<Int32>(0)
            let s = try #require(try await IngestClient.ingest(Self.request(file), dataDirectory: dir + "/data",
                                                               onAccepted: { pid in owner.withLock { $0 = pid } },
                                                               onReject: { line in rejects.withLock { $0.append(line) } },
                                                               onProgress: { _ in progress.withLock { $0 += 1 } }))
            #expect(owner.withLock { $0 } == getpid())
            #expect(s.counts.read == 400 && s.counts.appended == 398 && s.counts.rejected == 2, "\(s.counts)")
            #expect(rejects.withLock { $0.count == 2 && $0[0].hasPrefix("in.csv:7: amount:") && $0[1].hasPrefix("in.csv:79: amount:") },
                    "\(rejects.withLock { $0 })")
            // Two clients at once with a second file: it is appended exactly once in total.
            let second = Fixture.file(dir, "second.csv", "id,account,direction,amount,booked_at\n"
                + (0..<300).map { "S\($0),\(Fixture.account),credit,\(10 + $0),2026-11-25\n" }.joined())
            var summaries: [Ingestor.Summary] = []
            try await withThrowingTaskGroup(of: Ingestor.Summary?.self) { group in
                for _ in 0..<2 { group.addTask { try await IngestClient.ingest(Self.request(second), dataDirectory: dir + "/data") } }
                for try await s in group { if let s { summaries.append(s) } }
            }
            #expect(summaries.count == 2)
            #expect(summaries.map(\.counts.appended).reduce(0, +) == 300, "\(summaries.map(\.counts))")
            #expect(summaries.map(\.counts.duplicates).reduce(0, +) == 300)
            let records = try await IngestorTests.records(log, Topics.transactions)
            #expect(records.count == 398 + 300)
        }
    }
}

/// Issue 13: warnings (problems with a file that reject no entry) travel apart from rejects, in the
/// local pipeline and through the owner's socket, and are counted in the summary.
@Suite struct IngestWarningsTests {
    static func statement(_ dir: String) -> String {
        Fixture.file(dir, "stmt.sta", mt940Statement(line61: ":61:2403200320D250,NTRFNONREF//REF1", closing: ":62F:C240320IRR751,"))
    }

    static func request(_ path: String) -> RemoteIngestRequest {
        RemoteIngestRequest(path: path, displayName: "stmt.sta", format: .mt940, options: ParserOptions(timeZone: "UTC"),
                            mode: .append, configuration: Ingestor.Configuration(batchSize: 2))
    }

    @Test func aClosingBalanceMismatchIsAWarningThroughTheOwnerAndEveryEntryIsAppended() async throws {
        let dir = Fixture.directory("endpoint-warnings")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = Self.statement(dir)
        try await IngestEndpointTests.withEndpoint(dir) { log in
            let rejects = Mutex<[String]>([]), warnings = Mutex<[String]>([])
            let summary = try #require(try await IngestClient.ingest(Self.request(path), dataDirectory: dir + "/data",
                                                                     onReject: { r in rejects.withLock { $0.append(r) } },
                                                                     onWarning: { w in warnings.withLock { $0.append(w) } }))
            #expect(rejects.withLock { $0 }.isEmpty)
            let relayed = warnings.withLock { $0 }
            #expect(relayed.count == 1 && relayed[0].hasPrefix("stmt.sta:10: warning: closing balance :62F: 751.00 IRR does not equal"), "\(relayed)")
            #expect(summary.counts.read == 3 && summary.counts.appended == 3 && summary.counts.rejected == 0 && summary.counts.warnings == 1, "\(summary.counts)")
            #expect(summary.line.hasPrefix("read 3, appended 3, duplicates 0, rejected 0, warnings 1 in "), "\(summary.line)")
            #expect(try await IngestorTests.records(log, Topics.transactions).count == 3)
        }
    }

    @Test func strictModeDoesNotRefuseAFileForWarningsAndReportsThemOnce() async throws {
        let dir = Fixture.directory("strict-warnings")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = Self.statement(dir)
        let source = Ingestor.Source(displayName: "stmt.sta") { () throws(IngestError) -> any EntryParser in
            try MT940Parser(path: path, displayName: "stmt.sta", options: ParserOptions(timeZone: "UTC"))
        }
        let warnings = Mutex(0)
        let summary = try await IngestorTests.withIngestor(dir) { ingestor, _, _ in
            try await ingestor.ingest(source, mode: .strict, onWarning: { _ in warnings.withLock { $0 += 1 } })
        }
        #expect(!summary.refused)
        #expect(summary.counts.appended == 3 && summary.counts.warnings == 1, "\(summary.counts)")
        #expect(warnings.withLock { $0 } == 1, "the first pass reports it; the append pass does not repeat it")
    }
}

/// Issue 13: the endpoint's requests run as child tasks of its `run()`; their merges end with them.
@Suite struct IngestEndpointLifetimeTests {
    @Test("requests' merges have ended when the request answers; after close() the index reopens with `run` short")
    func mergesEndWithTheirRequests() async throws {
        let dir = Fixture.directory("endpoint-merge")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = IngestorTests.file(dir, rows: 400)
        let indexPath = dir + "/data/ingest/seen.sqlite"
        try FileManager.default.createDirectory(atPath: dir + "/data/ingest", withIntermediateDirectories: true)
        let index = try SeenIndex(path: indexPath, mergeThreshold: 60)
        try await IngestEndpointTests.withEndpoint(dir, index: index) { _ in
            let s = try #require(try await IngestClient.ingest(IngestEndpointTests.request(file), dataDirectory: dir + "/data"))
            #expect(s.counts.appended == 400)
            #expect(!index.isMerging, "the request's merges ended before it answered")
            #expect(index.stagedCount < 60 + 4 * 50, "merged while appending: \(index.stagedCount) still staged")
        }
        try index.close()
        let reopened = try SeenIndex(path: indexPath, mergeThreshold: 60)
        #expect(reopened.filterOrigin == .loaded)
        #expect(reopened.stagedCount == index.stagedCount)
        #expect(try await reopened.count() == 400)
    }

    @Test("when its run() is cancelled the endpoint refuses requests with a reason instead of leaving the client waiting")
    func aStoppedRunRefusesRequests() async throws {
        let dir = Fixture.directory("endpoint-stopped")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = IngestorTests.file(dir, rows: 3)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let log = try EventLog.open(EventLog.Configuration(directory: dir + "/data", logger: logger))
        let endpoint = try IngestEndpoint(dataDirectory: dir + "/data", log: log, logger: logger)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await endpoint.run() }
            // Served while it runs.
            let s = try? await IngestClient.ingest(IngestEndpointTests.request(file), dataDirectory: dir + "/data")
            #expect(s?.counts.appended == 3)
            group.cancelAll()
        }
        let refusal = await #expect(throws: IngestError.self) {
            try await IngestClient.ingest(IngestEndpointTests.request(file), dataDirectory: dir + "/data")
        }
        #expect(refusal?.message.contains("not taking ingest requests") == true, "\(String(describing: refusal))")
        await endpoint.close()
        await log.close()
    }
}

@Suite struct IngestWireTests {
    /// A client of the owner reports a full disk like a local run: code, message and what is durable.
    @Test func anErrorFrameCarriesTheDurableCounts() throws {
        var durable = Ingestor.Progress()
        durable.read = 12_000
        durable.appended = 4_000
        durable.duplicates = 10
        let line = RemoteIngestFrame.error(IngestError(.diskFull, "disk full: cannot append", durable: durable)).line()
        let frame = try JSONDecoder().decode(RemoteIngestFrame.self, from: Data(line.dropLast()))
        #expect(frame.kind == .error && frame.code == "disk-full" && frame.text == "disk full: cannot append")
        #expect(frame.read == 12_000 && frame.progress.appended == 4_000 && frame.progress.duplicates == 10)
        let plain = try JSONDecoder().decode(RemoteIngestFrame.self, from: Data(RemoteIngestFrame.error(IngestError(.usage, "x")).line().dropLast()))
        #expect(plain.read == nil, "no counts when nothing was started")
    }
}
