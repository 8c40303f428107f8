public import ChaparModels
public import Delivery
import Foundation
import Yams

/// A Chapar process's configuration, read from one YAML file (`config/chapar.yaml` documents
/// every key). Everything is validated at load: every problem is reported as `FILE:LINE: key:
/// what is wrong`, all of them at once, before anything starts.
public struct ChaparConfiguration: Sendable {
    /// The file it came from (nil for the built-in defaults).
    public var file: String?
    /// The HTTP API, console and metrics (`chapar serve`).
    public var server: ServerSettings
    /// The notifier group in `chapar serve`.
    public var notifier: NotifierSettings
    /// Settings for the topics `chapar serve` creates (partitions, fsync, retention).
    public var topics: TopicConfiguration
    /// Where the log lives: the embedded log in the data directory, or a Kafka cluster.
    public var backend: LogBackendSettings = .embedded
    /// `log.topic-partitions`: partition counts of single topics, overriding `topics.partitions`.
    public var topicPartitions: [TopicName: Int] = [:]
    public var callbacks: CallbackSettings?
    public var pool: PoolConfiguration
    /// Per channel: its routes (address scheme → gateway chain, primary first).
    public var channels: [Channel: [(scheme: String?, chain: [Gateway])]]
    /// Every gateway as configured, for `config show` (secrets masked).
    public var gateways: [GatewayDescription]

    public init(file: String? = nil, server: ServerSettings = ServerSettings(), notifier: NotifierSettings = NotifierSettings(),
                topics: TopicConfiguration = TopicConfiguration(partitions: 8), callbacks: CallbackSettings? = nil,
                pool: PoolConfiguration = PoolConfiguration(),
                channels: [Channel: [(scheme: String?, chain: [Gateway])]] = [:], gateways: [GatewayDescription] = []) {
        self.file = file
        self.server = server
        self.notifier = notifier
        self.topics = topics
        self.callbacks = callbacks
        self.pool = pool
        self.channels = channels
        self.gateways = gateways
    }
}

/// `log.backend`: the embedded log (the default) or a Kafka-API cluster (docs/kafka.md).
public enum LogBackendSettings: Sendable, Hashable {
    case embedded
    case kafka(KafkaSettings)
}

/// `log.kafka`: how to reach the cluster. Only values; `chapar` opens the client.
public struct KafkaSettings: Sendable, Hashable {
    /// `host:port[,host:port…]`.
    public var bootstrapServers: String
    public var clientID = "chapar"
    /// Replicas per partition of the topics Chapar creates; nil = the brokers' default.
    public var replicationFactor: Int?
    /// How long after a node stops heartbeating its partitions move (nil: 30 s).
    public var sessionTimeout: Duration?
    public var requestTimeout: Duration = .seconds(10)
    public var deliveryTimeout: Duration = .seconds(30)
    /// librdkafka properties passed through (security, tuning); values may be secrets.
    public var properties: [String: String] = [:]
    /// Per property, `{env: NAME}` / `{file: PATH}` for secrets and nil for plain values, for `config show`.
    public var propertySources: [String: String] = [:]

    public init(bootstrapServers: String) { self.bootstrapServers = bootstrapServers }
}

/// The HTTP server of `chapar serve`: API, console, metrics and gateway callbacks.
public struct ServerSettings: Sendable, Hashable {
    /// Listen address (loopback by default).
    public var host: String
    public var port: Int
    /// Bearer tokens accepted by the API and the console (empty: the API refuses every request).
    public var tokens: [String]
    /// Where each token came from (`env NAME`), for `config show`.
    public var tokenSources: [String]
    /// The largest request body accepted (uploads included).
    public var maxBodyBytes: Int

    public init(host: String = "127.0.0.1", port: Int = 8480, tokens: [String] = [], tokenSources: [String] = [], maxBodyBytes: Int = 64 << 20) {
        self.host = host
        self.port = port
        self.tokens = tokens
        self.tokenSources = tokenSources
        self.maxBodyBytes = maxBodyBytes
    }
}

/// The notifier group as `chapar serve` runs it.
public struct NotifierSettings: Sendable, Hashable {
    /// Concurrent group members in the process.
    public var members: Int
    /// Records per batch.
    public var batchSize: Int
    /// Template directory (default `./config/templates`, or `$CHAPAR_TEMPLATES`).
    public var templates: String?

