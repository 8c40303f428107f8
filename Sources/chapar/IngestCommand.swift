import ArgumentParser
import ChaparModels
import EventLog
import Foundation
import Ingest
import Synchronization

/// `chapar ingest FILE…`: bank files into the `transactions` and `messages` topics, deduplicated.
struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Ingest bank transaction files into the log.",
        discussion: """
            Formats: CSV and JSON Lines (columns in docs/ingest.md), ISO 20022 camt.054, SWIFT MT940/MT942.
            Every entry gets a stable id (the file's own reference, else a content hash); ids already in the
            log are skipped, so re-ingesting a file appends nothing new. Rejected entries are reported as
            FILE:LINE: what is wrong; warnings (e.g. an MT940 closing balance that does not match the
            entries, which are all appended) as FILE:LINE: warning: what is wrong, counted apart.

            A full disk or a storage error stops the run; the summary says how many entries are durable, and
            running the same command again appends only the rest (the dedupe index skips what is there).

            Exit codes: 0 everything valid, 65 some entries rejected (or --strict refused the file),
            66 file not found, 74 storage error (I/O error or damage), 75 temporary: disk full (free space
            and re-run) or data directory locked by another process.
            """)

    @Argument(help: ArgumentHelp("Files to ingest.", valueName: "FILE"))
    var files: [String]

    @Option(help: "auto, csv, jsonl, camt054 or mt940 (auto: by extension, then by content).")
    var format: String = "auto"

    @Option(help: "Text encoding: utf-8, windows-1256 or iso-8859-1.")
    var encoding: String = "utf-8"

    @Option(help: ArgumentHelp("Currency for entries that give none (e.g. IRR).", valueName: "CODE"))
    var currency: String?

    @Option(help: ArgumentHelp("Time zone of local times in the files (IANA name).", valueName: "ZONE"))
    var timezone: String = "Asia/Tehran"

    @Flag(help: "Append nothing from a file unless every entry in it is valid.")
    var strict = false

    @Flag(help: "Validate only: do not open the data directory, append nothing.")
    var dryRun = false

    @Option(help: ArgumentHelp("Write every rejected entry to FILE as FILE:LINE: message.", valueName: "FILE"))
    var rejects: String?

    @Option(help: "Entries per log append.")
    var batchSize: Int = 2_000

    @Option(help: "Partitions of the transactions topic when ingest creates it.")
    var transactionsPartitions: Int = 8

    @Option(help: "Partitions of the messages topic when ingest creates it.")
    var messagesPartitions: Int = 4

    @Flag(help: "No progress output on stderr.")
    var quiet = false

    @OptionGroup var data: DataDirOptions

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one file to ingest") }
        if strict && dryRun { throw ValidationError("--strict and --dry-run exclude each other; --dry-run already appends nothing") }
        if batchSize < 1 || batchSize > 100_000 { throw ValidationError("--batch-size must be between 1 and 100000") }
        if transactionsPartitions < 1 || messagesPartitions < 1 { throw ValidationError("partition counts must be at least 1") }
    }

    func run() async throws {
        limitMallocArenas()
        try await CLIError.run {
            let plan = try IngestPlan(self)
            let code = try await plan.run()
            if code != 0 { throw ExitCode(code) }
        }
    }
}

/// The parsed options of one `chapar ingest` run, and the run itself (tests of the CLI go through the binary).
struct IngestPlan {
    let files: [String]
    let format: InputFormat
    let options: ParserOptions
    let mode: Ingestor.Mode
    let rejectsPath: String?
    let configuration: Ingestor.Configuration
    let quiet: Bool
    let data: DataDirOptions

