import ChaparConfig
import ChaparDemo
import ChaparModels
import CustomerStore
import Delivery
import Foundation
import Logging

/// What `--demo` adds: demo customers in an empty store, and the demo gateways for the channels
/// the configuration does not route (SMS and IM; email and fax jobs wait for their adapters).
enum DemoSetup {
    /// The configuration with demo gateways for SMS and IM where it has none. The demo gateways
    /// live on the server's own port, so a port of 0 is first replaced by a free one.
    static func configuration(adding base: ChaparConfiguration, kinds: [AdapterKind], rate: Double?) throws -> ChaparConfiguration {
        var configuration = base
        if configuration.server.port == 0 { configuration.server.port = try freeLoopbackPort() }
        let host = ["0.0.0.0", "::", ""].contains(configuration.server.host) ? "127.0.0.1" : configuration.server.host
        let origin = "http://\(host.contains(":") ? "[\(host)]" : host):\(configuration.server.port)"
        let yaml = """
            channels:
              sms: {gateway: demo-sms}
              im: {routes: {telegram: demo-telegram}}
            gateways:
              demo-sms:
                type: http-sms
                url: \(origin)/demo/gateways/sms
                body-template: '{"to":"{{to}}","text":"{{text}}","id":"{{id}}","event":"{{event}}"}'
                reference-field: reference\(rate.map { "\n    rate: \(Int($0))/s" } ?? "")
              demo-telegram:
                type: telegram
                url: \(origin)/demo/gateways/telegram
                token: {env: CHAPAR_DEMO_TELEGRAM_TOKEN}\(rate.map { "\n    rate: \(Int($0))/s" } ?? "")
            """
        let demo: ChaparConfiguration
        do {
            demo = try ConfigFile.parse(yaml, file: "(demo gateways)", environment: ["CHAPAR_DEMO_TELEGRAM_TOKEN": "demo-\(UInt64.random(in: 1...UInt64.max))"],
                                        kinds: kinds)
        } catch {
            throw ServeError("the demo's gateway configuration is refused (a bug): \(error.problems.joined(separator: "; "))", exitCode: 70)
        }
        for (channel, routes) in demo.channels where configuration.channels[channel] == nil {
            configuration.channels[channel] = routes
            let names = Set(routes.flatMap(\.chain).map(\.name))
            configuration.gateways += demo.gateways.filter { names.contains($0.settings.name) }
        }
        return configuration
    }

    /// Imports `count` demo customers (``DemoCustomerGenerator``, seed 1) when the store is empty.
    static func seedCustomers(_ store: CustomerStore, count: Int, quietHours: Bool = true, smsMarketing: Bool = false, logger: Logger) throws {
        guard try store.count() == 0 else { return }
        var generator = DemoCustomerGenerator(seed: 1)
        generator.quietHours = quietHours
        generator.smsMarketing = smsMarketing
        // In chunks: one array of every profile would stay in the process's heap for its lifetime.
        var imported = 0
        for start in stride(from: 1, through: max(1, count), by: 5_000) {
            let profiles = (start...min(max(1, count), start + 4_999)).map { generator.customer($0) }
            imported += try store.importProfiles(profiles).customers
        }
        logger.notice("demo: imported \(imported) demo customers (C0000001…); the store was empty")
    }

    /// A port nobody listens on now (bound and released; the server binds it right after).
    static func freeLoopbackPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ServeError("cannot pick a port for the demo gateways", exitCode: 71) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw ServeError("cannot pick a port for the demo gateways", exitCode: 71) }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
