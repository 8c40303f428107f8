/// A gateway's circuit breaker: after `failureThreshold` consecutive failures the gateway is not
/// used for `openDuration`; then `halfOpenProbes` trial requests decide whether it closes again
/// (all succeed) or opens for another period (one fails).
///
/// Pure: time is passed in. Only transport failures and server-side answers (5xx, 429, timeouts)
/// count as failures; a gateway that rejects one bad request (4xx) is healthy.
public struct CircuitBreaker: Sendable, Hashable {
    public struct Policy: Sendable, Hashable {
        public var failureThreshold: Int
        public var openDuration: Duration
        public var halfOpenProbes: Int

        public init(failureThreshold: Int = 5, openDuration: Duration = .seconds(30), halfOpenProbes: Int = 1) {
            self.failureThreshold = failureThreshold
            self.openDuration = openDuration
            self.halfOpenProbes = halfOpenProbes
        }
    }

    public enum State: Sendable, Hashable {
        /// In use; `failures` consecutive failures so far.
        case closed(failures: Int)
        /// Not in use until `until`.
        case open(until: Duration)
        /// Trial: `inFlight` probes sent, `succeeded` of them came back fine.
        case halfOpen(inFlight: Int, succeeded: Int)

        /// `closed`, `open` or `half-open`.
        public var name: String {
            switch self {
            case .closed: "closed"
            case .open: "open"
            case .halfOpen: "half-open"
            }
        }
    }

    public let policy: Policy
    public private(set) var state: State = .closed(failures: 0)

    public init(policy: Policy = Policy()) {
        self.policy = policy
    }

    /// Whether a request may go to the gateway now. In half-open, each allowed request is a probe.
    public mutating func allow(now: Duration) -> Bool {
        switch state {
        case .closed:
            return true
        case .open(let until):
            guard now >= until else { return false }
            state = .halfOpen(inFlight: 1, succeeded: 0)
            return true
        case .halfOpen(let inFlight, let succeeded):
            guard inFlight < policy.halfOpenProbes else { return false }
            state = .halfOpen(inFlight: inFlight + 1, succeeded: succeeded)
            return true
        }
    }

    /// Whether a request would be allowed now, without counting a probe.
    public func wouldAllow(now: Duration) -> Bool {
        switch state {
        case .closed: true
        case .open(let until): now >= until
        case .halfOpen(let inFlight, _): inFlight < policy.halfOpenProbes
        }
    }

    /// Records how an allowed request ended.
    public mutating func record(success: Bool, now: Duration) {
        switch state {
        case .closed(let failures):
            if success {
                state = .closed(failures: 0)
            } else if failures + 1 >= policy.failureThreshold {
                state = .open(until: now + policy.openDuration)
            } else {
                state = .closed(failures: failures + 1)
            }
        case .open:
            // A request sent before the breaker opened came back late: the verdict is already in.
            break
        case .halfOpen(let inFlight, let succeeded):
            if !success {
                state = .open(until: now + policy.openDuration)
            } else if succeeded + 1 >= policy.halfOpenProbes {
                state = .closed(failures: 0)
            } else {
                state = .halfOpen(inFlight: inFlight, succeeded: succeeded + 1)
            }
        }
    }
}
