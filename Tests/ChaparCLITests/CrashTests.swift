import ChaparModels
import EventLog
import Foundation
import Logging
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Kills a real `chapar log produce --print-acks` process with SIGKILL at random moments and
/// checks that every record it acknowledged is present, intact and at its acknowledged offset.
@Suite(.serialized) struct CrashTests {
    @Test func acknowledgedRecordsSurviveSIGKILL() async throws {
        let seed = ProcessInfo.processInfo.environment["CHAPAR_TEST_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64.max)
        print("crash test seed: \(seed) (rerun with CHAPAR_TEST_SEED=\(seed))")
        var rng = SplitMix64(seed: seed)
        let dir = CLI.temporaryDirectory("crash")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let created = try CLI.run(["log", "create", "t", "--partitions", "3", "--data-dir", dir])
        #expect(created.status == 0, "\(created.stderr)")

        // Every acknowledged record so far: (partition, offset) → "key:value" line.
        var acknowledged: [TopicPartition: [Int64: String]] = [:]
        let rounds = 12
        for round in 0..<rounds {
            let lines = (0..<20_000).map { i in "acct\(i % 7):r\(round)-\(i)-\(String(repeating: "x", count: Int(rng.next() % 40)))" }
            let acks = try produceAndKill(dir: dir, lines: lines, batchSize: 1 + Int(rng.next() % 300), killAfterMs: 20 + Int(rng.next() % 250))
            for (i, ack) in acks.enumerated() {
                let parts = ack.split(separator: " ")
                try #require(parts.count == 3, "malformed ack line '\(ack)'")
                let tp = TopicPartition("t", PartitionID(Int(parts[1])!))
                let offset = Int64(parts[2])!
                #expect(acknowledged[tp]?[offset] == nil, "offset \(offset) of \(tp) acknowledged twice (round \(round), seed \(seed))")
                acknowledged[tp, default: [:]][offset] = lines[i]
            }
            // Reopen after the kill and check every acknowledged record from every round so far.
            var logger = Logger(label: "crash-test")
            logger.logLevel = .critical
            let log = try EventLog.open(EventLog.Configuration(directory: dir, logger: logger))
            for (tp, records) in acknowledged {
                let end = (try await log.describeTopic("t")).partitions[tp.partition.rawValue].endOffset
                let maxAcked = records.keys.max() ?? -1
                #expect(end.rawValue > maxAcked, "\(tp) ends at \(end) but offset \(maxAcked) was acknowledged (round \(round), seed \(seed))")
                var offset = Offset(0)
                while offset < end {
                    let fetched = try await log.fetch("t", partition: tp.partition, from: offset, limits: FetchLimits(maxRecords: 50_000))
                    for r in fetched.records {
                        if let line = records[r.offset.rawValue] {
                            #expect("\(r.keyString ?? ""):\(r.valueString)" == line, "record \(r.offset) of \(tp) differs from what was acknowledged (seed \(seed))")
                        }
                    }
                    if fetched.records.isEmpty { break }
                    offset = fetched.nextOffset
                }
                #expect(offset == end, "could not read \(tp) to its end (seed \(seed))")
            }
            await log.close()
        }
        let total = acknowledged.values.reduce(0) { $0 + $1.count }
        print("crash test: \(rounds) kills, \(total) acknowledged records verified")
        #expect(total > 0, "no record was acknowledged before any kill; the test proved nothing (seed \(seed))")
    }

    /// Streams `lines` into `chapar log produce`, kills it with SIGKILL after `killAfterMs`, returns the ack lines it printed.
    private func produceAndKill(dir: String, lines: [String], batchSize: Int, killAfterMs: Int) throws -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = ["log", "produce", "t", "--key-separator", ":", "--print-acks", "--batch-size", String(batchSize), "--data-dir", dir]
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        CLI.ignoreSIGPIPE()
        // The kill timer starts at the first acknowledgement, not at the process start: on a
        // loaded machine start-up alone can outlast the timer, and a round with nothing
        // acknowledged proves nothing.
        let firstAck = DispatchSemaphore(value: 0)
        let acks = Reader(stdout.fileHandleForReading.fileDescriptor) { _ in firstAck.signal() }
        let writerFD = stdin.fileHandleForWriting.fileDescriptor
        let payload = Array((lines.joined(separator: "\n") + "\n").utf8)
        let writer = Thread {
            var offset = 0
            while offset < payload.count {
                let n = payload.withUnsafeBytes { write(writerFD, $0.baseAddress! + offset, min(4096, payload.count - offset)) }
                if n <= 0 { break }
                offset += n
            }
        }
        writer.start()
        _ = firstAck.wait(timeout: .now() + 20)
        usleep(useconds_t(killAfterMs * 1000))
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? stdin.fileHandleForWriting.close()
        let text = acks.finish()
        // A line cut by the kill has no newline yet; it was not fully printed, so it does not count.
        var ackLines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        if !text.hasSuffix("\n"), !ackLines.isEmpty { ackLines.removeLast() }
        return ackLines
    }
}
