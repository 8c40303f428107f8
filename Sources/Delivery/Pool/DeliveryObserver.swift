public import ChaparModels

/// Told about each attempt's end as it happens, for live metrics (the server's Prometheus
/// counters, the console's latency percentiles). Called on the pool's hot path: keep it to a
/// counter increment or a store into a ring buffer, and never block.
public protocol DeliveryObserver: Sendable {
    /// An attempt ended. `latency` is from the job's creation (by the notifier) to now, for
    /// accepted jobs; `attempt` is the gateway call's own duration.
    func attemptEnded(channel: Channel, gateway: String, outcome: AttemptOutcomeKind, attempt: Duration, latency: Duration?)
}

/// How an attempt ended, as the observer sees it.
public enum AttemptOutcomeKind: String, Sendable, CaseIterable {
    case accepted, retry, rejected
}