    public init(members: Int = 4, batchSize: Int = 2_000, templates: String? = nil) {
        self.members = members
        self.batchSize = batchSize
        self.templates = templates
    }
}

/// Where gateways call back (delivery reports).
public struct CallbackSettings: Sendable, Hashable {
    /// The address the callback server listens on (loopback by default).
    public var host: String
    public var port: Int
    /// The base URL gateways use to reach it (defaults to `http://host:port`).
    public var publicURL: String
    /// The secret every callback must carry.
    public var secret: String
}

/// A gateway as configured, for display: its settings and options, secrets replaced by where they come from.
public struct GatewayDescription: Sendable, Hashable {
    public var settings: GatewaySettings
    public var options: [String: String]
}

/// The configuration's problems, each as `FILE:LINE: key: what is wrong`.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public var problems: [String]
    public var description: String { problems.joined(separator: "\n") }
}

/// Reads and validates the configuration file.
public enum ConfigFile {
    /// Loads `path`. `environment` supplies `{env: NAME}` secrets; `kinds` are the gateway types
    /// this binary knows (`kannel`, `matrix`, …).
    public static func load(path: String, environment: [String: String],
                            kinds: [AdapterKind]) throws(ConfigError) -> ChaparConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(problems: ["\(path): cannot read the configuration file (missing or unreadable); pass --config with an existing file"])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(problems: ["\(path): the configuration file is not UTF-8 text"])
        }
        return try parse(text, file: path, environment: environment, kinds: kinds)
    }

    /// Parses configuration text (`file` names it in messages).
    public static func parse(_ text: String, file: String, environment: [String: String] = [:], kinds: [AdapterKind]) throws(ConfigError) -> ChaparConfiguration {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw ConfigError(problems: ["\(file):\(YAMLErrorLine.line(error)): not valid YAML: \(YAMLErrorLine.message(error))"])
        } catch {
            throw ConfigError(problems: ["\(file): not valid YAML: \(error)"])
        }
        var reader = ConfigReader(file: file, environment: environment, kinds: kinds)
        let configuration = reader.read(root)
        if !reader.problems.isEmpty { throw ConfigError(problems: reader.problems) }
        return configuration
    }
}

/// Walks the YAML tree, collecting every problem with its line.
struct ConfigReader {
    let file: String
    let environment: [String: String]
    let kinds: [AdapterKind]
    var problems: [String] = []

    init(file: String, environment: [String: String], kinds: [AdapterKind]) {
        self.file = file
        self.environment = environment
        self.kinds = kinds
    }

    mutating func problem(_ node: Node?, _ key: String, _ message: String) {
        let line = node?.mark.map { ":\($0.line)" } ?? ""
        problems.append("\(file)\(line): \(key): \(message)")
    }

    /// The mapping's entries by key, reporting unknown keys and non-mapping values.
    mutating func mapping(_ node: Node?, _ path: String, allowed: Set<String>?) -> [String: Node] {
        guard let node else { return [:] }
        guard case .mapping(let m) = node else {
            problem(node, path, "expected a mapping (key: value lines)")
            return [:]
        }
        var result: [String: Node] = [:]
        for (k, v) in m {
            guard let key = k.string else {
                problem(k, path, "keys are plain names")
                continue
            }
            if let allowed, !allowed.contains(key) {
                problem(k, join(path, key), "unknown key; expected one of \(allowed.sorted().joined(separator: ", "))")
                continue
            }
            result[key] = v
        }
        return result
    }

    func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    mutating func string(_ node: Node?, _ path: String) -> String? {
        guard let node else { return nil }
        guard case .scalar(let s) = node else {
            problem(node, path, "expected a single value")
            return nil
        }
        return s.string
    }

