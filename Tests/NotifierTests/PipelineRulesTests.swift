import ChaparModels
import Foundation
@testable import Notifier
import Testing

@Suite("Notification rules (pure)")
struct PipelineRulesTests {
    let a1 = account(1), a2 = account(2)

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var event: Event
        var customers: [CustomerProfile]
        var now: Timestamp
        /// "customer/channel: send" or "customer/channel: skip reason" or "customer/channel: defer ISO"
        var expected: [String]
        var testDescription: String { name }
    }

    static let noon = utc("2026-01-10T08:30:00Z")  // 12:00 in Tehran (UTC+3:30)

    static let cases: [Case] = {
        let a1 = account(1)
        return [
            Case(name: "joint account notifies every holder", event: transaction("t1", account: a1),
                 customers: [customer("c1", accounts: [a1], channels: [sms()]), customer("c2", accounts: [a1], channels: [sms(), email()])],
                 now: noon, expected: ["c1/sms: send", "c2/sms: send", "c2/email: send"]),
            Case(name: "a disabled channel is skipped, the others still send", event: transaction("t1", account: a1),
                 customers: [customer("c1", accounts: [a1], channels: [sms(enabled: false), email()])],
                 now: noon, expected: ["c1/sms: skip channel-disabled", "c1/email: send"]),
            Case(name: "below the minimum for the currency is skipped", event: transaction("t1", account: a1, amount: 499),
                 customers: [customer("c1", accounts: [a1], channels: [sms(minimum: [.irr: 500])])],
                 now: noon, expected: ["c1/sms: skip below-minimum"]),
            Case(name: "exactly the minimum is sent", event: transaction("t1", account: a1, amount: 500),
                 customers: [customer("c1", accounts: [a1], channels: [sms(minimum: [.irr: 500])])],
                 now: noon, expected: ["c1/sms: send"]),
            Case(name: "a minimum in another currency does not apply", event: transaction("t1", account: a1, amount: 1, currency: .eur),
                 customers: [customer("c1", accounts: [a1], channels: [sms(minimum: [.irr: 500])])],
                 now: noon, expected: ["c1/sms: send"]),
            Case(name: "credits to a debit-only channel are skipped", event: transaction("t1", account: a1, direction: .credit),
                 customers: [customer("c1", accounts: [a1], channels: [sms(kinds: [.debit])])],
                 now: noon, expected: ["c1/sms: skip kind-not-subscribed"]),
            Case(name: "a bank-defined kind counts as its direction", event: transaction("t1", account: a1, direction: .credit, kind: try! EventKind("salary")),
                 customers: [customer("c1", accounts: [a1], channels: [sms(kinds: [.credit])])],
                 now: noon, expected: ["c1/sms: send"]),
            Case(name: "marketing is opt-in", event: message("m1", to: "c1", kind: .marketing),
                 customers: [customer("c1", accounts: [], channels: [sms(), email(kinds: [.marketing])])],
                 now: noon, expected: ["c1/sms: skip kind-not-subscribed", "c1/email: send"]),
            Case(name: "inactive customers are skipped with a reason", event: transaction("t1", account: a1),
                 customers: [customer("c1", active: false, accounts: [a1], channels: [sms()]), customer("c2", accounts: [a1], channels: [sms()])],
                 now: noon, expected: ["c1/-: skip inactive-customer", "c2/sms: send"]),
            Case(name: "a message to an unknown customer is recorded", event: message("m1", to: "ghost", kind: .security),
                 customers: [], now: noon, expected: ["ghost/-: skip unknown-customer"]),
            Case(name: "an expired OTP is not sent", event: message("m1", to: "c1", kind: .security, expires: noon.milliseconds),
                 customers: [customer("c1", accounts: [], channels: [sms()])], now: noon, expected: ["c1/sms: skip expired"]),
            Case(name: "quiet hours across midnight defer a transaction to the window's end (Tehran)",
                 event: transaction("t1", account: a1),
                 customers: [customer("c1", accounts: [a1], channels: [sms(quiet: "22:00-07:00")])],
                 now: utc("2026-01-10T20:00:00Z"), expected: ["c1/sms: defer 2026-01-11T03:30:00Z"]),
            Case(name: "just after midnight, the same window", event: transaction("t1", account: a1),
                 customers: [customer("c1", accounts: [a1], channels: [sms(quiet: "22:00-07:00")])],
                 now: utc("2026-01-10T21:15:30Z"), expected: ["c1/sms: defer 2026-01-11T03:30:00Z"]),
            Case(name: "the window's end itself is not quiet", event: transaction("t1", account: a1),
                 customers: [customer("c1", accounts: [a1], channels: [sms(quiet: "22:00-07:00")])],
                 now: utc("2026-01-11T03:30:00Z"), expected: ["c1/sms: send"]),
            Case(name: "security messages are never deferred", event: message("m1", to: "c1", kind: .security),
                 customers: [customer("c1", accounts: [], channels: [sms(quiet: "22:00-07:00")])],
                 now: utc("2026-01-10T20:00:00Z"), expected: ["c1/sms: send"]),
            Case(name: "each customer's own time zone decides", event: transaction("t1", account: a1),
                 customers: [customer("c1", zone: "Asia/Tehran", accounts: [a1], channels: [sms(quiet: "22:00-07:00")]),
                             customer("c2", zone: "Europe/London", accounts: [a1], channels: [sms(quiet: "22:00-07:00")])],
                 now: utc("2026-01-10T20:00:00Z"), expected: ["c1/sms: defer 2026-01-11T03:30:00Z", "c2/sms: send"]),
            Case(name: "a daytime window (13:00-14:00) defers to 14:00 local", event: transaction("t1", account: a1),
                 customers: [customer("c1", zone: "Europe/London", accounts: [a1], channels: [sms(quiet: "13:00-14:00")])],
                 now: utc("2026-07-01T12:10:00Z"), expected: ["c1/sms: defer 2026-07-01T13:00:00Z"]),
            Case(name: "a DST switch inside the window moves its end with the wall clock (New York, 8 March 2026)",
                 event: transaction("t1", account: a1),
                 customers: [customer("c1", zone: "America/New_York", accounts: [a1], channels: [sms(quiet: "22:00-07:00")])],
                 now: utc("2026-03-08T05:00:00Z"), expected: ["c1/sms: defer 2026-03-08T11:00:00Z"]),
            Case(name: "a window ending inside the spring-forward gap ends when the gap does (New York, 22:00-02:00, 8 March 2026)",
                 event: transaction("t1", account: a1),
                 customers: [customer("c1", zone: "America/New_York", accounts: [a1], channels: [sms(quiet: "22:00-02:00")])],
                 now: utc("2026-03-08T04:00:00Z"), expected: ["c1/sms: defer 2026-03-08T07:00:00Z"]),
            Case(name: "a 02:30 end in the gap also ends at 03:00 EDT", event: transaction("t1", account: a1),
                 customers: [customer("c1", zone: "America/New_York", accounts: [a1], channels: [sms(quiet: "22:00-02:30")])],
                 now: utc("2026-03-08T04:00:00Z"), expected: ["c1/sms: defer 2026-03-08T07:00:00Z"]),
            Case(name: "fall back: 22:00-07:00 ends at 07:00 EST (New York, 1 November 2026)", event: transaction("t1", account: a1),
                 customers: [customer("c1", zone: "America/New_York", accounts: [a1], channels: [sms(quiet: "22:00-07:00")])],
                 now: utc("2026-11-01T04:00:00Z"), expected: ["c1/sms: defer 2026-11-01T12:00:00Z"]),
            Case(name: "Kathmandu (+5:45) across midnight", event: transaction("t1", account: a1),
                 customers: [customer("c1", zone: "Asia/Kathmandu", accounts: [a1], channels: [sms(quiet: "22:00-07:00")])],
                 now: utc("2026-01-10T18:15:00Z"), expected: ["c1/sms: defer 2026-01-11T01:15:00Z"]),
            Case(name: "a customer without channels is recorded", event: transaction("t1", account: a1),
                 customers: [customer("c1", accounts: [a1], channels: [])], now: noon, expected: ["c1/-: skip no-channels"]),
        ]
    }()

    @Test("rule table", arguments: cases)
    func ruleTable(c: Case) {
        var rules = NotificationRules()
        let formatter = ISO8601DateFormatter()
        let got = rules.decide(c.event, customers: c.customers, now: c.now).map { d -> String in
            let who = "\(d.customer?.rawValue ?? "?")/\(d.channel?.rawValue ?? "-")"
            switch d.outcome {
            case .send(nil): return "\(who): send"
            case .send(let t?): return "\(who): defer \(formatter.string(from: Date(timeIntervalSince1970: Double(t.milliseconds) / 1000)))"
            case .skip(let reason): return "\(who): skip \(reason.rawValue)"
            }
        }
        #expect(got == c.expected)
    }

    @Test("a deferral always lands outside the window and within a day (seeded)")
    func deferralProperty() throws {
        var rng = SeededRandom(seed: UInt64(ProcessInfo.processInfo.environment["CHAPAR_TEST_SEED"] ?? "") ?? 0x5EED)
        print("deferral property seed: \(rng.seed)")
        var rules = NotificationRules()
        let zones = ["Asia/Tehran", "Europe/London", "America/New_York", "Australia/Lord_Howe", "UTC"]
        for _ in 0..<20_000 {
            let start = try TimeOfDay(minutes: Int(rng.next() % 1440)), end = try TimeOfDay(minutes: Int(rng.next() % 1440))
            guard start != end else { continue }
            let quiet = try QuietHours(start: start, end: end)
            let zone = zones[Int(rng.next() % UInt64(zones.count))]
            let now = Timestamp(milliseconds: 1_700_000_000_000 + Int64(rng.next() % (400 * 86_400_000)))
            guard let until = rules.deferral(now: now, quiet: quiet, zone: zone) else { continue }
            #expect(until > now && until.milliseconds - now.milliseconds <= 25 * 3_600_000, "\(quiet) \(zone) \(now)")
            #expect(rules.deferral(now: until, quiet: quiet, zone: zone) == nil, "\(quiet) in \(zone): \(until) is still quiet")
            // …and a minute earlier it is still quiet (the job is not held longer than needed),
            // unless that minute is on the other side of an offset change.
            let before = Timestamp(milliseconds: until.milliseconds - 60_000)
            if let z = TimeZone(identifier: zone), z.secondsFromGMT(for: Date(timeIntervalSince1970: Double(before.milliseconds) / 1000)) ==
                z.secondsFromGMT(for: Date(timeIntervalSince1970: Double(until.milliseconds) / 1000)), before > now {
                #expect(rules.deferral(now: before, quiet: quiet, zone: zone) != nil, "\(quiet) in \(zone): released late at \(until)")
            }
        }
    }
}

/// SplitMix64, so seeded tests replay exactly.
struct SeededRandom {
    let seed: UInt64
    private var state: UInt64
    init(seed: UInt64) { self.seed = seed; state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
