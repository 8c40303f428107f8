public import ChaparModels
public import Logging
import Synchronization

/// One medium's worker pool: drains the channel's three lane topics (`notify.sms.urgent`,
/// `notify.sms`, `notify.sms.bulk`) through its gateways as fast as they allow and never faster,
/// and records the fate of every job in the ledger.
///
/// - Each lane topic is read by its own consumer group (`delivery.notify.sms.urgent`, …), and each
///   lane holds at most ``PoolConfiguration/laneCapacity`` jobs in memory; a full lane stops
///   fetching (memory stays flat whatever the backlog).
/// - The sender takes urgent jobs first, then normal, then bulk, under the same gateway limits.
/// - One customer's jobs in one lane go out one at a time, in order; a retry keeps its turn.
/// - A job already final in the ledger (e.g. `sent` before a crash) is skipped; a job past its
///   deadline is recorded `expired`; a job whose `notBefore` is far off is parked in the ledger's
///   schedule and its offset committed, so a quiet-hours backlog holds no memory.
/// - Offsets are committed only up to the contiguous prefix of finished jobs, after the ledger has
///   those jobs' outcomes (and after their dead letters are on `notify.dead`).
public final class DeliveryPool: Sendable {
    public let channel: Channel
    private let log: any MessageLog
    private let ledger: DeliveryLedger
    private let transport: any Transport
    /// The gateway chains, one per route (see ``Route``).
    public let routes: [Route]
    private let configuration: PoolConfiguration
    private let clock: any ChaparClock
    private let logger: Logger
    private let state: Mutex<PoolState>
    /// Wakes the sender (a job became ready, an attempt ended) and the fetchers (room freed).
    private let senderWake: Wakeup
    private let fetcherWake: [Wakeup]
    /// The gateways that are asked for their messages' fates later (``ReportPollingAdapter``), by
    /// name: found once here (not by a dynamic cast per accepted job), and each polled by its own task.
    private let polledGateways: [String: (settings: GatewaySettings, adapter: any ReportPollingAdapter)]

    /// Which jobs a gateway chain serves: every job of the channel (`scheme` nil), or the IM jobs
    /// whose address has this scheme (`telegram`, `matrix`, `webhook`).
    public struct Route: Sendable {
        public var scheme: String?
        public var router: GatewayRouter

        public init(scheme: String?, router: GatewayRouter) {
            self.scheme = scheme
            self.router = router
        }
    }

    /// A pool whose every job goes through one gateway chain (primary first, then failovers).
    public convenience init(channel: Channel, log: any MessageLog, ledger: DeliveryLedger, transport: any Transport, gateways: [Gateway],
                            configuration: PoolConfiguration = PoolConfiguration(), clock: any ChaparClock = SystemClock(),
                            logger: Logger = Logger(label: "chapar.delivery")) {
        self.init(channel: channel, log: log, ledger: ledger, transport: transport, routes: [(nil, gateways)],
                  configuration: configuration, clock: clock, logger: logger)
    }

    /// A pool with a gateway chain per address scheme (`nil` serves any address not matched otherwise).
    public init(channel: Channel, log: any MessageLog, ledger: DeliveryLedger, transport: any Transport, routes: [(scheme: String?, chain: [Gateway])],
                configuration: PoolConfiguration = PoolConfiguration(), clock: any ChaparClock = SystemClock(),
                logger: Logger = Logger(label: "chapar.delivery")) {
        self.channel = channel
        self.log = log
        self.ledger = ledger
        self.transport = transport
        self.routes = routes.map { Route(scheme: $0.scheme, router: GatewayRouter(chain: $0.chain, now: clock.uptime())) }
        state = Mutex(PoolState(routes: routes.count))
        self.configuration = configuration
        self.clock = clock
        var logger = logger
        logger[metadataKey: "chapar.channel"] = "\(channel)"
        self.logger = logger
        senderWake = Wakeup()
        fetcherWake = [Wakeup(), Wakeup(), Wakeup()]
        var polled: [String: (settings: GatewaySettings, adapter: any ReportPollingAdapter)] = [:]
        for gateway in routes.flatMap(\.chain) {
            if let adapter = gateway.adapter as? any ReportPollingAdapter { polled[gateway.name] = (gateway.settings, adapter) }
        }
        polledGateways = polled
    }