    mutating func integer(_ node: Node?, _ path: String, range: ClosedRange<Int>) -> Int? {
        guard let text = string(node, path) else { return nil }
        guard let n = Int(text), range.contains(n) else {
            problem(node, path, "'\(text)' is not a whole number from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return n
    }

    mutating func number(_ node: Node?, _ path: String, range: ClosedRange<Double>) -> Double? {
        guard let text = string(node, path) else { return nil }
        guard let n = Double(text), range.contains(n) else {
            problem(node, path, "'\(text)' is not a number from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        return n
    }

    mutating func bool(_ node: Node?, _ path: String) -> Bool? {
        guard let text = string(node, path) else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            problem(node, path, "'\(text)' is not true or false")
            return nil
        }
    }

    /// `250ms`, `2s`, `5m`, `1h`, `1d`.
    mutating func duration(_ node: Node?, _ path: String) -> Duration? {
        guard let text = string(node, path) else { return nil }
        if let d = DurationText.parse(text) { return d }
        problem(node, path, "'\(text)' is not a duration; write e.g. 250ms, 2s, 5m, 1h")
        return nil
    }

    /// A secret: `{env: NAME}` or `{file: PATH}` (the file's first line). Never a literal.
    mutating func secret(_ node: Node?, _ path: String) -> (value: String, source: String)? {
        guard let node else { return nil }
        guard case .mapping = node else {
            problem(node, path, "secrets are never written in the file: use {env: VARIABLE} or {file: /path/to/secret}")
            return nil
        }
        let m = mapping(node, path, allowed: ["env", "file"])
        if let name = string(m["env"], join(path, "env")) {
            guard let value = environment[name], !value.isEmpty else {
                problem(node, path, "environment variable \(name) is not set (or empty)")
                return nil
            }
            return (value, "env \(name)")
        }
        if let file = string(m["file"], join(path, "file")) {
            guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
                problem(node, path, "cannot read secret file \(file)")
                return nil
            }
            let value = String(text.prefix { $0 != "\n" && $0 != "\r" })
            guard !value.isEmpty else {
                problem(node, path, "secret file \(file) is empty")
                return nil
            }
            return (value, "file \(file)")
        }
        problem(node, path, "give {env: VARIABLE} or {file: /path/to/secret}")
        return nil
    }

    // MARK: The file's sections

    mutating func read(_ root: Node?) -> ChaparConfiguration {
        var configuration = ChaparConfiguration(file: file)
        let top = mapping(root, "", allowed: ["server", "notifier", "log", "callbacks", "delivery", "channels", "gateways"])
        configuration.server = server(top["server"])
        configuration.notifier = notifier(top["notifier"])
        configuration.topics = topics(top["log"])
        configuration.backend = backend(top["log"])
        configuration.topicPartitions = topicPartitions(top["log"])
        configuration.callbacks = callbacks(top["callbacks"], server: configuration.server)
        configuration.pool = pool(top["delivery"])
        let context = GatewayContext(callbackBaseURL: configuration.callbacks?.publicURL, callbackSecret: configuration.callbacks?.secret)
        let (gateways, descriptions) = self.gateways(top["gateways"], context: context)
        configuration.gateways = descriptions
        configuration.channels = channels(top["channels"], gateways: gateways)
        return configuration
    }

    mutating func server(_ node: Node?) -> ServerSettings {
        var settings = ServerSettings()
        let m = mapping(node, "server", allowed: ["listen", "tokens", "max-body"])
        if let listen = string(m["listen"], "server.listen") {
            if let (h, p) = HostPort.parse(listen, allowAnyPort: true) {
                settings.host = h
                settings.port = p
            } else {
                problem(m["listen"], "server.listen", "'\(listen)' is not HOST:PORT (e.g. 127.0.0.1:8480)")
            }
        }
        if let tokens = m["tokens"] {
            guard case .sequence(let items) = tokens else {
                problem(tokens, "server.tokens", "expected a list of secrets, e.g. [{env: CHAPAR_API_TOKEN}]")
                return settings
            }
            for (i, item) in items.enumerated() {
                guard let secret = secret(item, "server.tokens[\(i)]") else { continue }
                if secret.value.utf8.count < 16 {
                    problem(item, "server.tokens[\(i)]", "an API token needs at least 16 characters (e.g. `openssl rand -hex 16`)")
                    continue
                }
                settings.tokens.append(secret.value)
                settings.tokenSources.append(secret.source)
            }
        }
        if let text = string(m["max-body"], "server.max-body") {
            if let bytes = ByteSize.parse(text), bytes >= 1024, bytes <= 1 << 32 {
                settings.maxBodyBytes = Int(bytes)
            } else {
                problem(m["max-body"], "server.max-body", "'\(text)' is not a size from 1KiB to 4GiB (e.g. 64MiB)")
            }
        }
        return settings
    }

    mutating func notifier(_ node: Node?) -> NotifierSettings {
        var settings = NotifierSettings()
        let m = mapping(node, "notifier", allowed: ["members", "batch-size", "templates"])
        if let v = integer(m["members"], "notifier.members", range: 1...64) { settings.members = v }
        if let v = integer(m["batch-size"], "notifier.batch-size", range: 1...100_000) { settings.batchSize = v }
        if let v = string(m["templates"], "notifier.templates") {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: v, isDirectory: &isDirectory), isDirectory.boolValue {
                settings.templates = v
            } else {
                problem(m["templates"], "notifier.templates", "\(v) is not a directory; point it at the template folder (see config/templates)")
            }
        }
        return settings
    }

    mutating func topics(_ node: Node?) -> TopicConfiguration {
        var topics = TopicConfiguration(partitions: 8)
        let m = mapping(node, "log", allowed: ["partitions", "fsync", "segment-bytes", "retention", "retention-bytes", "backend", "kafka", "topic-partitions"])
        if let v = integer(m["partitions"], "log.partitions", range: 1...1024) { topics.partitions = v }
        if let text = string(m["fsync"], "log.fsync") {
            do {
                topics.durability = try DurabilityPolicy(parsing: text)
            } catch {
                problem(m["fsync"], "log.fsync", "'\(text)' is not always, interval[:250ms] or never")
            }
        }
        if let text = string(m["segment-bytes"], "log.segment-bytes") {
            if let bytes = ByteSize.parse(text), bytes >= 4096 { topics.segmentBytes = bytes } else {
                problem(m["segment-bytes"], "log.segment-bytes", "'\(text)' is not a size of at least 4KiB (e.g. 128MiB)")
            }
        }
        if let text = string(m["retention"], "log.retention") {
            if text == "forever" {
                topics.retentionAge = nil
            } else if let d = DurationText.parse(text) {
                topics.retentionAge = d
            } else {
                problem(m["retention"], "log.retention", "'\(text)' is not a duration (e.g. 7d) or forever")
            }
        }
        if let text = string(m["retention-bytes"], "log.retention-bytes") {
            if let bytes = ByteSize.parse(text), bytes >= 4096 { topics.retentionBytes = bytes } else {
                problem(m["retention-bytes"], "log.retention-bytes", "'\(text)' is not a size of at least 4KiB (e.g. 10GiB)")
            }
        }
        return topics
    }

    /// `log.topic-partitions: {transactions: 16, notify.sms: 32}`: only topics `chapar serve` creates.
    mutating func topicPartitions(_ node: Node?) -> [TopicName: Int] {
        guard let node, case .mapping(let pairs) = node else { return [:] }
        guard let overrides = pairs.first(where: { $0.key.string == "topic-partitions" })?.value else { return [:] }
        var known = Topics.events + [Topics.dead]
        for channel in Channel.allCases { for priority in Priority.allCases { known.append(Topics.jobs(channel, priority)) } }
        var result: [TopicName: Int] = [:]
        for (name, value) in mapping(overrides, "log.topic-partitions", allowed: Set(known.map(\.rawValue))) {
            if let count = integer(value, "log.topic-partitions.\(name)", range: 1...1024), let topic = try? TopicName(name) {
                result[topic] = count
            }
        }
        return result
    }

    mutating func backend(_ node: Node?) -> LogBackendSettings {
        // Unknown keys of `log` were reported by topics(_:); read without complaining again.
        guard let node, case .mapping(let pairs) = node else { return .embedded }
        var m: [String: Node] = [:]
        for (key, value) in pairs { if let k = key.string { m[k] = value } }
        let backend = string(m["backend"], "log.backend") ?? "embedded"
        switch backend {
        case "embedded":
            if let kafka = m["kafka"] { problem(kafka, "log.kafka", "log.kafka is used only with `backend: kafka`") }
            return .embedded
        case "kafka":
            guard let kafkaNode = m["kafka"] else {
                problem(node, "log.kafka", "`backend: kafka` needs log.kafka.bootstrap (e.g. broker-1:9092,broker-2:9092)")
                return .embedded
            }
            let k = mapping(kafkaNode, "log.kafka", allowed: ["bootstrap", "client-id", "replication-factor", "session-timeout",
                                                           "request-timeout", "delivery-timeout", "properties"])
            guard let bootstrap = string(k["bootstrap"], "log.kafka.bootstrap") else {
                problem(kafkaNode, "log.kafka.bootstrap", "missing: give the brokers as HOST:PORT[,HOST:PORT…]")
                return .embedded
            }
            let servers = bootstrap.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            if servers.isEmpty || servers.contains(where: { HostPort.parse($0) == nil }) {
                problem(k["bootstrap"], "log.kafka.bootstrap", "'\(bootstrap)' is not HOST:PORT[,HOST:PORT…]")
            }
            var settings = KafkaSettings(bootstrapServers: servers.joined(separator: ","))
            if let v = string(k["client-id"], "log.kafka.client-id") { settings.clientID = v }
            if let v = integer(k["replication-factor"], "log.kafka.replication-factor", range: 1...16) { settings.replicationFactor = v }
            if let v = duration(k["session-timeout"], "log.kafka.session-timeout") {
                if v >= .seconds(1) && v <= .seconds(3600) { settings.sessionTimeout = v } else {
                    problem(k["session-timeout"], "log.kafka.session-timeout", "must be from 1s to 1h (brokers bound it further, 6s–30m on Apache Kafka)")
                }
            }
            if let v = duration(k["request-timeout"], "log.kafka.request-timeout") { settings.requestTimeout = v }
            if let v = duration(k["delivery-timeout"], "log.kafka.delivery-timeout") { settings.deliveryTimeout = v }
            if let propertiesNode = k["properties"] {
                for (name, value) in mapping(propertiesNode, "log.kafka.properties", allowed: nil) {
                    let path = "log.kafka.properties.\(name)"
                    if case .mapping = value {
                        guard let secret = secret(value, path) else { continue }
                        settings.properties[name] = secret.value
                        settings.propertySources[name] = secret.source
                    } else if let text = string(value, path) {
                        if ["sasl.password", "ssl.key.password", "sasl.oauthbearer.client.secret"].contains(name) {
                            problem(value, path, "secrets are never written in the file: use {env: VARIABLE} or {file: /path/to/secret}")
                            continue
                        }
                        settings.properties[name] = text
                    }
                }
            }
            return .kafka(settings)
        default:
            problem(m["backend"], "log.backend", "'\(backend)' is not embedded or kafka")
            return .embedded
        }
    }

    mutating func callbacks(_ node: Node?, server: ServerSettings) -> CallbackSettings? {
        guard let node else { return nil }
        let m = mapping(node, "callbacks", allowed: ["listen", "public-url", "secret"])
        // `chapar serve` answers callbacks on its own server: that is where gateways reach it unless told otherwise.
        var host = m["listen"] == nil ? server.host : "127.0.0.1", port = m["listen"] == nil ? server.port : 8089
        if let listen = string(m["listen"], "callbacks.listen") {
            if let (h, p) = HostPort.parse(listen) {
                host = h
                port = p
            } else {
                problem(m["listen"], "callbacks.listen", "'\(listen)' is not HOST:PORT (e.g. 127.0.0.1:8089)")
            }
        }
        let publicURL = string(m["public-url"], "callbacks.public-url") ?? "http://\(host.contains(":") ? "[\(host)]" : host):\(port)"
        do {
            try URLCheck.http(publicURL, key: "callbacks.public-url")
        } catch {
            problem(m["public-url"] ?? node, "callbacks.public-url", error.message)
        }
        guard let secretNode = m["secret"] else {
            problem(node, "callbacks.secret", "missing: gateways' callbacks must carry a secret ({env: VARIABLE} or {file: PATH})")
            return nil
        }
        guard let secret = self.secret(secretNode, "callbacks.secret") else { return nil }
        if secret.value.utf8.count < 16 { problem(secretNode, "callbacks.secret", "the callback secret needs at least 16 characters") }
        return CallbackSettings(host: host, port: port, publicURL: publicURL, secret: secret.value)
    }

    mutating func pool(_ node: Node?) -> PoolConfiguration {
        var pool = PoolConfiguration()
        let m = mapping(node, "delivery", allowed: ["lane-capacity", "fetch-batch", "commit-interval", "defer-threshold", "schedule-interval"])
        if let v = integer(m["lane-capacity"], "delivery.lane-capacity", range: 1...1_000_000) { pool.laneCapacity = v }
        if let v = integer(m["fetch-batch"], "delivery.fetch-batch", range: 1...100_000) { pool.fetchBatch = v }
        if let v = duration(m["commit-interval"], "delivery.commit-interval") { pool.commitInterval = v }
        if let v = duration(m["defer-threshold"], "delivery.defer-threshold") { pool.deferThreshold = v }
        if let v = duration(m["schedule-interval"], "delivery.schedule-interval") { pool.scheduleInterval = v }
        return pool
    }

    static let generalGatewayKeys: Set<String> = [
        "type", "rate", "burst", "max-in-flight", "connect-timeout", "timeout", "retry", "breaker", "failover", "tls",
    ]

    mutating func gateways(_ node: Node?, context: GatewayContext) -> ([String: (gateway: Gateway, node: Node)], [GatewayDescription]) {
        var built: [String: (gateway: Gateway, node: Node, failover: String?, failoverNode: Node?)] = [:]
        var descriptions: [GatewayDescription] = []
        guard let node else { return ([:], []) }
        guard case .mapping(let all) = node else {
            problem(node, "gateways", "expected a mapping of gateway names to their settings")
            return ([:], [])
        }
        for (k, v) in all {
            guard let name = k.string, !name.isEmpty, name.utf8.count <= 64,
                  name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) else {
                problem(k, "gateways", "a gateway name is 1-64 letters, digits, '-', '_' or '.'")
                continue
            }
            let path = "gateways.\(name)"
            guard case .mapping(let m) = v else {
                problem(v, path, "expected the gateway's settings (type, url, …)")
                continue
            }
            var fields: [String: Node] = [:]
            for (key, value) in m { if let key = key.string { fields[key] = value } }
            guard let typeText = string(fields["type"], "\(path).type") else {
                problem(v, "\(path).type", "missing; one of \(kinds.map(\.type).sorted().joined(separator: ", "))")
                continue
            }
            guard let kind = kinds.first(where: { $0.type == typeText }) else {
                problem(fields["type"], "\(path).type", "unknown gateway type '\(typeText)'; use one of \(kinds.map(\.type).sorted().joined(separator: ", "))")
                continue
            }
            let problemsBefore = problems.count
            var settings = GatewaySettings(name: name, type: kind.type, channel: kind.channel)
            var options: [String: String] = [:], shown: [String: String] = [:], optionLines: [String: Node] = [:]
            var secretKeys: Set<String> = []
            for (key, value) in fields {
                let keyPath = "\(path).\(key)"
                switch key {
                case "type":
                    continue
                case "rate":
                    if let text = string(value, keyPath) {
                        let number = text.hasSuffix("/s") ? String(text.dropLast(2)) : text
                        if let r = Double(number), r > 0, r <= 1_000_000 {
                            settings.rateLimit = .init(perSecond: r, burst: settings.rateLimit?.burst ?? max(1, r))
                        } else {
                            problem(value, keyPath, "'\(text)' is not a rate; write messages per second, e.g. 100/s")
                        }
                    }
                case "burst":
                    if let b = number(value, keyPath, range: 1...1_000_000) {
                        if settings.rateLimit != nil { settings.rateLimit?.burst = b } else { settings.rateLimit = .init(perSecond: .infinity, burst: b) }
                    }
                case "max-in-flight":
                    if let n = integer(value, keyPath, range: 1...100_000) { settings.maxInFlight = n }
                case "connect-timeout":
                    if let d = duration(value, keyPath) { settings.timeouts.connect = d }
                case "timeout":
                    if let d = duration(value, keyPath) { settings.timeouts.total = d }
                case "retry":
                    settings.retry = retry(value, keyPath)
                case "breaker":
                    settings.breaker = breaker(value, keyPath)
                case "failover":
                    settings.failover = string(value, keyPath)
                case "tls":
                    let t = mapping(value, keyPath, allowed: ["verify", "ca-file"])
                    if let verify = bool(t["verify"], "\(keyPath).verify") { settings.tls.verify = verify }
                    if let ca = string(t["ca-file"], "\(keyPath).ca-file") {
                        if FileManager.default.isReadableFile(atPath: ca) { settings.tls.caFile = ca } else { problem(t["ca-file"], "\(keyPath).ca-file", "cannot read \(ca)") }
                    }
                default:
                    guard kind.options.contains(key) else {
                        let known = (ConfigReader.generalGatewayKeys.subtracting(["type"])).union(kind.options).sorted()
                        problem(value, keyPath, "unknown key for a \(kind.type) gateway; expected one of \(known.joined(separator: ", "))")
                        continue
                    }
                    optionLines[key] = value
                    if kind.secrets.contains(key) {
                        if let s = secret(value, keyPath) {
                            options[key] = s.value
                            shown[key] = "<secret from \(s.source)>"
                            secretKeys.insert(key)
                        }
                    } else if let text = string(value, keyPath) {
                        options[key] = text
                        shown[key] = text
                    }
                }
            }
            if let rate = settings.rateLimit, rate.perSecond == .infinity {
                problem(fields["burst"], "\(path).burst", "burst needs a rate (e.g. rate: 100/s)")
                settings.rateLimit = nil
            }
            // The adapter would only repeat what is already reported (a missing secret as "missing").
            guard problems.count == problemsBefore else { continue }
            do {
                let adapter = try kind.factory(settings, GatewayOptions(options, secretKeys: secretKeys), context)
                built[name] = (Gateway(settings: settings, adapter: adapter), v, settings.failover, fields["failover"])
                descriptions.append(GatewayDescription(settings: settings, options: shown))
            } catch {
                // Report it at the option's line when the option is there, else at the gateway.
                problem(optionLines[error.key] ?? v, "\(path).\(error.key)", error.message)
            }
        }
        // Failovers must exist, serve the same channel, and not loop.
        for (name, entry) in built {
            guard let failover = entry.failover else { continue }
            // Reported at the `failover:` line, where the fix goes.
            let at = entry.failoverNode ?? entry.node
            guard let target = built[failover] else {
                problem(at, "gateways.\(name).failover", "no gateway named '\(failover)'")
                continue
            }
            if target.gateway.settings.channel != entry.gateway.settings.channel {
                problem(at, "gateways.\(name).failover", "'\(failover)' is a \(target.gateway.settings.channel) gateway; a failover must serve the same channel (\(entry.gateway.settings.channel))")
            }
            var seen: Set<String> = [name]
            var next: String? = failover
            while let n = next {
                if seen.contains(n) {
                    problem(at, "gateways.\(name).failover", "failovers loop back to '\(n)'")
                    break
                }
                seen.insert(n)
                next = built[n]?.failover
            }
        }
        return (built.mapValues { ($0.gateway, $0.node) }, descriptions.sorted { $0.settings.name < $1.settings.name })
    }

