import ArgumentParser
import ChaparModels
import CustomerStore
import Dispatch
import EventLog
import Foundation
import Logging
import Notifier

/// `chapar notify …`: run the notifier group on its own, and preview renders.
struct NotifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notify",
        abstract: "The notifier: run its consumer group, or preview what a customer would receive.",
        subcommands: [Run.self, Preview.self]
    )

    /// Where templates live: --templates, $CHAPAR_TEMPLATES, or ./config/templates.
    struct TemplateOptions: ParsableArguments {
        @Option(name: .long, help: ArgumentHelp("Template directory (env CHAPAR_TEMPLATES).", valueName: "DIR"))
        var templates: String = ProcessInfo.processInfo.environment["CHAPAR_TEMPLATES"] ?? "./config/templates"

        func renderer() throws -> MessageRenderer {
            MessageRenderer(catalog: try TemplateCatalog.load(directory: templates))
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the notifier consumer group until SIGINT/SIGTERM (or until idle with --until-idle).",
            discussion: """
                Reads `transactions` and `messages`, applies each customer's preferences and writes jobs to the
                notify.<channel>[.urgent|.bulk] topics; offsets are committed only after the jobs are durable.
                Templates are checked at start: a bad template stops it with FILE:LINE before any event is read.
                """)
        @OptionGroup var options: DataDirOptions
        @OptionGroup var templateOptions: TemplateOptions
        @Option(help: "Customer database (default DATA_DIR/customers.sqlite).") var database: String?
        @Option(help: "Concurrent members in this process (two per core keep the cores busy while others wait for fsyncs).") var members: Int = 4
        @Option(help: "Records per batch (per append and commit).") var batchSize: Int = 2_000
        @Option(help: "Exit once every event is processed and none arrived for this many seconds.") var untilIdle: Double?

        func validate() throws {
            guard members >= 1, batchSize >= 1 else { throw ValidationError("--members and --batch-size must be at least 1") }
        }

        func run() async throws {
            try await CLIError.run {
                let renderer = try templateOptions.renderer()
                // A mistyped path must not become an empty store: every pending event would then be
                // committed as "no account holder" and its notifications lost.
                let path = database ?? DataLayout(options.dataDir).customers
                guard FileManager.default.fileExists(atPath: path) else {
                    throw CLIUsageFailure(code: 66, message: "no customer database at \(path); import customers first (`chapar customers import FILE.csv`) or pass --database")
                }
                let store = try CustomerStore.open(path: path, logger: cliLogger(options.verbose))
                let directory = store.directory()
                defer { directory.close() }
                try await options.withLog { log in try await withIngestEndpoint(options, log: log) {
                    let service = NotifierService(
                        log: log, directory: directory, renderer: renderer,
                        configuration: NotifierConfiguration(members: members, batchSize: batchSize),
                        logger: cliLogger(options.verbose, label: "chapar.notifier"))
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask { try await service.run() }
                        // A signal always stops it gracefully, also in --until-idle mode.
                        group.addTask { await waitForTerminationSignal() }
                        if let untilIdle { group.addTask { try await waitUntilIdle(log, service, seconds: untilIdle) } }
                        // Whichever ends first (a signal, idleness, or a failure) stops the other.
                        try await group.next()
                        group.cancelAll()
                        try await group.waitForAll()
                    }
                    let s = service.statistics
                    let jobs = Channel.allCases.map { "\($0) \(s.jobs[$0] ?? 0)" }.joined(separator: ", ")
                    let skipped = s.skipped.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue) \($0.value)" }.joined(separator: ", ")
                    if s.failedBatches > 0 {
                        FileHandle.standardError.write(Data("notifier: \(s.failedBatches) batch(es) failed and were retried; see the errors above\n".utf8))
                    }
                    FileHandle.standardError.write(Data("notifier: \(s.events) events, jobs: \(jobs); skipped: \(skipped.isEmpty ? "none" : skipped); invalid records \(s.invalidRecords)\n".utf8))
                } }
            }
        }
    }

    struct Preview: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show what each channel would send a customer for an event, and why a channel would be skipped.",
            discussion: """
                --event takes a file or inline JSON in the record format of docs/events.md, e.g.
                '{"type":"transaction","id":"T1","account":"IR…","direction":"debit","amount":1250000000,"currency":"IRR","bookedAt":1774000000000}'
                or '{"type":"message","id":"M1","customer":"C0000001","kind":"security","template":"otp","variables":{"code":"4821"},"createdAt":1774000000000}'.
                Quiet hours are evaluated at the current time (or --at, UTC milliseconds).
                """)
        @OptionGroup var options: DataDirOptions
        @OptionGroup var templateOptions: TemplateOptions
        @Option(help: "Customer database (default DATA_DIR/customers.sqlite).") var database: String?
        @Option(help: "The customer to preview for.") var customer: String
        @Option(help: "The event: a JSON file, or the JSON itself.") var event: String
        @Option(help: "Evaluate quiet hours and expiry at this time (UTC milliseconds).") var at: Int64?
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await CLIError.run {
                let id = try CustomerID(customer)
                let text = event.hasPrefix("{") ? event : try readEventFile(event)
                let parsed = try EventCodec.decode(Array(text.utf8))
                let renderer = try templateOptions.renderer()
                let store = try CustomerStore.open(path: database ?? DataLayout(options.dataDir).customers, logger: cliLogger(options.verbose))
                let directory = store.directory()
                defer { directory.close() }
                guard let profile = try await directory.customer(id) else {
                    throw CLIUsageFailure(code: 66, message: "no customer \(id); list them with `chapar customers list`")
                }
                if case .transaction(let t) = parsed, !profile.accounts.contains(t.account) {
                    FileHandle.standardError.write(Data("note: \(id) does not hold account \(t.account.masked); showing the render anyway\n".utf8))
                }
                let now = at.map { Timestamp(milliseconds: $0) } ?? SystemClock().now()
                let rows = try NotificationPreview.rows(for: parsed, customer: profile, renderer: renderer, now: now, formatTime: iso)
                if json {
                    try printJSON(rows)
                } else {
                    for row in rows {
                        print("== \(row.channel): \(row.outcome)" + (row.lane.map { " (\($0) → \(row.address ?? ""))" } ?? ""))
                        if let r = row.rendered { print(r) }
                    }
                }
            }
        }

        private func readEventFile(_ path: String) throws -> String {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw CLIUsageFailure(code: 66, message: "cannot read event file \(path); pass a JSON file or the JSON itself")
            }
            return String(decoding: data, as: UTF8.self)
        }
    }
}

