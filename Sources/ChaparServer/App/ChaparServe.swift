import ChaparConfig
import ChaparModels
import CustomerStore
import Delivery
import EventLog
import Foundation
import Hummingbird
import Ingest
import Logging
import NIOCore
import Notifier
import ServiceLifecycle
import Synchronization
import UnixSignals

/// `chapar serve`: the whole pipeline in one process.
///
/// Storage opens first (the log, which takes the data directory's lock; the customer store; the
/// delivery ledger; the ingest endpoint), then one `ServiceGroup` runs, in start order: the
/// delivery pools, the notifier group, the demo's transaction stream, the telemetry sampler and the
/// HTTP server. A graceful stop (SIGTERM, SIGINT, or ``ServeHandle/shutdown()``) runs in reverse:
/// the HTTP server stops taking requests, the demo stream and the notifier stop after their batch
/// (offsets committed once jobs are durable), and the pools drain (in-flight requests finish, their
/// outcomes are recorded, offsets committed). Storage closes last.
public enum ChaparServe {
    /// Runs until a graceful stop or until the calling task is cancelled. `onListening` is called
    /// once the HTTP server accepts connections.
    public static func run(_ options: ServeOptions, handle: ServeHandle = ServeHandle(),
                           onListening: @escaping @Sendable (ServeStatus) async -> Void = { _ in }) async throws {
        let logger = options.logger
        let layout = DataLayout(options.dataDirectory)
        let renderer: MessageRenderer
        do {
            renderer = MessageRenderer(catalog: try TemplateCatalog.load(directory: options.templates))
        } catch {
            throw ServeError("templates: \(error.message)")
        }
        var configuration = options.configuration
        let demoGateways = options.demo.map { DemoGateways(onDelivery: $0.onDelivery) }
        if let demo = options.demo {
            configuration = try DemoSetup.configuration(adding: configuration, kinds: options.kinds, rate: demo.gatewayRate)
        }
        let opened = try ServeLog.open(configuration.backend, layout: layout, logger: logger)
        let log = opened.log
        var endpoint: IngestEndpoint?
        var store: CustomerStore?
        var directory: CachedCustomerDirectory?
        var ledger: DeliveryLedger?
        defer {
            ledger?.close()
            directory?.close()
            store?.close()
        }
        do {
            try await TopicSetup.create(in: log, template: configuration.topics, partitions: configuration.topicPartitions, logger: logger)
            let openedStore = try CustomerStore.open(path: layout.customers, logger: logger)
            store = openedStore
            if let demo = options.demo { try DemoSetup.seedCustomers(openedStore, count: demo.customers, quietHours: demo.quietHours,
                                                                    smsMarketing: demo.smsMarketing, logger: logger) }
            // On Kafka: learn every customer the other nodes know before the notifier starts.
            let customerSync = opened.kafka.map { CustomerSync(log: $0, store: openedStore, layout: layout, logger: logger) }
            if let customerSync {
                try await customerSync.createTopic()
                let applied = try await customerSync.catchUp()
                if applied > 0 { logger.notice("applied \(applied) customer change(s) from \(CustomerSync.topic)") }
            }
            let openedDirectory = openedStore.directory()
            directory = openedDirectory
            let openedLedger = try DeliveryLedger.open(path: layout.ledger, logger: logger)
            ledger = openedLedger
            let openedEndpoint: IngestEndpoint
            do {
                openedEndpoint = try IngestEndpoint(dataDirectory: layout.root, log: log, logger: logger)
            } catch {
                throw ServeError("\(error.message); `chapar serve` takes `chapar ingest` and API uploads through it")
            }
            endpoint = openedEndpoint
            let telemetry = Telemetry()
            var pool = configuration.pool
            pool.observer = telemetry
            let engine = CurlEngine()
            defer { engine.shutdown() }
            let pools = Channel.allCases.compactMap { channel -> DeliveryPool? in
                guard let routes = configuration.channels[channel], !routes.isEmpty else { return nil }
                return DeliveryPool(channel: channel, log: log, ledger: openedLedger, transport: engine, routes: routes,
                                    configuration: pool, logger: logger)
            }
            let notifier = NotifierService(
                log: log, directory: openedDirectory, renderer: renderer,
                configuration: NotifierConfiguration(members: configuration.notifier.members, batchSize: configuration.notifier.batchSize),
                logger: logger)
            let state = ServerState(
                layout: layout, configuration: configuration, log: log, store: openedStore, ledger: openedLedger, ingest: openedEndpoint,
                pools: pools, notifier: notifier, telemetry: telemetry, demo: demoGateways,
                customerSync: customerSync, logger: logger)
            let sampler = TelemetrySampler(state: state)
            let server = configuration.server
            let host = server.host.contains(":") ? "[\(server.host)]" : server.host
            let delivering = pools.map(\.channel), demo = options.demo != nil
            let http = HTTPService.application(state: state) { port in
                state.markReady()
                await onListening(ServeStatus(baseURL: "http://\(host):\(port)", port: port, deliveringChannels: delivering,
                                              waitingChannels: Channel.allCases.filter { !delivering.contains($0) }, demo: demo))
            }
            // Start order; a graceful stop runs in reverse. A TaskService is named by its description.
            var services: [ServiceGroupConfiguration.ServiceConfiguration] = pools.map { pool in
                .init(service: TaskService(name: "delivery.\(pool.channel)") { try await pool.run() })
            }
            if let customerSync {
                services.append(.init(service: TaskService(name: "customer-sync") { try await customerSync.run() }))
            }
            services.append(.init(service: TaskService(name: "notifier") { try await notifier.run() }))
            // Serves `chapar ingest` from other processes on DATA_DIR/ingest.sock (each request a child task).
            services.append(.init(service: TaskService(name: "ingest-socket") { await openedEndpoint.run() }))
            if let demo = options.demo, demo.eventsPerSecond > 0 {
                let traffic = DemoTraffic(endpoint: openedEndpoint, layout: layout, customers: demo.customers, eventsPerSecond: demo.eventsPerSecond, logger: logger)
                services.append(.init(service: TaskService(name: "demo-traffic") { try await traffic.run() }))
            }
            services.append(.init(service: TaskService(name: "telemetry") { try await sampler.run() }))
            if let embedded = opened.embedded {
                services.append(.init(service: TaskService(name: "retention") { try await Self.applyRetention(embedded, logger: logger) }))
            }
            services.append(.init(service: http, serviceName: "http"))
            var groupConfiguration = ServiceGroupConfiguration(
                services: services, gracefulShutdownSignals: options.handleSignals ? [.sigterm, .sigint] : [], logger: quiet(logger))
            groupConfiguration.maximumGracefulShutdownDuration = options.drainTimeout
            let group = ServiceGroup(configuration: groupConfiguration)
            // ServiceGroup remembers a stop asked for before it runs.
            await handle.attach(group)
            defer { state.markStopping() }
            do {
                try await group.run()
            } catch let error as IOError where error.errnoCode == EADDRINUSE {
                throw ServeError("cannot listen on \(server.host):\(server.port): the port is in use (another chapar serve?); "
                                 + "stop that process or change server.listen / --listen", exitCode: 75)
            }
        } catch {
            await endpoint?.close()
            await opened.close()
            throw error
        }
        await endpoint?.close()
        await opened.close()
    }

