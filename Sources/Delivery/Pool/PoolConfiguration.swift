public import ChaparModels
import Foundation

/// A pool's settings (documented defaults; the configuration file sets them per channel).
public struct PoolConfiguration: Sendable {
    /// Jobs a lane holds in memory at most (waiting, in flight, or waiting to retry). When a lane
    /// is full its consumer stops fetching, so memory stays flat whatever the backlog. Each lane
    /// has its own bound so that a bulk backlog never takes the urgent lane's room.
    public var laneCapacity: Int
    /// Records fetched per poll, at most.
    public var fetchBatch: Int
    /// How often finished offsets are committed (after the ledger is flushed).
    public var commitInterval: Duration
    /// A job whose `notBefore` is further away than this is parked in the ledger's schedule
    /// instead of memory; closer ones wait in memory.
    public var deferThreshold: Duration
    /// How often the ledger's schedule is checked for due jobs, at most.
    public var scheduleInterval: Duration
    /// Consumer group names are `<groupPrefix>.<lane topic>` (e.g. `delivery.notify.sms.urgent`).
    public var groupPrefix: String
    /// Where new groups start on the lane topics.
    public var startPosition: StartPosition
    /// Told about every attempt (live metrics); nil for none.
    public var observer: (any DeliveryObserver)?

    public init(laneCapacity: Int = 1024, fetchBatch: Int = 512, commitInterval: Duration = .milliseconds(200),
                deferThreshold: Duration = .seconds(2), scheduleInterval: Duration = .seconds(1),
                groupPrefix: String = "delivery", startPosition: StartPosition = .earliest, observer: (any DeliveryObserver)? = nil) {
        self.laneCapacity = laneCapacity
        self.fetchBatch = fetchBatch
        self.commitInterval = commitInterval
        self.deferThreshold = deferThreshold
        self.scheduleInterval = scheduleInterval
        self.groupPrefix = groupPrefix
        self.startPosition = startPosition
        self.observer = observer
    }

    /// The consumer group of a lane topic.
    public func group(for topic: TopicName) -> GroupID {
        // Both parts are valid group name characters (letters, digits, '.', '-', '_').
        GroupID(stringLiteral: "\(groupPrefix).\(topic.rawValue)")
    }
}

/// What a pool did since it started.
public struct PoolStatistics: Sendable, Hashable, Codable {
    public var fetched = 0
    public var accepted = 0
    public var retries = 0
    public var dead = 0
    public var expired = 0
    public var deferred = 0
    public var skippedAlreadyFinal = 0
    public var invalidRecords = 0
    /// Jobs held in memory right now, per lane (urgent, normal, bulk).
    public var held: [Int] = [0, 0, 0]
    public var inFlight = 0
}
