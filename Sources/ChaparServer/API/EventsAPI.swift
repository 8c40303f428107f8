import ChaparConfig
import ChaparModels
import HTTPTypes
import Foundation
import Hummingbird
import Ingest
import Synchronization

/// `POST /v1/events` and `POST /v1/ingest`: the same validation, dedupe index and durability as
/// `chapar ingest`, because they are `chapar ingest` (the body is written to
/// `DATA_DIR/ingest/uploads/` and ingested by the process's ``IngestEndpoint``, one request at a
/// time with the socket's). 202 is answered only once the events are durable in the log.
struct EventsAPI: Sendable {
    let state: ServerState

    func add(to group: RouterGroup<BasicRequestContext>) {
        group.post("events") { request, _ in try await self.events(request) }
        group.post("ingest") { request, _ in try await self.upload(request) }
    }

    /// One event (a JSON object) or a batch (a JSON array of them), in the JSON Lines record
    /// format of docs/ingest.md. All or nothing: one invalid event appends none of them.
    func events(_ request: Request) async throws -> Response {
        let body = try await JSON.body(request, limit: state.configuration.server.maxBodyBytes)
        let lines: [[UInt8]]
        do {
            lines = try JSONBatch.lines(body)
        } catch {
            throw APIError.badRequest(error.message)
        }
        var file: [UInt8] = []
        for line in lines {
            file += line
            file.append(0x0A)
        }
        return try await ingest(bytes: file, name: "events", format: .jsonl, options: ParserOptions(), mode: .strict, eventsLabel: true)
    }

    /// A bank file in any supported format: `?format=auto|csv|jsonl|camt054|mt940&name=FILE&encoding=&currency=&timezone=&mode=append|strict`.
    func upload(_ request: Request) async throws -> Response {
        let body = try await JSON.body(request, limit: state.configuration.server.maxBodyBytes)
        guard !body.isEmpty else { throw APIError.badRequest("the body is empty; send the file's bytes") }
        let name = request.query("name").map { ($0 as NSString).lastPathComponent } ?? "upload"
        let format: InputFormat
        do { format = try InputFormat(parsing: request.query("format") ?? "auto") } catch { throw APIError.badRequest(error.message) }
        guard let encoding = ParserOptions.Encoding(rawValue: request.query("encoding") ?? "utf-8") else {
            throw APIError.badRequest("encoding must be utf-8, windows-1256 or iso-8859-1")
        }
        var currency: CurrencyCode?
        if let c = request.query("currency") {
            do { currency = try CurrencyCode(c) } catch { throw APIError.badRequest("currency: \(error.reason)") }
        }
        guard let mode = Ingestor.Mode(rawValue: request.query("mode") ?? "append"), mode != .dryRun else {
            throw APIError.badRequest("mode must be append or strict")
        }
        let options = ParserOptions(encoding: encoding, defaultCurrency: currency, timeZone: request.query("timezone") ?? "Asia/Tehran")
        return try await ingest(bytes: body, name: name, format: format, options: options, mode: mode, eventsLabel: false)
    }

    private func ingest(bytes: [UInt8], name: String, format: InputFormat, options: ParserOptions, mode: Ingestor.Mode,
                        eventsLabel: Bool) async throws -> Response {
        let path = try writeUpload(bytes, name: name)
        defer { unlink(path) }
        let rejects = Mutex<[String]>([])
        let warnings = Mutex<[String]>([])
        // For a JSON batch "event 3" is the array's third element.
        let describe: @Sendable (EntryError) -> String = { problem in eventsLabel ? "event \(problem.location.line): \(problem.message)" : problem.description }
        let summary: Ingestor.Summary
        do {
            let request = RemoteIngestRequest(path: path, displayName: name, format: format, options: options, mode: mode,
                                              configuration: Ingestor.Configuration())
            summary = try await state.ingest.ingestHere(request, onReject: { reject in
                rejects.withLock { list in if list.count < 1000 { list.append(describe(reject)) } }
            }, onWarning: { warning in
                warnings.withLock { list in if list.count < 1000 { list.append(describe(warning)) } }
            })
        } catch {
            throw Self.storageError(error)
        }
        let details = rejects.withLock { $0 }
        if let failure = summary.failure {
            if failure.code == .storage { throw Self.storageError(failure) }
            throw APIError(.unprocessableContent, "unreadable", "\(failure.message); appended \(summary.counts.appended) before it", details: details)
        }
        if summary.refused {
            throw APIError(.unprocessableContent, "invalid_events",
                           "\(summary.counts.rejected) of \(summary.counts.read) entries are invalid; nothing was appended (fix them and send the whole request again)",
                           details: details)
        }
        /// `warnings` are problems with the file that rejected no entry (a closing balance that does
        /// not match, camt.054 parts that do not add up): every entry was still appended.
        struct Accepted: Encodable {
            var read: Int
            var appended: Int
            var duplicates: Int
            var rejected: Int
            var warnings: Int
            var rejects: [String]?
            var warningDetails: [String]?
        }
        let c = summary.counts
        let warned = warnings.withLock { $0 }
        return try JSON.response(Accepted(read: c.read, appended: c.appended, duplicates: c.duplicates, rejected: c.rejected, warnings: c.warnings,
                                          rejects: details.isEmpty ? nil : details, warningDetails: warned.isEmpty ? nil : warned), status: .accepted)
    }

