import ChaparConfig
import ChaparModels
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// An API error: a status and a JSON body `{"error": {"code": "…", "message": "…"}}` whose
/// message says what was wrong and what to do.
struct APIError: HTTPResponseError, CustomStringConvertible {
    var status: HTTPResponse.Status
    var code: String
    var message: String
    /// Extra detail (e.g. every rejected event), as JSON-encodable lines.
    var details: [String] = []

    init(_ status: HTTPResponse.Status, _ code: String, _ message: String, details: [String] = []) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
    }

    var description: String { "\(status.code) \(code): \(message)" }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = try JSON.response(ErrorBody(error: .init(code: code, message: message, details: details.isEmpty ? nil : details)), status: status)
        if status == .unauthorized { response.headers[HTTPField.Name.wwwAuthenticate] = "Bearer realm=\"chapar\"" }
        return response
    }

    static func badRequest(_ message: String, details: [String] = []) -> APIError { APIError(.badRequest, "bad_request", message, details: details) }
    static func notFound(_ message: String) -> APIError { APIError(.notFound, "not_found", message) }
}

/// The JSON of an ``APIError``.
private struct ErrorBody: Encodable {
    struct Inner: Encodable {
        var code: String
        var message: String
        var details: [String]?
    }
    var error: Inner
}

/// JSON in and out, with the strictness the API promises: unknown fields are refused, bodies
/// have a size limit, and malformed JSON gets a message that says where.
enum JSON {
    static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encoder().encode(value)
        return Response(status: status, headers: [.contentType: "application/json; charset=utf-8"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The request body, at most `limit` bytes (413 beyond).
    static func body(_ request: Request, limit: Int) async throws -> [UInt8] {
        do {
            let buffer = try await request.body.collect(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError(.contentTooLarge, "too_large", "the body is larger than \(limit) bytes (server.max-body); send less per request")
        }
    }

    /// Decodes an object, refusing fields `T` does not know (`allowed` per nesting path, e.g.
    /// `""` for the top level and `"channels"` for the objects in that array).
    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], allowed: [String: Set<String>]) throws -> T {
        guard !bytes.isEmpty else { throw APIError.badRequest("the body is empty; send a JSON object") }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(bytes))
        } catch {
            throw APIError.badRequest("the body is not valid JSON: \(describe(error))")
        }
        guard let top = object as? [String: Any] else { throw APIError.badRequest("expected a JSON object") }
        try checkKeys(top, path: "", allowed: allowed)
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch let DecodingError.keyNotFound(key, context) {
            throw APIError.badRequest("missing field '\((context.codingPath + [key]).map(\.stringValue).joined(separator: "."))'")
        } catch let DecodingError.typeMismatch(_, context) {
            throw APIError.badRequest("field '\(context.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type")
        } catch let DecodingError.valueNotFound(_, context) {
            throw APIError.badRequest("field '\(context.codingPath.map(\.stringValue).joined(separator: "."))' is null")
        } catch {
            throw APIError.badRequest("the body does not match the expected object: \(error)")
        }
    }

    private static func checkKeys(_ object: [String: Any], path: String, allowed: [String: Set<String>]) throws {
        guard let names = allowed[path] else { return }
        for (key, value) in object {
            let here = path.isEmpty ? key : "\(path).\(key)"
            guard names.contains(key) else {
                throw APIError.badRequest("unknown field '\(here)'; the fields are \(names.sorted().joined(separator: ", "))")
            }
            if let nested = value as? [String: Any] {
                try checkKeys(nested, path: here, allowed: allowed)
            } else if let list = value as? [Any] {
                for item in list { if let nested = item as? [String: Any] { try checkKeys(nested, path: here, allowed: allowed) } }
            }
        }
    }

    private static func describe(_ error: any Error) -> String {
        let text = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
        return text ?? "\(error)"
    }
}

extension Request {
    /// A query parameter, or nil.
    func query(_ name: String) -> String? { uri.queryParameters[Substring(name)].map(String.init) }

    /// A whole-number query parameter within `range` (400 otherwise), or `fallback`.
    func query(_ name: String, default fallback: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = query(name) else { return fallback }
        guard let n = Int(text), range.contains(n) else {
            throw APIError.badRequest("\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return n
    }
}
