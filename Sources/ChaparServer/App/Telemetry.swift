import ChaparModels
import Delivery
import EventLog
import CoreMetrics
import Metrics
import Prometheus
import Synchronization

/// The process's live figures: Prometheus metrics (through swift-metrics, with a factory of our
/// own rather than the global bootstrap, so several servers can run in one test process), recent
/// delivery latencies for percentiles, and a per-second history for the console's charts.
///
/// Metric names follow OpenTelemetry's style with Prometheus's separators; labels are channels,
/// gateways, outcomes, topics and groups, never a customer, account or address.
final class Telemetry: DeliveryObserver {
    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    /// Attempts by channel × outcome.
    private let attempts: [Channel: [AttemptOutcomeKind: CoreMetrics.Counter]]
    private let latency: [Channel: CoreMetrics.Timer]
    private let attemptDuration: [Channel: CoreMetrics.Timer]
    private let windows: Mutex<[Channel: LatencyWindow]>
    let history = Mutex(History())

    init() {
        factory = PrometheusMetricsFactory(registry: registry)
        var attempts: [Channel: [AttemptOutcomeKind: CoreMetrics.Counter]] = [:]
        var latency: [Channel: CoreMetrics.Timer] = [:]
        var attemptDuration: [Channel: CoreMetrics.Timer] = [:]
        for channel in Channel.allCases {
            var byOutcome: [AttemptOutcomeKind: CoreMetrics.Counter] = [:]
            for outcome in AttemptOutcomeKind.allCases {
                byOutcome[outcome] = CoreMetrics.Counter(label: "chapar_delivery_attempts_total",
                                             dimensions: [("channel", channel.rawValue), ("outcome", outcome.rawValue)], factory: factory)
            }
            attempts[channel] = byOutcome
            latency[channel] = CoreMetrics.Timer(label: "chapar_delivery_latency_seconds", dimensions: [("channel", channel.rawValue)], factory: factory)
            attemptDuration[channel] = CoreMetrics.Timer(label: "chapar_delivery_attempt_duration_seconds", dimensions: [("channel", channel.rawValue)],
                                                     factory: factory)
        }
        self.attempts = attempts
        self.latency = latency
        self.attemptDuration = attemptDuration
        windows = Mutex(Dictionary(uniqueKeysWithValues: Channel.allCases.map { ($0, LatencyWindow()) }))
    }

    func attemptEnded(channel: Channel, gateway: String, outcome: AttemptOutcomeKind, attempt: Duration, latency: Duration?) {
        attempts[channel]?[outcome]?.increment()
        attemptDuration[channel]?.recordNanoseconds(Self.nanoseconds(attempt))
        if let latency {
            self.latency[channel]?.recordNanoseconds(Self.nanoseconds(latency))
            windows.withLock { $0[channel]?.add(latency.milliseconds) }
        }
    }

    private static func nanoseconds(_ d: Duration) -> Int64 {
        d.components.seconds &* 1_000_000_000 &+ d.components.attoseconds / 1_000_000_000
    }

    /// p50/p90/p99/max over the last ``LatencyWindow/capacity`` accepted jobs of a channel, in milliseconds.
    func latencyPercentiles(_ channel: Channel) -> LatencyPercentiles? {
        windows.withLock { $0[channel]?.percentiles() }
    }

    /// A gauge (created on first use; the registry keeps one per name and labels).
    func gauge(_ name: String, _ labels: [(String, String)], _ value: Double) {
        CoreMetrics.Gauge(label: name, dimensions: labels, factory: factory).record(value)
    }

    /// A counter that mirrors a running total kept elsewhere (the notifier's, the pools'): it is
    /// advanced by the difference since the last sample.
    func total(_ name: String, _ labels: [(String, String)], _ value: Int) {
        let key = name + labels.map { "|\($0.0)=\($0.1)" }.joined()
        let delta = history.withLock { h -> Int in
            let last = h.totals[key] ?? 0
            h.totals[key] = value
            return max(0, value - last)
        }
        if delta > 0 { CoreMetrics.Counter(label: name, dimensions: labels, factory: factory).increment(by: Int64(delta)) }
    }

    /// The Prometheus text exposition of every metric.
    func prometheusText() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}

/// The last few thousand latencies of one channel (a ring), for percentiles.
struct LatencyWindow: Sendable {
    static let capacity = 4096
    private var values: [Int64] = []
    private var next = 0

    mutating func add(_ milliseconds: Int64) {
        if values.count < Self.capacity {
            values.append(milliseconds)
        } else {
            values[next] = milliseconds
            next = (next + 1) % Self.capacity
        }
    }

    func percentiles() -> LatencyPercentiles? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        func at(_ q: Double) -> Int64 { sorted[min(sorted.count - 1, Int((Double(sorted.count) * q).rounded(.down)))] }
        return LatencyPercentiles(samples: sorted.count, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[sorted.count - 1])
    }
}

/// Delivery latency percentiles in milliseconds (job created by the notifier → gateway accepted).
struct LatencyPercentiles: Sendable, Hashable, Codable {
    var samples: Int
    var p50: Int64
    var p90: Int64
    var p99: Int64
    var max: Int64
}

/// One second of the process's life, for the console's charts.
struct Sample: Sendable, Hashable, Codable {
    /// Wall time (milliseconds).
    var at: Int64
    /// Events (transactions and messages) appended to the log in this second.
    var eventsIn: Int
    /// Jobs the notifier wrote.
    var jobs: Int
    /// Jobs accepted by a gateway, per channel.
    var delivered: [String: Int]
    /// Attempts that failed (retry or refusal), all channels.
    var failed: Int
}

/// Running totals and the last five minutes of samples.
struct History: Sendable {
    static let seconds = 300
    var samples: [Sample] = []
    var totals: [String: Int] = [:]
    var previous: Counts?

    struct Counts: Sendable {
        var events: Int64
        var jobs: Int
        var delivered: [Channel: Int]
        var failed: Int
    }

    mutating func add(_ sample: Sample) {
        samples.append(sample)
        if samples.count > Self.seconds { samples.removeFirst(samples.count - Self.seconds) }
    }
}
