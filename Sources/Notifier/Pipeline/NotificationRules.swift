public import ChaparModels
import Foundation

/// What the rules decided for one customer and channel.
public struct Decision: Hashable, Sendable {
    public enum Outcome: Hashable, Sendable {
        /// Make a job; `notBefore` is set when quiet hours defer it.
        case send(notBefore: Timestamp?)
        case skip(SkipReason)
    }

    /// nil when no customer is involved (an account that nobody holds).
    public var customer: CustomerID?
    /// nil when the skip concerns the customer as a whole (inactive, unknown).
    public var channel: Channel?
    public var outcome: Outcome

    public init(customer: CustomerID?, channel: Channel?, outcome: Outcome) {
        self.customer = customer
        self.channel = channel
        self.outcome = outcome
    }
}

/// Why no job was made. Stable raw values: they are metric labels and log fields.
public enum SkipReason: String, Hashable, Sendable, CaseIterable {
    case inactiveCustomer = "inactive-customer"
    case unknownCustomer = "unknown-customer"
    case noAccountHolder = "no-account-holder"
    case channelDisabled = "channel-disabled"
    case kindNotSubscribed = "kind-not-subscribed"
    case belowMinimum = "below-minimum"
    case noTemplate = "no-template"
    case expired
    case noChannels = "no-channels"
}

/// The notification rules, as a pure function of the event, the customers and the time.
///
/// For each customer linked to the event (every holder of a joint account, or the addressee of a
/// direct message) and each channel they have configured, in channel order:
/// 1. inactive customers are skipped (one decision, no channel);
/// 2. a disabled channel is skipped;
/// 3. a kind the channel does not subscribe to is skipped;
/// 4. a transaction below the channel's minimum for its currency is skipped (messages have no amount);
/// 5. a message past its expiry is skipped;
/// 6. otherwise a job is made; non-urgent jobs inside the customer's quiet hours (in their time zone)
///    get `notBefore` = the end of the window. Urgent (security) jobs are never deferred.
public struct NotificationRules: Sendable {
    private var zones: TimeZoneCache

    public init() { zones = TimeZoneCache() }

    /// Decisions for one event, in (customer, channel) order.
    public mutating func decide(_ event: Event, customers: [CustomerProfile], now: Timestamp) -> [Decision] {
        if customers.isEmpty {
            // Keep a trace of events nobody hears about: an unlinked account or an unknown customer.
            switch event {
            case .transaction: return []
            case .message(let m): return [Decision(customer: m.customer, channel: nil, outcome: .skip(.unknownCustomer))]
            }
        }
        var out: [Decision] = []
        for customer in customers { decide(event, customer: customer, now: now, into: &out) }
        return out
    }

    /// Appends the decisions for one customer of `event` to `out`, in channel order (the pipeline
    /// reuses one array for every customer of a batch).
    public mutating func decide(_ event: Event, customer: borrowing CustomerProfile, now: Timestamp, into out: inout [Decision]) {
        guard customer.active else {
            out.append(Decision(customer: customer.id, channel: nil, outcome: .skip(.inactiveCustomer)))
            return
        }
        let channels = customer.channels
        if channels.isEmpty {
            out.append(Decision(customer: customer.id, channel: nil, outcome: .skip(.noChannels)))
            return
        }
        let id = customer.id, timeZone = customer.timeZone
        // What the channel checks need of the event, read once (each accessor of `Event` copies its payload).
        let facts = EventFacts(event)
        // Channels come from the store in channel order; sort only when they do not.
        var ordered = true
        for i in channels.indices.dropFirst() where !(channels[i - 1].channel < channels[i].channel) {
            ordered = false
            break
        }
        if ordered {
            for i in channels.indices {
                out.append(Decision(customer: id, channel: channels[i].channel,
                                    outcome: decide(facts, timeZone, channels[i], now)))
            }
        } else {
            for pref in channels.sorted(by: { $0.channel < $1.channel }) {
                out.append(Decision(customer: id, channel: pref.channel, outcome: decide(facts, timeZone, pref, now)))
            }
        }
    }

    /// The parts of an event the per-channel rules look at.
    private struct EventFacts {
        var kind: EventKind
        var priority: Priority
        /// For a bank-defined transaction kind (`salary`), the direction kind it also counts as.
        var moneyKind: EventKind?
        /// Transactions: the amount, compared with the channel's minimum.
        var amount: Money?
        /// Messages: when they stop being worth sending.
        var expiresAt: Timestamp?

