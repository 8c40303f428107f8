import ArgumentParser
import ChaparDemo
import ChaparModels
import CustomerStore
import EventLog
import Foundation
import Notifier

/// `chapar bench notifier`: events through rules and templates into the durable lane topics.
struct NotifierBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notifier",
        abstract: "Notifier throughput: events through customer lookups, rules and templates into the durable lane topics.",
        discussion: """
            Loads --customers customers (2 accounts each, 70% Persian; channel mix: see --all-channels) into a fresh store, appends --events
            transaction events to a fresh durable log (Zipf-skewed accounts), then times the notifier group (--members) from
            the first poll until every event's jobs are durable and committed. Afterwards it checks that per account the
            jobs are in event order. Release build: swift build -c release.
            """)

    @Option(help: "Customers in the store.") var customers: Int = 1_000_000
    @Option(help: "Transaction events to process.") var events: Int = 1_000_000
    @Option(help: "Notifier members (default 4, as `chapar notify run`).") var members: Int = 4
    @Option(help: "Records per batch.") var batchSize: Int = 2_000
    @Option(help: "Log I/O threads (parallel fsyncs of the lane partitions).") var ioThreads: Int = 2
    @Option(name: .long, help: ArgumentHelp("Template directory (env CHAPAR_TEMPLATES).", valueName: "DIR"))
    var templates: String = ProcessInfo.processInfo.environment["CHAPAR_TEMPLATES"] ?? "./config/templates"
    @Option(help: "Directory for the benchmark files (removed afterwards).") var dir: String = "./chapar-bench-notifier.tmp"
    @Flag(help: "Give every customer SMS and email and a third of them IM (2.3 jobs per event) instead of the retail mix (SMS for all, 40% email, 20% IM, 2% fax: about 1.6).")
    var allChannels = false
    @Flag(help: "Print JSON.") var json = false

    struct Figures: Codable {
        var customers: Int
        var events: Int
        var members: Int
        var customerImportSeconds: Double
        var appendSeconds: Double
        var notifierSeconds: Double
        var eventsPerSecond: Double
        var jobs: Int
        var jobsPerEvent: Double
        var jobsPerSecond: Double
        var orderChecked: Int
        var orderViolations: Int
        var peakRSSMiB: Double
    }

    func validate() throws {
        guard customers >= 1, events >= 1, members >= 1, batchSize >= 1 else { throw ValidationError("counts must be at least 1") }
        guard !FileManager.default.fileExists(atPath: dir) else {
            throw ValidationError("\(dir) already exists; remove it or pass another --dir (the benchmark deletes its directory afterwards)")
        }
    }

    func run() async throws {
        try await CLIError.run {
            let renderer = MessageRenderer(catalog: try TemplateCatalog.load(directory: templates))
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let clock = ContinuousClock()

            // 1. Customers.
            var started = clock.now
            let store = try CustomerStore.open(path: DataLayout(dir).customers, logger: quietLogger())
            // One bulk import into the empty store (the fast path: no per-row replace checks).
            let imported = try store.importProfiles((1...customers).map { Self.profile($0, heavy: allChannels) })
            let importSeconds = (clock.now - started).seconds
            progress("customers: \(imported.customers) (\(imported.channels) channel preferences) in \(String(format: "%.1f", importSeconds)) s")

            // 2. Events, durable, keyed by account; ids carry a per-account sequence for the order check.
            let log = try EventLog.open(EventLog.Configuration(directory: dir + "/log", ioThreads: ioThreads, logger: quietLogger()))
            let directory = store.directory()
            let service = NotifierService(log: log, directory: directory, renderer: renderer,
                                          configuration: NotifierConfiguration(members: members, batchSize: batchSize,
                                                                               pollTimeout: .milliseconds(100)),
                                          logger: quietLogger())
            try await service.prepareTopics()
            started = clock.now
            var random = DemoCustomerRandom(seed: 42)
            var batch: [ProducerRecord] = []
            batch.reserveCapacity(5_000)
            let accounts = customers * 2
            for i in 0..<events {
                batch.append(EventCodec.record(.transaction(try Self.event(i, accounts: accounts, random: &random))))
                if batch.count == 5_000 {
                    _ = try await log.append(batch, to: Topics.transactions)
                    batch.removeAll(keepingCapacity: true)
                }
            }
            if !batch.isEmpty { _ = try await log.append(batch, to: Topics.transactions) }
            let appendSeconds = (clock.now - started).seconds
            progress("events: \(events) appended in \(String(format: "%.1f", appendSeconds)) s")

            // 3. The notifier group, timed until every event is processed and committed.
            started = clock.now
            let cpuBefore = processCPUSeconds()
            let runner = Task { try await service.run() }
            while service.statistics.events < events {
                try await Task.sleep(for: .milliseconds(5))
                if service.statistics.failedBatches > 0 { break }
            }
            let notifierSeconds = (clock.now - started).seconds
            let notifierCPU = processCPUSeconds() - cpuBefore
            progress("notifier: done in \(String(format: "%.1f", notifierSeconds)) s; checking the order of the jobs")
            runner.cancel()
            _ = await runner.result
            let stats = service.statistics
            guard stats.failedBatches == 0 else {
                throw CLIUsageFailure(code: 1, message: "the notifier failed \(stats.failedBatches) batches; rerun with --verbose")
            }

            // 4. Order: per lane topic, customer and account, event sequence numbers never go backwards.
            //    (A customer's two accounts may sit in different partitions; order is promised per account.)
            var checked = 0, violations = 0
            var last: [String: Int] = [:]
            for topic in try await log.listTopics() where topic.name.rawValue.hasPrefix("notify.") {
                for p in topic.partitions {
                    var next = p.startOffset
                    while next < p.endOffset {
                        let result = try await log.fetch(topic.name, partition: p.partition, from: next, limits: FetchLimits(maxRecords: 20_000))
                        for r in result.records {
                            let job = try JobCodec.decode(r.value)
                            let key = "\(topic.name)/\(job.customer)/\(job.account ?? "")"
                            let seq = Int(job.event.rawValue.dropFirst()) ?? 0
                            if let previous = last[key], previous > seq { violations += 1 }
                            last[key] = seq
                            checked += 1
                        }
                        next = result.nextOffset
                    }
                }
            }
            await log.close()
            let figures = Figures(
                customers: customers, events: events, members: members, customerImportSeconds: importSeconds,
                appendSeconds: appendSeconds, notifierSeconds: notifierSeconds, eventsPerSecond: Double(events) / notifierSeconds,
                jobs: stats.totalJobs, jobsPerEvent: Double(stats.totalJobs) / Double(events), jobsPerSecond: Double(stats.totalJobs) / notifierSeconds, orderChecked: checked,
                orderViolations: violations, peakRSSMiB: peakRSSMiB())
            if json {
                try printJSON(figures)
            } else {
                print(String(format: "notifier: %d events in %.2f s = %.0f events/s (target >= 100,000), %d jobs (%.2f per event) = %.0f jobs/s",
                             events, notifierSeconds, figures.eventsPerSecond, stats.totalJobs, figures.jobsPerEvent, figures.jobsPerSecond))
                print(String(format: "  CPU %.2f s (%.0f%% of %d cores), %.1f µs per event", notifierCPU, 100 * notifierCPU / notifierSeconds / Double(ProcessInfo.processInfo.activeProcessorCount),
                             ProcessInfo.processInfo.activeProcessorCount, notifierCPU * 1e6 / Double(events)))
                print("  members \(members), batch \(batchSize), customers \(customers) (import \(String(format: "%.1f", importSeconds)) s)")
                let lookups = directory.statistics
                print("  customer cache: \(lookups.hits) hits, \(lookups.misses) misses (read from SQLite)")
                print("  skipped: " + stats.skipped.map { "\($0.key.rawValue) \($0.value)" }.sorted().joined(separator: ", "))
                print("  order: \(checked) jobs checked, \(violations) out of order; peak RSS \(String(format: "%.0f", figures.peakRSSMiB)) MiB")
            }
            if violations > 0 { throw ExitCode(1) }
        }
    }

    private func progress(_ text: String) {
        if !json { FileHandle.standardError.write(Data("  \(text)\n".utf8)) }
    }

    /// The demo scheme shared with `chapar demo generate-customers`: account k is IR… with BBAN 0170 + k (18 digits).
    static func account(_ k: Int) -> AccountID {
        let digits = String(k)
        // A generated IBAN is always a valid AccountID.
        return try! AccountID(IBAN.make(country: "IR", bban: "0170" + String(repeating: "0", count: 18 - digits.count) + digits))
    }

    /// Event `i` of the benchmark, on one of the first `accounts` accounts. Zipf-like skew: a few
    /// accounts are very busy, most are quiet. Its id carries `i` for the order check.
    static func event(_ i: Int, accounts: Int, random: inout DemoCustomerRandom) throws -> TransactionEvent {
        let u = Double(random.next() % 1_000_000 + 1) / 1_000_001
        let n = min(accounts - 1, Int(pow(Double(accounts), u)) - 1)
        return TransactionEvent(
            id: try EventID("B\(i)"), account: account(n + 2), direction: i % 3 == 0 ? .credit : .debit,
            amount: Money(minorUnits: Int64(random.next() % 500_000_000) * 100 + 10_000, currency: .irr),
            balanceAfter: Money(minorUnits: Int64(random.next() % 9_000_000_000) * 100, currency: .irr),
            bookedAt: Timestamp(milliseconds: 1_774_000_000_000 + Int64(i) * 10), description: i % 2 == 0 ? "خرید از فروشگاه" : "Card purchase",
            originChannel: "pos")
    }

    /// Customer n of the benchmark. Channel mix: every customer has SMS; `heavy` gives everyone
    /// email too and a third IM (2.3 jobs per event); otherwise 40% email, 20% IM, 2% fax
    /// (about 1.6 jobs per event, closer to a retail bank's customers).
    static func profile(_ n: Int, heavy: Bool) -> CustomerProfile {
        let fa = n % 10 < 7
        // Generated values below are valid by construction (E.164, email, IM, ids).
        var channels = [
            ChannelPreference(channel: .sms, address: try! ContactAddress(.sms, "+98912" + String(1_000_000 + n % 9_000_000)),
                              minimumAmounts: n % 4 == 0 ? [.irr: 100_000_000] : [:], quietHours: n % 5 == 0 ? try! QuietHours(parsing: "23:00-06:00") : nil),
        ]
        if heavy || n % 5 < 2 { channels.append(ChannelPreference(channel: .email, address: try! ContactAddress(.email, "customer\(n)@example.com"))) }
        if n % 50 == 7 { channels.append(ChannelPreference(channel: .fax, address: try! ContactAddress(.fax, "+98215" + String(1_000_000 + n % 9_000_000)))) }
        if heavy ? n % 3 == 0 : n % 5 == 3 { channels.append(ChannelPreference(channel: .im, address: try! ContactAddress(.im, "telegram:\(100_000 + n)"))) }
        return CustomerProfile(id: try! CustomerID("C" + String(repeating: "0", count: max(0, 7 - String(n).count)) + String(n)),
                               name: fa ? "مشتری \(n)" : "Customer \(n)", language: fa ? .fa : .en,
                               timeZone: n % 20 == 0 ? "Europe/Berlin" : "Asia/Tehran",
                               accounts: [account(2 * n), account(2 * n + 1)], channels: channels)
    }
}

/// VmHWM of this process in MiB.
func peakRSSMiB() -> Double {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kb = Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else { return 0 }
    return kb / 1024
}

/// User + system CPU seconds of this process so far.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}