    mutating func retry(_ node: Node, _ path: String) -> RetryPolicy {
        var policy = RetryPolicy()
        let m = mapping(node, path, allowed: ["attempts", "backoff", "max-backoff", "multiplier", "jitter", "max-retry-after"])
        if let v = integer(m["attempts"], "\(path).attempts", range: 1...100) { policy.maxAttempts = v }
        if let v = duration(m["backoff"], "\(path).backoff") { policy.initialBackoff = v }
        if let v = duration(m["max-backoff"], "\(path).max-backoff") { policy.maxBackoff = v }
        if let v = number(m["multiplier"], "\(path).multiplier", range: 1...10) { policy.multiplier = v }
        if let v = number(m["jitter"], "\(path).jitter", range: 0...1) { policy.jitter = v }
        if let v = duration(m["max-retry-after"], "\(path).max-retry-after") { policy.maxRetryAfter = v }
        return policy
    }

    mutating func breaker(_ node: Node, _ path: String) -> CircuitBreaker.Policy {
        var policy = CircuitBreaker.Policy()
        let m = mapping(node, path, allowed: ["failures", "open-for", "probes"])
        if let v = integer(m["failures"], "\(path).failures", range: 1...10_000) { policy.failureThreshold = v }
        if let v = duration(m["open-for"], "\(path).open-for") { policy.openDuration = v }
        if let v = integer(m["probes"], "\(path).probes", range: 1...100) { policy.halfOpenProbes = v }
        return policy
    }

