/// A time of day in minutes after midnight (0...1439), written `HH:MM`.
public struct TimeOfDay: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let minutes: Int

    public init(minutes: Int) throws(InvalidValue) {
        guard (0..<1440).contains(minutes) else { throw InvalidValue("time", "\(minutes) minutes is not a time of day") }
        self.minutes = minutes
    }

    /// Parses `HH:MM` (24-hour clock, `00:00` to `23:59`).
    public init(parsing text: some StringProtocol) throws(InvalidValue) {
        let u = Array(text.utf8)
        func d(_ i: Int) -> Int? { u[i] >= 0x30 && u[i] <= 0x39 ? Int(u[i] - 0x30) : nil }
        guard u.count == 5, u[2] == 0x3A, let h1 = d(0), let h2 = d(1), let m1 = d(3), let m2 = d(4),
              h1 * 10 + h2 < 24, m1 * 10 + m2 < 60 else {
            throw InvalidValue("time", "'\(text)' is not a time; use HH:MM on a 24-hour clock, e.g. 22:00")
        }
        minutes = (h1 * 10 + h2) * 60 + m1 * 10 + m2
    }

    public init(from decoder: any Decoder) throws {
        try self.init(parsing: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    public var description: String {
        let h = minutes / 60, m = minutes % 60
        return (h < 10 ? "0" : "") + String(h) + ":" + (m < 10 ? "0" : "") + String(m)
    }

    public static func < (a: TimeOfDay, b: TimeOfDay) -> Bool { a.minutes < b.minutes }
}

/// A daily window in the customer's local time when non-urgent messages wait, e.g. `22:00-07:00`.
///
/// The window includes its start and excludes its end; a start later than the end wraps past
/// midnight. Equal start and end is rejected: it would mean "never" or "always", both surprising.
public struct QuietHours: Hashable, Sendable, Codable, CustomStringConvertible {
    public let start: TimeOfDay
    public let end: TimeOfDay

    public init(start: TimeOfDay, end: TimeOfDay) throws(InvalidValue) {
        guard start != end else { throw InvalidValue("quiet-hours", "start and end are both \(start); give a real window such as 22:00-07:00") }
        self.start = start
        self.end = end
    }

    /// Parses `HH:MM-HH:MM`.
    public init(parsing text: some StringProtocol) throws(InvalidValue) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw InvalidValue("quiet-hours", "'\(text)' is not a window; use HH:MM-HH:MM, e.g. 22:00-07:00") }
        do {
            try self.init(start: try TimeOfDay(parsing: parts[0]), end: try TimeOfDay(parsing: parts[1]))
        } catch {
            throw InvalidValue("quiet-hours", "'\(text)': \(error.reason)")
        }
    }

    /// Whether a local time falls inside the window.
    public func contains(_ t: TimeOfDay) -> Bool {
        start < end ? (t >= start && t < end) : (t >= start || t < end)
    }

    /// Minutes from `t` until the window ends (0 when `t` is outside it).
    public func minutesUntilEnd(from t: TimeOfDay) -> Int {
        guard contains(t) else { return 0 }
        return (end.minutes - t.minutes + 1440) % 1440
    }

    public init(from decoder: any Decoder) throws {
        try self.init(parsing: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    public var description: String { "\(start)-\(end)" }
}

/// How one customer wants to hear on one channel.
public struct ChannelPreference: Hashable, Sendable, Codable {
    public var channel: Channel
    /// The validated, normalized address (see ``ContactAddress``).
    public var address: ContactAddress
    public var enabled: Bool
    /// Transactions below these amounts (per currency) are not notified on this channel.
    /// Currencies without an entry have no minimum. Direct messages ignore minimums.
    public var minimumAmounts: [CurrencyCode: Int64]
    /// Which event kinds this channel receives.
    public var eventKinds: Set<EventKind>
    /// Non-urgent messages inside this window wait until it ends.
    public var quietHours: QuietHours?

    public init(channel: Channel, address: ContactAddress, enabled: Bool = true, minimumAmounts: [CurrencyCode: Int64] = [:],
                eventKinds: Set<EventKind> = EventKind.defaultSubscription, quietHours: QuietHours? = nil) {
        self.channel = channel
        self.address = address
        self.enabled = enabled
        self.minimumAmounts = minimumAmounts
        self.eventKinds = eventKinds
        self.quietHours = quietHours
    }
}

/// Everything the notifier needs to know about one customer.
public struct CustomerProfile: Hashable, Sendable, Codable {
    public var id: CustomerID
    /// Display name, often Persian; stored and returned exactly as given.
    public var name: String
    public var language: Language
    /// IANA time zone identifier, e.g. `Asia/Tehran`; quiet hours are in this zone.
    public var timeZone: String
    public var birthday: CalendarDate?
    /// Inactive customers are skipped (with a reason) rather than notified.
    public var active: Bool
    /// Accounts this customer holds (a joint account lists several customers).
    public var accounts: [AccountID]
    /// At most one preference per channel, in channel order.
    public var channels: [ChannelPreference]

    public init(id: CustomerID, name: String, language: Language, timeZone: String = "Asia/Tehran", birthday: CalendarDate? = nil,
                active: Bool = true, accounts: [AccountID] = [], channels: [ChannelPreference] = []) {
        self.id = id
        self.name = name
        self.language = language
        self.timeZone = timeZone
        self.birthday = birthday
        self.active = active
        self.accounts = accounts
        self.channels = channels
    }

    public func preference(for channel: Channel) -> ChannelPreference? { channels.first { $0.channel == channel } }
}

/// The notifier's read-only view of the customer store.
///
/// Implementations answer from an in-process cache when they can, and see changes made by other
/// processes (`chapar customers …`) within about a second.
public protocol CustomerDirectory: Sendable {
    /// Every customer linked to `account` (several for a joint account), in id order.
    func customers(forAccount account: AccountID) async throws -> [CustomerProfile]
    /// One customer, or nil when there is none with this id.
    func customer(_ id: CustomerID) async throws -> CustomerProfile?
    /// Batch form for the notifier's hot path: the customers of each account that has any.
    func customers(forAccounts accounts: Set<AccountID>) async throws -> [AccountID: [CustomerProfile]]
}
