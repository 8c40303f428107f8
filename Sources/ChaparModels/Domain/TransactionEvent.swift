/// Where an event came from: the file and line (or XML element path) it was read from.
public struct EntryLocation: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The file name as given to `chapar ingest`, or `http`, `demo`….
    public var file: String
    /// 1-based line number (the entry's first line for multi-line formats).
    public var line: Int
    /// For XML: the element path of the entry, e.g. `/Document/BkToCstmrDbtCdtNtfctn/Ntfctn[1]/Ntry[3]`.
    public var path: String?

    public init(file: String, line: Int, path: String? = nil) {
        self.file = file
        self.line = line
        self.path = path
    }

    /// `FILE:LINE` or `FILE:LINE (PATH)`, the prefix of every ingest error.
    public var description: String { path.map { "\(file):\(line) (\($0))" } ?? "\(file):\(line)" }
}

/// A movement of money on an account, as the core banking system reported it.
///
/// One is appended to the `transactions` topic per entry of a bank file, keyed by account so every
/// account's events stay in order. Amounts are integer minor units; never floating point.
public struct TransactionEvent: Hashable, Sendable {
    /// Stable identity, the deduplication key (see ``EventID``).
    public var id: EventID
    public var account: AccountID
    public var direction: Direction
    /// `debit` or `credit` unless the bank gave a finer kind (`salary`, `fee`…).
    public var kind: EventKind
    /// Always positive; ``direction`` says which way it went.
    public var amount: Money
    /// The balance after this entry, when the file says.
    public var balanceAfter: Money?
    /// When the bank booked it (UTC milliseconds).
    public var bookedAt: Timestamp
    public var valueDate: CalendarDate?
    /// The narrative (`:86:`, `AddtlNtryInf`, the CSV description), possibly Persian.
    public var description: String
    public var counterparty: String?
    /// Where the customer made it: `atm`, `pos`, `internet`, `branch`, `mobile`….
    public var originChannel: String?
    /// The bank's references (`AcctSvcrRef`, `EndToEndId`, `UETR`, MT940 reference), for tracing.
    public var references: [String: String]
    public var source: EntryLocation?

    public init(id: EventID, account: AccountID, direction: Direction, kind: EventKind? = nil, amount: Money,
                balanceAfter: Money? = nil, bookedAt: Timestamp, valueDate: CalendarDate? = nil, description: String = "",
                counterparty: String? = nil, originChannel: String? = nil, references: [String: String] = [:],
                source: EntryLocation? = nil) {
        self.id = id
        self.account = account
        self.direction = direction
        self.kind = kind ?? (direction == .debit ? .debit : .credit)
        self.amount = amount
        self.balanceAfter = balanceAfter
        self.bookedAt = bookedAt
        self.valueDate = valueDate
        self.description = description
        self.counterparty = counterparty
        self.originChannel = originChannel
        self.references = references
        self.source = source
    }
}

/// A message the bank sends a customer directly, not caused by a transaction.
public struct DirectMessage: Hashable, Sendable {
    public var id: EventID
    public var customer: CustomerID
    /// `security` (urgent: OTPs, login alerts, blocked cards) or `marketing` (bulk: greetings, campaigns).
    public var kind: EventKind
    /// The template name under `config/templates/<channel>/`, e.g. `otp` or `birthday`.
    public var template: String
    /// Values the template may use, e.g. `code`, `device`, `campaign`.
    public var variables: [String: String]
    public var createdAt: Timestamp
    /// After this the message is useless (an expired OTP) and must not be sent.
    public var expiresAt: Timestamp?
    public var source: EntryLocation?

    public init(id: EventID, customer: CustomerID, kind: EventKind, template: String, variables: [String: String] = [:],
                createdAt: Timestamp, expiresAt: Timestamp? = nil, source: EntryLocation? = nil) {
        self.id = id
        self.customer = customer
        self.kind = kind
        self.template = template
        self.variables = variables
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.source = source
    }
}

/// Anything the notifier reacts to.
public enum Event: Hashable, Sendable {
    case transaction(TransactionEvent)
    case message(DirectMessage)

    public var id: EventID {
        switch self {
        case .transaction(let t): t.id
        case .message(let m): m.id
        }
    }

    public var kind: EventKind {
        switch self {
        case .transaction(let t): t.kind
        case .message(let m): m.kind
        }
    }

    /// `security` is urgent, `marketing` bulk, everything else (transactions) normal.
    public var priority: Priority {
        switch kind {
        case .security: .urgent
        case .marketing: .bulk
        default: .normal
        }
    }

    public var source: EntryLocation? {
        switch self {
        case .transaction(let t): t.source
        case .message(let m): m.source
        }
    }
}

/// The well-known topic names.
public enum Topics {
    /// Transaction events, keyed by account.
    public static let transactions: TopicName = "transactions"
    /// Direct messages (marketing and the rest), keyed by customer.
    public static let messages: TopicName = "messages"
    /// Urgent direct messages (kind `security`: OTPs, login alerts), keyed by customer. A topic of
    /// their own, read by the notifier's own urgent member, so an OTP never waits behind a
    /// campaign's burst on `messages` (the job lanes do the same after the notifier).
    public static let urgentMessages: TopicName = "messages.urgent"
    /// Every topic ingest appends to.
    public static let events: [TopicName] = [transactions, messages, urgentMessages]
    /// Jobs that failed for good, with the reason; replayable.
    public static let dead: TopicName = "notify.dead"

    /// The lane topic of a channel: `notify.sms.urgent`, `notify.sms` (normal), `notify.sms.bulk`.
    public static func jobs(_ channel: Channel, _ priority: Priority) -> TopicName {
        switch priority {
        case .urgent: TopicName(stringLiteral: "notify.\(channel.rawValue).urgent")
        case .normal: TopicName(stringLiteral: "notify.\(channel.rawValue)")
        case .bulk: TopicName(stringLiteral: "notify.\(channel.rawValue).bulk")
        }
    }
}
