import ArgumentParser
import ChaparConfig
import ChaparModels
import ChaparServer
import Foundation
import Logging

/// `chapar serve`: the whole pipeline, the HTTP API, metrics and the console in one process.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run everything in one process: ingest endpoint, notifier, delivery pools, HTTP API, metrics and console.",
        discussion: """
            Without --config (or $CHAPAR_CONFIG) it runs on the built-in defaults: API on 127.0.0.1:8480, no gateways (jobs wait
            on their topics). With --demo it also seeds 1,000 demo customers into an empty store, ingests a few realistic
            transactions every second, and delivers SMS and IM to demo gateways it serves itself on the same port; the console
            URL it prints carries a one-off token. SIGTERM or Ctrl-C drains: the HTTP server stops taking requests, the notifier
            finishes its batch, the pools finish in-flight deliveries and commit; then it exits 0.
            With log.backend kafka in the configuration, the log is a Kafka cluster and several nodes (each with its own
            --data-dir) share the work through Kafka's consumer groups (docs/kafka.md).
            """)
    @OptionGroup var options: DataDirOptions
    @Option(name: .long, help: ArgumentHelp("Configuration file (env CHAPAR_CONFIG); built-in defaults without one.", valueName: "FILE"))
    var config: String?
    @Option(help: ArgumentHelp("Template directory when the configuration names none (env CHAPAR_TEMPLATES).", valueName: "DIR"))
    var templates: String = ProcessInfo.processInfo.environment["CHAPAR_TEMPLATES"] ?? "./config/templates"
    @Flag(help: "Demo customers, a steady stream of demo transactions, and demo gateways for SMS and IM.") var demo = false
    @Option(help: "With --demo: demo transactions per second.") var demoRate: Double = 5
    @Option(help: ArgumentHelp("Listen address, overriding server.listen.", valueName: "HOST:PORT")) var listen: String?

    func validate() throws {
        guard demoRate >= 0 && demoRate <= 10_000 else { throw ValidationError("--demo-rate must be between 0 and 10000") }
    }

    func run() async throws {
        try await CLIError.run {
            let file = config ?? ProcessInfo.processInfo.environment["CHAPAR_CONFIG"]
            var configuration = try file.map { try ConfigOptions(config: $0).load() } ?? ChaparConfiguration()
            if let listen {
                guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port) else {
                    throw CLIUsageFailure(code: 64, message: "--listen \(listen) is not HOST:PORT (e.g. 127.0.0.1:8480)")
                }
                configuration.server.host = String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
                configuration.server.port = port
            }
            var demoToken: String?
            if demo && configuration.server.tokens.isEmpty {
                // A newcomer has no token yet: make one for this run and put it in the printed console URL.
                let token = (0..<16).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
                configuration.server.tokens = [token]
                configuration.server.tokenSources = ["generated for this --demo run"]
                demoToken = token
            }
            var logger = Logger(label: "chapar")
            logger.logLevel = options.verbose ? .debug : .notice
            let serve = ServeOptions(
                dataDirectory: options.dataDir, configuration: configuration, kinds: adapterKinds,
                templates: configuration.notifier.templates ?? templates,
                demo: demo ? DemoSettings(eventsPerSecond: demoRate) : nil, handleSignals: true, logger: logger)
            let printedToken = demoToken
            try await ChaparServe.run(serve) { status in
                var lines = ["chapar serve: listening on \(status.baseURL) (data in \(options.dataDir))"]
                lines.append("  delivering: \(status.deliveringChannels.isEmpty ? "none (configure gateways)" : status.deliveringChannels.map(\.rawValue).joined(separator: ", "))"
                             + (status.waitingChannels.isEmpty ? "" : "; jobs wait on their topics for: \(status.waitingChannels.map(\.rawValue).joined(separator: ", "))"))
                lines.append("  console: \(status.baseURL)/console/" + (printedToken.map { "#token=\($0)" } ?? "  (token: server.tokens)"))
                lines.append("  API: \(status.baseURL)/v1/… (bearer token), metrics: \(status.baseURL)/metrics, OpenAPI: \(status.baseURL)/openapi.json")
                if status.demo { lines.append("  demo: customers C0000001…C0001000, \(demoRate) transactions/s; Ctrl-C stops") }
                FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
            }
            FileHandle.standardError.write(Data("chapar serve: stopped\n".utf8))
        }
    }
}

extension ServeError: CLIReportable {
    var cliMessage: String { message }
}
