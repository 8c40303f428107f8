public import ChaparModels

/// The record format of `notify.dead` (see `docs/delivery.md`): the job's record exactly as it was
/// on its lane topic, keyed by customer, with why and when it died in headers, so a dead letter
/// can be read, counted and replayed without a second format.
public enum DeadLetter {
    public static let reasonHeader = "chapar.reason"
    public static let attemptsHeader = "chapar.attempts"
    public static let gatewayHeader = "chapar.gateway"
    public static let deadAtHeader = "chapar.dead-at"
    public static let channelHeader = "chapar.channel"

    static func record(job: DeliveryJob, value: [UInt8], reason: String, attempts: Int, gateway: String, at: Timestamp) -> ProducerRecord {
        ProducerRecord(key: Array(job.customer.rawValue.utf8), value: value, headers: [
            RecordHeader(JobCodec.idHeader, job.id.rawValue),
            RecordHeader(channelHeader, job.channel.rawValue),
            RecordHeader(reasonHeader, reason),
            RecordHeader(attemptsHeader, String(attempts)),
            RecordHeader(gatewayHeader, gateway),
            RecordHeader(deadAtHeader, String(at.milliseconds)),
        ])
    }

    static func record(unreadable: ConsumerRecord, reason: String, at: Timestamp) -> ProducerRecord {
        ProducerRecord(key: unreadable.key.map(Array.init), value: Array(unreadable.value), headers: [
            RecordHeader(reasonHeader, "\(reason) (from \(unreadable.topic)-\(unreadable.partition) offset \(unreadable.offset))"),
            RecordHeader(attemptsHeader, "0"),
            RecordHeader(deadAtHeader, String(at.milliseconds)),
        ])
    }

    /// A dead letter read back from `notify.dead`.
    public struct Entry: Sendable {
        public var offset: Offset
        public var job: DeliveryJob?
        public var record: [UInt8]
        public var reason: String
        public var attempts: Int
        public var gateway: String?
        public var deadAt: Timestamp?
    }

    /// Reads one `notify.dead` record.
    public static func entry(_ r: ConsumerRecord) -> Entry {
        func text(_ name: String) -> String? { r.header(name).map { String(decoding: $0, as: UTF8.self) } }
        return Entry(offset: r.offset, job: try? JobCodec.decode(r.value), record: Array(r.value), reason: text(reasonHeader) ?? "",
                     attempts: text(attemptsHeader).flatMap { Int($0) } ?? 0, gateway: text(gatewayHeader),
                     deadAt: text(deadAtHeader).flatMap { Int64($0) }.map { Timestamp(milliseconds: $0) })
    }
}
