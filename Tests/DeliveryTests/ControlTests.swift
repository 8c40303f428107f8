import Delivery
import Testing

/// The pure state machines: rate limit, backoff and breaker, with time moved by hand (no sleeping).
@Suite struct TokenBucketTests {
    @Test func startsFullAndRefillsAtTheRate() {
        var bucket = TokenBucket(rate: 10, burst: 3, now: .zero)
        #expect(bucket.take(now: .zero) == nil)
        #expect(bucket.take(now: .zero) == nil)
        #expect(bucket.take(now: .zero) == nil)
        // Empty: the next token is 100 ms away.
        let wait = bucket.take(now: .zero)
        #expect(wait == .milliseconds(100))
        #expect(bucket.take(now: .milliseconds(99)) != nil)
        #expect(bucket.take(now: .milliseconds(100)) == nil)
    }

    @Test func neverHoldsMoreThanTheBurst() {
        var bucket = TokenBucket(rate: 100, burst: 5, now: .zero)
        for _ in 0..<5 { _ = bucket.take(now: .zero) }
        // An hour idle refills only to the burst.
        var granted = 0
        while bucket.take(now: .seconds(3600)) == nil { granted += 1 }
        #expect(granted == 5)
    }

    @Test(arguments: [1.0, 7.5, 100, 3000])
    func holdsTheRateOverALongRun(rate: Double) {
        // Simulate a sender that asks as soon as the bucket says: over 30 s it sends rate*30 (+burst).
        var bucket = TokenBucket(rate: rate, burst: 1, now: .zero)
        var now = Duration.zero
        var sent = 0
        while now < .seconds(30) {
            if let wait = bucket.take(now: now) { now += wait } else { sent += 1 }
        }
        let expected = rate * 30
        #expect(abs(Double(sent) - expected) <= max(2, expected * 0.01), "sent \(sent), expected about \(expected)")
    }
}

@Suite struct RetryPolicyTests {
    @Test func backsOffExponentiallyUpToTheCapAndStopsAfterTheLastAttempt() {
        let policy = RetryPolicy(maxAttempts: 6, initialBackoff: .seconds(1), maxBackoff: .seconds(5), multiplier: 2, jitter: 0)
        var random = SystemRandomNumberGenerator()
        let delays = (1...6).map { policy.delay(afterAttempt: $0, retryAfter: nil, using: &random) }
        #expect(delays == [.seconds(1), .seconds(2), .seconds(4), .seconds(5), .seconds(5), nil])
    }

    @Test func jitterSpreadsWithinItsBounds() {
        let policy = RetryPolicy(maxAttempts: 3, initialBackoff: .seconds(10), jitter: 0.2)
        var random = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let d = policy.delay(afterAttempt: 1, retryAfter: nil, using: &random)!
            #expect(d >= .seconds(8) && d <= .seconds(12))
        }
    }

    @Test func retryAfterReplacesTheBackoffAndIsCapped() {
        let policy = RetryPolicy(maxAttempts: 3, initialBackoff: .seconds(1), maxRetryAfter: .seconds(60))
        var random = SystemRandomNumberGenerator()
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(7), using: &random) == .seconds(7))
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(86_400), using: &random) == .seconds(60))
        // Retry-After never extends the attempt budget.
        #expect(policy.delay(afterAttempt: 3, retryAfter: .seconds(1), using: &random) == nil)
    }

    @Test func oneAttemptMeansNoRetry() {
        var random = SystemRandomNumberGenerator()
        #expect(RetryPolicy(maxAttempts: 1).delay(afterAttempt: 1, retryAfter: nil, using: &random) == nil)
    }
}

@Suite struct CircuitBreakerTests {
    let policy = CircuitBreaker.Policy(failureThreshold: 3, openDuration: .seconds(10), halfOpenProbes: 2)

