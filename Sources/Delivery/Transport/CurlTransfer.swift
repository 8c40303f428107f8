import CCurl
import Synchronization

/// One request's life inside ``CurlEngine``: what to send, where the answer accumulates, and
/// the caller's continuation.
///
/// Hand-offs, which make the `@unchecked Sendable` safe:
/// * the `let`s are set on the caller's task before the transfer is queued and never change;
/// * `easy`, `slot`, `status`, `finished`, `headerBytes`, `body` and `bodyTruncated` are written
///   only on the engine thread while the transfer is attached, and read by the caller only after
///   the engine resumed it with a completion (the resume, and the `phase` lock before it, order
///   those writes before the read). A caller resumed by cancellation never reads them;
/// * `phase` is a `Mutex`, and decides which of completion, cancellation and shutdown resumes the
///   caller: exactly one of them does.
final class CurlTransfer: @unchecked Sendable {
    /// Who has resumed the caller. `created` → `waiting` when the caller parks; → `settled` by
    /// whichever of completion, cancellation or shutdown gets there first.
    enum Phase {
        case created
        case waiting(UnsafeContinuation<TransportError?, Never>)
        case settled
    }

    let request: TransferRequest
    /// `Expect:` (no 100-continue round trip) plus the request's own lines. Built on the caller's
    /// task so the engine thread does less; freed in deinit, after libcurl let go of the handle.
    let headerList: UnsafeMutablePointer<curl_slist>?
    let started: ContinuousClock.Instant
    let maxBodyBytes: Int
    private let phase = Mutex<Phase>(.created)

    // Engine thread only while attached (see the type's comment).
    var easy: CurlEasyHandle?
    var slot = -1
    var status = 0
    var finished: ContinuousClock.Instant
    var headerBytes: [UInt8] = []
    var body: [UInt8] = []
    var bodyTruncated = false

    init(_ request: TransferRequest, maxBodyBytes: Int) {
        self.request = request
        self.maxBodyBytes = maxBodyBytes
        var list = curl_slist_append(nil, "Expect:")
        for line in request.headers {
            // curl_slist_append copies the string; a NULL return means out of memory, in which case
            // the header is dropped rather than the whole list lost.
            if let appended = curl_slist_append(list, line) { list = appended }
        }
        headerList = list
        started = .now
        finished = started
    }

    deinit { curl_slist_free_all(headerList) }

    // MARK: Who resumes the caller

    /// Parks the caller. False when the transfer was cancelled before it could park: the caller
    /// must then resume itself.
    func install(_ continuation: UnsafeContinuation<TransportError?, Never>) -> Bool {
        phase.withLock { phase in
            guard case .created = phase else { return false }
            phase = .waiting(continuation)
            return true
        }
    }

    /// Settles the transfer and hands back the parked continuation, if this call is the one that
    /// settled it. Nil when it was settled already, or when the caller had not parked yet (the
    /// caller's `install` then fails and it resumes itself).
    func settle() -> UnsafeContinuation<TransportError?, Never>? {
        phase.withLock { phase in
            switch phase {
            case .waiting(let continuation):
                phase = .settled
                return continuation
            case .created:
                phase = .settled
                return nil
            case .settled:
                return nil
            }
        }
    }

    /// True once completion, cancellation or shutdown has resumed (or pre-empted) the caller.
    var isSettled: Bool {
        phase.withLock { phase in
            if case .settled = phase { return true }
            return false
        }
    }

    // MARK: Engine thread: libcurl callbacks

    /// Keeps at most `maxBodyBytes`; the rest is read and dropped so the connection stays usable.
    func appendBody(_ bytes: UnsafeRawBufferPointer) {
        let room = maxBodyBytes - body.count
        if bytes.count > room { bodyTruncated = true }
        guard room > 0 else { return }
        if body.isEmpty { body.reserveCapacity(min(maxBodyBytes, max(bytes.count, 256))) }
        body.append(contentsOf: bytes.prefix(room))
    }

