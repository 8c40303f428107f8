import Delivery
import Foundation

/// The tests' client for `chapar serve`'s HTTP API: libcurl through the delivery engine, a bearer
/// token (or none, or a wrong one, for the refusal tests), and a transport failure as an error.
struct APITestClient: Sendable {
    let baseURL: String
    let engine: CurlEngine

    /// An engine for API answers: the overview and record pages outgrow the engine's 64 KiB
    /// default for gateway answers. The caller shuts it down.
    static func makeEngine() -> CurlEngine { CurlEngine(configuration: .init(maxResponseBodyBytes: 16 << 20)) }

    func call(_ method: TransferRequest.Method, _ path: String, body: [UInt8] = [], token: String?,
              contentType: String = "application/json", timeout: Duration = .seconds(30)) async throws -> TransferResponse {
        var headers = ["Content-Type: \(contentType)"]
        if let token { headers.append("Authorization: Bearer \(token)") }
        let request = TransferRequest(kind: .http(method), url: baseURL + path, headers: headers, body: body,
                                      timeouts: Timeouts(connect: .seconds(5), total: timeout))
        switch await engine.perform(request) {
        case .response(let r): return r
        case .failure(let e): throw PeerError("\(method.rawValue) \(path): \(e.kind.rawValue): \(e.message)")
        }
    }
}
