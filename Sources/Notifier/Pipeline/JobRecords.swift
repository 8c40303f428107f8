public import ChaparModels

/// The jobs of one batch, already encoded as records, per ``Lane``, each lane in event order (and
/// within an event, customer then channel order).
public struct JobRecords: Sendable {
    /// The records of each lane, at the lane's ``Lane/index``.
    private var lanes: [[ProducerRecord]] = Array(repeating: [], count: Lane.all.count)
    /// Jobs per channel (all priorities), at the channel's index.
    private var perChannel: [Int] = Array(repeating: 0, count: Channel.allCases.count)

    /// An empty set of lanes.
    public init() {}

    /// Jobs in all lanes.
    public private(set) var count = 0

    /// Jobs for `channel`, all priorities.
    public func count(for channel: Channel) -> Int { perChannel[channel.index] }

    /// The records of one lane, in order.
    public func records(in lane: Lane) -> [ProducerRecord] { lanes[lane.index] }

    /// Adds a job record (from ``JobRecordWriter`` or ``JobCodec/record(_:)``) to the end of its lane.
    public mutating func append(_ record: ProducerRecord, to lane: Lane) {
        lanes[lane.index].append(record)
        perChannel[lane.channel.index] += 1
        count += 1
    }

    /// The non-empty lanes with their topics, in ``Lane/all`` order.
    public var byTopic: [(topic: TopicName, records: [ProducerRecord])] {
        Lane.all.compactMap { lane in lanes[lane.index].isEmpty ? nil : (lane.topic, lanes[lane.index]) }
    }

    /// The jobs decoded again, lane by lane (for tests and tools; the pipeline appends the records).
    public func decoded() throws(InvalidValue) -> [DeliveryJob] {
        var out: [DeliveryJob] = []
        for lane in Lane.all {
            for record in lanes[lane.index] { out.append(try JobCodec.decode(record.value)) }
        }
        return out
    }
}
