import ArgumentParser
import ChaparModels
import EventLog
import Foundation

/// `chapar log …`: operate the log (embedded or Kafka) like kafka-topics, kafka-consumer-groups and kcat.
struct LogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Create, inspect, produce to and consume from topics of the log (embedded, or Kafka with --kafka or log.backend).",
        subcommands: [Create.self, Topics.self, Describe.self, Produce.self, Consume.self, Groups.self, ResetOffsets.self, Retention.self, Verify.self, Migrate.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a topic.")
        @OptionGroup var options: LogBackendOptions
        @Argument(help: "Topic name: letters, digits, '.', '_' and '-'.") var topic: String
        @Option(help: "Number of partitions (keys are hashed over them).") var partitions: Int = 1
        @Option(help: "When appends are acknowledged: always (fsync, default), interval[:250ms|2s], never.") var fsync: String = "always"
        @Option(help: "Roll segments at this size in bytes.") var segmentBytes: Int64 = 128 << 20
        @Option(help: "Roll segments older than this (e.g. 7d, 12h).") var segmentAge: String = "7d"
        @Option(help: "Delete segments whose newest record is older than this (e.g. 7d), or 'forever'.") var retention: String = "7d"
        @Option(help: "Delete the oldest segments while a partition is larger than this many bytes.") var retentionBytes: Int64?
        @Flag(help: "Print the created topic as JSON.") var json = false

        func validate() throws {
            guard partitions >= 1 && partitions <= 10_000 else { throw ValidationError("--partitions must be between 1 and 10000") }
            guard parseDuration(segmentAge) != nil else { throw ValidationError("--segment-age '\(segmentAge)' is not a duration; use e.g. 12h or 7d") }
            guard retention == "forever" || parseDuration(retention) != nil else {
                throw ValidationError("--retention '\(retention)' is not a duration; use e.g. 7d, 12h, or 'forever'")
            }
        }

        func run() async throws {
            try await CLIError.run {
                let name = try TopicName(topic)
                let config = TopicConfiguration(
                    partitions: partitions, durability: try DurabilityPolicy(parsing: fsync), segmentBytes: segmentBytes,
                    segmentMaxAge: parseDuration(segmentAge)!, retentionAge: retention == "forever" ? nil : parseDuration(retention),
                    retentionBytes: retentionBytes)
                let description = try await options.withLog { try await $0.createTopic(name, configuration: config) }
                if json { try printJSON(description) } else { print("created topic \(name) with \(partitions) partition(s), fsync \(config.durability)") }
            }
        }
    }

    struct Topics: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List topics with offsets and sizes.")
        @OptionGroup var options: LogBackendOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await CLIError.run {
                let topics = try await options.withLog { try await $0.listTopics() }
                if json { return try printJSON(topics) }
                printTable(["TOPIC", "PARTITIONS", "START", "END", "RECORDS", "BYTES", "FSYNC", "RETENTION"], topics.map { t in
                    [t.name.rawValue, String(t.partitions.count),
                     String(t.partitions.reduce(Int64(0)) { $0 + $1.startOffset.rawValue }),
                     String(t.partitions.reduce(Int64(0)) { $0 + $1.endOffset.rawValue }),
                     String(t.records), formatBytes(t.bytes), t.configuration.durability.description,
                     t.configuration.retentionAge?.compact ?? "forever"]
                })
            }
        }
    }

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a topic's settings and each partition's offsets.")
        @OptionGroup var options: LogBackendOptions
        @Argument var topic: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await CLIError.run {
                let name = try TopicName(topic)
                let t = try await options.withLog { try await $0.describeTopic(name) }
                if json { return try printJSON(t) }
                let c = t.configuration
                print("topic \(t.name): \(t.partitions.count) partition(s), fsync \(c.durability), segment \(formatBytes(c.segmentBytes)) / \(c.segmentMaxAge.compact), retention \(c.retentionAge?.compact ?? "forever")\(c.retentionBytes.map { " / " + formatBytes($0) } ?? "")")
                printTable(["PARTITION", "START", "END", "RECORDS", "BYTES", "SEGMENTS"], t.partitions.map { p in
                    [String(p.partition.rawValue), String(p.startOffset.rawValue), String(p.endOffset.rawValue),
                     String(p.endOffset.rawValue - p.startOffset.rawValue), formatBytes(p.bytes), String(p.segments)]
                })
            }
        }
    }

    struct Produce: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Append one record per stdin line.",
            discussion: "With --key-separator, each line is KEY<SEP>VALUE (a line without SEP has no key). Lines are batched as they arrive; each batch is acknowledged once durable.")
        @OptionGroup var options: LogBackendOptions
        @Argument var topic: String
        @Option(help: "Split each line into key and value at the first occurrence of this string.") var keySeparator: String?
        @Option(help: "Append every record to this partition instead of hashing the key.") var partition: Int?
        @Flag(help: "Print 'TOPIC PARTITION OFFSET' for each record once it is durable (never before).") var printAcks = false
        @Option(help: "At most this many lines per append.") var batchSize: Int = 1000

        func validate() throws {
            if let s = keySeparator, s.isEmpty { throw ValidationError("--key-separator must not be empty") }
            if let p = partition, p < 0 { throw ValidationError("--partition must not be negative") }
            guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
        }

        func run() async throws {
            try await CLIError.run {
                let name = try TopicName(topic)
                try await options.withLog { log in
                    _ = try await log.describeTopic(name)
                    var out = Output()
                    let separator = keySeparator.map { Array($0.utf8) }
                    var total = 0
                    let reader = LineReader(fd: 0)
                    while let lines = reader.nextLines(max: batchSize) {
                        let records = lines.map { line -> ProducerRecord in
                            if let separator, let cut = line.firstRange(of: separator) {
                                return ProducerRecord(key: Array(line[..<cut.lowerBound]), value: Array(line[cut.upperBound...]), partition: partition.map(PartitionID.init))
                            }
                            return ProducerRecord(key: nil, value: Array(line), partition: partition.map(PartitionID.init))
                        }
                        let acks = try await log.append(records, to: name)
                        total += acks.count
                        if printAcks {
                            for a in acks { out.write("\(a.topic) \(a.partition) \(a.offset)\n") }
                            out.flush()
                        }
                    }
                    if !printAcks { FileHandle.standardError.write(Data("appended \(total) record(s) to \(name)\n".utf8)) }
                }
            }
        }
    }

    struct Consume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print records, alone or as a member of a consumer group.",
            discussion: """
                --format placeholders (as in kcat): %t topic, %p partition, %o offset, %k key, %s value, %T timestamp (ms), \
                %% a percent sign; \\n and \\t are newline and tab. Default "%s\\n".
                Without --group, reading starts at the end unless --from-beginning or --offset is given.
                With --group, committed offsets are used and advanced after each printed batch (at-least-once).
                """)
        @OptionGroup var options: LogBackendOptions
        @Argument var topic: String
        @Option(help: "Join this consumer group and commit offsets.") var group: String?
        @Flag(help: "Start at the oldest stored record (for a group: when it has no committed offset).") var fromBeginning = false
        @Option(help: "Start at this offset (requires --partition).") var offset: Int64?
        @Option(help: "Read only this partition.") var partition: Int?
        @Flag(help: "Exit once every partition has been read to its end.") var exitAtEnd = false
        @Option(help: "Exit after this many records.") var maxRecords: Int?
        @Option(help: "Output format.") var format: String = "%s\\n"
        @Flag(help: "Print one JSON object per record instead of --format.") var json = false

        func validate() throws {
            if offset != nil && partition == nil { throw ValidationError("--offset needs --partition: offsets are per partition") }
            if let o = offset, o < 0 { throw ValidationError("--offset must not be negative; use --from-beginning for the oldest record") }
            if group != nil && (offset != nil || partition != nil) { throw ValidationError("--group assigns partitions itself; drop --offset/--partition") }
            if let m = maxRecords, m < 1 { throw ValidationError("--max-records must be at least 1") }
        }

        func run() async throws {
            try await CLIError.run {
                let name = try TopicName(topic)
                let formatter = try RecordFormatter(json ? nil : format)
                try await options.withLog { log in
                    if let group { try await consumeGroup(log, name, try GroupID(group), formatter) } else { try await consumePartitions(log, name, formatter) }
                }
            }
        }

        private func consumePartitions(_ log: any MessageLog, _ name: TopicName, _ formatter: RecordFormatter) async throws {
            let described = try await log.describeTopic(name)
            var positions: [PartitionID: Offset] = [:]
            for p in described.partitions where partition == nil || p.partition.rawValue == partition {
                positions[p.partition] = offset.map(Offset.init) ?? (fromBeginning ? p.startOffset : p.endOffset)
            }
            if let partition, positions.isEmpty {
                throw LogError(.unknownPartition, "topic \(name) has partitions 0 to \(described.partitions.count - 1); there is no partition \(partition)")
            }
            var out = Output()
            var printed = 0
            let ids = positions.keys.sorted()
            // A fetch that returns nothing below the high watermark (records the log cannot read
            // there) must not be waited on: the wait below only wakes on a new append. Seen twice at
            // the same offset, the partition is reported and counted as read to its end.
            var stalled: [PartitionID: Offset] = [:]
            var reported: Set<PartitionID> = []
            while true {
                var any = false
                var atEnd = true
                var confirming = false
                for p in ids {
                    let result = try await log.fetch(name, partition: p, from: positions[p]!, limits: FetchLimits(maxRecords: min(10_000, (maxRecords ?? .max) - printed)))
                    for r in result.records { formatter.write(r, to: &out) }
                    printed += result.records.count
                    positions[p] = result.nextOffset
                    any = any || !result.records.isEmpty
                    if result.records.isEmpty && result.nextOffset < result.highWatermark {
                        if stalled[p] == result.nextOffset {
                            if reported.insert(p).inserted {
                                FileHandle.standardError.write(Data("chapar: warning: \(name)-\(p): offsets \(result.nextOffset)..<\(result.highWatermark) returned no records; counting the partition as read to its end (check it with `chapar log verify`)\n".utf8))
                            }
                        } else {
                            stalled[p] = result.nextOffset
                            atEnd = false
                            confirming = true
                        }
                    } else {
                        stalled[p] = nil
                        if result.nextOffset < result.highWatermark { atEnd = false }
                    }
                    if let m = maxRecords, printed >= m { out.flush(); return }
                }
                out.flush()
                if !any {
                    if exitAtEnd && atEnd { return }
                    if confirming {
                        try await Task.sleep(for: .milliseconds(100))
                    } else if log is EventLog {
                        // Idle: wait on the first partition with new data (the wait wakes on append, no polling).
                        _ = try await waitAny(log, name, positions)
                    } else {
                        // Kafka: one reader serves every partition's fetches in turn, so a long wait on
                        // one would hold up the others; look again shortly instead.
                        try await Task.sleep(for: .milliseconds(200))
                    }
                }
            }
        }

        private func waitAny(_ log: any MessageLog, _ name: TopicName, _ positions: [PartitionID: Offset]) async throws -> Bool {
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for (p, o) in positions {
                    group.addTask { !(try await log.fetch(name, partition: p, from: o, limits: FetchLimits(maxRecords: 1, maxWait: .seconds(3600)))).records.isEmpty }
                }
                let first = try await group.next() ?? false
                group.cancelAll()
                return first
            }
        }

        private func consumeGroup(_ log: any MessageLog, _ name: TopicName, _ group: GroupID, _ formatter: RecordFormatter) async throws {
            let member = try await log.joinGroup(group, topics: [name], options: GroupOptions(startPosition: fromBeginning ? .earliest : .latest, clientID: "chapar-cli"))
            var out = Output()
            var printed = 0
            // On the embedded log a poll that returns nothing means the end. On Kafka, joining takes
            // a moment (the coordinator collects its members) and a newly assigned partition's first
            // fetch another: "at the end" there means owning partitions and 2 s without a record.
            let clock = ContinuousClock()
            let quietForEnd: Duration = log is EventLog ? .zero : .seconds(2)
            let joinDeadline = clock.now.advanced(by: .seconds(60))
            var lastProgress: ContinuousClock.Instant?
            while true {
                let records = try await member.poll(maxRecords: min(10_000, (maxRecords ?? .max) - printed), timeout: exitAtEnd ? .milliseconds(300) : .seconds(3600))
                for r in records { formatter.write(r, to: &out) }
                out.flush()
                printed += records.count
                try await member.commitPolled()
                if maxRecords.map({ printed >= $0 }) ?? false { break }
                guard exitAtEnd else { continue }
                let joined = !(await member.assignment()).isEmpty
                if !records.isEmpty || (joined && lastProgress == nil) { lastProgress = clock.now }
                if let lastProgress, records.isEmpty, lastProgress.duration(to: clock.now) >= quietForEnd { break }
                if !joined && clock.now >= joinDeadline { break }
            }
            await member.leave()
        }
    }

    struct Groups: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List consumer groups with committed offsets and lag.")
        @OptionGroup var options: LogBackendOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await CLIError.run {
                let groups = try await options.withLog { try await $0.listGroups() }
                if json { return try printJSON(groups) }
                printTable(["GROUP", "TOPIC", "PARTITION", "COMMITTED", "END", "LAG"], groups.flatMap { g in
                    g.partitions.map { p in
                        [g.group.rawValue, p.topic.rawValue, String(p.partition.rawValue), p.committed.map { String($0.rawValue) } ?? "-", String(p.end.rawValue), String(p.lag)]
                    }
                })
            }
        }
    }

    struct ResetOffsets: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "reset-offsets", abstract: "Move a group's committed offsets (replay or skip).")
        @OptionGroup var options: LogBackendOptions
        @Argument var group: String
        @Argument var topic: String
        @Flag(help: "To the oldest stored record (replay everything).") var toEarliest = false
        @Flag(help: "To the end (skip everything pending).") var toLatest = false
        @Option(help: "To this offset (with --partition).") var toOffset: Int64?
        @Option(help: "Only this partition.") var partition: Int?

        func validate() throws {
            let chosen = [toEarliest, toLatest, toOffset != nil].filter { $0 }.count
            guard chosen == 1 else { throw ValidationError("choose exactly one of --to-earliest, --to-latest, --to-offset") }
            if toOffset != nil && partition == nil { throw ValidationError("--to-offset needs --partition") }
        }

        func run() async throws {
            try await CLIError.run {
                let name = try TopicName(topic), g = try GroupID(group)
                try await options.withLog { log in
                    let t = try await log.describeTopic(name)
                    var offsets: [TopicPartition: Offset] = [:]
                    for p in t.partitions where partition == nil || p.partition.rawValue == partition {
                        offsets[TopicPartition(name, p.partition)] = toOffset.map(Offset.init) ?? (toEarliest ? p.startOffset : p.endOffset)
                    }
                    if offsets.isEmpty { throw LogError(.unknownPartition, "topic \(name) has no partition \(partition ?? -1)") }
                    try await log.resetOffsets(g, to: offsets)
                    for (tp, o) in offsets.sorted(by: { $0.key < $1.key }) { print("\(g) \(tp.topic) \(tp.partition) \(o)") }
                }
            }
        }
    }

    struct Retention: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Apply every topic's retention now and print what was deleted.")
        @OptionGroup var options: LogBackendOptions

        func run() async throws {
            try await CLIError.run {
                let lines = try await options.withEmbeddedLog("log retention") { await $0.enforceRetention() }
                for l in lines { print(l) }
                if lines.isEmpty { print("nothing to delete") }
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Open the data directory, run recovery, and print what it found and repaired.")
        @OptionGroup var options: LogBackendOptions
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await CLIError.run {
                let report = try await options.withEmbeddedLog("log verify") { $0.recoveryReport }
                if json { return try printJSON(report) }
                print("opened \(report.partitions) partition(s) in \(report.milliseconds) ms; scanned \(report.segmentsScanned) segment(s), \(formatBytes(report.bytesScanned)); truncated \(report.bytesTruncated) byte(s)")
                for a in report.actions { print("  \(a)") }
                if report.isClean { print("clean: nothing to repair") }
            }
        }
    }
}

