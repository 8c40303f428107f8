import ChaparConfig
import ChaparModels
import Delivery
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// The demo's gateways, served by `chapar serve --demo` itself on its own port: an HTTP SMS API
/// (`POST /demo/gateways/sms`, the body of the `http-sms` adapter) and a Telegram Bot API
/// look-alike (`POST /demo/gateways/telegram/bot<token>/sendMessage`). The delivery pools reach
/// them through libcurl over loopback like any real gateway; what they receive is kept (the last
/// 200 messages) for the console's demo inbox (`GET /v1/demo/inbox`).
final class DemoGateways: Sendable {
    struct Message: Sendable, Codable, Hashable {
        var at: Int64
        var channel: String
        var gateway: String
        /// Masked like the ledger's addresses.
        var to: String
        var text: String
        /// The job id the request carried (`Idempotency-Key`).
        var job: String?
    }

    private struct State {
        var messages: [Message] = []
        var received = 0
    }
    private let state = Mutex(State())
    private let onDelivery: (@Sendable (DemoDelivery) -> Void)?
    static let kept = 200

    init(onDelivery: (@Sendable (DemoDelivery) -> Void)? = nil) {
        self.onDelivery = onDelivery
    }

    func add(to router: Router<BasicRequestContext>) {
        router.post("/demo/gateways/sms") { request, _ in try await self.sms(request) }
        router.post("/demo/gateways/telegram/:bot/sendMessage") { request, _ in try await self.telegram(request) }
    }

    func addInbox(to group: RouterGroup<BasicRequestContext>) {
        group.get("demo/inbox") { _, _ in
            struct Inbox: Encodable {
                var received: Int
                var messages: [Message]
            }
            let (received, messages) = self.state.withLock { ($0.received, $0.messages) }
            return try JSON.response(Inbox(received: received, messages: messages.reversed()))
        }
    }

    private func sms(_ request: Request) async throws -> Response {
        let body = try await JSON.body(request, limit: 64 << 10)
        struct SMS: Decodable {
            var to: String
            var text: String
            var id: String?
            var event: String?
        }
        let sms = try JSON.decode(SMS.self, from: body, allowed: [:])
        let job = request.headers[HTTPField.Name("Idempotency-Key")!] ?? sms.id
        let at = Self.now()
        onDelivery?(DemoDelivery(channel: .sms, job: job, event: sms.event, at: at))
        let n = record(Message(at: at, channel: "sms", gateway: "demo-sms", to: AddressMask.mask(sms.to), text: sms.text, job: job))
        return try JSON.response(["reference": "demo-sms-\(n)", "status": "queued"])
    }

    private func telegram(_ request: Request) async throws -> Response {
        let body = try await JSON.body(request, limit: 64 << 10)
        struct Send: Decodable {
            var chat_id: Int64
            var text: String
        }
        let send = try JSON.decode(Send.self, from: body, allowed: [:])
        let job = request.headers[HTTPField.Name("Idempotency-Key")!]
        let at = Self.now()
        onDelivery?(DemoDelivery(channel: .im, job: job, event: nil, at: at))
        let n = record(Message(at: at, channel: "im", gateway: "demo-telegram", to: AddressMask.mask("telegram:\(send.chat_id)"),
                               text: send.text, job: job))
        struct Answer: Encodable {
            struct Result: Encodable { var message_id: Int }
            var ok = true
            var result: Result
        }
        return try JSON.response(Answer(result: .init(message_id: n)))
    }

    private func record(_ message: Message) -> Int {
        state.withLock { s in
            s.received += 1
            s.messages.append(message)
            if s.messages.count > Self.kept { s.messages.removeFirst(s.messages.count - Self.kept) }
            return s.received
        }
    }

    private static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
}