    /// Applies every topic's retention every five minutes (whole segments past their age or the
    /// topic's size limit; see docs/log-format.md).
    static func applyRetention(_ log: EventLog, logger: Logger) async throws {
        while !Task.isCancelled {
            try await Task.sleep(for: .seconds(300))
            let deleted = await log.enforceRetention()
            if !deleted.isEmpty { logger.notice("retention deleted \(deleted.count) segment(s)", metadata: ["chapar.segments": "\(deleted.prefix(5))"]) }
        }
    }

    /// ServiceLifecycle's own messages at warning and above only (it logs every start at info).
    private static func quiet(_ logger: Logger) -> Logger {
        var l = logger
        l.logLevel = max(logger.logLevel, .warning)
        return l
    }
}

/// Lets the caller stop a running server gracefully (the CLI's signals do the same).
public final class ServeHandle: Sendable {
    private struct State {
        var group: ServiceGroup?
        var requested = false
    }
    private let state = Mutex(State())

    public init() {}

    func attach(_ serviceGroup: ServiceGroup) async {
        let requested = state.withLock { s in
            s.group = serviceGroup
            return s.requested
        }
        if requested { await serviceGroup.triggerGracefulShutdown() }
    }

    /// Starts a graceful stop: the same as SIGTERM.
    public func shutdown() async {
        let group = state.withLock { s in
            s.requested = true
            return s.group
        }
        await group?.triggerGracefulShutdown()
    }
}

/// Why `chapar serve` could not start, with the exit code the CLI uses.
public struct ServeError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var exitCode: Int32
    public init(_ message: String, exitCode: Int32 = 65) {
        self.message = message
        self.exitCode = exitCode
    }
    public var description: String { message }
}

/// A long-running part as a ServiceLifecycle service: a graceful stop cancels its task, which each
/// part treats as "finish what is in flight, commit, and return" (the pools drain, the notifier
/// finishes its batch).
struct TaskService: Service, CustomStringConvertible {
    let name: String
    let body: @Sendable () async throws -> Void

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await body() }
        } catch is CancellationError where Task.isShuttingDownGracefully || Task.isCancelled {
            // Stopped as asked (a part may end its wait with CancellationError): a clean stop.
        }
    }

    var description: String { name }
}

/// Creates the pipeline's topics with the configuration's settings (partitions, fsync,
/// retention); topics that exist keep theirs. Several nodes may start at once on Kafka: a topic
/// another node created a moment ago is fine. A log that is unavailable at start (Kafka brokers
/// down) is waited for, with a warning per attempt, until it answers or the process is stopped.
enum TopicSetup {
    static func create(in log: any MessageLog, template: TopicConfiguration, partitions: [TopicName: Int] = [:], logger: Logger) async throws {
        var delay = Duration.seconds(1)
        while true {
            do {
                return try await createMissing(in: log, template: template, partitions: partitions)
            } catch let error as LogError where error.code == .unavailable {
                logger.warning("the log is unavailable; retrying in \(delay)", metadata: ["chapar.problem": "\(error.message)"])
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(10))
            }
        }
    }

    private static func createMissing(in log: any MessageLog, template: TopicConfiguration, partitions: [TopicName: Int]) async throws {
        let existing = Set(try await log.listTopics().map(\.name))
        var topics = Topics.events
        for channel in Channel.allCases { for priority in Priority.allCases { topics.append(Topics.jobs(channel, priority)) } }
        for topic in topics + [Topics.dead] where !existing.contains(topic) {
            var configuration = template
            configuration.partitions = partitions[topic] ?? (topic == Topics.dead ? 1 : template.partitions)
            try await createUnlessExists(topic, configuration, in: log)
        }
    }

    private static func createUnlessExists(_ topic: TopicName, _ configuration: TopicConfiguration, in log: any MessageLog) async throws {
        do {
            _ = try await log.createTopic(topic, configuration: configuration)
        } catch let error as LogError where error.code == .topicExists {
            // Another node created it since we listed.
        }
    }
}
