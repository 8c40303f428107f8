public import ChaparModels

/// A job lane: one channel at one priority, with a topic of its own (`notify.sms.urgent`,
/// `notify.sms`, `notify.sms.bulk`, … — `docs/events.md`). Workers drain a channel's urgent lane
/// before its normal one before its bulk one.
public struct Lane: Hashable, Sendable, CustomStringConvertible {
    public var channel: Channel
    public var priority: Priority

    /// The lane of `channel`'s jobs at `priority`.
    public init(_ channel: Channel, _ priority: Priority) {
        self.channel = channel
        self.priority = priority
    }

    /// The topic its jobs are appended to.
    public var topic: TopicName { Topics.jobs(channel, priority) }

    /// `sms/urgent`.
    public var description: String { "\(channel)/\(priority)" }

    /// Every lane: channel by channel in `Channel.allCases` order, each urgent, normal, bulk.
    public static let all: [Lane] = Channel.allCases.flatMap { channel in Priority.allCases.map { Lane(channel, $0) } }

    /// Position in ``all``, for small per-lane arrays: the one place a lane becomes a number.
    var index: Int { channel.index * Self.prioritiesPerChannel + priority.index }

    private static let prioritiesPerChannel = Priority.allCases.count
}

extension Channel {
    /// Position in `Channel.allCases`, for small per-channel arrays.
    var index: Int {
        switch self {
        case .sms: 0
        case .email: 1
        case .fax: 2
        case .im: 3
        }
    }
}

extension Priority {
    /// Position in `Priority.allCases`.
    var index: Int {
        switch self {
        case .urgent: 0
        case .normal: 1
        case .bulk: 2
        }
    }
}