    /// The lane topics, urgent first.
    public var topics: [TopicName] { Priority.allCases.map { Topics.jobs(channel, $0) } }

    /// What happened so far, and what is held now.
    public var statistics: PoolStatistics {
        state.withLock { s in
            var stats = s.stats
            stats.held = s.held
            return stats
        }
    }

    /// Each gateway's state now (breaker, in-flight, tokens, counters, last error), route by route.
    public func gatewaySnapshots() -> [GatewaySnapshot] {
        let now = clock.uptime()
        return routes.flatMap { $0.router.snapshot(now: now) }
    }

    /// Creates the lane topics and `notify.dead` if they are missing.
    public func prepareTopics(partitions: Int = 4) async throws {
        for topic in topics + [Topics.dead] {
            do {
                _ = try await log.createTopic(topic, configuration: TopicConfiguration(partitions: topic == Topics.dead ? 1 : partitions))
            } catch let error as LogError where error.code == .topicExists {
                // Made by the notifier or an earlier run.
            }
        }
    }

    /// Runs the pool until the calling task is cancelled, then drains: stops fetching, lets
    /// in-flight attempts finish (up to ``PoolConfiguration/drainTimeout``), records their outcomes,
    /// commits, and leaves the groups. Jobs not finished are read again on the next start.
    public func run() async throws {
        try await prepareTopics()
        // The work runs in its own task so that cancelling the caller starts a drain instead of
        // cancelling in-flight transfers half-way; it is awaited right here.
        let work = Task { try await self.runUntilStopped() }
        try await withTaskCancellationHandler {
            try await work.value
        } onCancel: {
            self.stop()
        }
    }

    /// Starts the drain (idempotent).
    public func stop() {
        state.withLock { $0.stopping = true }
        senderWake.signal()
        for w in fetcherWake { w.signal() }
    }

    private var stopping: Bool { state.withLock { $0.stopping } }

    private func runUntilStopped() async throws {
        var joined: [any GroupMember] = []
        for topic in topics {
            joined.append(try await log.joinGroup(configuration.group(for: topic), topics: [topic],
                                                   options: GroupOptions(startPosition: configuration.startPosition,
                                                                         clientID: "delivery-\(channel)")))
        }
        let members = joined
        defer { logger.debug("delivery pool stopped") }
        var failure: (any Error)?
        await withTaskGroup(of: (any Error)?.self) { group in
            for lane in 0..<3 {
                let member = members[lane]
                group.addTask { await self.capture { try await self.fetch(lane: lane, member: member) } }
            }
            group.addTask { await self.capture { try await self.schedule() } }
            for (settings, adapter) in polledGateways.values {
                group.addTask { await self.capture { try await self.pollReports(settings, adapter) } }
            }
            group.addTask { await self.capture { try await self.commitPeriodically(members) } }
            group.addTask {
                await self.send()
                return nil
            }
            // The first task to end (a stop, or a failure) ends the pool: the others drain.
            for await error in group {
                if let error, failure == nil { failure = error }
                self.stop()
            }
        }
        // Everything stopped: record and commit what finished, then leave.
        do {
            try await commit(members)
        } catch {
            if failure == nil { failure = error }
        }
        // The lanes leave together: on Kafka each leave is a round trip to the group coordinator.
        await withTaskGroup(of: Void.self) { group in
            for member in members { group.addTask { await member.leave() } }
        }
        if let failure { throw failure }
    }

    private func capture(_ body: () async throws -> Void) async -> (any Error)? {
        do {
            try await body()
            return nil
        } catch {
            logger.error("delivery pool task failed; stopping the pool", metadata: ["chapar.problem": "\(error)"])
            return error
        }
    }

    /// Commits every `commitInterval`. A log that is unavailable for a while (Kafka brokers down)
    /// does not stop the pool: what could not be committed is kept and committed once it is back.
    private func commitPeriodically(_ members: [any GroupMember]) async throws {
        while await sleep(configuration.commitInterval) {
            do {
                try await commit(members)
            } catch let error as LogError where error.code == .unavailable {
                logger.warning("cannot commit delivery offsets: the log is unavailable; retrying at the next commit",
                               metadata: ["chapar.problem": "\(error.message)"])
            }
        }
    }

