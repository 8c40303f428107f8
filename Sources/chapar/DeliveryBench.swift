import ArgumentParser
import ChannelEmail
import ChannelSMS
import ChaparModels
import Delivery
import EventLog
import Foundation
import Synchronization

/// `chapar bench delivery`: SMS jobs from the durable lane topics through the delivery pool, the
/// http-sms adapter and the curl engine to a loopback HTTP sink; or (`--channel email`) email jobs
/// through the smtp adapter to a loopback aiosmtpd.
struct DeliveryBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delivery",
        abstract: "Delivery pool throughput, rate-limit accuracy and memory against a loopback HTTP SMS sink or SMTP server.",
        discussion: """
            Appends --jobs SMS jobs (10% urgent, 70% normal, 20% bulk, spread over --customers customers) to the
            notify.sms lane topics of a fresh durable log, then drains them the way `chapar deliver run` does: a
            DeliveryPool with its ledger and offset commits, the http-sms adapter, the curl engine, one gateway with
            --concurrency requests in flight. The sink is scripts/peers/http_sink.py, started here on 127.0.0.1 and
            stopped afterwards, or --sink-url.

            Modes:
              throughput  jobs/s from the pool's start until every job is sent, recorded and its offset committed;
                          beside it raw curl-multi requests/s (RawCurlBenchmark: --concurrency handles, the same body
                          and headers) to the same sink, measured before and after the pool; prints the ratio.
              rate        the gateway limited to --rate msg/s (burst --burst): the rate achieved over --duration
                          seconds after the initial burst, and its deviation from --rate.
              backlog     VmRSS sampled every second while draining --jobs (default 1,000,000): min and max after
                          --warmup seconds, and their ratio.
            --channel email: the same with email jobs (multipart text + HTML, Persian subjects) on the notify.email lanes,
            the smtp adapter, and aiosmtpd (scripts/peers/smtp.sh, answering 250 without storing unless --smtp-store)
            as the server; the raw figure is libcurl's multi interface sending the same message over SMTP.
            Build with -c release. The sink (Python) needs about one core: on a 2-core machine the pool gets the other.
            """)

    enum BenchChannel: String, ExpressibleByArgument, CaseIterable, Codable {
        case sms, email

        var channel: Channel { self == .sms ? .sms : .email }
    }

    enum Mode: String, ExpressibleByArgument, CaseIterable, Codable {
        case throughput, rate, backlog
    }

    @Option(help: "throughput, rate or backlog.") var mode: Mode = .throughput
    @Option(help: "sms (http-sms to an HTTP sink) or email (smtp to aiosmtpd).") var channel: BenchChannel = .sms
    @Flag(name: .customLong("smtp-store"), help: "email: the SMTP server writes every message to a Maildir (default: answer and count only).")
    var smtpStore = false
    @Option(help: "Jobs to append and drain (default: 300,000; backlog 1,000,000; rate enough for --duration).") var jobs: Int?
    @Option(help: "Requests in flight to the gateway (its max-in-flight), and the raw benchmark's handles.") var concurrency: Int = 64
    @Option(help: "rate mode: the gateway's rate limit in messages per second.") var rate: Double = 1000
    @Option(help: "rate mode: the rate limit's burst (default: one second's worth, as in the configuration file).") var burst: Double?
    @Option(help: "rate mode: seconds to measure the achieved rate over, after the initial burst.") var duration: Double = 30
    @Option(help: "backlog mode: seconds of RSS samples to leave out at the start.") var warmup: Double = 10
    @Option(help: "Distinct customers (one customer's jobs in a lane go out one at a time).") var customers: Int = 100_000
    @Option(help: "throughput mode: requests per raw curl-multi run (default: --jobs); 0 skips the raw runs.") var rawRequests: Int?
    @Option(help: "The pool's lane capacity (jobs held in memory per lane).") var laneCapacity: Int = PoolConfiguration().laneCapacity
    @Option(help: "The pool's records per fetch.") var fetchBatch: Int = PoolConfiguration().fetchBatch
    @Option(name: .customLong("sink-url"), help: ArgumentHelp("Send to this URL instead of starting the sink.", valueName: "URL"))
    var sinkURL: String?
    @Option(name: .customLong("sink-script"), help: ArgumentHelp("The sink script (default ./scripts/peers/http_sink.py).", valueName: "PATH"))
    var sinkScript: String?
    @Option(help: "Directory for the benchmark's log and ledger (removed afterwards).") var dir: String = "./chapar-bench-delivery.tmp"
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard concurrency >= 1, customers >= 1, laneCapacity >= 1, fetchBatch >= 1, (jobs ?? 1) >= 1, (rawRequests ?? 0) >= 0 else {
            throw ValidationError("--jobs, --concurrency, --customers, --lane-capacity and --fetch-batch must be at least 1")
        }
        guard rate > 0, (burst ?? 1) >= 1, duration > 0, warmup >= 0 else {
            throw ValidationError("--rate and --duration must be positive, --burst at least 1, --warmup at least 0")
        }
        if let sinkURL, channel == .sms {
            do { try URLCheck.http(sinkURL, key: "--sink-url") } catch { throw ValidationError(error.description) }
        }
        if let sinkURL, channel == .email, !sinkURL.hasPrefix("smtp://") {
            throw ValidationError("--sink-url \(sinkURL): with --channel email give smtp://HOST:PORT")
        }
        guard !FileManager.default.fileExists(atPath: dir) else {
            throw ValidationError("\(dir) already exists; remove it or pass another --dir (the benchmark deletes its directory afterwards)")
        }
    }

    // MARK: Figures

    struct Figures: Codable {
        struct Pool: Codable {
            /// Jobs divided by the seconds until the last one's offset was committed.
            var jobsPerSecond: Double
            var seconds: Double
            /// Seconds until the last job was accepted by the sink (before its final commit).
            var sentSeconds: Double?
            var accepted: Int
            var retries: Int
            var dead: Int
            var expired: Int
            /// Rows in the ledger with status `sent` afterwards.
            var ledgerSent: Int
            /// Requests the sink counted during the pool's run (nil with --sink-url).
            var sinkCounted: Int?
            var cpuSeconds: Double
            var cpuMicrosecondsPerJob: Double
            var sinkCPUPercent: Double?
        }
        struct Raw: Codable {
            var requests: Int
            var errors: Int
            /// Each run's requests/s: before and after the pool.
            var runs: [Double]
            var requestsPerSecond: Double
        }
        struct Rate: Codable {
            var target: Double
            var burst: Double
            var windowSeconds: Double
            var achieved: Double
            var deviationPercent: Double
            /// Slowest and fastest whole second inside the window.
            var slowestSecond: Double
            var fastestSecond: Double
        }
        struct RSS: Codable {
            var warmupSeconds: Double
            var samples: Int
            var minMiB: Double
            var maxMiB: Double
            var ratio: Double
            var beforeDrainMiB: Double
            var everySecondMiB: [Double]
        }
        var mode: Mode
        var channel: BenchChannel
        var jobs: Int
        var customers: Int
        var concurrency: Int
        var laneCapacity: Int
        var sinkURL: String
        var appendSeconds: Double
        var pool: Pool
        var raw: Raw?
        var ratio: Double?
        var rate: Rate?
        var rss: RSS?
        var peakRSSMiB: Double
    }

    // MARK: Running

    func run() async throws {
        try await CLIError.run {
            let jobCount = jobs ?? defaultJobs
            let burst = burst ?? max(1, rate)
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }

            let sink = try sinkURL == nil && channel == .sms ? BenchHTTPSink(script: BenchHTTPSink.locateScript(sinkScript)) : nil
            defer { sink?.stop() }
            let smtpSink = try sinkURL == nil && channel == .email
                ? BenchSMTPSink(script: BenchSMTPSink.locateScript(), directory: dir + "/smtp", store: smtpStore) : nil
            defer { smtpSink?.stop() }
            let url = sinkURL ?? sink.map { $0.baseURL + "/sms/send" } ?? smtpSink?.url ?? ""
            let engine = CurlEngine(configuration: .init(maxConnections: max(512, concurrency)))
            defer { engine.shutdown() }

            let log = try EventLog.open(EventLog.Configuration(directory: dir + "/data", logger: quietLogger()))
            let ledger = try DeliveryLedger.open(path: DataLayout(dir + "/data").ledger, logger: quietLogger())
            let adapter: any RequestResponseAdapter = channel == .sms
                ? HTTPSMSAdapter(name: "bench-sink", url: url)
                : SMTPAdapter(name: "bench-sink", configuration: .init(url: url, startTLS: false,
                                                                       from: Mailbox(name: "بانک نمونه", address: "alerts@bank.example")))
            let settings = GatewaySettings(name: "bench-sink", type: channel == .sms ? "http-sms" : "smtp", channel: channel.channel,
                                           rateLimit: mode == .rate ? .init(perSecond: rate, burst: burst) : nil, maxInFlight: concurrency)
            let pool = DeliveryPool(channel: channel.channel, log: log, ledger: ledger, transport: engine,
                                    gateways: [Gateway(settings: settings, adapter: adapter)],
                                    configuration: PoolConfiguration(laneCapacity: laneCapacity, fetchBatch: fetchBatch), logger: quietLogger())
            try await pool.prepareTopics()

            progress("appending \(jobCount) jobs to the notify.\(channel.rawValue) lanes in \(dir)")
            let (appendSeconds, sample) = try await appendJobs(jobCount, to: log)
            progress(String(format: "appended in %.1f s; sink %@, %d in flight", appendSeconds, url, concurrency))

            // The raw ceiling sends exactly what the adapter sends for a job (same URL, body and headers).
            let request = try adapter.request(for: sample, attempt: 1)
            let rawCount = mode == .throughput ? (rawRequests ?? jobCount) : 0
            var rawRuns: [RawCurlBenchmark.Result] = []
            if rawCount > 0 {
                rawRuns.append(await raw(request, requests: rawCount))
                progress(String(format: "raw curl-multi: %.0f requests/s", rawRuns[0].requestsPerSecond))
            }

            let sinkBefore = channel == .sms ? await sinkCount(engine, sink) : nil
            let rssBefore = residentMiB()
            let smtpCPU0 = smtpSink?.cpuSeconds()
            var drain = try await self.drain(pool, log: log, jobs: jobCount, window: mode == .rate ? (burst: burst, seconds: duration) : nil,
                                             sink: sink)
            drain.smtpCPUSeconds = smtpSink?.cpuSeconds().flatMap { end in smtpCPU0.map { end - $0 } }
            let sinkAfter = channel == .sms ? await sinkCount(engine, sink) : nil
            progress(String(format: "pool: %.0f jobs/s", Double(drain.stats.accepted) / drain.seconds))

            if rawCount > 0 {
                rawRuns.append(await raw(request, requests: rawCount))
                progress(String(format: "raw curl-multi again: %.0f requests/s", rawRuns[1].requestsPerSecond))
            }
            let ledgerSent = try ledger.counts().filter { $0.status == .sent }.reduce(0) { $0 + $1.count }
            ledger.close()
            await log.close()

            let s = drain.stats
            var counted = sinkBefore.flatMap { b in sinkAfter.map { $0 - b } }
            if let smtpSink, let stored = smtpSink.stop() {
                // The server counted the raw runs' messages too.
                counted = stored - rawRuns.reduce(0) { $0 + $1.requests - $1.errors }
            }
            var figures = Figures(
                mode: mode, channel: channel, jobs: jobCount, customers: customers, concurrency: concurrency, laneCapacity: laneCapacity, sinkURL: url,
                appendSeconds: appendSeconds,
                pool: .init(jobsPerSecond: Double(s.accepted) / drain.seconds, seconds: drain.seconds, sentSeconds: drain.sentSeconds,
                            accepted: s.accepted, retries: s.retries, dead: s.dead, expired: s.expired, ledgerSent: ledgerSent, sinkCounted: counted,
                            cpuSeconds: drain.cpuSeconds, cpuMicrosecondsPerJob: drain.cpuSeconds * 1e6 / Double(max(1, s.accepted)),
                            sinkCPUPercent: (drain.sinkCPUSeconds ?? drain.smtpCPUSeconds).map { 100 * $0 / drain.seconds }),
                peakRSSMiB: peakRSSMiB())
            if !rawRuns.isEmpty {
                let rates = rawRuns.map(\.requestsPerSecond)
                let mean = rates.reduce(0, +) / Double(rates.count)
                figures.raw = .init(requests: rawCount, errors: rawRuns.reduce(0) { $0 + $1.errors }, runs: rates, requestsPerSecond: mean)
                figures.ratio = figures.pool.jobsPerSecond / mean
            }
            if let window = drain.window {
                let achieved = Double(window.accepted) / window.seconds
                figures.rate = .init(target: rate, burst: burst, windowSeconds: window.seconds, achieved: achieved,
                                     deviationPercent: 100 * (achieved / rate - 1),
                                     slowestSecond: window.perSecond.min() ?? 0, fastestSecond: window.perSecond.max() ?? 0)
            }
            if mode == .backlog {
                let kept = drain.rss.filter { $0.at >= warmup }.map(\.mib)
                let lo = kept.min() ?? 0, hi = kept.max() ?? 0
                figures.rss = .init(warmupSeconds: warmup, samples: kept.count, minMiB: lo, maxMiB: hi, ratio: lo > 0 ? hi / lo : 0,
                                    beforeDrainMiB: rssBefore, everySecondMiB: drain.rss.map { ($0.mib * 10).rounded() / 10 })
            }
            try report(figures)
            // A bench that lost jobs measured something else: say so with the exit code.
            let complete = mode == .rate || (s.accepted == jobCount && ledgerSent == jobCount && (counted ?? jobCount) == jobCount)
            if !complete || figures.raw.map({ $0.errors > 0 }) == true { throw ExitCode(1) }
        }
    }

    private var defaultJobs: Int {
        switch mode {
        case .throughput: 300_000
        case .backlog: 1_000_000
        // Enough for the burst, the window and a margin, so the queue never runs dry while measuring.
        case .rate: Int(rate * (duration + 5) + (burst ?? rate)) + 1_000
        }
    }

    // MARK: The jobs

    /// Appends `count` SMS jobs to the lane topics in batches; returns the seconds it took and one job (for the raw body).
    private func appendJobs(_ count: Int, to log: EventLog) async throws -> (Double, DeliveryJob) {
        let clock = ContinuousClock()
        let started = clock.now
        let createdAt = Timestamp(milliseconds: Int64(Date().timeIntervalSince1970 * 1000))
        let lanes: [Priority] = [.urgent, .normal, .bulk]
        var batches: [[ProducerRecord]] = [[], [], []]
        var writer = JobRecordWriter()
        var sample: DeliveryJob?
        for i in 0..<count {
            // A multiplier coprime to the default 100,000 customers: consecutive jobs belong to different customers.
            let c = (i &* 7_919) % customers
            let lane = i % 10 == 0 ? 0 : (i % 10 < 3 ? 2 : 1)
            let customer = try CustomerID(Self.padded("C", c, width: 7))
            let persian = c % 10 < 7
            let address = channel == .sms ? Self.padded("+98912", c % 10_000_000, width: 7) : Self.padded("c", c, width: 7) + "@example.com"
            writer.begin(event: try EventID(Self.padded("E", i, width: 8)), customer: customer, channel: channel.channel, priority: lanes[lane],
                         kind: lane == 0 ? .security : .debit, address: address, language: persian ? .fa : .en)
            switch channel {
            case .sms: writer.content(persian ? Self.persianText : Self.englishText)
            case .email: writer.content(persian ? Self.persianEmail : Self.englishEmail)
            }
            let record = writer.finish(createdAt: createdAt, notBefore: nil, deadline: nil, account: "****1234", source: nil,
                                       key: Array(customer.rawValue.utf8))
            if sample == nil { sample = try JobCodec.decode(record.value) }
            batches[lane].append(record)
            if batches[lane].count == 5_000 {
                _ = try await log.append(batches[lane], to: Topics.jobs(channel.channel, lanes[lane]))
                batches[lane].removeAll(keepingCapacity: true)
            }
        }
        for lane in 0..<3 where !batches[lane].isEmpty {
            _ = try await log.append(batches[lane], to: Topics.jobs(channel.channel, lanes[lane]))
        }
        // count >= 1 (validated), so the first job set it.
        return ((clock.now - started).seconds, sample!)
    }

    private static let persianText = RenderedContent.sms(
        text: "برداشت ۱٬۲۵۰٬۰۰۰ ریال از حساب ****۱۲۳۴ در ۱۴۰۵/۰۹/۰۴ ساعت ۱۴:۰۵. مانده: ۲۳٬۴۰۰٬۰۰۰ ریال. بانک نمونه",
        encoding: "ucs2", segments: 2)
    private static let englishText = RenderedContent.sms(
        text: "Debit 1,250,000 IRR from ****1234 on 2026-11-25 14:05. Balance 23,400,000 IRR. Sample Bank", encoding: "gsm7", segments: 1)

    private static let persianEmail = RenderedContent.email(
        subject: "بانک نمونه: برداشت ۱٬۲۵۰٬۰۰۰ ریال از حساب ****۱۲۳۴",
        text: "مشتری گرامی،\nمبلغ ۱٬۲۵۰٬۰۰۰ ریال در ۱۴۰۵/۰۹/۰۴ ساعت ۱۴:۰۵ از حساب ****۱۲۳۴ برداشت شد.\nمانده: ۲۳٬۴۰۰٬۰۰۰ ریال.\nبانک نمونه",
        html: "<div dir=\"rtl\"><p>مشتری گرامی،</p><p>مبلغ <b>۱٬۲۵۰٬۰۰۰ ریال</b> در ۱۴۰۵/۰۹/۰۴ ساعت ۱۴:۰۵ از حساب ****۱۲۳۴ برداشت شد.</p><p>مانده: ۲۳٬۴۰۰٬۰۰۰ ریال.</p></div>")
    private static let englishEmail = RenderedContent.email(
        subject: "Sample Bank: debit of 1,250,000 IRR from ****1234",
        text: "Dear customer,\n1,250,000 IRR was debited from ****1234 on 2026-11-25 at 14:05.\nBalance: 23,400,000 IRR.\nSample Bank",
        html: "<p>Dear customer,</p><p><b>1,250,000 IRR</b> was debited from ****1234 on 2026-11-25 at 14:05.</p><p>Balance: 23,400,000 IRR.</p>")

    /// `prefix` and `n` with leading zeros to `width` digits.
    private static func padded(_ prefix: String, _ n: Int, width: Int) -> String {
        let digits = String(n)
        return prefix + String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    // MARK: The pool

    struct Drain {
        struct Window {
            var seconds: Double
            var accepted: Int
            var perSecond: [Double]
        }
        var seconds: Double
        var sentSeconds: Double?
        var stats: PoolStatistics
        var cpuSeconds: Double
        var sinkCPUSeconds: Double?
        var smtpCPUSeconds: Double?
        /// RSS every second since the pool started.
        var rss: [(at: Double, mib: Double)]
        var window: Window?
    }

    /// Runs the pool until every job is finished and committed, or (with `window`) until `window.seconds`
    /// have passed after the initial burst; samples RSS every second meanwhile.
    private func drain(_ pool: DeliveryPool, log: EventLog, jobs: Int, window: (burst: Double, seconds: Double)?,
                       sink: BenchHTTPSink?) async throws -> Drain {
        let clock = ContinuousClock()
        let ended = Latch()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            let cpu0 = processCPUSeconds(), sinkCPU0 = sink?.cpuSeconds()
            let started = clock.now
            group.addTask {
                defer { ended.set() }
                try await pool.run()
            }
            var seconds = 0.0, sentSeconds: Double?
            var rss: [(at: Double, mib: Double)] = []
            var measured: Drain.Window?
            var windowStart: (at: ContinuousClock.Instant, accepted: Int)?
            var lastSecond: (at: ContinuousClock.Instant, accepted: Int)?
            var perSecond: [Double] = []
            var nextSample = started
            var lastProgress = (at: started, finished: 0)
            // Read once: the environment getter copies the whole environment, every 5 ms otherwise.
            let trace = ProcessInfo.processInfo.environment["BENCH_TRACE"] != nil
            while !ended.isSet {
                try await Task.sleep(for: .milliseconds(5))
                let now = clock.now
                let stats = pool.statistics
                if trace, Int((now - started).seconds * 1000) % 100 < 6 {
                    FileHandle.standardError.write(Data("t=\(String(format: "%.1f", (now - started).seconds)) accepted=\(stats.accepted) held=\(stats.held) inFlight=\(stats.inFlight)\n".utf8))
                }
                let finished = stats.accepted + stats.dead + stats.expired + stats.deferred + stats.skippedAlreadyFinal + stats.invalidRecords
                if now >= nextSample {
                    rss.append(((now - started).seconds, residentMiB()))
                    nextSample += .seconds(1)
                }
                if finished > lastProgress.finished {
                    lastProgress = (now, finished)
                } else if now - lastProgress.at > .seconds(30) {
                    pool.stop()
                    throw CLIUsageFailure(code: 1, message: "the pool made no progress for 30 s (\(finished) of \(jobs) jobs finished); is the sink answering?")
                }
                if let window {
                    // The window opens once the burst is out (and not before 1 s, so the bucket is past its start).
                    if windowStart == nil, stats.accepted >= Int(window.burst), now - started >= .seconds(1) {
                        windowStart = (now, stats.accepted)
                        lastSecond = windowStart
                    }
                    guard let start = windowStart, var second = lastSecond else { continue }
                    if now - second.at >= .seconds(1) {
                        perSecond.append(Double(stats.accepted - second.accepted) / (now - second.at).seconds)
                        second = (now, stats.accepted)
                        lastSecond = second
                    }
                    if (now - start.at).seconds >= window.seconds {
                        measured = .init(seconds: (now - start.at).seconds, accepted: stats.accepted - start.accepted, perSecond: perSecond)
                        seconds = (now - started).seconds
                        break
                    }
                    if finished >= jobs {
                        pool.stop()
                        throw CLIUsageFailure(code: 1, message: "rate mode ran out of jobs before the window ended; pass a larger --jobs")
                    }
                } else if finished >= jobs {
                    if sentSeconds == nil { sentSeconds = (now - started).seconds }
                    if try await committedLag(log, pool) == 0 {
                        seconds = (clock.now - started).seconds
                        break
                    }
                }
            }
            let cpuSeconds = processCPUSeconds() - cpu0
            let sinkCPUSeconds = sink?.cpuSeconds().flatMap { end in sinkCPU0.map { end - $0 } }
            pool.stop()
            try await group.waitForAll()
            if seconds == 0 { throw CLIUsageFailure(code: 1, message: "the pool stopped before it finished") }
            return Drain(seconds: seconds, sentSeconds: sentSeconds, stats: pool.statistics, cpuSeconds: cpuSeconds,
                         sinkCPUSeconds: sinkCPUSeconds, smtpCPUSeconds: nil, rss: rss, window: measured)
        }
    }

    /// Set once, read from another task: says the pool's run has returned.
    private final class Latch: Sendable {
        private let state = Mutex(false)
        func set() { state.withLock { $0 = true } }
        var isSet: Bool { state.withLock { $0 } }
    }

    /// Records on the pool's lane topics not yet committed by its groups.
    private func committedLag(_ log: EventLog, _ pool: DeliveryPool) async throws -> Int64 {
        let topics = Set(pool.topics.map(\.rawValue))
        return try await log.listGroups().filter { $0.group.rawValue.hasPrefix("delivery.") }
            .flatMap(\.partitions).filter { topics.contains($0.topic.rawValue) }.reduce(Int64(0)) { $0 + $1.lag }
    }

    // MARK: Raw curl-multi and the sink

    /// One raw curl-multi run, on a thread of its own (it blocks while it runs).
    private func raw(_ request: TransferRequest, requests: Int) async -> RawCurlBenchmark.Result {
        let concurrency = concurrency
        return await withCheckedContinuation { continuation in
            let thread = Thread {
                if case .smtp(let envelope) = request.kind {
                    continuation.resume(returning: RawCurlBenchmark.runSMTP(
                        url: request.url, from: envelope.from, recipient: envelope.recipients.first ?? "", message: request.body,
                        requests: requests, concurrency: concurrency))
                    return
                }
                continuation.resume(returning: RawCurlBenchmark.run(url: request.url, requests: requests, concurrency: concurrency,
                                                                    body: request.body, headers: request.headers))
            }
            thread.name = "chapar-bench-raw"
            thread.start()
        }
    }

    /// Requests the started sink has counted so far (nil for an external sink).
    private func sinkCount(_ engine: CurlEngine, _ sink: BenchHTTPSink?) async -> Int? {
        guard let sink else { return nil }
        guard case .response(let r) = await engine.perform(TransferRequest(kind: .http(.get), url: sink.baseURL + "/count")), r.status == 200 else {
            return nil
        }
        return Int(r.bodyText())
    }

    // MARK: Output

    private func report(_ f: Figures) throws {
        if json { return try printJSON(f) }
        let email = f.channel == .email
        print("chapar bench delivery --mode \(mode.rawValue) --channel \(f.channel.rawValue): \(f.jobs) \(email ? "email" : "SMS") jobs, \(f.customers) customers, \(f.concurrency) in flight, lane capacity \(f.laneCapacity)")
        print(String(format: "  append to notify.%@ lanes %@ %.1f s", f.channel.rawValue, email ? "" : "  ", f.appendSeconds))
        let p = f.pool
        print(String(format: "  pool → %@ → curl       %10.0f jobs/s  (%d accepted in %.2f s; last accepted at %.2f s; CPU %.1f µs per job)",
                     email ? "smtp    " : "http-sms", p.jobsPerSecond, p.accepted, p.seconds, p.sentSeconds ?? p.seconds, p.cpuMicrosecondsPerJob))
        if let raw = f.raw, let ratio = f.ratio {
            print(String(format: "  raw curl-multi %@         %10.0f %@/s  (runs before/after: %@)", email ? "SMTP" : "    ", raw.requestsPerSecond,
                         email ? "messages" : "requests", raw.runs.map { String(format: "%.0f", $0) }.joined(separator: " / ")))
            print(String(format: "  pool / raw                   %10.2f  (%@)", ratio,
                         email ? "target: pool ≥ 2,000 messages/s" : "target ≥ 0.60; pool target ≥ 30,000 jobs/s"))
        }
        if let r = f.rate {
            print(String(format: "  rate limit %.0f/s (burst %.0f): achieved %.1f/s over %.1f s after the burst, deviation %+.2f%% (target ±5%%)",
                         r.target, r.burst, r.achieved, r.windowSeconds, r.deviationPercent))
            print(String(format: "  slowest / fastest second      %.0f / %.0f", r.slowestSecond, r.fastestSecond))
        }
        if let m = f.rss {
            print(String(format: "  RSS after %.0f s warm-up      min %.1f MiB, max %.1f MiB, max/min %.3f over %d samples (target ≤ 1.20)",
                         m.warmupSeconds, m.minMiB, m.maxMiB, m.ratio, m.samples))
            print(String(format: "  RSS before the drain         %.1f MiB; every second: %@", m.beforeDrainMiB,
                         m.everySecondMiB.map { String(format: "%.0f", $0) }.joined(separator: " ")))
        }
        print("  ledger: \(p.ledgerSent) sent" + (p.sinkCounted.map { "; sink counted \($0) requests" } ?? "")
              + "; retries \(p.retries), dead \(p.dead), expired \(p.expired)"
              + (p.sinkCPUPercent.map { String(format: "; sink CPU %.0f%% of a core", $0) } ?? "")
              + String(format: "; peak RSS %.0f MiB", f.peakRSSMiB))
    }

    private func progress(_ text: String) {
        if !json { FileHandle.standardError.write(Data("  \(text)\n".utf8)) }
    }
}

/// VmRSS of this process in MiB (0 where there is no /proc).
func residentMiB() -> Double { procStatusMiB("VmRSS") }

/// The process's peak resident set (VmHWM), in MiB.
func peakResidentMiB() -> Double { procStatusMiB("VmHWM") }

/// A `kB` line of /proc/self/status (`VmRSS`, `VmHWM`, …) in MiB; 0 where there is none.
private func procStatusMiB(_ key: String) -> Double {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = text.split(separator: "\n").first(where: { $0.hasPrefix(key + ":") }),
          let kb = Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") else { return 0 }
    return kb / 1024
}
