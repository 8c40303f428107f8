import ChaparModels
import EventLog
import Foundation
import Logging
import Notifier
import Synchronization
import Testing

let pipelineQuietLogger: Logger = {
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    return logger
}()

func withPipelineDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("chapar-notifier-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try await body(url.path)
}

/// Customers held in memory: the directory the pipeline tests use instead of SQLite.
final class MemoryDirectory: CustomerDirectory {
    private let byAccount: [AccountID: [CustomerProfile]]
    private let byID: [CustomerID: CustomerProfile]
    /// Fail this many batch lookups before answering (a store that is briefly unavailable).
    private let failures: Mutex<Int>

    init(_ customers: [CustomerProfile], failFirst: Int = 0) {
        var byAccount: [AccountID: [CustomerProfile]] = [:]
        for c in customers { for a in c.accounts { byAccount[a, default: []].append(c) } }
        self.byAccount = byAccount.mapValues { $0.sorted { $0.id < $1.id } }
        byID = Dictionary(customers.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        failures = Mutex(failFirst)
    }

    struct Unavailable: Error {}

    func customers(forAccount account: AccountID) async throws -> [CustomerProfile] { byAccount[account] ?? [] }
    func customer(_ id: CustomerID) async throws -> CustomerProfile? { byID[id] }
    func customers(forAccounts accounts: Set<AccountID>) async throws -> [AccountID: [CustomerProfile]] {
        let fail = failures.withLock { n -> Bool in
            if n > 0 { n -= 1; return true }
            return false
        }
        if fail { throw Unavailable() }
        var out: [AccountID: [CustomerProfile]] = [:]
        for a in accounts { if let c = byAccount[a] { out[a] = c } }
        return out
    }
}

/// Wraps a directory and stalls its first batch lookup (a stuck disk, a paused process).
final class StallingDirectory: CustomerDirectory {
    private let inner: MemoryDirectory
    private let stall: Duration
    private let stalled = Mutex(false)

    init(_ inner: MemoryDirectory, stall: Duration) {
        self.inner = inner
        self.stall = stall
    }

    func customers(forAccount account: AccountID) async throws -> [CustomerProfile] { try await inner.customers(forAccount: account) }
    func customer(_ id: CustomerID) async throws -> CustomerProfile? { try await inner.customer(id) }
    func customers(forAccounts accounts: Set<AccountID>) async throws -> [AccountID: [CustomerProfile]] {
        let first = stalled.withLock { s -> Bool in
            defer { s = true }
            return !s
        }
        if first { try await Task.sleep(for: stall) }
        return try await inner.customers(forAccounts: accounts)
    }
}

/// A renderer for pipeline tests: one line naming the event, so tests can trace jobs to events.
/// Template rendering itself is tested with the real templates in the Rendering tests.
struct LineRenderer: NotificationRendering {
    var withoutTemplates: Set<Channel> = []

    func render(_ event: Event, for customer: CustomerProfile, channel: Channel) throws(NotifierError) -> RenderedContent? {
        if withoutTemplates.contains(channel) { return nil }
        let text = "\(event.id) for \(customer.id)"
        switch channel {
        case .sms: return .sms(text: text, encoding: "gsm7", segments: 1)
        case .email: return .email(subject: text, text: text, html: "<p>\(text)</p>")
        case .fax: return .fax(title: text, lines: [text])
        case .im: return .im(text: text, format: "plain")
        }
    }
}

func account(_ n: Int) -> AccountID { try! AccountID(IBAN.make(country: "IR", bban: "0170" + String(repeating: "0", count: 18 - String(n).count) + String(n))) }

func customer(_ id: String, language: Language = .fa, zone: String = "Asia/Tehran", active: Bool = true, accounts: [AccountID],
              channels: [ChannelPreference]) -> CustomerProfile {
    CustomerProfile(id: try! CustomerID(id), name: "مشتری \(id)", language: language, timeZone: zone, active: active, accounts: accounts, channels: channels)
}

func sms(enabled: Bool = true, minimum: [CurrencyCode: Int64] = [:], kinds: Set<EventKind> = EventKind.defaultSubscription,
         quiet: String? = nil) -> ChannelPreference {
    ChannelPreference(channel: .sms, address: try! ContactAddress(.sms, "+989121234567"), enabled: enabled, minimumAmounts: minimum,
                      eventKinds: kinds, quietHours: quiet.map { try! QuietHours(parsing: $0) })
}

func email(enabled: Bool = true, kinds: Set<EventKind> = EventKind.defaultSubscription, quiet: String? = nil) -> ChannelPreference {
    ChannelPreference(channel: .email, address: try! ContactAddress(.email, "a@example.com"), enabled: enabled, eventKinds: kinds,
                      quietHours: quiet.map { try! QuietHours(parsing: $0) })
}

func transaction(_ id: String, account: AccountID, direction: Direction = .debit, kind: EventKind? = nil, amount: Int64 = 1_000_000,
                 currency: CurrencyCode = .irr, at: Int64 = 1_774_000_000_000) -> Event {
    .transaction(TransactionEvent(id: try! EventID(id), account: account, direction: direction, kind: kind,
                                  amount: Money(minorUnits: amount, currency: currency), bookedAt: Timestamp(milliseconds: at),
                                  description: "خرید"))
}

func message(_ id: String, to customer: String, kind: EventKind, expires: Int64? = nil) -> Event {
    .message(DirectMessage(id: try! EventID(id), customer: try! CustomerID(customer), kind: kind, template: kind == .security ? "otp" : "birthday",
                           variables: ["code": "123456"], createdAt: Timestamp(milliseconds: 1), expiresAt: expires.map { Timestamp(milliseconds: $0) }))
}

/// Milliseconds of an ISO-8601 UTC instant like `2026-01-10T20:00:00Z`.
func utc(_ text: String) -> Timestamp {
    let f = ISO8601DateFormatter()
    return Timestamp(milliseconds: Int64(f.date(from: text)!.timeIntervalSince1970 * 1000))
}

/// Every job on every lane topic of the log, decoded, in (topic, partition, offset) order.
func allJobs(_ log: EventLog) async throws -> [(topic: TopicName, partition: PartitionID, offset: Offset, job: DeliveryJob)] {
    var out: [(TopicName, PartitionID, Offset, DeliveryJob)] = []
    for topic in try await log.listTopics() where topic.name.rawValue.hasPrefix("notify.") {
        for p in topic.partitions {
            var next = p.startOffset
            while next < p.endOffset {
                let result = try await log.fetch(topic.name, partition: p.partition, from: next, limits: FetchLimits(maxRecords: 10_000))
                for r in result.records { out.append((topic.name, p.partition, r.offset, try JobCodec.decode(r.value))) }
                next = result.nextOffset
            }
        }
    }
    return out
}

/// Waits (bounded) until `condition` holds. The default bound is generous: these tests check
/// correctness through group rebalances, which on a 2-core machine running the whole suite (or
/// another build) took over 30 s where they take about a second alone.
func eventually(_ what: String, within limit: Duration = .seconds(120), _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now.advanced(by: limit)
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("timed out waiting until \(what)")
}
