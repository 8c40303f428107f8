public import ChaparModels
import Synchronization

/// One channel's gateways at run time: the primary and its failover chain, each with its rate
/// limit, in-flight count, circuit breaker and counters. Decides where the next request goes.
///
/// A job goes to the first gateway in the chain whose breaker admits it. The failover is used only
/// while the primary's breaker is open (or its half-open probe is out), never just because the
/// primary is busy or rate-limited: those are limits to respect, not faults to route around.
public final class GatewayRouter: Sendable {
    /// Primary first, then its failovers in order.
    public let chain: [Gateway]
    private let state: Mutex<[GatewayRuntime]>

    struct GatewayRuntime {
        var bucket: TokenBucket?
        var breaker: CircuitBreaker
        var inFlight = 0
        var stats = GatewayStatistics()
    }

    public enum Decision: Sendable, Hashable {
        /// Send through `chain[gateway]`; call ``release(_:verdict:now:)`` when the attempt ends.
        case send(gateway: Int)
        /// Every usable gateway is at its in-flight limit: wait for one to finish.
        case busy
        /// Rate-limited or every breaker open: wait this long.
        case wait(Duration)
    }

    /// How an attempt reflects on the gateway's health.
    public enum Verdict: Sendable {
        /// It answered properly (accepted, or refused this one message).
        case healthy
        /// It failed (5xx, 429, timeout, refused connection).
        case fault
        /// No verdict (cancelled at shutdown, or the request was never sent).
        case none
    }

    public init(chain: [Gateway], now: Duration) {
        precondition(!chain.isEmpty, "a channel needs at least one gateway")
        self.chain = chain
        state = Mutex(chain.map { g in
            GatewayRuntime(bucket: g.settings.rateLimit.map { TokenBucket(rate: $0.perSecond, burst: $0.burst, now: now) },
                           breaker: CircuitBreaker(policy: g.settings.breaker))
        })
    }

    /// Where the next request may go now, taking a rate token and an in-flight slot when it may.
    public func acquire(now: Duration) -> Decision {
        state.withLock { gateways in
            var reopens: Duration?
            for i in gateways.indices {
                guard gateways[i].breaker.wouldAllow(now: now) else {
                    if case .open(let until) = gateways[i].breaker.state { reopens = min(reopens ?? until, until) }
                    continue
                }
                if gateways[i].inFlight >= chain[i].settings.maxInFlight { return .busy }
                if let wait = gateways[i].bucket?.take(now: now) { return .wait(wait) }
                _ = gateways[i].breaker.allow(now: now)
                gateways[i].inFlight += 1
                return .send(gateway: i)
            }
            // Every breaker is open (or probing): wait for the first to reopen, checking at least every second.
            let wait = reopens.map { max($0 - now, .milliseconds(1)) } ?? .milliseconds(50)
            return .wait(min(wait, .seconds(1)))
        }
    }

    /// Ends an attempt started by ``acquire(now:)``.
    public func release(_ gateway: Int, verdict: Verdict, outcome: String? = nil, error: String? = nil, now: Duration) {
        state.withLock { gateways in
            gateways[gateway].inFlight -= 1
            switch verdict {
            case .healthy: gateways[gateway].breaker.record(success: true, now: now)
            case .fault: gateways[gateway].breaker.record(success: false, now: now)
            case .none: break
            }
            if let outcome { gateways[gateway].stats.count(outcome) }
            if let error {
                gateways[gateway].stats.lastError = error
                gateways[gateway].stats.lastErrorAt = now
            }
        }
    }

    /// A snapshot of every gateway for the CLI and console.
    public func snapshot(now: Duration) -> [GatewaySnapshot] {
        state.withLock { gateways in
            gateways.indices.map { i in
                var g = gateways[i]
                return GatewaySnapshot(name: chain[i].name, type: chain[i].settings.type, channel: chain[i].settings.channel,
                                       breaker: g.breaker.state.name, inFlight: g.inFlight,
                                       tokens: g.bucket?.available(now: now), statistics: g.stats,
                                       lastErrorAge: g.stats.lastErrorAt.map { now - $0 })
            }
        }
    }
}

/// Counters of one gateway since start.
public struct GatewayStatistics: Sendable, Hashable {
    public var accepted = 0
    public var retried = 0
    public var rejected = 0
    public var lastError: String?
    public var lastErrorAt: Duration?

    mutating func count(_ outcome: String) {
        switch outcome {
        case "accepted": accepted += 1
        case "retry": retried += 1
        default: rejected += 1
        }
    }
}

/// What the console shows of a gateway.
public struct GatewaySnapshot: Sendable, Hashable {
    public var name: String
    public var type: String
    public var channel: Channel
    public var breaker: String
    public var inFlight: Int
    /// Rate tokens available now; nil when the gateway has no rate limit.
    public var tokens: Double?
    public var statistics: GatewayStatistics
    /// How long ago the last error was (nil: none yet).
    public var lastErrorAge: Duration?
}
