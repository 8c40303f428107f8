public import ChaparConfig
public import ChaparModels
public import EventLog
public import EventLogKafka
public import Logging

/// The log `chapar serve` (and `chapar log …`) runs on, opened from `log.backend`: the embedded
/// log in the data directory, or a Kafka-API cluster (docs/kafka.md). With Kafka the data
/// directory is still locked (``DataDirectoryLock``): it holds this node's customers, ledger and
/// dedupe index.
public struct ServeLog: Sendable {
    public let log: any MessageLog
    /// Set for the embedded backend (retention runs in-process only there; Kafka's brokers apply theirs).
    public let embedded: EventLog?
    /// Set for the Kafka backend.
    let kafka: KafkaLog?
    private let lock: DataDirectoryLock?

    /// Opens the backend; `locked`/storage problems exit 75/74, a bad Kafka setting 65.
    public static func open(_ backend: LogBackendSettings, layout: DataLayout, logger: Logger) throws(ServeError) -> ServeLog {
        switch backend {
        case .embedded:
            do {
                let log = try EventLog.open(EventLog.Configuration(directory: layout.root, logger: logger))
                return ServeLog(log: log, embedded: log, kafka: nil, lock: nil)
            } catch {
                throw directoryFailure(error)
            }
        case .kafka(let settings):
            let lock: DataDirectoryLock
            do {
                lock = try DataDirectoryLock(directory: layout.root)
            } catch {
                throw directoryFailure(error)
            }
            do {
                let log = try KafkaLog(configuration: KafkaLog.Configuration(settings), logger: logger)
                return ServeLog(log: log, embedded: nil, kafka: log, lock: lock)
            } catch {
                lock.release()
                throw ServeError("log.kafka: \(error)")
            }
        }
    }

    /// The data directory is held by another process (75: retry later) or cannot be opened (74).
    private static func directoryFailure(_ error: LogError) -> ServeError {
        ServeError(error.message, exitCode: error.code == .locked ? 75 : 74)
    }

    public func close() async {
        await embedded?.close()
        await kafka?.close()
        lock?.release()
    }
}

extension KafkaLog.Configuration {
    /// The client settings of `log.kafka`.
    public init(_ settings: KafkaSettings) {
        self.init(bootstrapServers: settings.bootstrapServers, clientID: settings.clientID, replicationFactor: settings.replicationFactor,
                  requestTimeout: settings.requestTimeout, deliveryTimeout: settings.deliveryTimeout,
                  groupSessionTimeout: settings.sessionTimeout, properties: settings.properties)
    }
}