    // MARK: Fetching

    /// Free places a lane needs before its consumer fetches again. Under a backlog, fetching the
    /// handful of records that fit each time a job finishes cost a ledger lookup per handful; a
    /// lane waits instead until a quarter of it is free (it still holds three quarters).
    private var refillRoom: Int { max(1, min(configuration.fetchBatch, configuration.laneCapacity / 4)) }

    /// One lane's consumer: fetches while the lane has room, decides per job, commits periodically.
    private func fetch(lane: Int, member: any GroupMember) async throws {
        var lastHeartbeat = clock.uptime()
        while !stopping {
            let room = state.withLock { configuration.laneCapacity - $0.held[lane] }
            let now = clock.uptime()
            guard room >= refillRoom else {
                // Full, or nearly: keep the membership alive without taking records, and wait for room.
                if now - lastHeartbeat >= .seconds(1) {
                    _ = try await member.poll(maxRecords: 0, timeout: .zero)
                    lastHeartbeat = now
                }
                await fetcherWake[lane].wait(timeout: configuration.commitInterval)
                continue
            }
            let records: [ConsumerRecord]
            do {
                records = try await member.poll(maxRecords: min(room, configuration.fetchBatch), timeout: configuration.commitInterval)
            } catch let error as LogError where error.code == .closed {
                return
            }
            lastHeartbeat = clock.uptime()
            guard !records.isEmpty else { continue }
            try await admit(records, lane: lane)
        }
    }

    /// Decides what to do with freshly read records: skip, expire, defer to the schedule, or hold to send.
    private func admit(_ records: [ConsumerRecord], lane: Int) async throws {
        var decoded: [(ConsumerRecord, DeliveryJob?)] = []
        decoded.reserveCapacity(records.count)
        for r in records {
            do {
                decoded.append((r, try JobCodec.decode(r.value)))
            } catch {
                decoded.append((r, nil))
                logger.error("unreadable job record; moved to notify.dead", metadata: [
                    "chapar.topic": "\(r.topic)", "chapar.partition": "\(r.partition)", "chapar.offset": "\(r.offset)",
                    "chapar.problem": "\(error)"])
            }
        }
        let known = try await ledger.states(of: decoded.compactMap { $0.1?.id })
        let now = clock.now()
        var toHold: [HeldJob] = []
        var done: [(TopicPartition, Offset)] = []
        var counts = (deferred: 0, expired: 0, skipped: 0, invalid: 0)
        for (record, job) in decoded {
            let tp = TopicPartition(record.topic, record.partition)
            guard let job else {
                counts.invalid += 1
                state.withLock { $0.deadLetters.append(DeadLetter.record(unreadable: record, reason: "unreadable job record", at: now)) }
                done.append((tp, record.offset))
                continue
            }
            let prior = known[job.id]
            if let prior, prior.status.isFinal || prior.status == .scheduled {
                counts.skipped += 1
                done.append((tp, record.offset))
                continue
            }
            let value = Array(record.value)
            if let deadline = job.deadline, deadline <= now || (job.notBefore.map { $0 > deadline } ?? false) {
                counts.expired += 1
                ledger.submit(LedgerEntry(job: job, status: .expired, attempts: prior?.attempts ?? 0, at: now,
                                          reason: "deadline \(deadline) passed before it could be sent"))
                done.append((tp, record.offset))
                continue
            }
            if let notBefore = job.notBefore, notBefore.milliseconds - now.milliseconds > configuration.deferThreshold.milliseconds {
                counts.deferred += 1
                ledger.submit(LedgerEntry(job: job, status: .scheduled, attempts: prior?.attempts ?? 0, at: now,
                                          reason: "quiet hours", dueAt: notBefore, record: value))
                done.append((tp, record.offset))
                continue
            }
            guard let route = route(for: job) else {
                counts.invalid += 1
                let reason = "no gateway is configured for \(job.channel) addresses like \(AddressMask.mask(job.address))"
                ledger.submit(LedgerEntry(job: job, status: .dead, attempts: prior?.attempts ?? 0, at: now, reason: reason, record: value))
                state.withLock { $0.deadLetters.append(DeadLetter.record(job: job, value: value, reason: reason, attempts: 0, gateway: "", at: now)) }
                done.append((tp, record.offset))
                continue
            }
            toHold.append(HeldJob(job: job, record: value, origin: .log(tp, record.offset), attempts: prior?.attempts ?? 0, route: route,
                                  budgetFrom: prior?.budgetFrom ?? 0))
        }
        state.withLock { s in
            for r in records { s.trackers[lane].track(TopicPartition(r.topic, r.partition), r.offset) }
            for (tp, offset) in done { s.trackers[lane].finish(tp, offset) }
            for job in toHold {
                // Another copy of this job is already in hand (same id, so same customer, lane and
                // partition, at an earlier offset): this copy's offset is done, and the prefix still
                // waits for the first copy to finish.
                if s.heldIDs.contains(job.job.id), case .log(let tp, let offset) = job.origin {
                    s.trackers[lane].finish(tp, offset)
                    s.stats.skippedAlreadyFinal += 1
                    continue
                }
                s.admit(job)
            }
            s.stats.fetched += records.count
            s.stats.deferred += counts.deferred
            s.stats.expired += counts.expired
            s.stats.skippedAlreadyFinal += counts.skipped
            s.stats.invalidRecords += counts.invalid
        }
        if !toHold.isEmpty { senderWake.signal() }
    }

