import ArgumentParser
import ChannelEmail
import ChannelFax
import ChannelIM
import ChannelSMS
import ChaparConfig
import ChaparModels
import ChaparServer
import Delivery
import EventLog
import Foundation
import Logging

/// The gateway types this binary knows, for the configuration file's `type:`.
let adapterKinds: [AdapterKind] = [KannelAdapter.kind, HTTPSMSAdapter.kind, MatrixAdapter.kind, TelegramAdapter.kind, WebhookAdapter.kind, SMTPAdapter.kind, HylaFAXAdapter.kind, HTTPFaxAdapter.kind, EmailFaxAdapter.kind]

/// `--config`, shared by the commands that read the configuration file.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Configuration file (env CHAPAR_CONFIG).", valueName: "FILE"))
    var config: String = ProcessInfo.processInfo.environment["CHAPAR_CONFIG"] ?? "./config/chapar.yaml"

    init() {}

    init(config: String) { self.config = config }

    func load() throws -> ChaparConfiguration {
        do {
            return try ConfigFile.load(path: config, environment: ProcessInfo.processInfo.environment, kinds: adapterKinds)
        } catch {
            throw CLIUsageFailure(code: 65, message: "the configuration has problems:\n" + error.problems.joined(separator: "\n"))
        }
    }
}

extension DeliveryError: CLIReportable {
    var exitCode: Int32 {
        switch code {
        case .storage: 74
        case .busy: 75
        case .closed: 1
        case .configuration: 65
        case .notFound: 66
        }
    }

    var cliMessage: String { message }
}

/// `chapar deliver run`: the delivery worker pools.
struct DeliverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deliver",
        abstract: "Deliver jobs from the notify.* topics through the configured gateways.",
        subcommands: [Run.self]
    )

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the delivery pools until SIGINT/SIGTERM (or until idle with --until-idle).",
            discussion: """
                One pool per channel reads notify.<channel>[.urgent|.bulk] (urgent first), sends through the channel's
                gateways under their rate limits, retries with backoff, moves jobs that fail for good to notify.dead, and
                records every job's fate in DATA_DIR/deliveries.sqlite. With a callbacks section it also serves gateway
                delivery reports (Kannel DLR). A signal drains: in-flight requests finish, outcomes are recorded and
                offsets committed; then it exits 0.
                """)
        @OptionGroup var options: DataDirOptions
        @OptionGroup var configOptions: ConfigOptions
        @Option(help: "Channels to run, comma-separated (default: every channel the configuration gives gateways).")
        var channels: String?
        @Option(help: "Exit once every job is finished and none arrived for this many seconds.") var untilIdle: Double?

        func run() async throws {
            try await CLIError.run {
                let config = try configOptions.load()
                let selected = try selectedChannels(config)
                let logger = cliLogger(options.verbose, label: "chapar.delivery")
                let engine = CurlEngine()
                defer { engine.shutdown() }
                await warnAboutUnreachableGateways(config, selected: selected, engine: engine)
                try await options.withLog { log in try await withIngestEndpoint(options, log: log) {
                    // Opened once the log holds the directory (it creates it, and its lock says who owns it).
                    let ledger = try DeliveryLedger.open(path: DataLayout(options.dataDir).ledger, logger: logger)
                    defer { ledger.close() }
                    let pools = selected.map { channel in
                        DeliveryPool(channel: channel, log: log, ledger: ledger, transport: engine, routes: config.channels[channel] ?? [],
                                     configuration: config.pool, logger: logger)
                    }
                    let termination = TerminationSignal()
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for pool in pools { group.addTask { try await pool.run() } }
                        if let callbacks = config.callbacks {
                            let server = CallbackServer(host: callbacks.host, port: callbacks.port, secret: callbacks.secret, ledger: ledger,
                                                        logger: cliLogger(options.verbose, label: "chapar.callbacks"))
                            group.addTask {
                                try await server.run { port in
                                    FileHandle.standardError.write(Data("deliver: delivery reports on http://\(callbacks.host):\(port)/v1/callbacks/\n".utf8))
                                }
                            }
                        }
                        group.addTask { await termination.wait() }
                        if let untilIdle { group.addTask { try await waitUntilDelivered(log, pools, seconds: untilIdle) } }
                        FileHandle.standardError.write(Data("deliver: running \(selected.map(\.rawValue).joined(separator: ", ")) (gateways: \(gatewayList(config, selected)))\n".utf8))
                        try await group.next()
                        group.cancelAll()
                        try await group.waitForAll()
                    }
                    for pool in pools {
                        let s = pool.statistics
                        FileHandle.standardError.write(Data("deliver: \(pool.channel): sent \(s.accepted), retries \(s.retries), dead \(s.dead), expired \(s.expired), deferred \(s.deferred), already final \(s.skippedAlreadyFinal), unreadable \(s.invalidRecords)\n".utf8))
                    }
                } }
            }
        }

        func selectedChannels(_ config: ChaparConfiguration) throws -> [Channel] {
            let configured = Channel.allCases.filter { config.channels[$0] != nil }
            guard let channels else {
                guard !configured.isEmpty else {
                    throw CLIUsageFailure(code: 65, message: "\(configOptions.config) configures no channel; add a channels section (see config/chapar.yaml)")
                }
                return configured
            }
            var result: [Channel] = []
            for name in channels.split(separator: ",").map({ String($0).trimmingCharacters(in: .whitespaces) }) where !name.isEmpty {
                let channel = try Channel(parsing: name)
                guard configured.contains(channel) else {
                    throw CLIUsageFailure(code: 65, message: "--channels \(name): \(configOptions.config) configures no gateway for \(name)")
                }
                if !result.contains(channel) { result.append(channel) }
            }
            guard !result.isEmpty else { throw CLIUsageFailure(code: 64, message: "--channels is empty; name sms, email, fax or im") }
            return result
        }
    }
}

