import ChaparConfig
import ChaparModels
import CustomerStore
import Delivery
import Dispatch
import EventLog
import Ingest
import Logging
import Notifier
import Synchronization

/// Everything the HTTP handlers and the sampler read: the running parts and the stores.
final class ServerState: Sendable {
    let layout: DataLayout
    let configuration: ChaparConfiguration
    let log: any MessageLog
    let store: CustomerStore
    let ledger: DeliveryLedger
    let ingest: IngestEndpoint
    let pools: [DeliveryPool]
    let notifier: NotifierService
    let telemetry: Telemetry
    let demo: DemoGateways?
    /// On the Kafka backend: shares customer changes with the other nodes.
    let customerSync: CustomerSync?
    let logger: Logger
    let started = ContinuousClock.now
    private let phase = Mutex(Phase.starting)

    enum Phase: String, Sendable {
        case starting, ready, stopping
    }

    init(layout: DataLayout, configuration: ChaparConfiguration, log: any MessageLog, store: CustomerStore, ledger: DeliveryLedger,
         ingest: IngestEndpoint, pools: [DeliveryPool], notifier: NotifierService, telemetry: Telemetry, demo: DemoGateways?,
         customerSync: CustomerSync? = nil, logger: Logger) {
        self.layout = layout
        self.configuration = configuration
        self.log = log
        self.store = store
        self.ledger = ledger
        self.ingest = ingest
        self.pools = pools
        self.notifier = notifier
        self.telemetry = telemetry
        self.demo = demo
        self.customerSync = customerSync
        self.logger = logger
    }

    var currentPhase: Phase { phase.withLock { $0 } }
    func markReady() { phase.withLock { if $0 == .starting { $0 = .ready } } }
    func markStopping() { phase.withLock { $0 = .stopping } }

    func pool(_ channel: Channel) -> DeliveryPool? { pools.first { $0.channel == channel } }

    /// The ledger's job counts as channel → status → count (off the cooperative pool).
    func ledgerCounts() async throws -> [String: [String: Int]] {
        let ledger = ledger
        let counts = try await Blocking.run { try ledger.counts() }
        var byChannel: [String: [String: Int]] = [:]
        for c in counts { byChannel[c.channel, default: [:]][c.status.rawValue] = c.count }
        return byChannel
    }
}

/// Runs SQLite calls (customer store, ledger queries) on Dispatch's threads, never on the
/// cooperative pool that serves requests and runs the pipeline.
enum Blocking {
    private static let queue = DispatchQueue(label: "chapar.server.blocking", qos: .userInitiated, attributes: .concurrent)

    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
            }
        }
    }
}