    // MARK: The schedule

    /// Moves due jobs from the ledger's schedule into the lanes (quiet hours over, replays).
    private func schedule() async throws {
        while !stopping {
            let rooms = state.withLock { s in (0..<3).map { configuration.laneCapacity - s.held[$0] } }
            let room = rooms.min() ?? 0
            if room > 0 {
                let taken = state.withLock { $0.scheduleTaken }
                let due = try await ledger.due(channel: channel, now: clock.now(), limit: min(room, configuration.fetchBatch), skipping: taken)
                var admitted = 0
                for (id, record) in due {
                    guard let job = try? JobCodec.decode(record), job.id == id else {
                        logger.error("unreadable scheduled job in the ledger; left in place", metadata: ["chapar.job": "\(id)"])
                        state.withLock { _ = $0.scheduleTaken.insert(id) }
                        continue
                    }
                    let known = try await ledger.states(of: [id])[id]
                    guard let route = route(for: job) else {
                        logger.error("no gateway for a scheduled job; left in the schedule", metadata: ["chapar.job": "\(id)"])
                        state.withLock { _ = $0.scheduleTaken.insert(id) }
                        continue
                    }
                    state.withLock { s in
                        s.scheduleTaken.insert(id)
                        s.admit(HeldJob(job: job, record: record, origin: .schedule, attempts: known?.attempts ?? 0, route: route,
                                        budgetFrom: known?.budgetFrom ?? 0))
                    }
                    admitted += 1
                }
                if admitted > 0 {
                    senderWake.signal()
                    continue
                }
            }
            await sleep(configuration.scheduleInterval)
        }
    }

    // MARK: Polled reports

