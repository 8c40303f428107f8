public import ChaparModels
public import Logging

/// Turns a batch of records from the event topics into delivery jobs: decode, look up customers
/// (one batched directory call), apply ``NotificationRules``, render each channel.
///
/// It performs no writes; the caller appends the jobs and commits offsets. One processor belongs to
/// one member task (it caches time zones), so it is a struct used without sharing.
public struct BatchProcessor: Sendable {
    private let directory: any CustomerDirectory
    private let renderer: any NotificationRendering
    /// The product renderer, when it is the one in use: jobs are then rendered straight into
    /// their record bytes. Any other renderer goes through ``RenderedContent``; the bytes are the same.
    private let fast: FastRenderer?

    /// A reference to the product renderer: handing it around per customer costs one retain, not a
    /// copy of the renderer's fields.
    private final class FastRenderer: Sendable {
        let renderer: MessageRenderer
        init(_ renderer: MessageRenderer) { self.renderer = renderer }
    }
    private var rules = NotificationRules()
    private let logger: Logger

    public init(directory: any CustomerDirectory, renderer: any NotificationRendering, logger: Logger) {
        self.directory = directory
        self.renderer = renderer
        self.fast = (renderer as? MessageRenderer).map(FastRenderer.init)
        self.logger = logger
    }

    /// What every job of one event shares.
    private struct JobFields {
        var event: Event
        var id: EventID
        var priority: Priority
        var kind: EventKind
        var account: String?
        var deadline: Timestamp?
        var source: EntryLocation?
        var createdAt: Timestamp
    }

    /// The product path: each channel's content is rendered into the record being written.
    /// Static, like `renderJobs`: called per customer from inside `process`, a method would copy `self`.
    private static func writeJobs(_ job: JobFields, _ customer: UnsafePointer<CustomerProfile>, _ sends: [(channel: Channel, notBefore: Timestamp?)],
                                  _ renderer: MessageRenderer, _ workspace: inout RenderWorkspace, _ writer: inout JobRecordWriter,
                                  _ outcome: inout BatchOutcome, _ logger: Logger) {
        workspace.memo.reset()
        // The templates first: a channel without one (or whose template cannot serve this event) is
        // skipped. Then one scope for the customer, borrowed by every job (a copy per job showed).
        workspace.templates.removeAll(keepingCapacity: true)
        var any = false
        for send in sends {
            do {
                let template = try renderer.jobTemplate(job.event, channel: send.channel, language: customer.pointee.language, &workspace)
                workspace.templates.append(template)
                any = any || template != nil
            } catch {
                logRenderFailure(job.id, send.channel, error, logger)
                workspace.templates.append(nil)
            }
        }
        func skip(_ channel: Channel) {
            outcome.skipped.append((job.id, Decision(customer: customer.pointee.id, channel: channel, outcome: .skip(.noTemplate))))
        }
        guard any else {
            for send in sends { skip(send.channel) }
            return
        }
        let scope: RenderScope
        do {
            scope = try renderer.scope(job.event, for: customer.pointee)
        } catch {
            for (i, send) in sends.enumerated() {
                if workspace.templates[i] != nil { logRenderFailure(job.id, send.channel, error, logger) }
                skip(send.channel)
            }
            return
        }
        let key = Array(customer.pointee.id.rawValue.utf8)
        for (i, send) in sends.enumerated() {
            guard let template = workspace.templates[i], let address = Self.address(customer.pointee.channels, send.channel) else {
                skip(send.channel)
                continue
            }
            writer.begin(event: job.id, customer: customer.pointee.id, channel: send.channel, priority: job.priority, kind: job.kind,
                         address: address, language: customer.pointee.language)
            renderer.writeContent(template, channel: send.channel, scope: scope, &workspace, into: &writer.json)
            outcome.jobs.append(writer.finish(createdAt: job.createdAt, notBefore: send.notBefore, deadline: job.deadline, account: job.account,
                                              source: job.source, key: key),
                                to: Lane(send.channel, job.priority))
        }
    }

    /// The customer's address on `channel` (without copying the whole preference).
    private static func address(_ channels: [ChannelPreference], _ channel: Channel) -> String? {
        for i in channels.indices where channels[i].channel == channel { return channels[i].address.value }
        return nil
    }

