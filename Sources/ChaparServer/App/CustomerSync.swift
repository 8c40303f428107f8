public import ChaparModels
public import CustomerStore
public import EventLogKafka
import Foundation
import Logging

/// Customer changes shared by every node on the Kafka backend (docs/kafka.md, "Customers").
///
/// Each node keeps its customers in its own SQLite store, which its notifier reads. A change made
/// through the API of any node is written to that node's store and then appended to the compacted
/// topic `chapar.customers` (key: the customer id; value: the whole customer, or a removal). Every
/// node, the writer included, applies that topic to its store in topic order, so all nodes end with
/// the same customers even when two of them change one customer at once (the later record wins
/// everywhere). A node added later reads the topic from the start before its notifier starts, so it
/// never renders a notification without the customers the others know.
///
/// How far the topic has been applied is kept in the data directory (`customers.kafka-offset`).
/// Applying a record twice is harmless (it stores the same customer again).
public final class CustomerSync: Sendable {
    public static let topic: TopicName = "chapar.customers"

    /// One record of the topic.
    struct Change: Codable, Sendable {
        /// The customer as it is now, or nil for a removal.
        var customer: CustomerDocument?
        /// The id of a removed customer.
        var removed: String?
    }

    private let log: KafkaLog
    private let store: CustomerStore
    private let positionFile: String
    private let logger: Logger
    private let partition = PartitionID(0)

    init(log: KafkaLog, store: CustomerStore, layout: DataLayout, logger: Logger) {
        self.log = log
        self.store = store
        positionFile = layout.customerSyncOffset
        self.logger = logger
    }

    /// Creates the topic if no node has yet (one partition: one order for every change).
    func createTopic() async throws {
        try await Self.createTopic(in: log)
    }

    private static func createTopic(in log: KafkaLog) async throws {
        if (try? await log.describeTopic(topic)) != nil { return }
        do {
            _ = try await log.createCompactedTopic(topic, partitions: 1)
        } catch let error as LogError where error.code == .topicExists {
            // Another node created it a moment ago.
        }
    }

    /// Appends every customer of `store` to the topic (`chapar log migrate`: the customers of an
    /// embedded deployment become every node's). Returns how many.
    public static func publishAll(from store: CustomerStore, to log: KafkaLog) async throws -> Int {
        try await createTopic(in: log)
        var batch: [ProducerRecord] = []
        var count = 0
        let encoder = JSONEncoder()
        try store.forEachCustomer { profile in
            let value = try encoder.encode(Change(customer: CustomerDocument(profile)))
            batch.append(ProducerRecord(key: Array(profile.id.rawValue.utf8), value: Array(value)))
        }
        for start in stride(from: 0, to: batch.count, by: 1000) {
            let chunk = Array(batch[start..<min(start + 1000, batch.count)])
            _ = try await log.append(chunk, to: topic)
            count += chunk.count
        }
        return count
    }

    // MARK: Publishing (the API calls these after its local write)

    func published(_ profile: CustomerProfile) async throws {
        try await append(Change(customer: CustomerDocument(profile)), key: profile.id.rawValue)
    }

    func removed(_ id: CustomerID) async throws {
        try await append(Change(removed: id.rawValue), key: id.rawValue)
    }

    private func append(_ change: Change, key: String) async throws {
        let value = try JSONEncoder().encode(change)
        _ = try await log.append([ProducerRecord(key: Array(key.utf8), value: Array(value))], to: Self.topic)
    }

    // MARK: Applying

    /// Applies everything up to the topic's current end; returns how many records were applied.
    /// Waits (with a warning per attempt) while the brokers are unavailable.
    @discardableResult
    func catchUp() async throws -> Int {
        var applied = 0
        while true {
            do {
                let (count, atEnd) = try await applyNext(maxWait: .zero)
                applied += count
                if atEnd { return applied }
            } catch let error as LogError where error.code == .unavailable {
                logger.warning("cannot read \(Self.topic) to catch up on customers; retrying", metadata: ["chapar.problem": "\(error.message)"])
                try await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Applies new changes as they come, until cancelled.
    func run() async throws {
        while !Task.isCancelled {
            do {
                _ = try await applyNext(maxWait: .milliseconds(500))
            } catch let error as LogError where error.code == .unavailable || error.code == .closed {
                if error.code == .closed { return }
                logger.warning("cannot read \(Self.topic); customer changes from other nodes wait until the brokers answer",
                               metadata: ["chapar.problem": "\(error.message)"])
                try await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Reads and applies one batch from the stored position; returns the count and whether the
    /// end was reached.
    private func applyNext(maxWait: Duration) async throws -> (Int, Bool) {
        let from = position()
        let result: FetchResult
        do {
            result = try await log.fetch(Self.topic, partition: partition, from: from, limits: FetchLimits(maxRecords: 500, maxWait: maxWait))
        } catch let error as LogError where error.code == .offsetOutOfRange {
            // Compaction or retention moved the start: everything kept is the latest per customer.
            let start = try await log.describeTopic(Self.topic).partitions.first?.startOffset ?? Offset(0)
            logger.notice("\(Self.topic) no longer holds offset \(from); re-applying from \(start)")
            try savePosition(start)
            return (0, false)
        }
        guard !result.records.isEmpty else { return (0, result.nextOffset >= result.highWatermark) }
        let changes = result.records.map { record in (record.offset, try? JSONDecoder().decode(Change.self, from: Data(record.value))) }
        let store = self.store, logger = self.logger
        try await Blocking.run {
            for (offset, change) in changes {
                Self.apply(change, at: offset, to: store, logger: logger)
            }
        }
        try savePosition(result.nextOffset)
        return (changes.count, result.nextOffset >= result.highWatermark)
    }

    /// Stores one change; a record this version cannot read is logged and skipped, never fatal.
    private static func apply(_ change: Change?, at offset: Offset, to store: CustomerStore, logger: Logger) {
        do {
            if let document = change?.customer {
                try store.save(try document.profile())
            } else if let removed = change?.removed {
                do { try store.remove(try CustomerID(removed)) } catch let error as CustomerStoreError where error.code == .notFound {}
            } else {
                logger.error("skipped an unreadable record of \(topic)", metadata: ["chapar.offset": "\(offset)"])
            }
        } catch {
            logger.error("skipped a customer change of \(topic) that this node cannot apply", metadata: [
                "chapar.offset": "\(offset)", "chapar.problem": "\(error)"])
        }
    }

    private func position() -> Offset {
        guard let text = try? String(contentsOfFile: positionFile, encoding: .utf8),
              let value = Int64(text.trimmingCharacters(in: .whitespacesAndNewlines)), value >= 0 else { return Offset(0) }
        return Offset(value)
    }

    private func savePosition(_ position: Offset) throws {
        try "\(position.rawValue)\n".write(toFile: positionFile, atomically: true, encoding: .utf8)
    }
}
