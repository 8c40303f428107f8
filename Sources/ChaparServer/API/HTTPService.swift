import ChaparConfig
import ChaparModels
import Delivery
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// The one HTTP server of `chapar serve`: API (`/v1`, bearer tokens), console (`/console`),
/// `/metrics`, `/healthz`, `/readyz`, `/openapi.json`, gateway callbacks (their own secret) and,
/// with `--demo`, the demo gateways.
enum HTTPService {
    static func application(state: ServerState, onListening: @escaping @Sendable (Int) async -> Void) -> some Service {
        let router = Router()
        router.middlewares.add(RequestLog(logger: state.logger))
        router.get("/healthz") { _, _ in "ok\n" }
        router.get("/readyz") { _, _ -> Response in
            let phase = state.currentPhase
            let status: HTTPResponse.Status = phase == .ready ? .ok : .serviceUnavailable
            return Response(status: status, body: ResponseBody(byteBuffer: ByteBuffer(string: "\(phase.rawValue)\n")))
        }
        router.get("/metrics") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: ResponseBody(byteBuffer: ByteBuffer(bytes: state.telemetry.prometheusText())))
        }
        router.get("/openapi.json") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }
        router.get("/") { _, _ in Response(status: .seeOther, headers: [.location: "/console/"]) }
        ConsoleRoutes.add(to: router)
        if let callbacks = state.configuration.callbacks {
            CallbackRoutes(secret: callbacks.secret, ledger: state.ledger, logger: state.logger).add(to: router)
        }
        if let demo = state.demo { demo.add(to: router) }

        let api = router.group("v1").add(middleware: BearerAuth(tokens: state.configuration.server.tokens))
        EventsAPI(state: state).add(to: api)
        DeliveriesAPI(state: state).add(to: api)
        CustomersAPI(state: state).add(to: api)
        SystemAPI(state: state).add(to: api)
        state.demo?.addInbox(to: api)

        // Hummingbird reports its own shutdown (cancelled child channels) as errors: keep its
        // logger to real failures; ours says what matters.
        var serverLogger = state.logger
        serverLogger.logLevel = max(state.logger.logLevel, .critical)
        let settings = state.configuration.server
        return Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname(settings.host, port: settings.port), serverName: "chapar"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? settings.port) },
            logger: serverLogger)
    }
}

/// `Authorization: Bearer <token>` against the configured tokens (constant-time comparison).
/// With no tokens configured every API call is refused with a message saying how to add one.
struct BearerAuth<Context: RequestContext>: RouterMiddleware {
    let tokens: [[UInt8]]

    init(tokens: [String]) { self.tokens = tokens.map { Array($0.utf8) } }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !tokens.isEmpty else {
            throw APIError(.unauthorized, "no_tokens", "this server has no API tokens; add server.tokens to the configuration (e.g. [{env: CHAPAR_API_TOKEN}])")
        }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw APIError(.unauthorized, "unauthorized", "missing bearer token; send Authorization: Bearer <token>")
        }
        let given = Array(header.dropFirst("Bearer ".count).utf8)
        guard tokens.contains(where: { HMACSHA256.equal($0, given) }) else {
            throw APIError(.unauthorized, "unauthorized", "wrong bearer token")
        }
        return try await next(request, context)
    }
}

/// Logs each request at debug (method, path without query, status, duration): no bodies, no
/// query strings (they may carry secrets, e.g. a callback's).
struct RequestLog<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        do {
            let response = try await next(request, context)
            logger.debug("http", metadata: ["http.method": "\(request.method)", "http.path": "\(request.uri.path)", "http.status": "\(response.status.code)",
                                            "http.duration": "\(ContinuousClock.now - started)"])
            return response
        } catch let error as APIError {
            logger.debug("http", metadata: ["http.method": "\(request.method)", "http.path": "\(request.uri.path)", "http.status": "\(error.status.code)"])
            throw error
        }
    }
}