    /// Any other renderer: all of a customer's channels in one call, then each content encoded.
    private static func renderJobs(_ job: JobFields, _ customer: borrowing CustomerProfile, _ sends: [(channel: Channel, notBefore: Timestamp?)],
                                   _ renderer: any NotificationRendering, _ writer: inout JobRecordWriter, _ outcome: inout BatchOutcome,
                                   _ logger: Logger) {
        let customer = copy customer
        var contents: [RenderedContent?]
        do {
            contents = try renderer.render(job.event, for: customer, channels: sends.map(\.channel))
        } catch {
            // One channel's template could not be rendered: render them one by one so the
            // others still go out, and name the channel that failed.
            contents = sends.map { send -> RenderedContent? in
                do {
                    return try renderer.render(job.event, for: customer, channel: send.channel)
                } catch {
                    logRenderFailure(job.id, send.channel, error, logger)
                    return nil
                }
            }
        }
        let key = Array(customer.id.rawValue.utf8)
        for (send, content) in zip(sends, contents) {
            guard let content, let pref = customer.preference(for: send.channel) else {
                outcome.skipped.append((job.id, Decision(customer: customer.id, channel: send.channel, outcome: .skip(.noTemplate))))
                continue
            }
            writer.begin(id: JobID(event: job.id, customer: customer.id, channel: send.channel), event: job.id, customer: customer.id,
                         channel: send.channel, priority: job.priority, kind: job.kind, address: pref.address.value, language: customer.language)
            writer.content(content)
            outcome.jobs.append(writer.finish(createdAt: job.createdAt, notBefore: send.notBefore, deadline: job.deadline, account: job.account,
                                              source: job.source, key: key),
                                to: Lane(send.channel, job.priority))
        }
    }

    private static func logRenderFailure(_ event: EventID, _ channel: Channel, _ error: any Error, _ logger: Logger) {
        logger.error("cannot render an event; the channel is skipped", metadata: [
            "chapar.event": "\(event)", "chapar.channel": "\(channel)", "chapar.problem": "\(error)",
        ])
    }

    /// Processes `records`. Throws only when the customer directory fails (the batch is then retried);
    /// bad records and render problems are part of the outcome.
    public mutating func process(_ records: [ConsumerRecord], now: Timestamp) async throws -> BatchOutcome {
        var outcome = BatchOutcome()
        var events: [Event] = []
        events.reserveCapacity(records.count)
        var accounts = Set<AccountID>()
        var customerIDs = Set<CustomerID>()
        for record in records {
            do {
                let event = try EventCodec.decode(record.value)
                switch event {
                case .transaction(let t): accounts.insert(t.account)
                case .message(let m): customerIDs.insert(m.customer)
                }
                events.append(event)
            } catch {
                let position = RecordPosition(topic: record.topic, partition: record.partition, offset: record.offset, timestamp: record.timestamp)
                outcome.invalid.append((position, error.description))
                logger.error("skipping a record that is not a valid event", metadata: [
                    "chapar.topic": "\(record.topic)", "chapar.partition": "\(record.partition)",
                    "chapar.offset": "\(record.offset)", "chapar.problem": "\(error.description)",
                ])
            }
        }
        outcome.events = events.count
        let holders = accounts.isEmpty ? [:] : try await directory.customers(forAccounts: accounts)
        var addressees: [CustomerID: CustomerProfile] = [:]
        for id in customerIDs {
            if let c = try await directory.customer(id) { addressees[id] = c }
        }
        var decisions: [Decision] = []
        var workspace = RenderWorkspace()
        var writer = JobRecordWriter()
        var sends: [(channel: Channel, notBefore: Timestamp?)] = []
        let (fast, renderer, logger) = (self.fast, self.renderer, self.logger)
        for event in events {
            let customers: [CustomerProfile]
            let account: String?
            switch event {
            case .transaction(let t):
                customers = holders[t.account] ?? []
                account = t.account.masked
            case .message(let m):
                customers = addressees[m.customer].map { [$0] } ?? []
                account = nil
            }
            if customers.isEmpty {
                if case .transaction = event {
                    outcome.skipped.append((event.id, Decision(customer: nil, channel: nil, outcome: .skip(.noAccountHolder))))
                } else {
                    for decision in rules.decide(event, customers: [], now: now) { outcome.skipped.append((event.id, decision)) }
                }
                continue
            }
            let job = JobFields(event: event, id: event.id, priority: event.priority, kind: event.kind, account: account,
                                deadline: { if case .message(let m) = event { m.expiresAt } else { nil } }(), source: event.source, createdAt: now)
            customers.withUnsafeBufferPointer { customers in
                for index in customers.indices {
                    decisions.removeAll(keepingCapacity: true)
                    // The profile stays in the holders' array: passing it by value copied it (measured).
                    let profile = customers.baseAddress! + index  // index is within the non-empty buffer
                    rules.decide(event, customerAt: profile, now: now, into: &decisions)
                    sends.removeAll(keepingCapacity: true)
                    for decision in decisions {
                        if case .send(let notBefore) = decision.outcome, let channel = decision.channel {
                            sends.append((channel, notBefore))
                        } else {
                            outcome.skipped.append((event.id, decision))
                        }
                    }
                    guard !sends.isEmpty else { continue }
                    if let fast {
                        Self.writeJobs(job, profile, sends, fast.renderer, &workspace, &writer, &outcome, logger)
                    } else {
                        Self.renderJobs(job, customers[index], sends, renderer, &writer, &outcome, logger)
                    }
                }
            }
        }
        return outcome
    }
}