    /// Stores one raw header line. A status line starts a new response (after `100 Continue`,
    /// `103 Early Hints`, a proxy's CONNECT answer), so only the final response's lines remain.
    func appendHeaderLine(_ line: UnsafeRawBufferPointer) {
        if line.count >= 5, line[0] == UInt8(ascii: "H"), line[1] == UInt8(ascii: "T"),
           line[2] == UInt8(ascii: "T"), line[3] == UInt8(ascii: "P"), line[4] == UInt8(ascii: "/") {
            headerBytes.removeAll(keepingCapacity: true)
            return
        }
        // Gateways send a handful of headers; this bound only stops a hostile peer from growing
        // the buffer (libcurl already caps each line at 100 KiB).
        guard headerBytes.count + line.count <= 64 * 1024 else { return }
        if headerBytes.isEmpty { headerBytes.reserveCapacity(256) }
        headerBytes.append(contentsOf: line)
    }

    // MARK: Caller's task, after completion

    /// The answer, built on the caller's task (not the engine thread) from what the callbacks kept.
    func makeResponse() -> TransferResponse {
        TransferResponse(
            status: status,
            headers: Self.parseHeaderFields(headerBytes),
            body: body,
            duration: finished - started,
            bodyTruncated: bodyTruncated
        )
    }

    /// `Name: value` lines (status line already dropped) into fields, in order. Folded
    /// continuation lines (leading space or tab, obsolete but legal) extend the previous value.
    static func parseHeaderFields(_ bytes: [UInt8]) -> [HeaderField] {
        var fields: [HeaderField] = []
        var lineStart = 0
        let n = bytes.count
        while lineStart < n {
            var lineEnd = lineStart
            while lineEnd < n, bytes[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
            var contentEnd = lineEnd
            if contentEnd > lineStart, bytes[contentEnd - 1] == UInt8(ascii: "\r") { contentEnd -= 1 }
            defer { lineStart = lineEnd + 1 }
            guard contentEnd > lineStart else { continue }
            let first = bytes[lineStart]
            if first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") {
                if !fields.isEmpty {
                    let extra = trimmed(bytes, lineStart, contentEnd)
                    fields[fields.count - 1].value += " " + String(decoding: bytes[extra], as: UTF8.self)
                }
                continue
            }
            guard let colon = bytes[lineStart..<contentEnd].firstIndex(of: UInt8(ascii: ":")) else { continue }
            let name = String(decoding: bytes[lineStart..<colon], as: UTF8.self)
            let value = String(decoding: bytes[trimmed(bytes, colon + 1, contentEnd)], as: UTF8.self)
            fields.append(HeaderField(name, value))
        }
        return fields
    }

    private static func trimmed(_ bytes: [UInt8], _ start: Int, _ end: Int) -> Range<Int> {
        var s = start, e = end
        while s < e, bytes[s] == UInt8(ascii: " ") || bytes[s] == UInt8(ascii: "\t") { s += 1 }
        while e > s, bytes[e - 1] == UInt8(ascii: " ") || bytes[e - 1] == UInt8(ascii: "\t") { e -= 1 }
        return s..<e
    }
}

/// One pooled easy handle and its error buffer (CURLOPT_ERRORBUFFER needs CURL_ERROR_SIZE bytes
/// that outlive the transfer). Owned and used by the engine thread only.
struct CurlEasyHandle {
    let raw: UnsafeMutableRawPointer
    let errorBuffer: UnsafeMutablePointer<CChar>

    /// Nil when libcurl is out of memory.
    static func make() -> CurlEasyHandle? {
        guard let raw = curl_easy_init() else { return nil }
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(ccurl_error_size()))
        buffer.initialize(to: 0)
        return CurlEasyHandle(raw: raw, errorBuffer: buffer)
    }

    /// Frees the handle (closing any connection it alone holds) and its buffer.
    func destroy() {
        curl_easy_cleanup(raw)
        errorBuffer.deallocate()
    }
}

/// WRITEFUNCTION: the response body into the transfer named by WRITEDATA. A non-capturing
/// closure, hence a plain C function pointer.
let curlBodyCallback: curl_write_callback = { data, size, count, context in
    let n = size * count
    guard let data, let context, n > 0 else { return n }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    transfer.appendBody(UnsafeRawBufferPointer(start: data, count: n))
    return n
}

/// HEADERFUNCTION: one complete header line (CRLF included) per call, status lines too.
let curlHeaderCallback: curl_write_callback = { data, size, count, context in
    let n = size * count
    guard let data, let context, n > 0 else { return n }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    transfer.appendHeaderLine(UnsafeRawBufferPointer(start: data, count: n))
    return n
}
