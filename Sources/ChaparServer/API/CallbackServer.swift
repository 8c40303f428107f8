public import ChaparModels
public import Delivery
import Foundation
import Hummingbird
public import Logging
import NIOCore
import Synchronization

/// The HTTP endpoint gateways call back: Kannel delivery reports for now (`chapar serve` adds the
/// API and console on the same server later). Loopback by default, with its own secret.
///
/// `GET|POST /v1/callbacks/kannel/{gateway}?job=…&secret=…&type=%d&answer=%A&ts=%T` records the
/// report in the ledger: type 1 moves the job to `delivered`, 2 and 16 to `failed`; 4 and 8 are
/// kept as progress. A wrong or missing secret gets 403 and changes nothing; an unknown job id
/// format gets 400. `GET /healthz` answers `ok`.
public struct CallbackServer: Sendable {
    public var host: String
    public var port: Int
    private let secret: [UInt8]
    private let ledger: DeliveryLedger
    private let logger: Logger
    private let clock: any ChaparClock

    public init(host: String, port: Int, secret: String, ledger: DeliveryLedger, clock: any ChaparClock = SystemClock(),
                logger: Logger = Logger(label: "chapar.callbacks")) {
        self.host = host
        self.port = port
        self.secret = Array(secret.utf8)
        self.ledger = ledger
        self.clock = clock
        self.logger = logger
    }

    /// Serves until the calling task is cancelled. `onListening` gets the bound port (useful with port 0).
    public func run(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let router = Router()
        router.get("/healthz") { _, _ in "ok\n" }
        CallbackRoutes(secret: secret, ledger: ledger, clock: clock, logger: logger).add(to: router)
        // Hummingbird reports its own shutdown (cancelled child channels) as errors: keep its
        // logger to real failures; ours (`logger`) says what matters.
        var serverLogger = logger
        serverLogger.logLevel = max(logger.logLevel, .critical)
        let app = Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: "chapar"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? 0) },
            logger: serverLogger)
        do {
            try await app.run()
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            throw DeliveryError(.configuration, "cannot listen on \(host):\(port) for gateway callbacks: the port is in use; change callbacks.listen")
        }
    }
}

/// The gateway callback routes, on `chapar deliver run`'s callback server or on `chapar serve`'s
/// one server: `GET|POST /v1/callbacks/kannel/{gateway}` (see ``CallbackServer``).
struct CallbackRoutes: Sendable {
    let secret: [UInt8]
    let ledger: DeliveryLedger
    var clock: any ChaparClock = SystemClock()
    let logger: Logger

    init(secret: String, ledger: DeliveryLedger, clock: any ChaparClock = SystemClock(), logger: Logger) {
        self.secret = Array(secret.utf8)
        self.ledger = ledger
        self.clock = clock
        self.logger = logger
    }

    init(secret: [UInt8], ledger: DeliveryLedger, clock: any ChaparClock, logger: Logger) {
        self.secret = secret
        self.ledger = ledger
        self.clock = clock
        self.logger = logger
    }

    func add(to router: Router<BasicRequestContext>) {
        let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, context in
            self.kannelReport(request, gateway: context.parameters.get("gateway") ?? "")
        }
        router.get("/v1/callbacks/kannel/:gateway", use: handler)
        router.post("/v1/callbacks/kannel/:gateway", use: handler)
    }

    func kannelReport(_ request: Request, gateway: String) -> Response {
        let q = request.uri.queryParameters
        guard let given = q["secret"].map({ Array(String($0).utf8) }), HMACSHA256.equal(given, secret) else {
            logger.warning("gateway callback with a wrong or missing secret; ignored", metadata: ["chapar.gateway": "\(gateway)"])
            return Response(status: .forbidden, body: .init(byteBuffer: ByteBuffer(string: "wrong or missing secret\n")))
        }
        guard let jobText = q["job"].map(String.init), let job = try? JobID(jobText) else {
            return Response(status: .badRequest, body: .init(byteBuffer: ByteBuffer(string: "missing or malformed job id\n")))
        }
        guard let typeText = q["type"], let type = Int(String(typeText)) else {
            return Response(status: .badRequest, body: .init(byteBuffer: ByteBuffer(string: "missing or malformed report type\n")))
        }
        let answer = q["answer"].map(String.init) ?? ""
        let detail = "kannel type \(type) (\(KannelReportText.describe(type: type)))" + (answer.isEmpty ? "" : ": \(answer)")
        ledger.submit(DeliveryReport(job: job, at: clock.now(), gateway: gateway, status: KannelReportText.status(forType: type), detail: detail))
        return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
    }
}

/// Kannel's DLR types (the `%d` it substitutes in the dlr-url).
public enum KannelReportText {
    /// 1 delivered; 2 (phone) and 16 (SMSC rejected) failed: final. 4 buffered and 8 SMSC ack: progress (nil).
    public static func status(forType type: Int) -> JobStatus? {
        switch type {
        case 1: .delivered
        case 2, 16: .failed
        default: nil
        }
    }

    public static func describe(type: Int) -> String {
        switch type {
        case 1: "delivered to the phone"
        case 2: "delivery to the phone failed"
        case 4: "buffered by the SMSC"
        case 8: "accepted by the SMSC"
        case 16: "rejected by the SMSC"
        default: "report type \(type)"
        }
    }
}
