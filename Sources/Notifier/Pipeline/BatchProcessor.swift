public import ChaparModels
public import Logging

/// What one batch of event records turned into.
public struct BatchOutcome: Sendable {
    /// Jobs in event order (and, within an event, customer then channel order).
    public var jobs: [DeliveryJob] = []
    /// Decisions that made no job, with the event they concern.
    public var skipped: [(event: EventID, decision: Decision)] = []
    /// Records that are not valid events: logged and counted, never retried (they stay in the log).
    public var invalid: [(position: RecordPosition, problem: String)] = []
    /// Events decoded (valid records).
    public var events = 0
}

/// Turns a batch of records from the event topics into delivery jobs: decode, look up customers
/// (one batched directory call), apply ``NotificationRules``, render each channel.
///
/// It performs no writes; the caller appends the jobs and commits offsets. One processor belongs to
/// one member task (it caches time zones), so it is a struct used without sharing.
public struct BatchProcessor: Sendable {
    private let directory: any CustomerDirectory
    private let renderer: any NotificationRendering
    private var rules = NotificationRules()
    private let logger: Logger

    public init(directory: any CustomerDirectory, renderer: any NotificationRendering, logger: Logger) {
        self.directory = directory
        self.renderer = renderer
        self.logger = logger
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
        outcome.jobs.reserveCapacity(events.count * 2)
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
            if customers.isEmpty, case .transaction = event {
                outcome.skipped.append((event.id, Decision(customer: nil, channel: nil, outcome: .skip(.noAccountHolder))))
                continue
            }
            let decisions = rules.decide(event, customers: customers, now: now)
            var deadline: Timestamp?
            if case .message(let m) = event { deadline = m.expiresAt }
            // Decisions come grouped by customer; render each customer's channels in one call.
            var i = 0
            while i < decisions.count {
                let customerID = decisions[i].customer
                var j = i
                var sends: [(channel: Channel, notBefore: Timestamp?)] = []
                while j < decisions.count && decisions[j].customer == customerID {
                    if case .send(let notBefore) = decisions[j].outcome, let channel = decisions[j].channel {
                        sends.append((channel, notBefore))
                    } else {
                        outcome.skipped.append((event.id, decisions[j]))
                    }
                    j += 1
                }
                i = j
                guard !sends.isEmpty, let id = customerID, let customer = customers.first(where: { $0.id == id }) else { continue }
                var contents: [RenderedContent?]
                do {
                    contents = try renderer.render(event, for: customer, channels: sends.map(\.channel))
                } catch {
                    // One channel's template could not be rendered: render them one by one so the
                    // others still go out, and name the channel that failed.
                    contents = sends.map { send -> RenderedContent? in
                        do {
                            return try renderer.render(event, for: customer, channel: send.channel)
                        } catch {
                            logger.error("cannot render an event; the channel is skipped", metadata: [
                                "chapar.event": "\(event.id)", "chapar.channel": "\(send.channel)", "chapar.problem": "\(error)",
                            ])
                            return nil
                        }
                    }
                }
                for (send, content) in zip(sends, contents) {
                    guard let content, let pref = customer.preference(for: send.channel) else {
                        outcome.skipped.append((event.id, Decision(customer: customer.id, channel: send.channel, outcome: .skip(.noTemplate))))
                        continue
                    }
                    outcome.jobs.append(DeliveryJob(
                        id: JobID(event: event.id, customer: customer.id, channel: send.channel), event: event.id, customer: customer.id,
                        channel: send.channel, priority: event.priority, kind: event.kind, address: pref.address.value,
                        language: customer.language, content: content, createdAt: now, notBefore: send.notBefore, deadline: deadline,
                        account: account, source: event.source))
                }
            }
        }
        return outcome
    }
}
