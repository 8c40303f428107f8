import ArgumentParser
import ChaparConfig
import ChaparModels
import ChaparServer
import CustomerStore
import EventLog
import EventLogKafka
import Foundation

extension LogCommand {
    /// `chapar log migrate`: moves a single-node embedded deployment onto Kafka (docs/kafka.md,
    /// "Moving an embedded deployment onto Kafka").
    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy the embedded log (topics, records, group offsets) onto Kafka, so this data directory can run with log.backend kafka.",
            discussion: """
                Stop `chapar serve` first (the data directory's lock says who holds it). Every topic is created on Kafka
                with the same partitions, and every partition's records are copied in order into the same partition
                (keys, values, headers and timestamps kept). Each consumer group's committed offsets are then set on
                Kafka at the same records, so the notifier and the delivery pools continue where they stopped: nothing
                is delivered twice and nothing is skipped. The data directory's customers are published to
                chapar.customers for the nodes that join later. Interrupted, it can be run again: partitions continue
                where the copy stopped, and a group offset Kafka already has is never overwritten.
                """)

        @OptionGroup var options: LogBackendOptions

        func run() async throws {
            try await CLIError.run {
                guard let settings = try options.kafkaSettings() else {
                    throw CLIUsageFailure(code: 64, message: "name the Kafka cluster to migrate to: --kafka HOST:PORT[,…] or --config FILE with log.backend kafka")
                }
                let source = try options.data.openLog()
                try await closing({ await source.close() }) {
                    let target = try options.openKafka(settings)
                    try await closing({ await target.close() }) {
                        try await LogMigration(source: source, target: target, print: { print($0) }).run()
                        // The customers, for the nodes that will join this one.
                        let store = try CustomerStore.open(path: DataLayout(options.data.dataDir).customers, logger: options.data.logger)
                        defer { store.close() }
                        let customers = try await CustomerSync.publishAll(from: store, to: target)
                        print("customers: \(customers) published to \(CustomerSync.topic)")
                    }
                }
                print("done: set log.backend to kafka (log.kafka.bootstrap: \(settings.bootstrapServers)) and start chapar serve with --data-dir \(options.data.dataDir)")
            }
        }
    }
}

/// The copy itself: topics, records per partition in order, then group offsets.
///
/// Offsets: a Kafka partition starts at 0, while an embedded partition whose oldest segments were
/// deleted by retention starts later. Record `o` of the embedded partition becomes record
/// `o - start` on Kafka, and committed group offsets are moved by the same amount.
struct LogMigration {
    let source: EventLog
    let target: KafkaLog
    let print: (String) -> Void

    func run() async throws {
        var shifts: [TopicPartition: Int64] = [:]
        var copied = 0
        let existing = Dictionary(uniqueKeysWithValues: try await target.listTopics().map { ($0.name, $0) })
        for topic in try await source.listTopics() {
            if let there = existing[topic.name], there.partitions.count != topic.partitions.count {
                throw LogError(.invalidArgument, "topic \(topic.name) exists on Kafka with \(there.partitions.count) partition(s), the embedded log has \(topic.partitions.count); remove it on Kafka (or migrate to another cluster)")
            }
            var listed = existing[topic.name]
            if listed == nil {
                listed = try await target.createTopic(topic.name, configuration: TopicConfiguration(partitions: topic.partitions.count))
            }
            for partition in topic.partitions {
                let tp = TopicPartition(topic.name, partition.partition)
                shifts[tp] = partition.startOffset.rawValue
                let (count, already) = try await copy(tp, from: partition.startOffset, to: partition.endOffset,
                                                      listed: listed!.partitions[partition.partition.rawValue])
                copied += count
                print("\(tp): \(count) record(s) copied\(already > 0 ? ", \(already) already on Kafka" : "")")
            }
        }
        var moved = 0
        for group in try await source.listGroups() {
            let committed = try await target.listGroups().first { $0.group == group.group }
            let onKafka = Set(committed?.partitions.filter { $0.committed != nil }.map { TopicPartition($0.topic, $0.partition) } ?? [])
            var offsets: [TopicPartition: Offset] = [:]
            for row in group.partitions {
                let tp = TopicPartition(row.topic, row.partition)
                guard let offset = row.committed, !onKafka.contains(tp), let shift = shifts[tp] else { continue }
                offsets[tp] = Offset(max(0, offset.rawValue - shift))
            }
            if !offsets.isEmpty {
                try await target.resetOffsets(group.group, to: offsets)
                moved += offsets.count
            }
            let kept = group.partitions.count - offsets.count
            print("group \(group.group): \(offsets.count) offset(s) set\(kept > 0 ? ", \(kept) kept (already on Kafka, or nothing committed)" : "")")
        }
        print("migrated \(copied) record(s) and \(moved) group offset(s) to \(target.configuration.bootstrapServers)")
    }

    /// Copies the records of `tp` that Kafka does not have yet, in order, into the same partition.
    /// Returns (copied, already there).
    private func copy(_ tp: TopicPartition, from start: Offset, to end: Offset, listed: PartitionDescription) async throws -> (Int, Int) {
        let total = end.rawValue - start.rawValue
        let present = try await kafkaEnd(tp, listed: listed)
        guard present <= total else {
            throw LogError(.invalidArgument, "\(tp) on Kafka holds \(present) record(s), more than the embedded log's \(total); it was written by something else, so the copy stops here")
        }
        var next = Offset(start.rawValue + present)
        var copied = 0
        while next < end {
            let batch = try await source.fetch(tp.topic, partition: tp.partition, from: next, limits: FetchLimits(maxRecords: 5_000, maxBytes: 4 << 20))
            guard !batch.records.isEmpty else { break }
            let records = batch.records.map { r in
                ProducerRecord(key: r.key.map(Array.init), value: Array(r.value), headers: r.headers, timestamp: r.timestamp, partition: tp.partition)
            }
            _ = try await target.append(records, to: tp.topic)
            copied += records.count
            next = batch.nextOffset
        }
        return (copied, Int(present))
    }

    /// How many records the Kafka partition holds: 0 when it is listed empty, else from a fetch
    /// response (a broker's listed end can be short, see docs/kafka.md).
    private func kafkaEnd(_ tp: TopicPartition, listed: PartitionDescription) async throws -> Int64 {
        guard listed.endOffset.rawValue > 0 else { return 0 }
        let from = max(listed.startOffset.rawValue, listed.endOffset.rawValue - 1)
        let result = try await target.fetch(tp.topic, partition: tp.partition, from: Offset(from), limits: FetchLimits(maxRecords: 1, maxWait: .zero))
        return result.highWatermark.rawValue
    }
}
