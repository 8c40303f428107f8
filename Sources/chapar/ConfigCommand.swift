import ArgumentParser
import ChaparConfig
import ChaparModels
import Delivery
import Foundation

/// `chapar config check|show`: validate the configuration file, or print what a process would run with.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check the configuration file, or show the effective configuration (secrets masked).",
        subcommands: [Check.self, Show.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate the configuration: every problem as FILE:LINE: key: what is wrong (exit 65), else a summary (exit 0).")
        @OptionGroup var configOptions: ConfigOptions

        func run() async throws {
            try await CLIError.run {
                let c = try configOptions.load()
                let routed = Channel.allCases.filter { c.channels[$0] != nil }
                print("\(configOptions.config): ok — API on \(c.server.host):\(c.server.port), \(c.server.tokens.count) API token(s), "
                      + "\(c.gateways.count) gateway(s), channels: \(routed.isEmpty ? "none (jobs wait on their topics)" : routed.map(\.rawValue).joined(separator: ", "))")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the configuration with every default filled in (YAML; secrets shown only as where they come from).")
        @OptionGroup var configOptions: ConfigOptions
        @Flag(help: "Fill in every default (the only mode; kept for scripts that say what they mean).") var effective = false
        @Flag(help: "Print the built-in defaults (no file).") var defaults = false

        func run() async throws {
            try await CLIError.run {
                let c = defaults ? ChaparConfiguration() : try configOptions.load()
                print(EffectiveConfiguration.yaml(c), terminator: "")
            }
        }
    }
}

/// The effective configuration as YAML in the file's own keys. Secrets never appear: a token or
/// gateway secret is printed as the place it is read from (`{env: NAME}`).
enum EffectiveConfiguration {
    static func yaml(_ c: ChaparConfiguration) -> String {
        var out = "# effective configuration" + (c.file.map { " of \($0)" } ?? " (built-in defaults)") + "\n"
        out += "server:\n  listen: \(c.server.host):\(c.server.port)\n"
        out += "  tokens: [\(c.server.tokenSources.map(source).joined(separator: ", "))]\n"
        out += "  max-body: \(c.server.maxBodyBytes)\n"
        out += "notifier:\n  members: \(c.notifier.members)\n  batch-size: \(c.notifier.batchSize)\n"
        out += "  templates: \(c.notifier.templates ?? "(--templates, $CHAPAR_TEMPLATES or ./config/templates)")\n"
        let t = c.topics
        out += "log:\n  partitions: \(t.partitions)\n  fsync: \(t.durability)\n  segment-bytes: \(t.segmentBytes)\n"
        out += "  retention: \(t.retentionAge.map(\.compact) ?? "forever")\n  retention-bytes: \(t.retentionBytes.map(String.init) ?? "none")\n"
        if !c.topicPartitions.isEmpty {
            out += "  topic-partitions:\n"
            for (topic, count) in c.topicPartitions.sorted(by: { $0.key < $1.key }) { out += "    \(topic): \(count)\n" }
        }
        switch c.backend {
        case .embedded:
            out += "  backend: embedded\n"
        case .kafka(let k):
            out += "  backend: kafka\n  kafka:\n    bootstrap: \(k.bootstrapServers)\n    client-id: \(k.clientID)\n"
            out += "    replication-factor: \(k.replicationFactor.map(String.init) ?? "(brokers' default)")\n"
            out += "    session-timeout: \(k.sessionTimeout?.compact ?? "30s")\n    request-timeout: \(k.requestTimeout.compact)\n"
            out += "    delivery-timeout: \(k.deliveryTimeout.compact)\n"
            if !k.properties.isEmpty {
                out += "    properties:\n"
                for name in k.properties.keys.sorted() {
                    out += "      \(name): \(k.propertySources[name].map(source) ?? k.properties[name]!)\n"
                }
            }
        }
        if let cb = c.callbacks {
            out += "callbacks:\n  listen: \(cb.host):\(cb.port)\n  public-url: \(cb.publicURL)\n  secret: (set)\n"
        }
        let p = c.pool
        out += "delivery:\n  lane-capacity: \(p.laneCapacity)\n  fetch-batch: \(p.fetchBatch)\n  commit-interval: \(p.commitInterval.compact)\n"
        out += "  defer-threshold: \(p.deferThreshold.compact)\n  schedule-interval: \(p.scheduleInterval.compact)\n"
        if !c.channels.isEmpty {
            out += "channels:\n"
            for channel in Channel.allCases {
                guard let routes = c.channels[channel] else { continue }
                let parts = routes.map { route in "\(route.scheme ?? "*") → \(route.chain.map(\.name).joined(separator: " → "))" }
                out += "  \(channel.rawValue): [\(parts.joined(separator: "; "))]\n"
            }
        }
        if !c.gateways.isEmpty {
            out += "gateways:\n"
            for g in c.gateways.sorted(by: { $0.settings.name < $1.settings.name }) {
                let s = g.settings
                out += "  \(s.name):\n    type: \(s.type)\n"
                for (key, value) in g.options.sorted(by: { $0.key < $1.key }) { out += "    \(key): \(value)\n" }
                out += "    rate: \(s.rateLimit.map { "\($0.perSecond)/s" } ?? "none")\n"
                if let r = s.rateLimit { out += "    burst: \(r.burst)\n" }
                out += "    max-in-flight: \(s.maxInFlight)\n    connect-timeout: \(s.timeouts.connect.compact)\n    timeout: \(s.timeouts.total.compact)\n"
                out += "    retry: {attempts: \(s.retry.maxAttempts), backoff: \(s.retry.initialBackoff.compact), max-backoff: \(s.retry.maxBackoff.compact)}\n"
                out += "    breaker: {failures: \(s.breaker.failureThreshold), open-for: \(s.breaker.openDuration.compact), probes: \(s.breaker.halfOpenProbes)}\n"
                if let f = s.failover { out += "    failover: \(f)\n" }
            }
        }
        return out
    }

    private static func source(_ text: String) -> String {
        if text.hasPrefix("env ") { return "{env: \(text.dropFirst(4))}" }
        if text.hasPrefix("file ") { return "{file: \(text.dropFirst(5))}" }
        return "(\(text))"
    }
}
