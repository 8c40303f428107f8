public import ChaparModels
#if canImport(Glibc)
import Glibc
#endif

/// How the notifier runs. Every field has a documented default; `chapar` fills it from flags.
public struct NotifierConfiguration: Sendable {
    /// The consumer group; members share its partitions. Default `notifier`.
    public var group: GroupID
    /// Members (concurrent consumers) in this process. Default 4, two per core here: while one
    /// waits for its jobs to be durable and its offsets committed, another computes (with one per
    /// core a core idles during every fsync; measured in `docs/notifier.md`).
    public var members: Int
    /// Event topics to consume. Default `transactions` and `messages`.
    public var topics: [TopicName]
    /// Topics read by one more member in a group of their own (`<group>.urgent`), so urgent events
    /// never queue behind a burst on the others. Default `messages.urgent`; empty for none.
    public var urgentTopics: [TopicName]
    /// Records per poll, i.e. per batch of job appends and offset commit. Default 2,000.
    public var batchSize: Int
    /// How long an idle poll waits for new events before looping. Default 1 s (no CPU while waiting).
    public var pollTimeout: Duration
    /// Partitions of each `notify.*` topic created on start. Default 4.
    public var jobTopicPartitions: Int
    /// Where a new group starts. Default earliest: a first start notifies the backlog.
    public var startPosition: StartPosition
    /// Pause after a failed batch (customer store or log error) before it is retried. Default 1 s.
    public var retryDelay: Duration
    /// A member silent for longer than this (a stalled disk, a paused process) loses its partitions
    /// to the others; it then drops its batch and rejoins. Default 30 s.
    public var sessionTimeout: Duration
    /// The clock for quiet hours, expiry and `createdAt`. Default: the system clock.
    public var clock: any ChaparClock

    public init(group: GroupID = "notifier", members: Int = 4, topics: [TopicName] = [Topics.transactions, Topics.messages],
                urgentTopics: [TopicName] = [Topics.urgentMessages],
                batchSize: Int = 2_000, pollTimeout: Duration = .seconds(1), jobTopicPartitions: Int = 4,
                startPosition: StartPosition = .earliest, retryDelay: Duration = .seconds(1), sessionTimeout: Duration = .seconds(30),
                clock: any ChaparClock = SystemClock()) {
        self.group = group
        self.members = members
        self.topics = topics
        self.urgentTopics = urgentTopics
        self.batchSize = batchSize
        self.pollTimeout = pollTimeout
        self.jobTopicPartitions = jobTopicPartitions
        self.startPosition = startPosition
        self.retryDelay = retryDelay
        self.sessionTimeout = sessionTimeout
        self.clock = clock
    }

    /// The urgent member's group.
    public var urgentGroup: GroupID { GroupID(stringLiteral: "\(group.rawValue).urgent") }
}