private func gatewayList(_ config: ChaparConfiguration, _ channels: [Channel]) -> String {
    channels.flatMap { config.channels[$0] ?? [] }.flatMap(\.chain).map(\.name).joined(separator: ", ")
}

/// Tries each selected gateway's host once (2 s): a gateway that is down at start is worth a
/// warning, not a refusal (its jobs wait and retry, and its breaker keeps them off it).
private func warnAboutUnreachableGateways(_ config: ChaparConfiguration, selected: [Channel], engine: CurlEngine) async {
    let described = Dictionary(config.gateways.map { ($0.settings.name, $0) }, uniquingKeysWith: { a, _ in a })
    let names = Set(selected.flatMap { config.channels[$0] ?? [] }.flatMap(\.chain).map(\.name))
    await withTaskGroup(of: String?.self) { group in
        for name in names.sorted() {
            guard let gateway = described[name], let url = gateway.options["url"] else { continue }
            let origin = baseOrigin(url)
            let (probe, speaksHTTP) = probeURL(origin)
            group.addTask {
                let result = await engine.perform(TransferRequest(kind: .http(.get), url: probe, timeouts: Timeouts(connect: .seconds(2), total: .seconds(2)),
                                                                  tls: gateway.settings.tls))
                // An SMTP or FTP server answers an HTTP probe with its own greeting: only a
                // connection that could not be made counts against it.
                if case .failure(let error) = result, speaksHTTP || error.kind == .connect || error.kind == .timeout {
                    return "gateway \(name) (\(origin)) is not reachable now: \(error.kind.rawValue): \(error.message); its jobs wait and are retried"
                }
                return nil
            }
        }
        for await warning in group {
            if let warning { FileHandle.standardError.write(Data("deliver: warning: \(warning)\n".utf8)) }
        }
    }
}

/// `scheme://host:port/` of a URL (no path or query: those may carry credentials).
private func baseOrigin(_ url: String) -> String {
    guard let schemeEnd = url.range(of: "://") else { return url }
    let rest = url[schemeEnd.upperBound...]
    let host = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
    return String(url[..<schemeEnd.upperBound]) + host + "/"
}

/// The URL that probes `origin` (`scheme://host[:port]/`): the origin itself for http(s); for
/// smtp(s) and ftp an `http://` URL to the same host and (default) port, whose TCP connect is what
/// tells. The second value says whether the probe speaks the gateway's protocol.
private func probeURL(_ origin: String) -> (String, Bool) {
    let lower = origin.lowercased()
    if lower.hasPrefix("http://") || lower.hasPrefix("https://") { return (origin, true) }
    guard let schemeEnd = origin.range(of: "://") else { return (origin, true) }
    let scheme = lower[..<schemeEnd.lowerBound]
    var host = String(origin[schemeEnd.upperBound...].dropLast())   // drop the trailing "/"
    let hasPort = host.hasPrefix("[") ? host.contains("]:") : host.contains(":")
    if !hasPort {
        let port = ["smtp": 25, "smtps": 465, "ftp": 21, "ftps": 990][String(scheme)] ?? 80
        host += ":\(port)"
    }
    return ("http://\(host)/", false)
}

/// Returns once the pools hold nothing, their groups have no lag, and that lasted `seconds`.
private func waitUntilDelivered(_ log: EventLog, _ pools: [DeliveryPool], seconds: Double) async throws {
    var quietSince = ContinuousClock.now
    var lastFetched = -1
    while !Task.isCancelled {
        try await Task.sleep(for: .milliseconds(100))
        let fetched = pools.reduce(0) { $0 + $1.statistics.fetched }
        let held = pools.reduce(0) { $0 + $1.statistics.held.reduce(0, +) }
        let topics = Set(pools.flatMap(\.topics).map(\.rawValue))
        let lag = try await log.listGroups().filter { g in g.group.rawValue.hasPrefix("delivery.") }
            .flatMap(\.partitions).filter { topics.contains($0.topic.rawValue) }.reduce(Int64(0)) { $0 + $1.lag }
        if fetched != lastFetched || held > 0 || lag > 0 {
            lastFetched = fetched
            quietSince = .now
        } else if ContinuousClock.now - quietSince >= .milliseconds(Int64(seconds * 1000)) {
            return
        }
    }
}
