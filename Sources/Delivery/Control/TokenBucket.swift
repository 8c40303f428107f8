/// A token-bucket rate limit: `rate` messages per second on average, up to `burst` at once.
///
/// Pure: time is passed in (monotonic, as a ``Duration`` since any fixed origin), so tests move it
/// by hand. The bucket starts full.
public struct TokenBucket: Sendable, Hashable {
    /// Tokens added per second.
    public let rate: Double
    /// The most tokens the bucket holds (the largest burst).
    public let burst: Double
    private var tokens: Double
    private var last: Duration

    public init(rate: Double, burst: Double, now: Duration) {
        precondition(rate > 0 && burst >= 1, "a rate limit needs rate > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        tokens = burst
        last = now
    }

    /// Takes one token if there is one and returns nil; otherwise returns how long until one is
    /// there (and takes nothing).
    public mutating func take(now: Duration) -> Duration? {
        refill(now)
        if tokens >= 1 {
            tokens -= 1
            return nil
        }
        return .nanoseconds(Int64(((1 - tokens) / rate * 1e9).rounded(.up)))
    }

    /// Tokens available now (fractional), for the console.
    public mutating func available(now: Duration) -> Double {
        refill(now)
        return tokens
    }

    private mutating func refill(_ now: Duration) {
        guard now > last else { return }
        tokens = min(burst, tokens + (now - last).seconds * rate)
        last = now
    }
}

extension Duration {
    /// The duration in seconds as a Double.
    public var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}
