/// When to try a failed delivery again: exponential backoff with jitter, bounded attempts, and the
/// gateway's own `Retry-After` honoured (but capped, so a gateway cannot park a job for a day).
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts in all, the first included. 1 means never retry.
    public var maxAttempts: Int
    /// The wait after the first failed attempt.
    public var initialBackoff: Duration
    /// No wait is longer than this (before jitter).
    public var maxBackoff: Duration
    /// Each further wait is this many times the previous one.
    public var multiplier: Double
    /// The wait is spread uniformly over ±`jitter` of itself (0.2 = ±20%) so that jobs failed
    /// together do not retry together.
    public var jitter: Double
    /// A `Retry-After` longer than this is cut to it.
    public var maxRetryAfter: Duration

    public init(maxAttempts: Int = 5, initialBackoff: Duration = .seconds(1), maxBackoff: Duration = .seconds(300),
                multiplier: Double = 2, jitter: Double = 0.2, maxRetryAfter: Duration = .seconds(3600)) {
        self.maxAttempts = maxAttempts
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.multiplier = multiplier
        self.jitter = jitter
        self.maxRetryAfter = maxRetryAfter
    }

    /// The wait before attempt `attempt + 1` after attempt `attempt` (1-based) failed, or nil when
    /// `attempt` was the last one. A gateway's `retryAfter` replaces the computed backoff (without
    /// jitter: the gateway said when), capped at ``maxRetryAfter``.
    public func delay(afterAttempt attempt: Int, retryAfter: Duration?, using random: inout some RandomNumberGenerator) -> Duration? {
        guard attempt < maxAttempts else { return nil }
        if let retryAfter { return min(max(retryAfter, .zero), maxRetryAfter) }
        let exponent = Double(max(0, attempt - 1))
        let base = min(initialBackoff.seconds * pow(multiplier, exponent), maxBackoff.seconds)
        let spread = jitter > 0 ? Double.random(in: (1 - jitter)...(1 + jitter), using: &random) : 1
        return .nanoseconds(Int64(base * spread * 1e9))
    }
}

/// Integer powers without Foundation.
private func pow(_ base: Double, _ exponent: Double) -> Double {
    var result = 1.0
    var n = Int(exponent)
    while n > 0 {
        result *= base
        n -= 1
        if result > 1e12 { break }
    }
    return result
}
