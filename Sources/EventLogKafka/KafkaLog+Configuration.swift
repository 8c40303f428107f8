import ChaparModels

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
        /// Overrides every group member's ``GroupOptions/sessionTimeout`` (librdkafka's
        /// `session.timeout.ms`): how long after a node dies its partitions move. Nil keeps the
        /// callers' (30 s by default). The brokers bound it (`group.min.session.timeout.ms`, 6 s on Apache Kafka).
        public var groupSessionTimeout: Duration?
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
            groupSessionTimeout: Duration? = nil,
            properties: [String: String] = [:]
        ) {
            self.bootstrapServers = bootstrapServers
            self.clientID = clientID
            self.replicationFactor = replicationFactor
            self.requestTimeout = requestTimeout
            self.deliveryTimeout = deliveryTimeout
            self.linger = linger
            self.blockingThreads = blockingThreads
            self.groupSessionTimeout = groupSessionTimeout
            self.properties = properties
        }

        /// Properties every client of this log gets first.
        var commonProperties: [(String, String)] {
            [
                ("bootstrap.servers", bootstrapServers),
                ("client.id", clientID),
                ("socket.timeout.ms", String(max(requestTimeout.milliseconds, 10))),
            ]
        }

        /// ``properties`` in a stable order, applied last.
        var extraProperties: [(String, String)] {
            properties.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        }
    }
}