/// Reads stdin in large chunks and hands out whole lines (a final line without newline included; CR before LF dropped).
final class LineReader {
    let fd: Int32
    private var buffer: [UInt8] = []
    private var start = 0
    private var eof = false

    init(fd: Int32) { self.fd = fd }

    /// Up to `max` lines: whatever is already buffered, reading more only when nothing is. Nil at end of input.
    func nextLines(max: Int) -> [ArraySlice<UInt8>]? {
        var lines: [ArraySlice<UInt8>] = []
        while lines.isEmpty {
            collect(into: &lines, max: max)
            if !lines.isEmpty { break }
            if eof {
                if start < buffer.count {
                    lines.append(trimCR(buffer[start...]))
                    start = buffer.count
                    return lines
                }
                return nil
            }
            fill()
        }
        return lines
    }

    private func collect(into lines: inout [ArraySlice<UInt8>], max: Int) {
        while lines.count < max, let nl = buffer[start...].firstIndex(of: 0x0A) {
            lines.append(trimCR(buffer[start..<nl]))
            start = nl + 1
        }
    }

    private func trimCR(_ line: ArraySlice<UInt8>) -> ArraySlice<UInt8> { line.last == 0x0D ? line.dropLast() : line }

    private func fill() {
        if start > 0 {
            buffer.removeFirst(start)
            start = 0
        }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        if n <= 0 {
            eof = true
        } else {
            buffer.append(contentsOf: chunk[0..<n])
        }
    }
}

