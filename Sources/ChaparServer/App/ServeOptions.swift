public import ChaparConfig
public import ChaparModels
public import Delivery
public import Logging

/// What `chapar serve` runs: built by the CLI from its flags and the configuration file, and by
/// tests directly.
public struct ServeOptions: Sendable {
    /// The data directory (log, customers, ledger, dedupe index).
    public var dataDirectory: String
    /// The validated configuration (the built-in defaults when no file is given).
    public var configuration: ChaparConfiguration
    /// The gateway types this binary knows (only the executable names concrete adapters).
    public var kinds: [AdapterKind]
    /// The template directory.
    public var templates: String
    /// Seed demo customers, stream demo transactions and deliver SMS and IM to demo gateways
    /// served by this process (channels the configuration already routes keep their gateways).
    public var demo: DemoSettings?
    /// Stop gracefully on SIGTERM and SIGINT (the CLI); tests stop by cancelling instead.
    public var handleSignals: Bool
    /// How long a graceful stop may take before the rest is cancelled.
    public var drainTimeout: Duration
    public var logger: Logger

    public init(dataDirectory: String, configuration: ChaparConfiguration, kinds: [AdapterKind], templates: String,
                demo: DemoSettings? = nil, handleSignals: Bool = false, drainTimeout: Duration = .seconds(30),
                logger: Logger = Logger(label: "chapar")) {
        self.dataDirectory = dataDirectory
        self.configuration = configuration
        self.kinds = kinds
        self.templates = templates
        self.demo = demo
        self.handleSignals = handleSignals
        self.drainTimeout = drainTimeout
        self.logger = logger
    }
}

/// The demo's knobs.
public struct DemoSettings: Sendable {
    /// Customers seeded when the store is empty.
    public var customers: Int
    /// Demo transactions appended per second (0: none).
    public var eventsPerSecond: Double
    /// Seeded customers get quiet hours like real ones (false: none, so nothing is deferred).
    public var quietHours: Bool
    /// Seeded customers take marketing on SMS (benchmarks of a campaign flood).
    public var smsMarketing = false
    /// The demo gateways' rate limit in messages per second (nil: none, for benchmarks).
    public var gatewayRate: Double?
    /// Told about each message a demo gateway receives (`chapar bench pipeline` measures latency here).
    public var onDelivery: (@Sendable (DemoDelivery) -> Void)?

    public init(customers: Int = 1_000, eventsPerSecond: Double = 5, quietHours: Bool = true, gatewayRate: Double? = 200,
                onDelivery: (@Sendable (DemoDelivery) -> Void)? = nil) {
        self.gatewayRate = gatewayRate
        self.customers = customers
        self.eventsPerSecond = eventsPerSecond
        self.quietHours = quietHours
        self.onDelivery = onDelivery
    }
}

/// One message a demo gateway received.
public struct DemoDelivery: Sendable {
    public var channel: Channel
    public var job: String?
    /// The event id, when the gateway's request carries it (the SMS demo gateway's does).
    public var event: String?
    /// When it arrived (wall clock, UTC milliseconds).
    public var at: Int64
}

/// What a running server tells its caller once it listens.
public struct ServeStatus: Sendable, Hashable {
    /// The API's base URL, e.g. `http://127.0.0.1:8480`.
    public var baseURL: String
    public var port: Int
    /// Channels with delivery pools.
    public var deliveringChannels: [Channel]
    /// Channels whose jobs wait on their topics (no gateway configured).
    public var waitingChannels: [Channel]
    public var demo: Bool
}