    init(_ c: IngestCommand) throws {
        files = c.files
        format = try InputFormat(parsing: c.format)
        guard let enc = ParserOptions.Encoding(rawValue: c.encoding.lowercased())
                ?? (["cp1256", "windows1256"].contains(c.encoding.lowercased()) ? .windows1256 : nil)
                ?? (["latin1", "latin-1", "iso8859-1"].contains(c.encoding.lowercased()) ? .latin1 : nil)
                ?? (c.encoding.lowercased() == "utf8" ? .utf8 : nil) else {
            throw IngestError(.usage, "'\(c.encoding)' is not a supported encoding; use utf-8, windows-1256 or iso-8859-1")
        }
        var defaultCurrency: CurrencyCode? = nil
        if let cur = c.currency {
            do { defaultCurrency = try CurrencyCode(cur) } catch { throw IngestError(.usage, "--currency: \(error.reason)") }
        }
        guard TimeZone(identifier: c.timezone) != nil else {
            throw IngestError(.usage, "--timezone: '\(c.timezone)' is not a time zone; use an IANA name such as Asia/Tehran or UTC")
        }
        options = ParserOptions(encoding: enc, defaultCurrency: defaultCurrency, timeZone: c.timezone)
        mode = c.dryRun ? .dryRun : (c.strict ? .strict : .append)
        rejectsPath = c.rejects
        var config = Ingestor.Configuration(batchSize: c.batchSize)
        config.transactionsTopic.partitions = c.transactionsPartitions
        config.messagesTopic.partitions = c.messagesPartitions
        // CHAPAR_INGEST_TRACE=1 reports, per file, how long the parser and the append side waited
        // for each other (docs/ingest.md, "Work split"); the report is a debug-level log line.
        config.tracesPipeline = ProcessInfo.processInfo.environment["CHAPAR_INGEST_TRACE"] != nil
        config.logger = config.tracesPipeline ? cliLogger(true, label: "chapar.ingest") : quietLogger()
        configuration = config
        quiet = c.quiet
        data = c.data
    }

