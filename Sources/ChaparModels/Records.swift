/// A header attached to a record: a UTF-8 name and opaque bytes (trace ids, content types).
public struct RecordHeader: Hashable, Sendable {
    public var key: String
    public var value: [UInt8]
    public init(_ key: String, _ value: [UInt8]) {
        self.key = key
        self.value = value
    }
    public init(_ key: String, _ value: String) { self.init(key, Array(value.utf8)) }
}

/// A record to append. `key` chooses the partition (records with the same key stay in order)
/// unless `partition` names one explicitly; a record with neither goes round-robin.
public struct ProducerRecord: Sendable {
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [RecordHeader]
    /// When the event happened; the log's clock is used when nil.
    public var timestamp: Timestamp?
    /// An explicit partition, overriding the key hash.
    public var partition: PartitionID?

    public init(key: [UInt8]? = nil, value: [UInt8], headers: [RecordHeader] = [], timestamp: Timestamp? = nil, partition: PartitionID? = nil) {
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
        self.partition = partition
    }

    public init(key: String?, value: String, headers: [RecordHeader] = [], timestamp: Timestamp? = nil, partition: PartitionID? = nil) {
        self.init(key: key.map { Array($0.utf8) }, value: Array(value.utf8), headers: headers, timestamp: timestamp, partition: partition)
    }
}

/// A record read back from the log. `key` and `value` are slices of the fetched batch, so a
/// fetch of thousands of records copies their bytes once, not once per record.
public struct ConsumerRecord: Sendable {
    public let topic: TopicName
    public let partition: PartitionID
    public let offset: Offset
    public let timestamp: Timestamp
    public let key: ArraySlice<UInt8>?
    public let value: ArraySlice<UInt8>
    public let headers: [RecordHeader]

    public init(topic: TopicName, partition: PartitionID, offset: Offset, timestamp: Timestamp, key: ArraySlice<UInt8>?, value: ArraySlice<UInt8>, headers: [RecordHeader]) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp
        self.key = key
        self.value = value
        self.headers = headers
    }

    public var topicPartition: TopicPartition { TopicPartition(topic, partition) }
    /// The key decoded as UTF-8 (invalid bytes replaced), or nil.
    public var keyString: String? { key.map { String(decoding: $0, as: UTF8.self) } }
    /// The value decoded as UTF-8 (invalid bytes replaced).
    public var valueString: String { String(decoding: value, as: UTF8.self) }
    /// The value of the first header named `name`.
    public func header(_ name: String) -> [UInt8]? { headers.first { $0.key == name }?.value }
}

/// Where an appended record landed, returned only once the record is durable under the
/// topic's durability policy.
public struct RecordPosition: Hashable, Sendable, Codable {
    public let topic: TopicName
    public let partition: PartitionID
    public let offset: Offset
    public let timestamp: Timestamp
    public init(topic: TopicName, partition: PartitionID, offset: Offset, timestamp: Timestamp) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp
    }
}

/// Bounds for one fetch.
public struct FetchLimits: Sendable {
    /// At most this many records.
    public var maxRecords: Int
    /// At most about this many bytes of batches (at least one whole batch is always returned).
    public var maxBytes: Int
    /// How long to wait for new records when the fetch starts at the end of the partition; zero returns at once.
    public var maxWait: Duration
    public init(maxRecords: Int = 10_000, maxBytes: Int = 1 << 20, maxWait: Duration = .zero) {
        self.maxRecords = maxRecords
        self.maxBytes = maxBytes
        self.maxWait = maxWait
    }
}

/// What one fetch returned.
public struct FetchResult: Sendable {
    public let records: [ConsumerRecord]
    /// The offset to fetch next: one past the last record returned, or the requested offset when none were.
    public let nextOffset: Offset
    /// The first offset still in the log (older records were removed by retention).
    public let logStartOffset: Offset
    /// One past the last durable record: the end of the partition as consumers see it.
    public let highWatermark: Offset
    public init(records: [ConsumerRecord], nextOffset: Offset, logStartOffset: Offset, highWatermark: Offset) {
        self.records = records
        self.nextOffset = nextOffset
        self.logStartOffset = logStartOffset
        self.highWatermark = highWatermark
    }
}
