import ArgumentParser
import ChaparModels
import EventLog
import EventLogKafka
import Foundation

/// `chapar bench …`: performance figures, printed, never asserted in tests.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks (build with -c release). Each prints its figures and ratios measured in the same run.",
        subcommands: [LogBench.self, CustomersBench.self, IngestBench.self, NotifierBench.self, RenderBench.self, DeliveryBench.self, PipelineBench.self, FaxBench.self]
    )
}

struct LogBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Durable appends vs raw write+fsync of the same bytes, then consumer reads.",
        discussion: """
            (a) raw: the same encoded batches written with pwrite + fdatasync, one sync per batch, to a file in the same directory;
            (b) log: P concurrent producers appending batches to a topic with fsync=always (acks only after fsync);
            (c) read: one consumer reading every record back from offset 0.
            With --backend kafka --bootstrap HOST:PORT, (b) and (c) also run against that cluster
            (acks=all, idempotent producer; a topic named bench-<random>), printed next to the
            embedded log's figures from the same run.
            """)

    @Option(help: "Records to append in total.") var records: Int = 1_000_000
    @Option(help: "Value size of each record in bytes.") var size: Int = 100
    @Option(help: "Concurrent producers.") var producers: Int = 4
    @Option(help: "Records per append call (and per raw write).") var batch: Int = 1000
    @Option(help: "Partitions of the benchmark topic.") var partitions: Int = 1
    @Option(help: "Directory for the benchmark files (removed afterwards); use the disk you will run on.") var dir: String = "./chapar-bench.tmp"
    @Option(help: "embedded, or kafka: also measure the Kafka cluster at --bootstrap in the same run.") var backend: String = "embedded"
    @Option(help: "The Kafka cluster for --backend kafka (HOST:PORT[,…]).") var bootstrap: String?
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard backend == "embedded" || backend == "kafka" else { throw ValidationError("--backend is embedded or kafka") }
        if backend == "kafka" && bootstrap == nil { throw ValidationError("--backend kafka needs --bootstrap HOST:PORT") }
        guard records >= 1, size >= 0, producers >= 1, batch >= 1, partitions >= 1 else {
            throw ValidationError("--records, --producers, --batch and --partitions must be at least 1, --size at least 0")
        }
        guard !FileManager.default.fileExists(atPath: dir) else {
            throw ValidationError("\(dir) already exists; remove it or pass another --dir (the benchmark deletes its directory afterwards)")
        }
    }

    struct Figures: Codable {
        struct Raw: Codable { var recordsPerSecond: Double; var mbPerSecond: Double; var syncs: Int }
        struct Log: Codable { var recordsPerSecond: Double; var mbPerSecond: Double; var ackP50Ms: Double; var ackP99Ms: Double }
        struct Read: Codable { var recordsPerSecond: Double; var mbPerSecond: Double }
        var records: Int
        var recordSize: Int
        var producers: Int
        var batch: Int
        var partitions: Int
        var raw: Raw
        var log: Log
        var ratio: Double
        var read: Read
        var reopenMs: Int64
        /// The same appends and reads on Kafka (--backend kafka).
        var kafka: Log?
        var kafkaRead: Read?
    }

    func run() async throws {
        try await CLIError.run {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let value = [UInt8]((0..<size).map { UInt8(truncatingIfNeeded: 0x61 + $0 % 26) })
            let batchRecords = (0..<batch).map { i in ProducerRecord(key: nil, value: value, timestamp: Timestamp(milliseconds: 1_790_000_000_000 + Int64(i))) }
            let encoded = BatchFormat.encode(batchRecords, now: 0)
            let batches = (records + batch - 1) / batch
            let totalBytes = Double(encoded.bytes.count * batches)

            // (a) raw ceiling
            let raw = try rawWrite(encoded.bytes, times: batches)

            // (b) and (c) through EventLog
            let log = try EventLog.open(EventLog.Configuration(directory: dir + "/log", logger: quietLogger()))
            let embedded = try await measure(log, topic: "bench", configuration: TopicConfiguration(partitions: partitions, durability: .always, retentionAge: nil),
                                             batchRecords: batchRecords, batches: batches, totalBytes: totalBytes)
            await log.close()

            // Reopen (recovery scans the active segment) as a bonus figure.
            let clock = ContinuousClock()
            let reopenStart = clock.now
            let reopened = try EventLog.open(EventLog.Configuration(directory: dir + "/log", logger: quietLogger()))
            let reopenMs = reopenStart.duration(to: clock.now).milliseconds
            await reopened.close()

            var kafka: (Figures.Log, Figures.Read)?
            if backend == "kafka", let bootstrap {
                let kafkaLog = try KafkaLog(configuration: KafkaLog.Configuration(bootstrapServers: bootstrap, clientID: "chapar-bench"), logger: quietLogger())
                do {
                    let topic = try TopicName("bench-\(UUID().uuidString.prefix(8).lowercased())")
                    kafka = try await measure(kafkaLog, topic: topic, configuration: TopicConfiguration(partitions: partitions),
                                              batchRecords: batchRecords, batches: batches, totalBytes: totalBytes)
                } catch {
                    await kafkaLog.close()
                    throw error
                }
                await kafkaLog.close()
            }

            let appended = Double(batches * batch)
            let figures = Figures(
                records: batches * batch, recordSize: size, producers: producers, batch: batch, partitions: partitions,
                raw: .init(recordsPerSecond: appended / raw, mbPerSecond: totalBytes / raw / 1e6, syncs: batches),
                log: embedded.0, ratio: embedded.0.recordsPerSecond / (appended / raw), read: embedded.1,
                reopenMs: reopenMs, kafka: kafka?.0, kafkaRead: kafka?.1)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(figures), as: UTF8.self))
            } else {
                print("chapar bench log: \(figures.records) records of \(size) B, batches of \(batch), \(producers) producer(s), \(partitions) partition(s), in \(dir)")
                print(String(format: "  raw write+fdatasync   %12.0f records/s  %8.1f MB/s  (%d syncs)", figures.raw.recordsPerSecond, figures.raw.mbPerSecond, batches))
                print(String(format: "  durable log appends   %12.0f records/s  %8.1f MB/s  ack p50 %.2f ms, p99 %.2f ms", figures.log.recordsPerSecond, figures.log.mbPerSecond, figures.log.ackP50Ms, figures.log.ackP99Ms))
                print(String(format: "  log / raw             %12.2f", figures.ratio))
                print(String(format: "  consumer reads        %12.0f records/s  %8.1f MB/s", figures.read.recordsPerSecond, figures.read.mbPerSecond))
                print("  reopen (recovery)     \(reopenMs) ms")
                if let k = figures.kafka, let r = figures.kafkaRead, let bootstrap {
                    print("  on Kafka at \(bootstrap) (acks=all, idempotent), same records:")
                    print(String(format: "  kafka appends         %12.0f records/s  %8.1f MB/s  ack p50 %.2f ms, p99 %.2f ms", k.recordsPerSecond, k.mbPerSecond, k.ackP50Ms, k.ackP99Ms))
                    print(String(format: "  kafka reads           %12.0f records/s  %8.1f MB/s", r.recordsPerSecond, r.mbPerSecond))
                    print(String(format: "  kafka / embedded      %12.2f appends, %.2f reads", k.recordsPerSecond / figures.log.recordsPerSecond, r.recordsPerSecond / figures.read.recordsPerSecond))
                }
            }
        }
    }

    /// (b) `producers` concurrent producers appending `batches` batches, then (c) one reader
    /// reading every partition from offset 0, on any log.
    private func measure(_ log: any MessageLog, topic: TopicName, configuration: TopicConfiguration, batchRecords: [ProducerRecord],
                         batches: Int, totalBytes: Double) async throws -> (Figures.Log, Figures.Read) {
        _ = try await log.createTopic(topic, configuration: configuration)
        let perProducer = batches / producers, extra = batches % producers
        let clock = ContinuousClock()
        let started = clock.now
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for p in 0..<producers {
                let count = perProducer + (p < extra ? 1 : 0)
                group.addTask {
                    var mine: [Double] = []
                    mine.reserveCapacity(count)
                    for _ in 0..<count {
                        let t0 = clock.now
                        _ = try await log.append(batchRecords, to: topic)
                        mine.append(t0.duration(to: clock.now).seconds * 1000)
                    }
                    return mine
                }
            }
            var all: [Double] = []
            for try await mine in group { all.append(contentsOf: mine) }
            return all
        }
        let appendSeconds = started.duration(to: clock.now).seconds
        let appended = batches * batchRecords.count
        var sorted = latencies.sorted()
        if sorted.isEmpty { sorted = [0] }

        let readStart = clock.now
        var readCount = 0
        for p in 0..<configuration.partitions {
            var offset = Offset(0)
            while true {
                let r = try await log.fetch(topic, partition: PartitionID(p), from: offset, limits: FetchLimits(maxRecords: 50_000, maxBytes: 4 << 20))
                if r.records.isEmpty { break }
                readCount += r.records.count
                offset = r.nextOffset
            }
        }
        let readSeconds = readStart.duration(to: clock.now).seconds
        guard readCount == appended else {
            throw LogError(.corrupt, "benchmark read back \(readCount) records of \(topic) but appended \(appended)")
        }
        return (.init(recordsPerSecond: Double(appended) / appendSeconds, mbPerSecond: totalBytes / appendSeconds / 1e6,
                      ackP50Ms: sorted[sorted.count / 2], ackP99Ms: sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.99))]),
                .init(recordsPerSecond: Double(readCount) / readSeconds, mbPerSecond: totalBytes / readSeconds / 1e6))
    }

    /// Writes `bytes` `times` times with pwrite + fdatasync each; returns seconds.
    private func rawWrite(_ bytes: [UInt8], times: Int) throws -> Double {
        let path = dir + "/raw.bin"
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LogError(.storage, "cannot create \(path): \(String(cString: strerror(errno)))") }
        defer {
            close(fd)
            unlink(path)
        }
        let clock = ContinuousClock()
        let start = clock.now
        var position: off_t = 0
        try bytes.withUnsafeBytes { raw in
            for _ in 0..<times {
                var done = 0
                while done < raw.count {
                    let n = pwrite(fd, raw.baseAddress! + done, raw.count - done, position + off_t(done))
                    if n < 0 && errno == EINTR { continue }
                    guard n > 0 else { throw LogError(.storage, "raw write failed: \(String(cString: strerror(errno)))") }
                    done += n
                }
                position += off_t(raw.count)
                guard fdatasync(fd) == 0 else { throw LogError(.storage, "raw fdatasync failed: \(String(cString: strerror(errno)))") }
            }
        }
        return start.duration(to: clock.now).seconds
    }
}

import Logging

func quietLogger() -> Logger {
    var logger = Logger(label: "chapar.bench")
    logger.logLevel = .error
    return logger
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