    private func writeUpload(_ bytes: [UInt8], name: String) throws -> String {
        let directory = state.layout.uploads
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = "\(directory)/\(UUID().uuidString)-\(name.filter { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_" })"
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: 0o600]) else {
            throw APIError(.insufficientStorage, "storage", "cannot write the upload to \(directory) (disk full or not writable); nothing was appended")
        }
        return path
    }

    private static func storageError(_ error: any Error) -> APIError {
        let message = (error as? IngestError)?.message ?? "\(error)"
        let full = message.contains("No space left") || message.localizedCaseInsensitiveContains("disk full")
        return APIError(full ? .insufficientStorage : .internalServerError, "storage", "\(message); events already acknowledged stay durable, send the rest again")
    }
}

/// A JSON object or array of objects as one compact line per object, bytes preserved (the
/// ingest parser validates them; this only finds where each object starts and ends).
enum JSONBatch {
    struct Problem: Error {
        var message: String
    }

    static func lines(_ body: [UInt8]) throws(Problem) -> [[UInt8]] {
        var i = 0
        func skipSpace() { while i < body.count, [0x20, 0x09, 0x0A, 0x0D].contains(body[i]) { i += 1 } }
        skipSpace()
        guard i < body.count else { throw Problem(message: "the body is empty; send a JSON object or an array of them") }
        if body[i] == UInt8(ascii: "{") {
            let end = try objectEnd(body, from: i)
            i = end
            skipSpace()
            guard i == body.count else { throw Problem(message: "unexpected bytes after the JSON object at byte \(i)") }
            return [oneLine(body[body.startIndex..<end])]
        }
        guard body[i] == UInt8(ascii: "[") else { throw Problem(message: "expected a JSON object or an array of objects") }
        i += 1
        var result: [[UInt8]] = []
        skipSpace()
        if i < body.count, body[i] == UInt8(ascii: "]") {
            i += 1
        } else {
            while true {
                skipSpace()
                guard i < body.count, body[i] == UInt8(ascii: "{") else {
                    throw Problem(message: "element \(result.count + 1) of the array is not a JSON object")
                }
                let start = i
                i = try objectEnd(body, from: i)
                result.append(oneLine(body[start..<i]))
                skipSpace()
                guard i < body.count else { throw Problem(message: "the array is not closed") }
                if body[i] == UInt8(ascii: ",") { i += 1; continue }
                guard body[i] == UInt8(ascii: "]") else { throw Problem(message: "expected , or ] after element \(result.count)") }
                i += 1
                break
            }
        }
        skipSpace()
        guard i == body.count else { throw Problem(message: "unexpected bytes after the array at byte \(i)") }
        guard !result.isEmpty else { throw Problem(message: "the array is empty; send at least one event") }
        return result
    }

    /// The index after the object starting at `start` (strings and nesting respected).
    private static func objectEnd(_ b: [UInt8], from start: Int) throws(Problem) -> Int {
        var depth = 0, i = start, inString = false
        while i < b.count {
            let c = b[i]
            if inString {
                if c == UInt8(ascii: "\\") { i += 2; continue }
                if c == UInt8(ascii: "\"") { inString = false }
            } else if c == UInt8(ascii: "\"") {
                inString = true
            } else if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") {
                depth += 1
            } else if c == UInt8(ascii: "}") || c == UInt8(ascii: "]") {
                depth -= 1
                if depth == 0 { return i + 1 }
            }
            i += 1
        }
        throw Problem(message: "a JSON object is not closed (starting at byte \(start))")
    }

    /// Newlines outside strings become spaces (inside strings JSON already forbids raw ones).
    private static func oneLine(_ slice: ArraySlice<UInt8>) -> [UInt8] {
        slice.map { $0 == 0x0A || $0 == 0x0D ? 0x20 : $0 }
    }
}

extension HTTPResponse.Status {
    /// 507: the server's disk is full.
    static let insufficientStorage = HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage")
}