/// A failure with an explicit exit code and message, for conditions no module error describes.
struct CLIUsageFailure: CLIReportable {
    var code: Int32
    var message: String
    var exitCode: Int32 { code }
    var cliMessage: String { message }
}

extension NotifierError: CLIReportable {
    var exitCode: Int32 {
        switch code {
        case .template, .configuration: 65
        case .render: 65
        case .storage: 74
        }
    }
    var cliMessage: String { message }
}

func cliLogger(_ verbose: Bool, label: String = "chapar") -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = verbose ? .debug : .warning
    return logger
}

func iso(_ t: Timestamp) -> String {
    let f = ISO8601DateFormatter()
    return f.string(from: Date(timeIntervalSince1970: Double(t.milliseconds) / 1000))
}

/// SIGINT and SIGTERM turned into a graceful shutdown. Install it before the process says it is
/// running: a signal between that line and the handler would otherwise kill it (exit 143).
final class TerminationSignal: Sendable {
    private let sources = SignalSources()
    private let stream: AsyncStream<Void>

    init() {
        let sources = sources
        stream = AsyncStream<Void>(bufferingPolicy: .bufferingNewest(1)) { continuation in
            for sig in [SIGINT, SIGTERM] {
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                source.setEventHandler { continuation.yield() }
                source.resume()
                sources.add(source)
            }
        }
    }

    /// Returns when the process receives SIGINT or SIGTERM.
    func wait() async {
        for await _ in stream { break }
        sources.cancelAll()
        // A second Ctrl-C while shutting down ends the process at once.
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}

/// Returns when the process receives SIGINT or SIGTERM (graceful shutdown).
func waitForTerminationSignal() async {
    await TerminationSignal().wait()
}

/// Dispatch signal sources kept alive while waiting.
/// Safe to share: the array is only touched under the lock, and `cancel()` is thread-safe.
final class SignalSources: @unchecked Sendable {
    private let lock = NSLock()
    private var sources: [any DispatchSourceSignal] = []
    func add(_ source: any DispatchSourceSignal) { lock.withLock { sources.append(source) } }
    func cancelAll() { lock.withLock { for s in sources { s.cancel() }; sources.removeAll() } }
}

/// Returns once the notifier group has no lag and no event arrived for `seconds`.
func waitUntilIdle(_ log: EventLog, _ service: NotifierService, seconds: Double) async throws {
    var lastEvents = -1
    var quietSince = ContinuousClock.now
    while !Task.isCancelled {
        try await Task.sleep(for: .milliseconds(100))
        // Batches that keep failing (an unreadable store) never drain the lag: give up rather than hang.
        // (Only in --until-idle mode; a long-running notifier keeps retrying.)
        if service.statistics.failedBatches >= 10 {
            throw CLIUsageFailure(code: 74, message: "the notifier failed \(service.statistics.failedBatches) batches while draining; stopping (see the errors above)")
        }
        let events = service.statistics.events
        let groups = try await log.listGroups().filter { $0.group == "notifier" || $0.group == "notifier.urgent" }
        let lag = groups.flatMap(\.partitions).reduce(Int64(0)) { $0 + $1.lag }
        if events != lastEvents || lag > 0 || groups.isEmpty {
            lastEvents = events
            quietSince = ContinuousClock.now
        } else if ContinuousClock.now - quietSince >= .milliseconds(Int64(seconds * 1000)) {
            return
        }
    }
}