    /// Asks a polled gateway, every ``ReportPollingAdapter/reportInterval``, about the jobs it
    /// accepted that have no final fate yet, and acts on the answers (see ``ReportPollingAdapter``).
    private func pollReports(_ settings: GatewaySettings, _ adapter: any ReportPollingAdapter) async throws {
        while await sleep(adapter.reportInterval) {
            let awaiting = try await ledger.awaitingReports(channel: channel, gateway: settings.name, limit: 500)
            guard !awaiting.isEmpty else { continue }
            let reports = await adapter.reports(for: awaiting.map(\.reference), via: transport)
            for job in awaiting {
                guard let report = reports[job.reference] else { continue }
                let at = clock.now()
                switch report.fate {
                case .delivered:
                    ledger.submit(DeliveryReport(job: job.id, at: at, gateway: settings.name, status: .delivered, detail: report.detail))
                case .failed(let retry):
                    // Kept as progress, not `failed`: the job is not over while it has attempts left.
                    ledger.submit(DeliveryReport(job: job.id, at: at, gateway: settings.name, status: nil, detail: "failed: \(report.detail)"))
                    var random = SystemRandomNumberGenerator()
                    let delay = retry ? settings.retry.delay(afterAttempt: job.attempts - job.budgetFrom, retryAfter: nil, using: &random) : nil
                    if let delay {
                        let due = Timestamp(milliseconds: at.milliseconds + delay.milliseconds)
                        if try await ledger.reschedule(job.id, due: due, at: at, reason: "\(settings.name) reported: \(report.detail); sending again") {
                            state.withLock { $0.stats.retries += 1 }
                        }
                    } else if let decoded = try? JobCodec.decode(job.record) {
                        let reason = retry ? "gave up after \(job.attempts) attempts: \(settings.name) reported: \(report.detail)"
                                           : "\(settings.name) reported: \(report.detail)"
                        logger.warning("delivery failed for good; moved to notify.dead", metadata: [
                            "chapar.job": "\(job.id)", "chapar.gateway": "\(settings.name)", "chapar.problem": "\(reason)"])
                        ledger.submit(LedgerEntry(job: decoded, status: .dead, attempts: job.attempts, at: at, gateway: settings.name,
                                                  lastResponse: report.detail, reason: reason, record: job.record))
                        state.withLock { s in
                            s.deadLetters.append(DeadLetter.record(job: decoded, value: job.record, reason: reason, attempts: job.attempts,
                                                                   gateway: settings.name, at: at))
                            s.stats.dead += 1
                        }
                    }
                }
            }
        }
    }

    // MARK: Sending

    /// The sender: takes the next job (urgent first) whenever a gateway may take a request, and
    /// starts its attempt. Attempts run concurrently up to the gateways' in-flight limits.
    private func send() async {
        await withDiscardingTaskGroup { group in
            while !stopping {
                var sent = false
                var wait: Duration?
                for route in routes.indices where state.withLock({ $0.hasReady(route: route) }) {
                    switch routes[route].router.acquire(now: clock.uptime()) {
                    case .send(let gateway):
                        guard let job = state.withLock({ s -> HeldJob? in
                            guard let job = s.takeReady(route: route) else { return nil }
                            s.stats.inFlight += 1
                            return job
                        }) else {
                            routes[route].router.release(gateway, verdict: .none, now: clock.uptime())
                            continue
                        }
                        group.addTask { await self.attempt(job, gateway: gateway) }
                        sent = true
                    case .busy:
                        break
                    case .wait(let delay):
                        wait = min(wait ?? delay, delay)
                    }
                }
                if sent { continue }
                // Nothing could go: wait for a job, a finished attempt, or the rate limit / breaker.
                await senderWake.wait(timeout: wait ?? .seconds(1))
            }
            // Draining: in-flight attempts finish on their own (bounded by their timeouts); ready
            // and waiting jobs stay unfinished and are read again after a restart.
            state.withLock { s in
                var left = s.takeAllReady()
                for (_, var queue) in s.waiting { while let job = queue.popFirst() { left.append(job) } }
                s.waiting.removeAll()
                for job in left { s.abandon(job) }
            }
        }
    }

    /// The route serving a job: the one for its address scheme, else the catch-all.
    private func route(for job: DeliveryJob) -> Int? {
        // Only the catch-all (every SMS pool): no need to read the address's scheme.
        if routes.count == 1 && routes[0].scheme == nil { return 0 }
        let scheme = job.address.firstIndex(of: ":").map { String(job.address[..<$0]) }
        return routes.firstIndex { $0.scheme != nil && $0.scheme == scheme } ?? routes.firstIndex { $0.scheme == nil }
    }

