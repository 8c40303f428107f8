public import ChaparModels

/// One gateway's controls, from the configuration file (see `docs/delivery.md`).
public struct GatewaySettings: Sendable, Hashable {
    /// The gateway's name in the configuration (`kannel-1`), used in the ledger, logs and metrics.
    public var name: String
    /// The adapter type (`kannel`, `http-sms`, `matrix`, `telegram`, `webhook`).
    public var type: String
    public var channel: Channel
    /// Messages per second and burst; nil means no rate limit.
    public var rateLimit: RateLimit?
    /// Requests in flight to this gateway at once.
    public var maxInFlight: Int
    public var timeouts: Timeouts
    public var tls: TLSOptions
    public var retry: RetryPolicy
    public var breaker: CircuitBreaker.Policy
    /// The gateway used while this one's breaker is open.
    public var failover: String?

    public struct RateLimit: Sendable, Hashable {
        public var perSecond: Double
        public var burst: Double
        public init(perSecond: Double, burst: Double) {
            self.perSecond = perSecond
            self.burst = burst
        }
    }

    public init(name: String, type: String, channel: Channel, rateLimit: RateLimit? = nil, maxInFlight: Int = 256,
                timeouts: Timeouts = Timeouts(), tls: TLSOptions = TLSOptions(), retry: RetryPolicy = RetryPolicy(),
                breaker: CircuitBreaker.Policy = CircuitBreaker.Policy(), failover: String? = nil) {
        self.name = name
        self.type = type
        self.channel = channel
        self.rateLimit = rateLimit
        self.maxInFlight = maxInFlight
        self.timeouts = timeouts
        self.tls = tls
        self.retry = retry
        self.breaker = breaker
        self.failover = failover
    }
}

/// A configured gateway: its settings and the adapter that speaks its protocol.
public struct Gateway: Sendable {
    public var settings: GatewaySettings
    public var adapter: any GatewayAdapter

    public init(settings: GatewaySettings, adapter: any GatewayAdapter) {
        self.settings = settings
        self.adapter = adapter
    }

    public var name: String { settings.name }
}
