import ArgumentParser
import ChaparDemo
import ChaparModels
import EventLog
import Foundation
import Ingest

/// `chapar bench ingest`: CSV into the durable log through the real pipeline (parse, validate,
/// dedupe against the SQLite index, append with fsync, index commit), then the same file again
/// (every entry a duplicate), with peak RSS.
struct IngestBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "CSV ingest into the durable log with dedupe: first pass and all-duplicates re-ingest.",
        discussion: "Target (release build): at least 300,000 transactions/s on the first pass; memory flat.")

    @Option(help: "Entries in the generated CSV.") var records: Int = 1_000_000
    @Option(help: "Customers (each with two accounts) in the generated data.") var accounts: Int = 100_000
    @Option(help: "Entries per log append.") var batch: Int = 2_000
    @Option(help: "Directory for the benchmark files (removed afterwards).") var dir: String = "./chapar-bench-ingest.tmp"
    @Option(help: "Use this CSV instead of generating one (kept).") var input: String?
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard records >= 1, batch >= 1, accounts >= 1 else { throw ValidationError("--records, --batch and --accounts must be at least 1") }
        if let input, !FileManager.default.fileExists(atPath: input) {
            throw ValidationError("--input \(input) does not exist")
        }
        guard !FileManager.default.fileExists(atPath: dir) else {
            throw ValidationError("\(dir) already exists; remove it or pass another --dir (the benchmark deletes its directory afterwards)")
        }
    }

    struct Figures: Codable {
        var entries: Int
        var fileBytes: Int64
        var generateSeconds: Double
        var firstPass: Pass
        var reingest: Pass
        var peakRSSMiB: Double
        struct Pass: Codable {
            var seconds: Double
            var entriesPerSecond: Double
            var appended: Int
            var duplicates: Int
            var rejected: Int
        }
    }

    func run() async throws {
        limitMallocArenas()
        try await CLIError.run {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let clock = ContinuousClock()
            var path = dir + "/bench.csv"
            var generateSeconds = 0.0
            if let input {
                path = input
            } else {
                let t0 = clock.now
                let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
                guard fd >= 0 else { throw IngestError(.storage, "cannot create \(path)") }
                var generator = TransactionGenerator(seed: 42, customers: accounts, messageFraction: 0)
                var writer = FDWriter(fd: fd)
                generator.write(count: records, jsonl: false, to: &writer)
                writer.flush()
                close(fd)
                generateSeconds = t0.duration(to: clock.now).seconds
            }
            let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0

            let log = try EventLog.open(EventLog.Configuration(directory: dir + "/log", logger: quietLogger()))
            let index = try SeenIndex(path: DataLayout(dir + "/log").ingestIndex)
            var config = Ingestor.Configuration(batchSize: batch)
            config.logger = quietLogger()
            let ingestor = Ingestor(log: log, index: index, configuration: config)
            try await ingestor.prepare()
            let options = ParserOptions(encoding: .utf8, defaultCurrency: .irr, timeZone: "Asia/Tehran")
            let csvPath = path
            let source = Ingestor.Source(displayName: "bench.csv", size: size) { () throws(IngestError) -> any EntryParser in
                try CSVParser(path: csvPath, displayName: "bench.csv", options: options)
            }
            func pass() async throws -> Figures.Pass {
                let started = ContinuousClock.now
                let s = try await ingestor.ingest(source, mode: .append)
                if let f = s.failure { throw f }
                // The index merges in the background; the pass ends when that is done too (conservative).
                await index.waitForMerges()
                let d = started.duration(to: .now).components
                let seconds = Double(d.seconds) + Double(d.attoseconds) / 1e18
                return Figures.Pass(seconds: seconds, entriesPerSecond: Double(s.counts.read) / max(seconds, 1e-9),
                                    appended: s.counts.appended, duplicates: s.counts.duplicates, rejected: s.counts.rejected)
            }
            let first = try await pass()
            let second = try await pass()
            try index.close()
            await log.close()
            let figures = Figures(entries: first.appended + first.duplicates + first.rejected, fileBytes: size, generateSeconds: generateSeconds,
                                  firstPass: first, reingest: second, peakRSSMiB: Double(peakRSSKiB()) / 1024)
            if json {
                try printJSON(figures)
            } else {
                print("ingest \(figures.entries) CSV entries (\(formatBytes(size))), durable log (fsync always) + SQLite dedupe index, batch \(batch)")
                print(String(format: "  first pass:  %.2f s  %.0f entries/s  (appended %d, duplicates %d, rejected %d)  target >= 300000/s",
                             first.seconds, first.entriesPerSecond, first.appended, first.duplicates, first.rejected))
                print(String(format: "  re-ingest:   %.2f s  %.0f entries/s  (appended %d, duplicates %d)",
                             second.seconds, second.entriesPerSecond, second.appended, second.duplicates))
                print(String(format: "  peak RSS:    %.1f MiB (VmHWM)", figures.peakRSSMiB))
            }
            if second.appended != 0 {
                throw IngestError(.storage, "re-ingest appended \(second.appended) entries; deduplication is broken")
            }
        }
    }
}

/// VmHWM from /proc/self/status in KiB (0 where there is no /proc).
func peakRSSKiB() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0
    }
    return 0
}
