import Foundation
import Testing

/// Debits for the serve tests: `perCustomer` rounds over `customers` accounts, event ids
/// `TAG-N-K`, posted to `POST /v1/events` in batches of 100. Returns how many (one SMS job each).
func postDebits(customers: Int, perCustomer: Int, tag: String, account: (Int) -> String,
                post: (_ path: String, _ body: String) async throws -> (status: Int, text: String)) async throws -> Int {
    var events: [String] = []
    for k in 0..<perCustomer {
        for n in 1...customers {
            events.append("""
                {"id":"\(tag)-\(n)-\(k)","account":"\(account(n))","direction":"debit","amount":"\(k + 1)0.00","currency":"EUR","booked_at":"2026-12-03T10:00:00Z"}
                """)
        }
    }
    for chunk in stride(from: 0, to: events.count, by: 100) {
        let r = try await post("/v1/events", "[" + events[chunk..<min(chunk + 100, events.count)].joined(separator: ",") + "]")
        try #require(r.status == 202, "events: \(r.text)")
    }
    return events.count
}

/// Polls `probe` every 250 ms until it returns a value; throws naming `what` after `timeout`. With
/// CHAPAR_TEST_TIMING set, prints how long it waited (where a slow test's minutes go).
func eventually<T>(_ what: String, timeout: Duration = .seconds(90), _ probe: () async throws -> T?) async throws -> T {
    let started = ContinuousClock.now
    defer { if ProcessInfo.processInfo.environment["CHAPAR_TEST_TIMING"] != nil { print("[\(started.duration(to: .now))] \(what)") } }
    let deadline = started.advanced(by: timeout)
    while ContinuousClock.now < deadline {
        if let value = try await probe() { return value }
        try await Task.sleep(for: .milliseconds(250))
    }
    throw PeerError("timed out waiting until \(what)")
}
