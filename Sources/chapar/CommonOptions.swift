import ArgumentParser
import ChaparConfig
import ChaparModels
import ChaparServer
import EventLog
import EventLogKafka
import Foundation
import Logging

/// `--data-dir`, shared by every command that opens the log.
struct DataDirOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Data directory of the log (env CHAPAR_DATA_DIR).", valueName: "DIR"))
    var dataDir: String = ProcessInfo.processInfo.environment["CHAPAR_DATA_DIR"] ?? "./chapar-data"

    @Flag(name: .long, help: "Log debug details to stderr.")
    var verbose = false

    /// The CLI's logger: warnings and above on stderr, debug with `--verbose`.
    var logger: Logger {
        var logger = Logger(label: "chapar")
        logger.logLevel = verbose ? .debug : .warning
        return logger
    }

    func openLog() throws -> EventLog {
        try EventLog.open(EventLog.Configuration(directory: dataDir, logger: logger))
    }

    /// Opens the log, runs `body`, and closes the log whether `body` succeeds or throws.
    func withLog<T>(_ body: (EventLog) async throws -> T) async throws -> T {
        let log = try openLog()
        return try await closing({ await log.close() }) { try await body(log) }
    }
}

/// Maps errors to the documented exit codes and prints one actionable line on stderr.
enum CLIError {
    static func exitCode(for error: LogError) -> Int32 {
        switch error.code {
        case .invalidArgument, .offsetOutOfRange: 65
        case .unknownTopic, .unknownPartition: 66
        case .topicExists: 73
        case .storage, .corrupt: 74
        case .locked, .diskFull, .notPartitionOwner, .unavailable: 75
        case .unsupported: 69
        case .notMember, .closed: 1
        }
    }

    /// Runs `body`, turning a LogError into its message and exit code.
    static func run<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw report(error)
        }
    }

    /// ``run(_:)`` for synchronous commands.
    static func runSync<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw report(error)
        }
    }

    /// Prints a known error's one line and returns its exit code; other errors pass through.
    private static func report(_ error: any Error) -> any Error {
        switch error {
        case let error as LogError:
            FileHandle.standardError.write(Data("chapar: error: \(error.message)\n".utf8))
            return ExitCode(exitCode(for: error))
        case let error as any CLIReportable:
            FileHandle.standardError.write(Data("chapar: error: \(error.cliMessage)\n".utf8))
            return ExitCode(error.exitCode)
        default:
            return error
        }
    }
}

/// Buffered writes to stdout: consumers print millions of lines.
struct Output {
    private var buffer: [UInt8] = []

    init() { buffer.reserveCapacity(1 << 16) }

    mutating func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 16 { flush() }
    }

    mutating func write(bytes: some Sequence<UInt8>) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 16 { flush() }
    }

    mutating func flush() {
        var offset = 0
        buffer.withUnsafeBytes { raw in
            while offset < raw.count {
                let n = Foundation.write(1, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 { break }
                offset += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }
}

/// Prints rows as aligned columns.
func printTable(_ header: [String], _ rows: [[String]]) {
    var widths = header.map(\.count)
    for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { i, c in i == cells.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: "  ")
    }
    print(line(header))
    for row in rows { print(line(row)) }
}

/// Encodes a value as pretty, key-sorted JSON on stdout.
func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

extension Duration {
    /// `7d`, `12h`, `250ms` — the inverse of parseDuration for whole units.
    var compact: String {
        let ms = milliseconds
        for (unit, size) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1000)] where ms % size == 0 && ms >= size {
            return "\(ms / size)\(unit)"
        }
        return "\(ms)ms"
    }
}

func formatBytes(_ n: Int64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var v = Double(n), i = 0
    while v >= 1024 && i < units.count - 1 {
        v /= 1024
        i += 1
    }
    return i == 0 ? "\(n) B" : String(format: "%.1f %@", v, units[i])
}

/// `chapar log …`'s options: the data directory of the embedded log, or a Kafka cluster named by
/// `--kafka` or by the configuration file's `log.backend: kafka` (docs/kafka.md).
struct LogBackendOptions: ParsableArguments {
    @OptionGroup var data: DataDirOptions

    @Option(name: .long, help: ArgumentHelp("Configuration file (env CHAPAR_CONFIG): with log.backend kafka, its cluster is used.", valueName: "FILE"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("Use the Kafka cluster at these brokers instead of the embedded log.", valueName: "HOST:PORT[,…]"))
    var kafka: String?

    /// The Kafka settings in effect, or nil for the embedded log.
    func kafkaSettings() throws -> KafkaSettings? {
        if let kafka { return KafkaSettings(bootstrapServers: kafka) }
        guard let file = config ?? ProcessInfo.processInfo.environment["CHAPAR_CONFIG"] else { return nil }
        guard case .kafka(let settings) = try ConfigOptions(config: file).load().backend else { return nil }
        return settings
    }

    /// Opens the log (embedded or Kafka), runs `body`, and closes it whatever happens.
    func withLog<T>(_ body: (any MessageLog) async throws -> T) async throws -> T {
        guard let settings = try kafkaSettings() else { return try await data.withLog { try await body($0) } }
        let log = try openKafka(settings)
        return try await closing({ await log.close() }) { try await body(log) }
    }

    func openKafka(_ settings: KafkaSettings) throws -> KafkaLog {
        try KafkaLog(configuration: KafkaLog.Configuration(settings), logger: data.logger)
    }

    /// For what only the embedded log has (retention in-process, recovery reports).
    func withEmbeddedLog<T>(_ what: String, _ body: (EventLog) async throws -> T) async throws -> T {
        if try kafkaSettings() != nil {
            throw LogError(.unsupported, "\(what) is for the embedded log; on Kafka the brokers apply retention and recovery (see docs/kafka.md)")
        }
        return try await data.withLog(body)
    }
}

/// Runs `body`, then `close`, whether `body` returned or threw.
func closing<T>(_ close: () async -> Void, _ body: () async throws -> T) async throws -> T {
    do {
        let result = try await body()
        await close()
        return result
    } catch {
        await close()
        throw error
    }
}
