/// The files and folders of a data directory, named in one place.
///
/// ```
/// DATA_DIR/
///   LOCK, <topic>-<partition>/…   the embedded log (docs/log-format.md)
///   customers.sqlite              customers and channel preferences
///   deliveries.sqlite             the delivery ledger
///   ingest/seen.sqlite            the ingest dedupe index (+ seen.filter)
///   ingest/uploads/               files posted to the HTTP API while they are ingested
///   ingest.sock                   where the directory's owner accepts `chapar ingest`
///   customers.kafka-offset        on Kafka: how far chapar.customers has been applied here
/// ```
public struct DataLayout: Sendable, Hashable {
    /// The data directory itself.
    public let root: String

    public init(_ root: String) {
        self.root = root.count > 1 && root.hasSuffix("/") ? String(root.dropLast()) : root
    }

    /// The customer store (SQLite).
    public var customers: String { root + "/customers.sqlite" }
    /// The delivery ledger (SQLite).
    public var ledger: String { root + "/deliveries.sqlite" }
    /// The ingest dedupe index (SQLite).
    public var ingestIndex: String { root + "/ingest/seen.sqlite" }
    /// Where uploads wait while they are ingested (removed afterwards).
    public var uploads: String { root + "/ingest/uploads" }
    /// On the Kafka backend: the next offset of `chapar.customers` to apply to this node's store.
    public var customerSyncOffset: String { root + "/customers.kafka-offset" }
    /// The Unix socket of the directory's owner.
    public var ingestSocket: String { root + "/ingest.sock" }
}