        init(_ event: Event) {
            switch event {
            case .transaction(let t):
                kind = t.kind
                moneyKind = t.kind != .debit && t.kind != .credit ? (t.direction == .debit ? .debit : .credit) : nil
                amount = t.amount
                expiresAt = nil
            case .message(let m):
                kind = m.kind
                moneyKind = nil
                amount = nil
                expiresAt = m.expiresAt
            }
            priority = kind == .security ? .urgent : kind == .marketing ? .bulk : .normal
        }
    }

    private mutating func decide(_ event: EventFacts, _ timeZone: String, _ pref: borrowing ChannelPreference, _ now: Timestamp) -> Decision.Outcome {
        guard pref.enabled else { return .skip(.channelDisabled) }
        // A bank-defined transaction kind (`salary`, `fee`) counts as its direction for customers
        // who subscribed to plain `debit`/`credit`.
        guard pref.eventKinds.contains(event.kind) || event.moneyKind.map({ pref.eventKinds.contains($0) }) == true else {
            return .skip(.kindNotSubscribed)
        }
        if let amount = event.amount, let minimum = pref.minimumAmounts[amount.currency], amount.minorUnits < minimum { return .skip(.belowMinimum) }
        if let expiry = event.expiresAt, expiry <= now { return .skip(.expired) }
        guard event.priority != .urgent, let quiet = pref.quietHours else { return .send(notBefore: nil) }
        return .send(notBefore: deferral(now: now, quiet: quiet, zone: timeZone))
    }

    /// When quiet hours end, if `now` falls inside them in `zone`; nil when outside.
    ///
    /// The end is the first instant whose local wall-clock time is the window's end: if the zone's
    /// offset changes inside the window (DST), the end follows the wall clock; if the end time does
    /// not exist that day (it falls in a spring-forward gap), the window ends when the gap does.
    public mutating func deferral(now: Timestamp, quiet: QuietHours, zone identifier: String) -> Timestamp? {
        let zone = zones.zone(identifier)
        func local(_ seconds: Int64) -> (time: TimeOfDay, secondOfDay: Int64) {
            let localSeconds = seconds + Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(seconds))))
            let secondOfDay = localSeconds.floorMod(86_400)
            // TimeOfDay(minutes:) cannot fail for 0..<1440.
            return (try! TimeOfDay(minutes: Int(secondOfDay / 60)), secondOfDay)
        }
        func offset(_ seconds: Int64) -> Int64 { Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(seconds)))) }
        let seconds = now.milliseconds.floorDiv(1000)
        let start = local(seconds)
        guard quiet.contains(start.time) else { return nil }
        // Wall-clock distance to the end, corrected by any offset change on the way.
        var end = seconds + Int64(quiet.minutesUntilEnd(from: start.time)) * 60 - start.secondOfDay % 60
        end += offset(seconds) - offset(end)
        // Still inside only when the end time fell into a gap: the window then ends where the gap
        // does. Stepping by wall-clock minutes would jump past it, so find the first instant that is
        // outside by bisection between a time inside and one a wall-clock step later (outside).
        if quiet.contains(local(end).time) {
            var inside = end
            var outside = end
            for _ in 0..<3 {
                let here = local(outside)
                guard quiet.contains(here.time) else { break }
                inside = outside
                outside += Int64(quiet.minutesUntilEnd(from: here.time)) * 60 - here.secondOfDay % 60
            }
            while outside - inside > 1 {
                let mid = inside + (outside - inside) / 2
                if quiet.contains(local(mid).time) { inside = mid } else { outside = mid }
            }
            end = outside
        }
        return Timestamp(milliseconds: end * 1000)
    }
}

/// Resolves IANA identifiers once; unknown identifiers fall back to UTC (the store validates them,
/// so this only guards against a zone removed from the system's database).
struct TimeZoneCache: Sendable {
    private var zones: [String: TimeZone] = [:]

    mutating func zone(_ identifier: String) -> TimeZone {
        if let z = zones[identifier] { return z }
        let z = TimeZone(identifier: identifier) ?? TimeZone(identifier: "UTC")!  // UTC always exists
        zones[identifier] = z
        return z
    }
}

extension Int64 {
    func floorDiv(_ d: Int64) -> Int64 { let q = self / d; return (self % d != 0 && (self < 0) != (d < 0)) ? q - 1 : q }
    func floorMod(_ d: Int64) -> Int64 { let m = self % d; return m < 0 ? m + d : m }
}
