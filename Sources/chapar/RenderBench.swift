import ArgumentParser
import ChaparDemo
import ChaparModels
import Foundation
import Logging
import Notifier

/// `chapar bench render`: template rendering and the notifier's job writing on one thread, no I/O.
struct RenderBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Rendering on one thread: messages per channel and language, then batches of events into job records (no I/O).",
        discussion: """
            (a) renders: a debit in Persian and English on each channel, and a Persian OTP on IM, each rendered --renders
                times through MessageRenderer.render (what `chapar notify preview` and other renderers' callers use);
            (b) jobs: --events transaction events (Zipf-skewed accounts, as `bench notifier`) over --customers customers held
                in memory, through BatchProcessor in batches of --batch-size: decode, rules, render, encode the job records.
                This is the notifier's CPU path without the customer store and the log.
            Each figure is printed as a wall-clock rate and per CPU-second (the machine may be shared).
            Release build: swift build -c release.
            """)

    @Option(help: "Renders per case in (a).") var renders: Int = 200_000
    @Option(help: "Events through the batch processor in (b).") var events: Int = 200_000
    @Option(help: "Customers held in memory for (b), 2 accounts each.") var customers: Int = 100_000
    @Option(help: "Records per batch in (b).") var batchSize: Int = 2_000
    @Flag(help: "In (b), give every customer SMS and email and a third of them IM instead of the retail mix (as `bench notifier`).")
    var allChannels = false
    @Option(name: .long, help: ArgumentHelp("Template directory (env CHAPAR_TEMPLATES).", valueName: "DIR"))
    var templates: String = ProcessInfo.processInfo.environment["CHAPAR_TEMPLATES"] ?? "./config/templates"
    @Flag(help: "Print JSON.") var json = false

    struct Case: Codable {
        var label: String
        var renders: Int
        var seconds: Double
        var rendersPerSecond: Double
        var rendersPerCPUSecond: Double
        /// UTF-8 bytes of what was rendered (a checksum that keeps the work from being optimized away).
        var bytes: Int
    }

    struct Jobs: Codable {
        var events: Int
        var customers: Int
        var jobs: Int
        var seconds: Double
        var eventsPerSecond: Double
        var eventsPerCPUSecond: Double
        var jobsPerCPUSecond: Double
        var cpuMicrosecondsPerEvent: Double
        var recordBytes: Int
    }

    struct Figures: Codable {
        var renders: [Case]
        var jobs: Jobs
    }

    func validate() throws {
        guard renders >= 1, events >= 1, customers >= 1, batchSize >= 1 else {
            throw ValidationError("--renders, --events, --customers and --batch-size must be at least 1")
        }
    }

    func run() async throws {
        try await CLIError.run {
            let renderer = MessageRenderer(catalog: try TemplateCatalog.load(directory: templates))
            var cases: [Case] = []
            for (label, event, customer, channel) in try Self.renderCases() {
                let figures = try Self.measure(label, renders, renderer, event, customer, channel)
                if !json {
                    print(String(format: "render %@: %d in %.3f s = %.0f renders/s, %.0f per CPU-second (%d bytes)",
                                 label, figures.renders, figures.seconds, figures.rendersPerSecond, figures.rendersPerCPUSecond, figures.bytes))
                }
                cases.append(figures)
            }
            let jobs = try await measureJobs(renderer)
            if json {
                try printJSON(Figures(renders: cases, jobs: jobs))
            } else {
                print(String(format: "jobs: %d events (%d customers) into %d job records in %.3f s = %.0f events/s; per CPU-second %.0f events, %.0f jobs; %.2f µs CPU per event (%d bytes)",
                             jobs.events, jobs.customers, jobs.jobs, jobs.seconds, jobs.eventsPerSecond, jobs.eventsPerCPUSecond,
                             jobs.jobsPerCPUSecond, jobs.cpuMicrosecondsPerEvent, jobs.recordBytes))
            }
        }
    }

    /// The (a) cases: a debit on every channel in both languages, and a Persian OTP on IM.
    static func renderCases() throws -> [(String, Event, CustomerProfile, Channel)] {
        let account = try AccountID("IR062960000000100324200001")
        let at = Timestamp(milliseconds: 1_774_087_200_000)  // 2026-03-21T10:00:00Z
        let maryam = CustomerProfile(id: try CustomerID("c-fa-1"), name: "مریم احمدی", language: .fa, timeZone: "Asia/Tehran", accounts: [account])
        let sara = CustomerProfile(id: try CustomerID("c-en-1"), name: "Sara Ahmadi", language: .en, timeZone: "Europe/London", accounts: [account])
        let debit = Event.transaction(TransactionEvent(
            id: try EventID("tx-debit-1"), account: account, direction: .debit, amount: Money(minorUnits: 1_250_000_000, currency: .irr),
            balanceAfter: Money(minorUnits: 4_873_000_000, currency: .irr), bookedAt: at, description: "خرید از فروشگاه",
            counterparty: "Snapp Market"))
        let otp = Event.message(DirectMessage(id: try EventID("msg-otp"), customer: maryam.id, kind: .security, template: "otp",
                                              variables: ["code": "482913"], createdAt: at, expiresAt: Timestamp(milliseconds: at.milliseconds + 120_000)))
        var cases: [(String, Event, CustomerProfile, Channel)] = []
        for channel in Channel.allCases {
            for customer in [maryam, sara] { cases.append(("\(customer.language) debit \(channel)", debit, customer, channel)) }
        }
        cases.append(("fa otp im", otp, maryam, .im))
        return cases
    }

    static func measure(_ label: String, _ count: Int, _ renderer: MessageRenderer, _ event: Event, _ customer: CustomerProfile,
                        _ channel: Channel) throws -> Case {
        func bytes(_ content: RenderedContent?) -> Int {
            switch content {
            case .sms(let text, _, _)?: text.utf8.count
            case .email(let subject, let text, let html)?: subject.utf8.count + text.utf8.count + html.utf8.count
            case .fax(let title, let lines)?: lines.reduce(title.utf8.count) { $0 + $1.utf8.count }
            case .im(let text, _)?: text.utf8.count
            case nil: 0
            }
        }
        guard bytes(try renderer.render(event, for: customer, channel: channel)) > 0 else {
            throw CLIUsageFailure(code: 1, message: "\(label): the templates render nothing for this case; check --templates")
        }
        var total = 0
        let clock = ContinuousClock()
        let started = clock.now
        let cpuBefore = processCPUSeconds()
        for _ in 0..<count { total &+= bytes(try renderer.render(event, for: customer, channel: channel)) }
        let cpu = processCPUSeconds() - cpuBefore
        let seconds = (clock.now - started).seconds
        return Case(label: label, renders: count, seconds: seconds, rendersPerSecond: Double(count) / seconds,
                    rendersPerCPUSecond: Double(count) / cpu, bytes: total)
    }

    /// (b): the events as consumer records, processed batch by batch after one untimed warm-up batch.
    func measureJobs(_ renderer: MessageRenderer) async throws -> Jobs {
        let directory = MemoryCustomerDirectory((1...customers).map { NotifierBench.profile($0, heavy: allChannels) })
        var random = DemoCustomerRandom(seed: 42)
        let now = Timestamp(milliseconds: 1_774_087_200_000)
        var records: [ConsumerRecord] = []
        records.reserveCapacity(events)
        for i in 0..<events {
            let record = EventCodec.record(.transaction(try NotifierBench.event(i, accounts: customers * 2, random: &random)))
            records.append(ConsumerRecord(topic: Topics.transactions, partition: PartitionID(0), offset: Offset(Int64(i)), timestamp: now,
                                          key: record.key.map { ArraySlice($0) }, value: ArraySlice(record.value), headers: record.headers))
        }
        var processor = BatchProcessor(directory: directory, renderer: renderer, logger: quietLogger())
        _ = try await processor.process(Array(records.prefix(batchSize)), now: now)

        var jobs = 0, recordBytes = 0
        let clock = ContinuousClock()
        let started = clock.now
        let cpuBefore = processCPUSeconds()
        for start in stride(from: 0, to: records.count, by: batchSize) {
            let outcome = try await processor.process(Array(records[start..<min(start + batchSize, records.count)]), now: now)
            jobs += outcome.jobs.count
            for lane in outcome.jobs.byTopic { for record in lane.records { recordBytes &+= record.value.count } }
        }
        let cpu = processCPUSeconds() - cpuBefore
        let seconds = (clock.now - started).seconds
        return Jobs(events: events, customers: customers, jobs: jobs, seconds: seconds, eventsPerSecond: Double(events) / seconds,
                    eventsPerCPUSecond: Double(events) / cpu, jobsPerCPUSecond: Double(jobs) / cpu,
                    cpuMicrosecondsPerEvent: cpu * 1e6 / Double(events), recordBytes: recordBytes)
    }
}

/// Customers held in memory: `bench render` measures the notifier's CPU path without the store.
private struct MemoryCustomerDirectory: CustomerDirectory {
    let byAccount: [AccountID: [CustomerProfile]]
    let byID: [CustomerID: CustomerProfile]

    init(_ customers: [CustomerProfile]) {
        var byAccount: [AccountID: [CustomerProfile]] = [:]
        for customer in customers { for account in customer.accounts { byAccount[account, default: []].append(customer) } }
        self.byAccount = byAccount
        byID = Dictionary(customers.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    func customers(forAccount account: AccountID) async throws -> [CustomerProfile] { byAccount[account] ?? [] }
    func customer(_ id: CustomerID) async throws -> CustomerProfile? { byID[id] }
    func customers(forAccounts accounts: Set<AccountID>) async throws -> [AccountID: [CustomerProfile]] {
        var out: [AccountID: [CustomerProfile]] = [:]
        for account in accounts { if let holders = byAccount[account] { out[account] = holders } }
        return out
    }
}