/// kcat-style `--format` rendering, or JSON lines.
struct RecordFormatter {
    enum Piece { case text([UInt8]), topic, partition, offset, key, value, timestamp }
    let pieces: [Piece]?

    init(_ format: String?) throws {
        guard let format else {
            pieces = nil
            return
        }
        var pieces: [Piece] = []
        var text: [UInt8] = []
        var chars = Array(format.unicodeScalars)[...]
        while let c = chars.popFirst() {
            if c == "\\", let n = chars.first, n == "n" || n == "t" || n == "\\" {
                chars.removeFirst()
                text.append(n == "n" ? 0x0A : n == "t" ? 0x09 : 0x5C)
            } else if c == "%" {
                guard let n = chars.popFirst() else { throw ValidationError("--format ends with a lone '%'; write %% for a percent sign") }
                let piece: Piece? = switch n {
                case "t": .topic
                case "p": .partition
                case "o": .offset
                case "k": .key
                case "s": .value
                case "T": .timestamp
                case "%": nil
                default: throw ValidationError("--format has unknown placeholder %\(n); use %t %p %o %k %s %T or %%")
                }
                if let piece {
                    if !text.isEmpty { pieces.append(.text(text)) }
                    text = []
                    pieces.append(piece)
                } else {
                    text.append(0x25)
                }
            } else {
                text.append(contentsOf: String(c).utf8)
            }
        }
        if !text.isEmpty { pieces.append(.text(text)) }
        self.pieces = pieces
    }

    func write(_ r: ConsumerRecord, to out: inout Output) {
        guard let pieces else {
            struct Line: Encodable {
                let topic: String, partition: Int, offset: Int64, timestamp: Int64, key: String?, value: String
            }
            let line = Line(topic: r.topic.rawValue, partition: r.partition.rawValue, offset: r.offset.rawValue, timestamp: r.timestamp.milliseconds, key: r.keyString, value: r.valueString)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            out.write(bytes: (try? encoder.encode(line)) ?? Data())
            out.write("\n")
            return
        }
        for p in pieces {
            switch p {
            case .text(let t): out.write(bytes: t)
            case .topic: out.write(r.topic.rawValue)
            case .partition: out.write(String(r.partition.rawValue))
            case .offset: out.write(String(r.offset.rawValue))
            case .key: if let k = r.key { out.write(bytes: k) }
            case .value: out.write(bytes: r.value)
            case .timestamp: out.write(String(r.timestamp.milliseconds))
            }
        }
    }
}