    /// One attempt of one job through `chain[gateway]`, and what follows from its outcome.
    private func attempt(_ held: HeldJob, gateway: Int) async {
        var held = held
        let router = routes[held.route].router
        let route = router.chain[gateway]
        let job = held.job
        let number = held.attempts + 1
        held.attempts = number
        let startedAt = clock.now()
        if let deadline = job.deadline, deadline <= startedAt {
            router.release(gateway, verdict: .none, now: clock.uptime())
            finish(held, status: .expired, at: startedAt, reason: "deadline \(deadline) passed before it could be sent")
            return
        }
        let t0 = clock.uptime()
        let result = await route.adapter.deliver(job, attempt: number, via: transport)
        let duration = clock.uptime() - t0
        let outcome = result.outcome, status = result.status
        let now = clock.uptime(), at = clock.now()
        let record = AttemptRecord(number: number, at: startedAt, gateway: route.name, outcome: outcome.name, status: status,
                                   response: outcome.text, durationMilliseconds: duration.seconds * 1000)
        if let observer = configuration.observer {
            let kind: AttemptOutcomeKind = switch outcome {
            case .accepted: .accepted
            case .rejected: .rejected
            case .retry: .retry
            }
            let latency: Duration? = kind == .accepted ? .milliseconds(max(0, at.milliseconds - job.createdAt.milliseconds)) : nil
            observer.attemptEnded(channel: channel, gateway: route.name, outcome: kind, attempt: duration, latency: latency)
        }
        switch outcome {
        case .accepted(let reference, let response):
            router.release(gateway, verdict: .healthy, outcome: "accepted", now: now)
            // A gateway that is asked for the fate later keeps the record with the row: a failure
            // it reports sends the job again (see reportPolling).
            let keep = reference != nil && !polledGateways.isEmpty && polledGateways[route.name] != nil
            ledger.submit(LedgerEntry(job: job, status: .sent, attempts: number, at: at, gateway: route.name, gatewayReference: reference,
                                      lastResponse: response, record: keep ? held.record : nil, attempt: record))
            finish(held, status: nil, at: at, counted: \.accepted)
        case .rejected(let reason):
            router.release(gateway, verdict: .healthy, outcome: "rejected", error: reason, now: now)
            dead(held, reason: reason, gateway: route.name, attempt: record, at: at)
        case .retry(let reason, let retryAfter, let gatewayFault):
            router.release(gateway, verdict: gatewayFault ? .fault : .none, outcome: "retry", error: reason, now: now)
            var random = SystemRandomNumberGenerator()
            guard let delay = route.settings.retry.delay(afterAttempt: number - held.budgetFrom, retryAfter: retryAfter, using: &random) else {
                dead(held, reason: "gave up after \(number) attempt\(number == 1 ? "" : "s"): \(reason)", gateway: route.name, attempt: record, at: at)
                return
            }
            if let deadline = job.deadline, at.milliseconds + delay.milliseconds > deadline.milliseconds {
                ledger.submit(LedgerEntry(job: job, status: .expired, attempts: number, at: at, gateway: route.name,
                                          lastResponse: reason, reason: "its deadline comes before the next attempt: \(reason)", attempt: record))
                finish(held, status: nil, at: at, counted: \.expired)
                return
            }
            ledger.submit(LedgerEntry(job: job, status: .retrying, attempts: number, at: at, gateway: route.name,
                                      lastResponse: reason, attempt: record))
            logger.debug("delivery attempt failed; retrying", metadata: [
                "chapar.job": "\(job.id)", "chapar.gateway": "\(route.name)", "chapar.attempt": "\(number)",
                "chapar.retry_in": "\(delay)", "chapar.problem": "\(reason)"])
            state.withLock { $0.stats.retries += 1 }
            // The job keeps its customer's turn while it backs off (later jobs of the customer wait).
            if await sleep(delay) {
                state.withLock { s in
                    s.stats.inFlight -= 1
                    s.requeue(held)
                }
                senderWake.signal()
            } else {
                state.withLock { s in
                    s.stats.inFlight -= 1
                    s.abandon(held)
                }
            }
        }
    }

