public import ChaparModels
import Logging

/// Where a renderer writes the jobs of one event for one customer, and where a batch's jobs and
/// skips collect.
///
/// For each (event, customer) the pipeline lists the jobs the rules chose (``pending``, in channel
/// order), then calls ``NotificationRendering/writeJobs(_:for:into:)``, which settles each of
/// them by its index: ``write(_:forJobAt:)`` with the content, or ``skipJob(at:)`` when there is
/// nothing to send (reason `no-template`), after ``reportFailure(_:forJobAt:)`` if rendering failed.
/// One sink serves a whole batch and reuses its buffers from customer to customer.
public struct JobSink {
    /// A job the rules chose for the current customer.
    public struct Pending: Sendable {
        /// The channel to render for.
        public let channel: Channel
        /// The customer's address on that channel.
        let address: String
        /// Set when quiet hours defer the job.
        let notBefore: Timestamp?
    }

    /// The current customer's jobs, in channel order; renderers settle each by its index.
    public private(set) var pending: [Pending] = []

    /// What the batch turned into so far.
    var outcome = BatchOutcome()
    /// The record being written: between ``beginJob(at:)`` and ``finishJob(at:)`` the content goes
    /// into `writer.json`.
    var writer = JobRecordWriter()
    /// The product renderer's reused buffers and the templates it resolved for this batch.
    var workspace = RenderWorkspace()
    private let logger: Logger
    /// What every job of the current event shares (set by ``beginEvent(_:account:createdAt:)``).
    private var event: EventFields?
    /// Who the current jobs are for (set by ``beginCustomer(_:decisions:)``).
    private var customer: CustomerFields?

    private struct EventFields {
        var id: EventID
        var priority: Priority
        var kind: EventKind
        /// The masked account of a transaction.
        var account: String?
        /// A direct message's expiry.
        var deadline: Timestamp?
        var source: EntryLocation?
        var createdAt: Timestamp
    }

    private struct CustomerFields {
        var id: CustomerID
        var language: Language
        /// The records' key: the customer id's UTF-8 bytes, one array shared by their jobs.
        var key: [UInt8]
    }

    /// An empty sink for one batch; render failures are logged to `logger`.
    init(logger: Logger) {
        self.logger = logger
    }

    /// Starts the jobs of `event`, created at `createdAt`; `account` is the masked account of a transaction.
    mutating func beginEvent(_ event: Event, account: String?, createdAt: Timestamp) {
        let deadline: Timestamp?
        switch event {
        case .transaction: deadline = nil
        case .message(let m): deadline = m.expiresAt
        }
        self.event = EventFields(id: event.id, priority: event.priority, kind: event.kind, account: account, deadline: deadline,
                                 source: event.source, createdAt: createdAt)
    }

    /// Starts the current event's jobs for `customer` from the rules' `decisions` for them: a send
    /// becomes a ``Pending`` job, anything else a skip. Returns whether any job is pending.
    mutating func beginCustomer(_ customer: borrowing CustomerProfile, decisions: [Decision]) -> Bool {
        guard let eventID = event?.id else { preconditionFailure("JobSink: beginEvent comes before beginCustomer") }
        pending.removeAll(keepingCapacity: true)
        for decision in decisions {
            guard case .send(let notBefore) = decision.outcome, let channel = decision.channel else {
                outcome.skipped.append((eventID, decision))
                continue
            }
            guard let address = customer.channels.first(where: { $0.channel == channel })?.address.value else {
                preconditionFailure("the rules decided a send on \(channel), which the customer does not have")
            }
            pending.append(Pending(channel: channel, address: address, notBefore: notBefore))
        }
        guard !pending.isEmpty else { return false }
        self.customer = CustomerFields(id: customer.id, language: customer.language, key: Array(customer.id.rawValue.utf8))
        return true
    }

    /// Writes pending job `index` with `content` (what any ``NotificationRendering`` renders).
    public mutating func write(_ content: RenderedContent, forJobAt index: Int) {
        beginJob(at: index)
        writer.content(content)
        finishJob(at: index)
    }

    /// Skips pending job `index`: its channel has no template for the event, or rendering failed.
    public mutating func skipJob(at index: Int) {
        guard let event, let customer else { preconditionFailure("JobSink: a job is settled only after beginCustomer") }
        outcome.skipped.append((event.id, Decision(customer: customer.id, channel: pending[index].channel, outcome: .skip(.noTemplate))))
    }

    /// Logs that pending job `index` could not be rendered (a missing language variant or message
    /// variable, an unknown time zone); the renderer then skips it.
    public func reportFailure(_ error: any Error, forJobAt index: Int) {
        logger.error("cannot render an event; the channel is skipped", metadata: [
            "chapar.event": "\(event?.id.rawValue ?? "-")", "chapar.channel": "\(pending[index].channel)", "chapar.problem": "\(error)",
        ])
    }

    /// Starts pending job `index`'s record, up to its open `content` object in `writer.json`.
    mutating func beginJob(at index: Int) {
        guard let event, let customer else { preconditionFailure("JobSink: a job is written only after beginCustomer") }
        writer.begin(event: event.id, customer: customer.id, channel: pending[index].channel, priority: event.priority, kind: event.kind,
                     address: pending[index].address, language: customer.language)
    }

    /// Closes pending job `index`'s record and adds it to its lane.
    mutating func finishJob(at index: Int) {
        guard let event, let customer else { preconditionFailure("JobSink: a job is written only after beginCustomer") }
        let job = pending[index]
        let record = writer.finish(createdAt: event.createdAt, notBefore: job.notBefore, deadline: event.deadline, account: event.account,
                                   source: event.source, key: customer.key)
        outcome.jobs.append(record, to: Lane(job.channel, event.priority))
    }
}
