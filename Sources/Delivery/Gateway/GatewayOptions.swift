public import ChaparModels
/// A gateway's protocol-specific settings from the configuration file (`url`, `username`,
/// `from`, `room`…), with secrets already read from their environment variable or file. Adapter
/// factories read them through these accessors, which throw a ``ConfigurationProblem`` naming the
/// key, so the configuration loader can point at its `FILE:LINE`.
public struct GatewayOptions: Sendable {
    public var values: [String: String]
    /// Keys whose values are secrets (never printed).
    public var secretKeys: Set<String>

    public init(_ values: [String: String] = [:], secretKeys: Set<String> = []) {
        self.values = values
        self.secretKeys = secretKeys
    }

    public func string(_ key: String) throws(ConfigurationProblem) -> String {
        guard let v = values[key], !v.isEmpty else { throw ConfigurationProblem(key: key, "missing '\(key)'") }
        return v
    }

    public func optional(_ key: String) -> String? {
        values[key].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// An `http://` or `https://` URL with a host.
    public func url(_ key: String) throws(ConfigurationProblem) -> String {
        let v = try string(key)
        try URLCheck.http(v, key: key)
        return v
    }

    public func bool(_ key: String, default value: Bool) throws(ConfigurationProblem) -> Bool {
        guard let v = optional(key) else { return value }
        switch v.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw ConfigurationProblem(key: key, "'\(v)' is not true or false")
        }
    }

    /// `250ms`, `2s`, `5m`, `1h`, `1d` within `range`.
    public func duration(_ key: String, default value: Duration, range: ClosedRange<Duration>) throws(ConfigurationProblem) -> Duration {
        guard let v = optional(key) else { return value }
        guard let d = DurationText.parse(v), range.contains(d) else {
            throw ConfigurationProblem(key: key, "'\(v)' is not a duration from \(range.lowerBound) to \(range.upperBound) (write e.g. 30s, 5m, 3h)")
        }
        return d
    }

    public func integer(_ key: String, default value: Int, range: ClosedRange<Int>) throws(ConfigurationProblem) -> Int {
        guard let v = optional(key) else { return value }
        guard let n = Int(v), range.contains(n) else { throw ConfigurationProblem(key: key, "'\(v)' is not a whole number from \(range.lowerBound) to \(range.upperBound)") }
        return n
    }
}

/// Durations as the configuration file writes them.
public enum DurationText {
    /// `250ms`, `2s`, `1.5s`, `5m`, `1h`, `1d`; nil otherwise.
    public static func parse(_ text: String) -> Duration? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        for (unit, seconds) in units where text.hasSuffix(unit) {
            guard let n = Double(text.dropLast(unit.count)), n >= 0, n.isFinite else { return nil }
            return .milliseconds(Int64((n * seconds * 1000).rounded()))
        }
        return nil
    }
}

/// A setting that cannot work, named by its key (the loader adds `FILE:LINE`).
public struct ConfigurationProblem: Error, Sendable, Hashable, CustomStringConvertible {
    public var key: String
    public var message: String

    public init(key: String, _ message: String) {
        self.key = key
        self.message = message
    }

    public var description: String { "\(key): \(message)" }
}

/// What an adapter factory gets besides the gateway's own options.
public struct GatewayContext: Sendable {
    /// Where gateways call back (delivery reports), e.g. `http://127.0.0.1:8089`; nil when the
    /// process serves no callbacks.
    public var callbackBaseURL: String?
    /// The secret callbacks must carry.
    public var callbackSecret: String?

    public init(callbackBaseURL: String? = nil, callbackSecret: String? = nil) {
        self.callbackBaseURL = callbackBaseURL
        self.callbackSecret = callbackSecret
    }
}

/// Builds a gateway's adapter from its settings, options and context; throws naming the bad key.
public typealias AdapterFactory = @Sendable (GatewaySettings, GatewayOptions, GatewayContext) throws(ConfigurationProblem) -> any GatewayAdapter

/// URL checks and encoding shared by the HTTP adapters.
public enum URLCheck {
    /// Accepts `http://host…` and `https://host…`; anything else names the key and says why.
    public static func http(_ url: String, key: String) throws(ConfigurationProblem) {
        try check(url, key: key, schemes: ["http", "https"])
    }

    /// Accepts `SCHEME://host…` for one of `schemes` (lower case); anything else names the key
    /// and says why. Returns what follows the host (path, query), for callers with rules about it.
    @discardableResult
    public static func check(_ url: String, key: String, schemes: [String]) throws(ConfigurationProblem) -> Substring {
        let lower = url.lowercased()
        guard schemes.contains(where: { lower.hasPrefix($0 + "://") }) else {
            throw ConfigurationProblem(key: key, "'\(url)' is not an \(schemes.map { $0 + "://" }.joined(separator: " or ")) URL")
        }
        let rest = url.drop { $0 != ":" }.dropFirst(3)
        let host = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !host.isEmpty, !host.hasPrefix(":"), !url.contains(" ") else {
            throw ConfigurationProblem(key: key, "'\(url)' has no host (or contains spaces)")
        }
        return rest.dropFirst(host.count)
    }

    /// Percent-encodes everything but RFC 3986 unreserved characters (for query values and path segments).
    public static func encode(_ text: String) -> String {
        var out = [UInt8]()
        out.reserveCapacity(text.utf8.count * 3)
        let hex: [UInt8] = Array("0123456789ABCDEF".utf8)
        for b in text.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(b)
            default:
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `base?k=v&k=v` with every value encoded.
    public static func query(_ base: String, _ items: [(String, String)]) -> String {
        let q = items.map { "\($0.0)=\(encode($0.1))" }.joined(separator: "&")
        return base + (base.contains("?") ? "&" : "?") + q
    }
}

/// A type of gateway the configuration file can name (`type: kannel`): its channel, the options it
/// takes (anything else is reported as a typo), which of them are secrets, and its factory.
public struct AdapterKind: Sendable {
    public var type: String
    public var channel: ChaparModels.Channel
    public var options: Set<String>
    /// Options that must come from an environment variable or a file, never the file itself.
    public var secrets: Set<String>
    /// For IM: the address scheme this kind serves by default (`telegram`, `matrix`, `webhook`).
    public var scheme: String?
    public var factory: AdapterFactory

    public init(type: String, channel: ChaparModels.Channel, options: Set<String>, secrets: Set<String>, scheme: String? = nil, factory: @escaping AdapterFactory) {
        self.type = type
        self.channel = channel
        self.options = options
        self.secrets = secrets
        self.scheme = scheme
        self.factory = factory
    }
}