    mutating func channels(_ node: Node?, gateways: [String: (gateway: Gateway, node: Node)]) -> [Channel: [(scheme: String?, chain: [Gateway])]] {
        var result: [Channel: [(scheme: String?, chain: [Gateway])]] = [:]
        let m = mapping(node, "channels", allowed: Set(Channel.allCases.map(\.rawValue)))
        for (name, value) in m.sorted(by: { $0.key < $1.key }) {
            guard let channel = Channel(rawValue: name) else { continue }
            let path = "channels.\(name)"
            let c = mapping(value, path, allowed: ["gateway", "routes"])
            var routes: [(scheme: String?, chain: [Gateway])] = []
            func chain(_ start: String, _ at: Node?, _ keyPath: String, _ reader: inout ConfigReader) -> [Gateway]? {
                guard let first = gateways[start] else {
                    reader.problem(at, keyPath, "no gateway named '\(start)' (or it has errors above)")
                    return nil
                }
                guard first.gateway.settings.channel == channel else {
                    reader.problem(at, keyPath, "'\(start)' is a \(first.gateway.settings.channel) gateway, not \(channel)")
                    return nil
                }
                var list = [first.gateway]
                var seen: Set<String> = [start]
                while let next = list.last?.settings.failover, let g = gateways[next], !seen.contains(next) {
                    seen.insert(next)
                    list.append(g.gateway)
                }
                return list
            }
            if let g = string(c["gateway"], "\(path).gateway"), let list = chain(g, c["gateway"], "\(path).gateway", &self) {
                routes.append((nil, list))
            }
            for (scheme, target) in mapping(c["routes"], "\(path).routes", allowed: nil).sorted(by: { $0.key < $1.key }) {
                guard channel == .im else {
                    problem(target, "\(path).routes", "routes by address scheme are for im (telegram, matrix, webhook); use gateway")
                    break
                }
                guard ["telegram", "matrix", "webhook"].contains(scheme) else {
                    problem(target, "\(path).routes.\(scheme)", "unknown address scheme; use telegram, matrix or webhook")
                    continue
                }
                if let g = string(target, "\(path).routes.\(scheme)"), let list = chain(g, target, "\(path).routes.\(scheme)", &self) {
                    routes.append((scheme, list))
                }
            }
            if routes.isEmpty && c["gateway"] == nil && c["routes"] == nil {
                problem(value, path, "give the channel a gateway (gateway: NAME)\(channel == .im ? " or routes per address scheme" : "")")
            } else {
                result[channel] = routes
            }
        }
        return result
    }
}

