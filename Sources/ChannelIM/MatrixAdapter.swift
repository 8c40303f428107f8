public import ChaparModels
public import Delivery
import Synchronization

/// The Matrix client-server API, for addresses `matrix:@user:server`.
///
/// Each message is `PUT /_matrix/client/v3/rooms/{room}/send/m.room.message/{txnId}` with the job
/// id as the transaction id: the homeserver answers a repeated txnId with the first event's id, so
/// a retried or re-sent job appears once in the room.
///
/// The room is the bot's direct-message room with the user, found the way Matrix clients find it:
/// the bot's `m.direct` account data. When there is none, the bot creates a private room, invites
/// the user (`is_direct`) and records it in `m.direct`, so a restart finds the same room. Rooms
/// found are cached in memory.
public final class MatrixAdapter: GatewayAdapter {
    public let name: String
    /// The homeserver, e.g. `https://matrix.bank.example`.
    public let homeserver: String
    private let token: String
    private let timeouts: Timeouts
    private let tls: TLSOptions
    private let rooms = Mutex<[String: String]>([:])
    private let botUser = Mutex<String?>(nil)

    public init(name: String, homeserver: String, token: String, timeouts: Timeouts = Timeouts(), tls: TLSOptions = TLSOptions()) {
        self.name = name
        self.homeserver = homeserver.hasSuffix("/") ? String(homeserver.dropLast()) : homeserver
        self.token = token
        self.timeouts = timeouts
        self.tls = tls
    }

    /// Options: `url` (the homeserver), `token` (secret: the bot's access token).
    public static let factory: AdapterFactory = { (settings, options, _) throws(ConfigurationProblem) in
        MatrixAdapter(name: settings.name, homeserver: try options.url("url"), token: try options.string("token"),
                      timeouts: settings.timeouts, tls: settings.tls)
    }

    public func deliver(_ job: DeliveryJob, attempt: Int, via transport: any Transport) async -> AttemptResult {
        guard case .im(let text, let format) = job.content else {
            return AttemptResult(.rejected(reason: "\(name) sends IM only; job \(job.id) is \(job.channel)"))
        }
        guard job.address.hasPrefix("matrix:@") else {
            return AttemptResult(.rejected(reason: "'\(AddressMask.mask(job.address))' is not a matrix:@user:server address"))
        }
        let user = String(job.address.dropFirst("matrix:".count))
        let room: String
        switch await directRoom(for: user, via: transport) {
        case .success(let r): room = r
        case .failure(let failed): return failed
        }
        var w = JSONWriter(capacity: text.utf8.count * 2 + 96)
        w.beginObject()
        w.field("msgtype", "m.text")
        w.field("body", text)
        if format == "html" {
            w.field("format", "org.matrix.custom.html")
            w.field("formatted_body", text)
        }
        w.endObject()
        let url = "\(homeserver)/_matrix/client/v3/rooms/\(URLCheck.encode(room))/send/m.room.message/\(job.id.rawValue)"
        let result = await transport.perform(request(.put, url, body: w.bytes, idempotencyKey: job.id.rawValue))
        guard case .response(let r) = result else { return AttemptResult(HTTPOutcome.classify(result, gateway: name)) }
        switch r.status {
        case 200..<300:
            let event = JSONField.string(r.body, "event_id")
            return AttemptResult(.accepted(reference: event, response: "\(r.status) event \(event ?? "?")"), status: r.status)
        case 429:
            let wait = JSONField.string(r.body, "retry_after_ms").flatMap { Int64($0) }.map { Duration.milliseconds($0) }
            return AttemptResult(.retry(reason: "\(name) answered 429: \(errcode(r))", retryAfter: wait ?? HTTPOutcome.retryAfter(r), gatewayFault: true), status: 429)
        case 403, 404:
            // The bot left the room or it is gone: forget it, so the next attempt finds or makes another.
            _ = rooms.withLock { $0.removeValue(forKey: user) }
            return AttemptResult(.retry(reason: "\(name) answered \(r.status) for the room: \(errcode(r))", retryAfter: nil, gatewayFault: false), status: r.status)
        default:
            return AttemptResult(HTTPOutcome.classify(result, gateway: name), status: r.status)
        }
    }

    private func errcode(_ r: TransferResponse) -> String {
        [JSONField.string(r.body, "errcode"), JSONField.string(r.body, "error")].compactMap { $0 }.joined(separator: ": ")
    }

