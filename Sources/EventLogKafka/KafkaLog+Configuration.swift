extension KafkaLog {
    /// How to reach the cluster and how long to wait for it. Files, environment and flags are
    /// read by `chapar`; this only holds the values.
    public struct Configuration: Sendable {
        /// `host:port[,host:port…]`, librdkafka's `bootstrap.servers`.
        public var bootstrapServers: String
        /// Shown in the brokers' logs and quotas. Default `chapar`.
        public var clientID: String
        /// Replicas per partition for topics this log creates; nil uses the brokers' default
        /// (`default.replication.factor`). Banks run 3; a single test broker needs 1.
        public var replicationFactor: Int?
        /// Bound on one metadata, watermark or admin request and on a fetch that should find
        /// records. Default 10 s.
        public var requestTimeout: Duration
        /// Bound on an append, retries included (librdkafka's `message.timeout.ms`). Default 30 s.
        public var deliveryTimeout: Duration
        /// How long the producer waits to fill a batch (`linger.ms`). Default 5 ms.
        public var linger: Duration
        /// Threads for librdkafka's blocking calls (see ``KafkaLog``). Default 2.
        public var blockingThreads: Int
        /// Further librdkafka properties, passed through unchanged and applied last: security
        /// (`security.protocol`, `sasl.mechanism`, `sasl.username`, `ssl.ca.location`, …) or tuning.
        public var properties: [String: String]

        public init(
            bootstrapServers: String,
            clientID: String = "chapar",
            replicationFactor: Int? = nil,
            requestTimeout: Duration = .seconds(10),
            deliveryTimeout: Duration = .seconds(30),
            linger: Duration = .milliseconds(5),
            blockingThreads: Int = 2,
            properties: [String: String] = [:]
        ) {
            self.bootstrapServers = bootstrapServers
            self.clientID = clientID
            self.replicationFactor = replicationFactor
            self.requestTimeout = requestTimeout
            self.deliveryTimeout = deliveryTimeout
            self.linger = linger
            self.blockingThreads = blockingThreads
            self.properties = properties
        }
    }
}