    private func finish(_ held: HeldJob, status: JobStatus?, at: Timestamp, reason: String? = nil, counted: WritableKeyPath<PoolStatistics, Int>? = nil) {
        if let status {
            ledger.submit(LedgerEntry(job: held.job, status: status, attempts: held.attempts, at: at, reason: reason))
        }
        let room = state.withLock { s in
            s.stats.inFlight -= 1
            if let counted { s.stats[keyPath: counted] += 1 } else if status == .expired { s.stats.expired += 1 }
            s.finish(held)
            return configuration.laneCapacity - s.held[held.lane]
        }
        senderWake.signal()
        if room >= refillRoom { fetcherWake[held.lane].signal() }
    }

    /// Gives a job up: ledger `dead` (keeping its record for replay) and a dead letter on `notify.dead`.
    private func dead(_ held: HeldJob, reason: String, gateway: String, attempt: AttemptRecord, at: Timestamp) {
        logger.warning("delivery failed for good; moved to notify.dead", metadata: [
            "chapar.job": "\(held.job.id)", "chapar.gateway": "\(gateway)", "chapar.attempts": "\(held.attempts)", "chapar.problem": "\(reason)"])
        ledger.submit(LedgerEntry(job: held.job, status: .dead, attempts: held.attempts, at: at, gateway: gateway,
                                  lastResponse: attempt.response, reason: reason, record: held.record, attempt: attempt))
        state.withLock { s in
            s.deadLetters.append(DeadLetter.record(job: held.job, value: held.record, reason: reason, attempts: held.attempts, gateway: gateway, at: at))
            s.stats.dead += 1
        }
        finish(held, status: nil, at: at)
    }

    // MARK: Committing

    /// Flushes the ledger, appends pending dead letters, then commits each lane's finished prefix.
    /// Only the committer task and the final drain call this, never concurrently.
    private func commit(_ members: [any GroupMember]) async throws {
        let (offsets, letters, scheduled) = state.withLock { s in
            let offsets = (0..<3).map { s.trackers[$0].takeCommitable() }
            let letters = s.deadLetters
            s.deadLetters.removeAll()
            let scheduled = s.scheduleFinished
            s.scheduleFinished.removeAll()
            return (offsets, letters, scheduled)
        }
        guard offsets.contains(where: { !$0.isEmpty }) || !letters.isEmpty || !scheduled.isEmpty else { return }
        var committed = [false, false, false]
        defer {
            // Offsets not committed are given back for the next commit.
            state.withLock { s in for lane in 0..<3 where !committed[lane] { s.trackers[lane].restore(offsets[lane]) } }
        }
        try await ledger.flush()
        if !letters.isEmpty {
            do {
                _ = try await log.append(letters, to: Topics.dead)
            } catch {
                // Kept for the next commit. The offsets taken now are not committed: a later commit
                // covers them once the letters are written (or a restart reads those jobs again,
                // finds them dead in the ledger and skips them).
                state.withLock { $0.deadLetters.insert(contentsOf: letters, at: 0) }
                throw error
            }
        }
        if !scheduled.isEmpty {
            state.withLock { s in for id in scheduled { s.scheduleTaken.remove(id) } }
        }
        for lane in 0..<3 where !offsets[lane].isEmpty {
            do {
                try await members[lane].commit(offsets[lane])
            } catch let error as LogError where error.code == .notPartitionOwner {
                // A rebalance moved these partitions (another node joined, or this member was
                // slow): their new owner reads from the group's last commit and may deliver some
                // of these jobs again, with the same job ids. Nothing is lost; the pool goes on.
                logger.warning("delivery offsets not committed: the partitions moved to another member",
                               metadata: ["chapar.problem": "\(error.message)"])
            }
            committed[lane] = true
        }
    }

    /// Sleeps up to `duration`, waking early on a stop; returns false if the pool is stopping.
    @discardableResult
    private func sleep(_ duration: Duration) async -> Bool {
        var left = duration
        while left > .zero {
            if stopping { return false }
            let step = min(left, .milliseconds(100))
            try? await Task.sleep(for: step)
            left -= step
        }
        return !stopping
    }
}

extension AttemptOutcome {
    var name: String {
        switch self {
        case .accepted: "accepted"
        case .retry: "retry"
        case .rejected: "rejected"
        }
    }

    var text: String {
        switch self {
        case .accepted(_, let response): response
        case .retry(let reason, _, _): reason
        case .rejected(let reason): reason
        }
    }
}