/// `HOST:PORT`, `[v6]:PORT`.
enum HostPort {
    /// `HOST:PORT`; port 0 ("any free port", printed at start) only with `allowAnyPort`.
    static func parse(_ text: String, allowAnyPort: Bool = false) -> (String, Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              ((allowAnyPort ? 0 : 1)...65535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        return (host, port)
    }
}

/// Line and message of Yams' parse errors.
enum YAMLErrorLine {
    static func line(_ error: YamlError) -> Int {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): mark.line
        default: 1
        }
    }

    static func message(_ error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _): problem
        default: "\(error)"
        }
    }
}

/// `4096`, `64KiB`, `128MiB`, `10GiB` (also `KB`/`MB`/`GB` as powers of 1024).
enum ByteSize {
    static func parse(_ text: String) -> Int64? {
        let t = text.trimmingCharacters(in: .whitespaces)
        let digits = t.prefix { $0.isNumber }
        guard let n = Int64(digits) else { return nil }
        let unit = t.dropFirst(digits.count).trimmingCharacters(in: .whitespaces).lowercased()
        let scale: Int64
        switch unit {
        case "", "b": scale = 1
        case "k", "kb", "kib": scale = 1 << 10
        case "m", "mb", "mib": scale = 1 << 20
        case "g", "gb", "gib": scale = 1 << 30
        default: return nil
        }
        let (product, overflow) = n.multipliedReportingOverflow(by: scale)
        return overflow ? nil : product
    }
}