    private func request(_ method: TransferRequest.Method, _ url: String, body: [UInt8] = [], idempotencyKey: String? = nil) -> TransferRequest {
        var headers = ["Authorization: Bearer \(token)"]
        if !body.isEmpty { headers.append("Content-Type: application/json") }
        if let idempotencyKey { headers.append("Idempotency-Key: \(idempotencyKey)") }
        return TransferRequest(kind: .http(method), url: url, headers: headers, body: body, timeouts: timeouts, tls: tls)
    }

    /// The bot's direct room with `user`: cached, else from `m.direct`, else created.
    private func directRoom(for user: String, via transport: any Transport) async -> Lookup {
        if let room = rooms.withLock({ $0[user] }) { return .success(room) }
        let me: String
        switch await whoami(via: transport) {
        case .success(let id): me = id
        case .failure(let f): return .failure(f)
        }
        let directURL = "\(homeserver)/_matrix/client/v3/user/\(URLCheck.encode(me))/account_data/m.direct"
        var direct: [String: [String]] = [:]
        let got = await transport.perform(request(.get, directURL))
        switch got {
        case .response(let r) where r.status == 200:
            direct = MatrixJSON.direct(r.body)
        case .response(let r) where r.status == 404:
            break  // no direct rooms yet
        default:
            return .failure(failure(got, doing: "reading m.direct"))
        }
        if let room = direct[user]?.last {
            rooms.withLock { $0[user] = room }
            return .success(room)
        }
        var w = JSONWriter(capacity: 128)
        w.beginObject()
        w.field("preset", "trusted_private_chat")
        w.field("is_direct", true)
        w.beginArray("invite")
        w.element(user)
        w.endArray()
        w.endObject()
        let created = await transport.perform(request(.post, "\(homeserver)/_matrix/client/v3/createRoom", body: w.bytes))
        guard case .response(let r) = created, r.status == 200, let room = JSONField.string(r.body, "room_id") else {
            return .failure(failure(created, doing: "creating a direct room"))
        }
        direct[user, default: []].append(room)
        let saved = await transport.perform(request(.put, directURL, body: MatrixJSON.encode(direct)))
        if case .response(let s) = saved, (200..<300).contains(s.status) {} else {
            // The room works; only a later restart would make another one. Not worth failing the message.
        }
        rooms.withLock { $0[user] = room }
        return .success(room)
    }

    private func whoami(via transport: any Transport) async -> Lookup {
        if let me = botUser.withLock({ $0 }) { return .success(me) }
        let result = await transport.perform(request(.get, "\(homeserver)/_matrix/client/v3/account/whoami"))
        guard case .response(let r) = result, r.status == 200, let id = JSONField.string(r.body, "user_id") else {
            return .failure(failure(result, doing: "asking who the bot is (whoami)"))
        }
        botUser.withLock { $0 = id }
        return .success(id)
    }

    private func failure(_ result: TransferResult, doing what: String) -> AttemptResult {
        switch HTTPOutcome.classify(result, gateway: name) {
        case .retry(let reason, let after, let fault): AttemptResult(.retry(reason: "\(reason) (\(what))", retryAfter: after, gatewayFault: fault))
        case .rejected(let reason): AttemptResult(.retry(reason: "\(reason) (\(what))", retryAfter: nil, gatewayFault: true))
        case .accepted(_, let response): AttemptResult(.retry(reason: "\(name): unexpected answer \(response) (\(what))", retryAfter: nil, gatewayFault: true))
        }
    }
}

/// A value found with extra requests, or how the attempt ends when they failed.
enum Lookup {
    case success(String)
    case failure(AttemptResult)
}

/// The `m.direct` account data: user id → room ids.
enum MatrixJSON {
    static func direct(_ body: [UInt8]) -> [String: [String]] {
        body.withUnsafeBufferPointer { buffer in
            var reader = JSONReader(buffer)
            var map: [String: [String]] = [:]
            do {
                try reader.readObject { (r: inout JSONReader, user: String) throws(InvalidValue) in
                    map[user] = try r.readStringArray()
                }
            } catch {
                return map
            }
            return map
        }
    }

    static func encode(_ direct: [String: [String]]) -> [UInt8] {
        var w = JSONWriter(capacity: 256)
        w.beginObject()
        for (user, rooms) in direct.sorted(by: { $0.key < $1.key }) {
            w.beginArray(named: user)
            for room in rooms { w.element(room) }
            w.endArray()
        }
        w.endObject()
        return w.bytes
    }
}

extension MatrixAdapter {
    /// `type: matrix` in the configuration file.
    public static let kind = AdapterKind(type: "matrix", channel: .im, options: ["url", "token"], secrets: ["token"], scheme: "matrix", factory: factory)
}