    @Test func opensAfterConsecutiveFailuresOnly() {
        var b = CircuitBreaker(policy: policy)
        b.record(success: false, now: .zero)
        b.record(success: false, now: .zero)
        b.record(success: true, now: .zero)  // resets the count
        b.record(success: false, now: .zero)
        b.record(success: false, now: .zero)
        #expect(b.state == .closed(failures: 2))
        b.record(success: false, now: .seconds(1))
        #expect(b.state == .open(until: .seconds(11)))
        let allowedWhileOpen = b.allow(now: .seconds(5))
        #expect(!allowedWhileOpen)
    }

    @Test func halfOpenProbesCloseItAgain() {
        var b = CircuitBreaker(policy: policy)
        for _ in 0..<3 { b.record(success: false, now: .zero) }
        let early = b.allow(now: .seconds(9))
        let probes = (b.allow(now: .seconds(10)), b.allow(now: .seconds(10)), b.allow(now: .seconds(10)))
        #expect(!early)
        #expect(probes.0 && probes.1)  // two probes
        #expect(!probes.2)             // no more than the probes
        #expect(b.state.name == "half-open")
        b.record(success: true, now: .seconds(11))
        #expect(b.state.name == "half-open")
        b.record(success: true, now: .seconds(11))
        #expect(b.state == .closed(failures: 0))
    }

    @Test func aFailedProbeOpensItForAnotherPeriod() {
        var b = CircuitBreaker(policy: policy)
        for _ in 0..<3 { b.record(success: false, now: .zero) }
        let probe = b.allow(now: .seconds(10))
        #expect(probe)
        b.record(success: false, now: .seconds(12))
        #expect(b.state == .open(until: .seconds(22)))
        #expect(!b.wouldAllow(now: .seconds(21)))
        #expect(b.wouldAllow(now: .seconds(22)))
    }

    @Test func lateAnswersFromBeforeTheOpeningChangeNothing() {
        var b = CircuitBreaker(policy: policy)
        for _ in 0..<3 { b.record(success: false, now: .zero) }
        b.record(success: true, now: .seconds(1))
        #expect(b.state == .open(until: .seconds(10)))
    }
}

@Suite struct HTTPOutcomeTests {
    func response(_ status: Int, _ headers: [HeaderField] = []) -> TransferResult {
        .response(TransferResponse(status: status, headers: headers, body: Array("body".utf8)))
    }

    @Test func classifiesGatewayAnswers() {
        #expect(HTTPOutcome.classify(response(202), gateway: "g").isAccepted)
        guard case .retry(_, let after, let fault) = HTTPOutcome.classify(response(429, [HeaderField("Retry-After", "3")]), gateway: "g") else {
            Issue.record("429 must be retried")
            return
        }
        #expect(after == .seconds(3) && fault)
        guard case .retry(_, nil, true) = HTTPOutcome.classify(response(500), gateway: "g") else { Issue.record("500 retried"); return }
        guard case .retry(_, _, true) = HTTPOutcome.classify(response(403), gateway: "g") else { Issue.record("403: credentials, retried"); return }
        guard case .rejected(let reason) = HTTPOutcome.classify(response(400), gateway: "g") else { Issue.record("400 rejected"); return }
        #expect(reason.contains("400") && reason.contains("body"))
        guard case .retry(_, _, true) = HTTPOutcome.classify(.failure(TransportError(.connect, code: 7, "refused")), gateway: "g") else {
            Issue.record("a refused connection is retried as the gateway's fault")
            return
        }
        guard case .rejected = HTTPOutcome.classify(.failure(TransportError(.invalidRequest, code: 3, "bad url")), gateway: "g") else {
            Issue.record("our own bad request is not retried")
            return
        }
    }

    @Test func anHTTPDateRetryAfterFallsBackToThePolicy() {
        let r = TransferResponse(status: 503, headers: [HeaderField("Retry-After", "Wed, 21 Oct 2026 07:28:00 GMT")])
        #expect(HTTPOutcome.retryAfter(r) == nil)
    }
}

extension AttemptOutcome {
    var isAccepted: Bool {
        if case .accepted = self { return true }
        return false
    }
}