    /// Ingests every file; returns the exit code (0 or 65).
    func run() async throws -> Int32 {
        // Fail fast on missing files, before taking the data directory.
        for f in files {
            var st = stat()
            guard stat(f, &st) == 0 else {
                throw IngestError(.notFound, "\(f): no such file; check the path (nothing was ingested)")
            }
            if (st.st_mode & S_IFMT) == S_IFDIR { throw IngestError(.notFound, "\(f) is a directory, not a file") }
        }
        let sink = try RejectSink(path: rejectsPath)
        defer { sink.close() }
        let progress = ProgressDisplay(enabled: !quiet)
        if mode == .dryRun {
            return try await ingestAll(Ingestor(validatingWith: configuration), sink: sink, progress: progress)
        }
        // Another chapar ingest may be releasing the directory just as this one looks: retry briefly.
        let deadline = ContinuousClock.now.advanced(by: .seconds(3))
        while true {
            do {
                return try await data.withLog { log in
                    let index = try SeenIndex(path: DataLayout(data.dataDir).ingestIndex)
                    let ingestor = Ingestor(log: log, index: index, configuration: configuration)
                    let caughtUp = try await ingestor.prepare()
                    if caughtUp > 0 && !quiet { progress.note("dedupe index: indexed \(caughtUp) records appended since its last update") }
                    // While this runs it owns the directory: a concurrent `chapar ingest` goes through it.
                    let code = try await withIngestEndpoint(data, log: log, index: index) {
                        try await ingestAll(ingestor, sink: sink, progress: progress)
                    }
                    // Lets a background merge of the index finish, then saves the Bloom filter so the
                    // next run need not rebuild it (after a crash it is rebuilt).
                    await index.waitForMerges()
                    do {
                        try index.close()
                    } catch {
                        // Only a cache: the run's work is durable and indexed, so this is not a failure.
                        FileHandle.standardError.write(Data("chapar: warning: \((error as? IngestError)?.message ?? "\(error)")\n".utf8))
                    }
                    return code
                }
            } catch let locked as LogError where locked.code == .locked {
                if let code = try await ingestThroughOwner(locked, sink: sink, progress: progress, giveUp: ContinuousClock.now >= deadline) {
                    return code
                }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// The data directory is in use: hand each file to the owner's ingest endpoint (a running
    /// `chapar notify run` or `chapar ingest`), which appends with the same dedupe index.
    /// Returns nil when the owner does not accept ingest and `giveUp` is false (the caller retries).
    private func ingestThroughOwner(_ locked: LogError, sink: RejectSink, progress: ProgressDisplay, giveUp: Bool) async throws -> Int32? {
        // Probe first, so that a directory about to be released is retried rather than reported.
        guard IngestClient.isAccepting(dataDirectory: data.dataDir) else {
            if giveUp {
                throw LogError(.locked, "\(locked.message); that process does not accept ingest (only `chapar notify run` and `chapar ingest` do), so wait until it ends")
            }
            return nil
        }
        let dataDir = data.dataDir
        let configuration = configuration, format = format, options = options, mode = mode, quiet = quiet
        let announced = Mutex(false)
        let cwd = FileManager.default.currentDirectoryPath
        return try await ingestAll(sink: sink, progress: progress) { file, onReject, onWarning, onProgress in
            let absolute = file.hasPrefix("/") ? file : (cwd as NSString).appendingPathComponent(file)
            let request = RemoteIngestRequest(path: (absolute as NSString).standardizingPath, displayName: file, format: format,
                                              options: options, mode: mode, configuration: configuration)
            let summary = try await IngestClient.ingest(request, dataDirectory: dataDir, onAccepted: { pid in
                let first = announced.withLock { a -> Bool in
                    defer { a = true }
                    return !a
                }
                if first && !quiet { progress.note("data directory \(dataDir) is in use by process \(pid); ingesting through it") }
            }, onReject: onReject, onWarning: onWarning, onProgress: onProgress)
            guard let summary else {
                throw LogError(.locked, "\(locked.message); that process stopped accepting ingest before \(file) was sent; ingest it again")
            }
            return summary
        }
    }

    private func ingestAll(_ ingestor: Ingestor, sink: RejectSink, progress: ProgressDisplay) async throws -> Int32 {
        let format = self.format, options = self.options, mode = self.mode
        return try await ingestAll(sink: sink, progress: progress) { file, onReject, onWarning, onProgress in
            let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.int64Value
            let source = Ingestor.Source(displayName: file, size: size) { () throws(IngestError) -> any EntryParser in
                try format.makeParser(path: file, displayName: file, options: options)
            }
            return try await ingestor.ingest(source, mode: mode, onReject: { onReject($0.description) },
                                             onWarning: { onWarning($0.warningDescription) }, onProgress: onProgress)
        }
    }

    /// Runs `ingest` for every file in turn, reporting as it goes; returns the exit code (0 or 65:
    /// warnings alone, which reject no entry, do not fail the run).
    /// A storage failure (disk full, I/O error) stops the run after the summary, which then says
    /// what is durable and what to run again; it exits 75 (disk full) or 74.
    private func ingestAll(sink: RejectSink, progress: ProgressDisplay,
                           _ ingest: (String, @escaping @Sendable (String) -> Void, @escaping @Sendable (String) -> Void,
                                      @escaping @Sendable (Ingestor.Progress) -> Void) async throws -> Ingestor.Summary) async throws -> Int32 {
        var total = Ingestor.Progress()
        var seconds = 0.0
        var failed = false
        var stopped: StoppedRun? = nil
        let clock = ContinuousClock()
        for (position, file) in files.enumerated() {
            let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.int64Value
            progress.start(file: file, size: size)
            let started = clock.now
            let summary: Ingestor.Summary
            do {
                summary = try await ingest(file, { sink.write($0) }, { sink.warn($0) }, { progress.update($0) })
            } catch let error as IngestError {
                progress.finish()
                if error.code == .storage || error.code == .diskFull {
                    let partial = Ingestor.Summary(file: file, counts: error.durable ?? Ingestor.Progress(),
                                                   seconds: started.duration(to: clock.now).seconds)
                    if files.count > 1 { print("\(file): \(partial.line) (stopped)") }
                    total.add(partial.counts)
                    seconds += partial.seconds
                    stopped = StoppedRun(file: file, error: error, rest: Array(files[(position + 1)...]))
                    break
                }
                if error.code == .usage { throw error }
                // The file could not be opened or is not in the format: report and go on with the others.
                FileHandle.standardError.write(Data("chapar: error: \(error.message)\n".utf8))
                failed = true
                continue
            }
            progress.finish()
            if let failure = summary.failure {
                FileHandle.standardError.write(Data("chapar: error: \(failure.message)\n".utf8))
                failed = true
            }
            if summary.refused && summary.failure == nil {
                FileHandle.standardError.write(Data("chapar: \(file): refused (--strict): \(summary.counts.rejected) entr\(summary.counts.rejected == 1 ? "y was" : "ies were") rejected, nothing appended\n".utf8))
            }
            if summary.counts.rejected > 0 { failed = true }
            if files.count > 1 { print("\(file): \(summary.line)") }
            total.add(summary.counts)
            seconds += summary.seconds
        }
        sink.finish()
        let line = Ingestor.Summary(file: "", counts: total, seconds: seconds, failure: nil, refused: false).line
        if let stopped {
            let cause = stopped.error.code == .diskFull ? "a full disk" : "a storage error"
            let kept = total.appended == 0 ? "nothing was appended" : "the \(total.appended) appended entr\(total.appended == 1 ? "y is" : "ies are") durable"
            print("\(line) (stopped by \(cause): \(kept); run it again to append the rest)")
            stopped.report(inLog: total.appended + total.duplicates, strict: mode == .strict)
            throw ExitCode(stopped.error.exitCode)
        }
        print(mode == .dryRun ? "\(line) (dry run: nothing appended)" : line)
        return failed ? 65 : 0
    }
}

/// A run stopped by a full disk or a storage error: what to tell the operator.
struct StoppedRun {
    var file: String
    var error: IngestError
    /// Files after `file`, not started.
    var rest: [String]

    /// The error, what is durable, and what to run again (on stderr). `inLog`: entries of the
    /// run's files now in the log (appended by it, or found there as duplicates).
    func report(inLog: Int, strict: Bool) {
        var text = "chapar: error: \(error.message)\n"
        if let d = error.durable {
            let lost = d.read - d.appended - d.duplicates - d.rejected
            text += "chapar: \(file): stopped after reading \(d.read) entr\(d.read == 1 ? "y" : "ies"): \(d.appended) \(d.appended == 1 ? "is" : "are") durable in the log"
            if d.duplicates > 0 { text += ", \(d.duplicates) \(d.duplicates == 1 ? "was" : "were") there already" }
            if lost > 0 { text += ", \(lost) \(lost == 1 ? "was" : "were") not appended" }
            text += "\n"
        } else {
            text += "chapar: \(file): stopped\n"
        }
        let again = ([file] + rest).joined(separator: " ")
        let cure = error.code == .diskFull ? "disk full: free space and re-run" : "once the cause above is fixed, re-run"
        text += "chapar: \(cure) the same command (or only \(again)): re-running is safe, the dedupe index skips the \(inLog) entr\(inLog == 1 ? "y" : "ies") already in the log and appends only the rest\n"
        if strict { text += "chapar: note: --strict could not keep \(file) all-or-nothing: what was appended before the failure stays\n" }
        FileHandle.standardError.write(Data(text.utf8))
    }
}

extension Ingestor.Progress {
    /// Adds another input's counters (not its phase or bytes).
    mutating func add(_ other: Ingestor.Progress) {
        read += other.read
        appended += other.appended
        duplicates += other.duplicates
        rejected += other.rejected
        warnings += other.warnings
    }
}

extension IngestError: CLIReportable {
    var exitCode: Int32 {
        switch code {
        case .notFound: 66
        case .invalidFormat, .rejected: 65
        case .storage: 74
        // EX_TEMPFAIL: nothing is wrong with the data or the state; free space and run it again.
        case .diskFull: 75
        case .usage: 64
        }
    }

    var cliMessage: String { message }
}

/// Where rejected entries go: stderr (the first 20) and, with `--rejects FILE`, all of them to FILE.
/// Warnings go to stderr only (the first 20): they reject nothing, so they are not in FILE.
final class RejectSink: Sendable {
    private struct State {
        var handle: FileHandle?
        var shown = 0
        var warnings = 0
        var buffer: [UInt8] = []
    }
    private let state: Mutex<State>
    static let shownOnStderr = 20

    init(path: String?) throws {
        var handle: FileHandle? = nil
        if let path {
            guard FileManager.default.createFile(atPath: path, contents: nil) , let h = FileHandle(forWritingAtPath: path) else {
                throw IngestError(.usage, "--rejects: cannot create \(path); check the directory exists and is writable")
            }
            handle = h
        }
        state = Mutex(State(handle: handle))
    }

    /// Writes one `FILE:LINE: what is wrong` line.
    func write(_ text: String) {
        let line = "\(text)\n"
        state.withLock { s in
            if s.shown < Self.shownOnStderr {
                FileHandle.standardError.write(Data(line.utf8))
            }
            s.shown += 1
            if s.handle != nil {
                s.buffer.append(contentsOf: line.utf8)
                if s.buffer.count > 1 << 16 {
                    s.handle?.write(Data(s.buffer))
                    s.buffer.removeAll(keepingCapacity: true)
                }
            }
        }
    }

    /// Writes one `FILE:LINE: warning: what is wrong` line (the first 20).
    func warn(_ text: String) {
        let show = state.withLock { s -> Bool in
            s.warnings += 1
            return s.warnings <= Self.shownOnStderr
        }
        if show { FileHandle.standardError.write(Data("\(text)\n".utf8)) }
    }

    func finish() {
        state.withLock { s in
            if s.shown > Self.shownOnStderr {
                let more = s.shown - Self.shownOnStderr
                let hint = s.handle == nil ? " (write them all with --rejects FILE)" : ""
                FileHandle.standardError.write(Data("… and \(more) more rejected entr\(more == 1 ? "y" : "ies")\(hint)\n".utf8))
            }
            if s.warnings > Self.shownOnStderr {
                let more = s.warnings - Self.shownOnStderr
                FileHandle.standardError.write(Data("… and \(more) more warning\(more == 1 ? "" : "s")\n".utf8))
            }
        }
    }

    func close() {
        state.withLock { s in
            if !s.buffer.isEmpty { s.handle?.write(Data(s.buffer)) }
            s.buffer.removeAll()
            try? s.handle?.close()
            s.handle = nil
        }
    }
}

/// Progress on stderr: a bar with rate and ETA on a terminal, a plain line every 5 s otherwise.
final class ProgressDisplay: Sendable {
    private struct State {
        var file = ""
        var size: Int64? = nil
        var started = ContinuousClock.now
        var lastDraw = ContinuousClock.now
        var drawn = false
    }
    private let state = Mutex(State())
    private let enabled: Bool
    private let tty: Bool

    init(enabled: Bool) {
        self.enabled = enabled
        tty = isatty(2) == 1
    }

    func note(_ text: String) {
        FileHandle.standardError.write(Data("\(text)\n".utf8))
    }

    func start(file: String, size: Int64?) {
        state.withLock { s in
            s = State()
            s.file = file
            s.size = size
        }
    }

    func update(_ p: Ingestor.Progress) {
        guard enabled else { return }
        let text: String? = state.withLock { s in
            let now = ContinuousClock.now
            let interval: Duration = tty ? .milliseconds(200) : .seconds(5)
            guard s.lastDraw.duration(to: now) >= interval else { return nil }
            s.lastDraw = now
            s.drawn = true
            let elapsed = max(s.started.duration(to: now).seconds, 0.001)
            let rate = Double(p.read) / elapsed
            var fraction: Double? = nil
            if let size = s.size, size > 0, p.bytesRead >= 0 { fraction = min(1, Double(p.bytesRead) / Double(size)) }
            var eta = ""
            if let f = fraction, f > 0.001 { eta = " ETA \(Self.clock(elapsed * (1 - f) / f))" }
            let counts = "\(p.read) read, \(p.appended) appended, \(p.duplicates) dup, \(p.rejected) rejected" + (p.warnings > 0 ? ", \(p.warnings) warnings" : "")
            if tty {
                let width = 24
                let filled = Int((fraction ?? 0) * Double(width))
                let bar = fraction.map { f in "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] \(Int(f * 100))% " } ?? ""
                return "\r\u{1B}[K\(p.phase) \(bar)\(counts) \(Self.rate(rate))/s\(eta)"
            }
            let percent = fraction.map { " (\(Int($0 * 100))%)" } ?? ""
            return "\(p.phase) \(s.file)\(percent): \(counts), \(Self.rate(rate))/s\(eta)\n"
        }
        if let text { FileHandle.standardError.write(Data(text.utf8)) }
    }

    func finish() {
        let clear = state.withLock { s -> Bool in
            defer { s.drawn = false }
            return s.drawn && tty
        }
        if clear && enabled { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }

    static func rate(_ r: Double) -> String {
        r >= 1_000_000 ? String(format: "%.2fM", r / 1e6) : r >= 1000 ? String(format: "%.1fk", r / 1e3) : String(Int(r))
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
    }
}

/// Caps glibc's per-thread malloc arenas at 2. The ingest pipeline allocates on four or five
/// threads (parser, pool, log writer, SQLite); with the default (8 per core) each keeps its own
/// free lists and peak RSS of a large ingest grows by about 12 MB for no speed gain (measured).
func limitMallocArenas() {
    #if os(Linux)
    _ = glibcMallopt(-8, 2)  // M_ARENA_MAX from <malloc.h>, which the Glibc module does not export
    #endif
}

#if os(Linux)
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif
