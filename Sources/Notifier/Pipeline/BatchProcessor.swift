public import ChaparModels
public import Logging

/// Turns a batch of records from the event topics into delivery jobs: decode, look up customers
/// (one batched directory call), apply ``NotificationRules``, and have the renderer write each
/// chosen job (``NotificationRendering/writeJobs(_:for:into:)``).
///
/// It performs no writes; the caller appends the jobs and commits offsets. One processor belongs to
/// one member task (the rules cache time zones), so it is a struct used without sharing.
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
        var sink = JobSink(logger: logger)
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
                sink.outcome.invalid.append((position, error.description))
                logger.error("skipping a record that is not a valid event", metadata: [
                    "chapar.topic": "\(record.topic)", "chapar.partition": "\(record.partition)",
                    "chapar.offset": "\(record.offset)", "chapar.problem": "\(error.description)",
                ])
            }
        }
        sink.outcome.events = events.count
        let holders = accounts.isEmpty ? [:] : try await directory.customers(forAccounts: accounts)
        var addressees: [CustomerID: CustomerProfile] = [:]
        for id in customerIDs {
            if let c = try await directory.customer(id) { addressees[id] = c }
        }
        var decisions: [Decision] = []
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
                    sink.outcome.skipped.append((event.id, Decision(customer: nil, channel: nil, outcome: .skip(.noAccountHolder))))
                } else {
                    for decision in rules.decide(event, customers: [], now: now) { sink.outcome.skipped.append((event.id, decision)) }
                }
                continue
            }
            sink.beginEvent(event, account: account, createdAt: now)
            for customer in customers {
                decisions.removeAll(keepingCapacity: true)
                rules.decide(event, customer: customer, now: now, into: &decisions)
                if sink.beginCustomer(customer, decisions: decisions) {
                    renderer.writeJobs(event, for: customer, into: &sink)
                }
            }
        }
        return sink.outcome
    }
}
