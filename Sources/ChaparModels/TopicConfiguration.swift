/// When an append is acknowledged relative to fsync.
public enum DurabilityPolicy: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Acknowledge only after fsync. Concurrent appends share each fsync (group commit). The default.
    case always
    /// Acknowledge once written to the OS; fsync at most this often. Survives a process crash, not a power cut.
    case interval(Duration)
    /// Acknowledge once written to the OS; never fsync explicitly (except when a segment is sealed).
    case never

    public var description: String {
        switch self {
        case .always: "always"
        case .never: "never"
        case .interval(let d): "interval:\(d.milliseconds)ms"
        }
    }

    /// Parses `always`, `never`, `interval` (1 s) or `interval:250ms` / `interval:2s`.
    public init(parsing text: String) throws(LogError) {
        switch text {
        case "always": self = .always
        case "never": self = .never
        case "interval": self = .interval(.seconds(1))
        default:
            guard text.hasPrefix("interval:"), let d = parseDuration(String(text.dropFirst("interval:".count))), d > .zero else {
                throw LogError(.invalidArgument, "invalid fsync policy '\(text)': use always, never, interval or interval:<N>ms|s")
            }
            self = .interval(d)
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        try self.init(parsing: text)
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// Per-topic settings, fixed at creation except where noted in docs/log-format.md.
public struct TopicConfiguration: Hashable, Sendable, Codable {
    /// Number of partitions; keys are spread over them by ``Partitioner``.
    public var partitions: Int
    /// When appends are acknowledged. Default `always`.
    public var durability: DurabilityPolicy
    /// Roll to a new segment file when the active one reaches this size. Default 128 MiB.
    public var segmentBytes: Int64
    /// Roll to a new segment when the active one is older than this. Default 7 days.
    public var segmentMaxAge: Duration
    /// Delete whole segments whose newest record is older than this. Nil keeps forever. Default 7 days.
    public var retentionAge: Duration?
    /// Delete the oldest whole segments while a partition is larger than this. Nil means no size limit.
    public var retentionBytes: Int64?
    /// One sparse index entry per this many bytes of log. Default 4 KiB.
    public var indexIntervalBytes: Int
    /// Largest batch accepted in one append (after encoding). Default 8 MiB.
    public var maxBatchBytes: Int

    public init(
        partitions: Int = 1,
        durability: DurabilityPolicy = .always,
        segmentBytes: Int64 = 128 << 20,
        segmentMaxAge: Duration = .seconds(7 * 86_400),
        retentionAge: Duration? = .seconds(7 * 86_400),
        retentionBytes: Int64? = nil,
        indexIntervalBytes: Int = 4096,
        maxBatchBytes: Int = 8 << 20
    ) {
        self.partitions = partitions
        self.durability = durability
        self.segmentBytes = segmentBytes
        self.segmentMaxAge = segmentMaxAge
        self.retentionAge = retentionAge
        self.retentionBytes = retentionBytes
        self.indexIntervalBytes = indexIntervalBytes
        self.maxBatchBytes = maxBatchBytes
    }

    /// Why this configuration cannot be used, or nil.
    public var problem: String? {
        if partitions < 1 || partitions > 10_000 { return "partitions must be between 1 and 10000 (got \(partitions))" }
        if segmentBytes < 1024 { return "segment size must be at least 1024 bytes" }
        // Segment indexes store file positions as 32-bit values (docs/log-format.md), so a segment
        // must stay well below 4 GiB even after the flush that crosses the roll size.
        if segmentBytes > Int64(Int32.max) { return "segment size must be at most 2 GiB (2147483647 bytes)" }
        if segmentMaxAge <= .zero { return "segment age must be positive" }
        if let r = retentionAge, r <= .zero { return "retention age must be positive" }
        if let r = retentionBytes, r < 0 { return "retention bytes must not be negative" }
        if indexIntervalBytes < 64 { return "index interval must be at least 64 bytes" }
        if maxBatchBytes < 1024 || maxBatchBytes > 256 << 20 { return "max batch bytes must be between 1 KiB and 256 MiB" }
        return nil
    }

    enum CodingKeys: String, CodingKey {
        case partitions, durability, segmentBytes, segmentMaxAgeMs, retentionMs, retentionBytes, indexIntervalBytes, maxBatchBytes
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        partitions = try c.decode(Int.self, forKey: .partitions)
        durability = try c.decode(DurabilityPolicy.self, forKey: .durability)
        segmentBytes = try c.decode(Int64.self, forKey: .segmentBytes)
        segmentMaxAge = .milliseconds(try c.decode(Int64.self, forKey: .segmentMaxAgeMs))
        retentionAge = try c.decodeIfPresent(Int64.self, forKey: .retentionMs).map { .milliseconds($0) }
        retentionBytes = try c.decodeIfPresent(Int64.self, forKey: .retentionBytes)
        indexIntervalBytes = try c.decode(Int.self, forKey: .indexIntervalBytes)
        maxBatchBytes = try c.decode(Int.self, forKey: .maxBatchBytes)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(partitions, forKey: .partitions)
        try c.encode(durability, forKey: .durability)
        try c.encode(segmentBytes, forKey: .segmentBytes)
        try c.encode(segmentMaxAge.milliseconds, forKey: .segmentMaxAgeMs)
        try c.encodeIfPresent(retentionAge?.milliseconds, forKey: .retentionMs)
        try c.encodeIfPresent(retentionBytes, forKey: .retentionBytes)
        try c.encode(indexIntervalBytes, forKey: .indexIntervalBytes)
        try c.encode(maxBatchBytes, forKey: .maxBatchBytes)
    }
}

extension Duration {
    /// Whole milliseconds, rounded down.
    public var milliseconds: Int64 {
        let (s, atto) = components
        return s * 1000 + atto / 1_000_000_000_000_000
    }
}

/// Parses `250ms`, `2s`, `5m`, `12h`, `7d`; nil when malformed.
public func parseDuration(_ text: String) -> Duration? {
    let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
    for (suffix, factor) in units where text.hasSuffix(suffix) {
        let number = text.dropLast(suffix.count)
        guard let n = Int64(number), n >= 0 else { return nil }
        // Reject values whose milliseconds do not fit in Int64 instead of trapping on user input.
        let (ms, overflow) = n.multipliedReportingOverflow(by: factor)
        guard !overflow else { return nil }
        // "5ms" also ends in "s": the ms case is tried first, and Int64("5m") fails for the s case.
        return .milliseconds(ms)
    }
    return nil
}
