import CCurl
import Synchronization

/// One request's life inside ``CurlEngine``: what to send, where the answer accumulates, and
/// the caller's continuation.
///
/// Hand-offs, which make the `@unchecked Sendable` safe:
/// * the `let`s are set on the caller's task before the transfer is queued and never change;
/// * `easy`, `slot`, `status`, `finished`, `headers` and `body` are written only on the engine
///   thread while the transfer is attached, and read by the caller only after
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
    /// Everything libcurl reads or the callbacks write while the transfer runs, in one allocation
    /// made on the caller's task: the header list (`Expect:`, so there is no 100-continue round
    /// trip, then the request's own lines), a copy of the body, and the first bytes of the
    /// response's headers and body. libcurl only reads a caller's `curl_slist` (it never frees or
    /// changes one), so the nodes need not come from `curl_slist_append`, and `POSTFIELDS` may
    /// point at the body copy instead of `COPYPOSTFIELDS` making another: the memory lives as long
    /// as this object, which the engine holds until it has removed the handle from libcurl.
    ///
    /// Why one block: it is one malloc instead of seven or more per request, and it keeps the
    /// engine thread from allocating what another thread frees (glibc then locks the engine's
    /// arena from the caller's thread, and the two contend).
    private let storage: UnsafeMutableRawPointer
    /// First node of the header list in `storage`.
    let headerList: UnsafeMutablePointer<curl_slist>
    /// The body copy in `storage` (`nil` when the body is empty) and its length.
    let bodyBytes: UnsafeRawPointer?
    let bodyCount: Int
    let started: ContinuousClock.Instant
    /// SMTP and FTP-like transfers: the server's replies arrive through the header callback, and
    /// a 4xx/5xx reply is an answer, not a transport failure.
    let isReplyBased: Bool
    /// The other lists libcurl reads for SMTP and file transfers (recipients, commands before and
    /// after), built with `curl_slist_append` on the caller's task and freed in `deinit`; nil when
    /// the request has none. HTTP requests need none, so their one-allocation layout is untouched.
    let recipientList: UnsafeMutablePointer<curl_slist>?
    let commandsBeforeList: UnsafeMutablePointer<curl_slist>?
    let commandsAfterList: UnsafeMutablePointer<curl_slist>?
    private let phase = Mutex<Phase>(.created)

    // Engine thread only while attached (see the type's comment).
    var easy: CurlEasyHandle?
    var slot = -1
    var status = 0
    var finished: ContinuousClock.Instant
    /// The final response's header lines, status line excluded.
    var headers: CaptureBuffer
    var body: CaptureBuffer
    /// How much of the body the read callback has handed to libcurl (SMTP and uploads).
    var uploadOffset = 0

    private static let expectLine: StaticString = "Expect:"
    /// Header bytes kept inline: a gateway's few headers fit; more spill into an array.
    private static let inlineHeaderBytes = 512
    /// Body bytes kept inline (at most the body limit): a gateway's status JSON fits.
    private static let inlineBodyBytes = 1024
    /// Gateways send a handful of headers; this only stops a hostile peer from growing the
    /// buffer without end (libcurl already caps each line at 100 KiB).
    private static let maxHeaderBytes = 64 * 1024

    init(_ request: TransferRequest, maxBodyBytes: Int) {
        self.request = request
        let nodeCount = request.headers.count + 1
        let nodesSize = nodeCount * MemoryLayout<curl_slist>.stride
        var textSize = Self.expectLine.utf8CodeUnitCount + 1
        for line in request.headers { textSize += line.utf8.count + 1 }
        let inlineBody = min(max(0, maxBodyBytes), Self.inlineBodyBytes)
        let storage = UnsafeMutableRawPointer.allocate(
            byteCount: nodesSize + textSize + request.body.count + Self.inlineHeaderBytes + inlineBody,
            alignment: MemoryLayout<curl_slist>.alignment)
        self.storage = storage
        let nodes = storage.bindMemory(to: curl_slist.self, capacity: nodeCount)
        var text = (storage + nodesSize).bindMemory(to: CChar.self, capacity: textSize)
        func addNode(_ index: Int, _ bytes: UnsafeRawBufferPointer) {
            if let base = bytes.baseAddress { UnsafeMutableRawPointer(text).copyMemory(from: base, byteCount: bytes.count) }
            text[bytes.count] = 0
            let next = index + 1 < nodeCount ? nodes + index + 1 : nil
            (nodes + index).initialize(to: curl_slist(data: text, next: next))
            text += bytes.count + 1
        }
        addNode(0, UnsafeRawBufferPointer(start: Self.expectLine.utf8Start, count: Self.expectLine.utf8CodeUnitCount))
        for (i, line) in request.headers.enumerated() {
            var line = line
            line.withUTF8 { addNode(i + 1, UnsafeRawBufferPointer($0)) }
        }
        headerList = nodes
        bodyCount = request.body.count
        let bodyStart = storage + nodesSize + textSize
        if bodyCount > 0 {
            request.body.withUnsafeBytes { bodyStart.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }   // non-empty: has a base
            bodyBytes = UnsafeRawPointer(bodyStart)
        } else {
            bodyBytes = nil
        }
        let headerArea = (bodyStart + bodyCount).bindMemory(to: UInt8.self, capacity: Self.inlineHeaderBytes)
        headers = CaptureBuffer(area: headerArea, capacity: Self.inlineHeaderBytes, limit: Self.maxHeaderBytes)
        let bodyArea = (bodyStart + bodyCount + Self.inlineHeaderBytes).bindMemory(to: UInt8.self, capacity: inlineBody)
        body = CaptureBuffer(area: bodyArea, capacity: inlineBody, limit: max(0, maxBodyBytes))
        switch request.kind {
        case .http:
            isReplyBased = false
            recipientList = nil
            commandsBeforeList = nil
            commandsAfterList = nil
        case .smtp(let envelope):
            isReplyBased = true
            recipientList = Self.makeList(envelope.recipients.map { "<\($0)>" })
            commandsBeforeList = nil
            commandsAfterList = nil
        case .file(let transfer):
            isReplyBased = true
            recipientList = nil
            commandsBeforeList = Self.makeList(transfer.commandsBefore)
            commandsAfterList = Self.makeList(transfer.commandsAfter)
        }
        started = .now
        finished = started
    }

    deinit {
        storage.deallocate()
        curl_slist_free_all(recipientList)
        curl_slist_free_all(commandsBeforeList)
        curl_slist_free_all(commandsAfterList)
    }

    /// A libcurl string list of `lines` (copied), nil when empty. An allocation failure leaves the
    /// list short, and libcurl then sends fewer lines; that is out-of-memory territory, where the
    /// request will fail elsewhere anyway.
    private static func makeList(_ lines: [String]) -> UnsafeMutablePointer<curl_slist>? {
        var list: UnsafeMutablePointer<curl_slist>?
        for line in lines {
            guard let grown = line.withCString({ curl_slist_append(list, $0) }) else { break }
            list = grown
        }
        return list
    }

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

    /// Keeps at most the engine's body limit; the rest is read and dropped so the connection
    /// stays usable.
    func appendBody(_ bytes: UnsafeRawBufferPointer) {
        body.append(bytes)
    }

    /// Copies the next part of the body into libcurl's buffer; 0 once it is all sent.
    func readBody(into buffer: UnsafeMutableRawPointer, capacity: Int) -> Int {
        guard let bodyBytes else { return 0 }
        let n = min(capacity, bodyCount - uploadOffset)
        guard n > 0 else { return 0 }
        buffer.copyMemory(from: bodyBytes + uploadOffset, byteCount: n)
        uploadOffset += n
        return n
    }

    /// Stores one raw header line (for SMTP and FTP: one server reply line). A status line starts a new response (after `100 Continue`,
    /// `103 Early Hints`, a proxy's CONNECT answer), so only the final response's lines remain.
    func appendHeaderLine(_ line: UnsafeRawBufferPointer) {
        if !isReplyBased, line.count >= 5, line[0] == UInt8(ascii: "H"), line[1] == UInt8(ascii: "T"),
           line[2] == UInt8(ascii: "T"), line[3] == UInt8(ascii: "P"), line[4] == UInt8(ascii: "/") {
            headers.removeAll()
            return
        }
        headers.append(line)
    }

    // MARK: Caller's task, after completion

    /// The answer, built on the caller's task (not the engine thread) from what the callbacks kept.
    func makeResponse() -> TransferResponse {
        if isReplyBased {
            return TransferResponse(
                status: status,
                body: body.makeArray(),
                replies: headers.withBytes { Self.parseReplyLines($0) },
                duration: finished - started,
                bodyTruncated: body.truncated
            )
        }
        return TransferResponse(
            status: status,
            headers: headers.withBytes { Self.parseHeaderFields($0) },
            body: body.makeArray(),
            duration: finished - started,
            bodyTruncated: body.truncated
        )
    }

    /// SMTP/FTP reply lines, line ends dropped, empty lines skipped.
    static func parseReplyLines(_ bytes: UnsafeRawBufferPointer) -> [String] {
        bytes.split(separator: UInt8(ascii: "\n")).compactMap { line in
            var line = line
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            return line.isEmpty ? nil : String(decoding: line, as: UTF8.self)
        }
    }

    /// `Name: value` lines (status line already dropped) into fields, in order. Folded
    /// continuation lines (leading space or tab, obsolete but legal) extend the previous value.
    static func parseHeaderFields(_ bytes: UnsafeRawBufferPointer) -> [HeaderField] {
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
                    fields[fields.count - 1].value += " " + String(decoding: UnsafeRawBufferPointer(rebasing: bytes[extra]), as: UTF8.self)
                }
                continue
            }
            guard let colon = bytes[lineStart..<contentEnd].firstIndex(of: UInt8(ascii: ":")) else { continue }
            let name = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[lineStart..<colon]), as: UTF8.self)
            let value = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[trimmed(bytes, colon + 1, contentEnd)]), as: UTF8.self)
            fields.append(HeaderField(name, value))
        }
        return fields
    }

    private static func trimmed(_ bytes: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Range<Int> {
        var s = start, e = end
        while s < e, bytes[s] == UInt8(ascii: " ") || bytes[s] == UInt8(ascii: "\t") { s += 1 }
        while e > s, bytes[e - 1] == UInt8(ascii: " ") || bytes[e - 1] == UInt8(ascii: "\t") { e -= 1 }
        return s..<e
    }
}

/// Response bytes as the callbacks deliver them: first into a fixed area inside the transfer's
/// one allocation (so a typical answer costs the engine thread no allocation), then into an array
/// once they outgrow it. Keeps at most `limit` bytes and remembers whether more came.
struct CaptureBuffer {
    private let area: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private let limit: Int
    private var count = 0
    /// All bytes so far, once they no longer fit in `area`.
    private var spill: [UInt8]?
    /// More bytes arrived than `limit` allows; the extra ones were dropped.
    private(set) var truncated = false

    init(area: UnsafeMutablePointer<UInt8>, capacity: Int, limit: Int) {
        self.area = area
        self.capacity = capacity
        self.limit = limit
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        let room = limit - count
        if bytes.count > room { truncated = true }
        let n = min(room, bytes.count)
        guard n > 0, let source = bytes.baseAddress else { return }
        if spill == nil {
            if count + n <= capacity {
                UnsafeMutableRawPointer(area + count).copyMemory(from: source, byteCount: n)
                count += n
                return
            }
            var grown = [UInt8]()
            grown.reserveCapacity(min(limit, max(2 * capacity, count + n)))
            grown.append(contentsOf: UnsafeBufferPointer(start: area, count: count))
            spill = grown
        }
        spill?.append(contentsOf: UnsafeRawBufferPointer(start: source, count: n))
        count += n
    }

    /// Forgets everything kept (a new response starts).
    mutating func removeAll() {
        count = 0
        spill = nil
        truncated = false
    }

    func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        if let spill { return spill.withUnsafeBytes(body) }
        return body(UnsafeRawBufferPointer(start: area, count: count))
    }

    func makeArray() -> [UInt8] {
        spill ?? Array(UnsafeBufferPointer(start: area, count: count))
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

/// READFUNCTION: the next bytes of the message or file being uploaded (SMTP, file uploads).
let curlReadCallback: curl_read_callback = { buffer, size, count, context in
    let capacity = size * count
    guard let buffer, let context, capacity > 0 else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    return transfer.readBody(into: UnsafeMutableRawPointer(buffer), capacity: capacity)
}

/// HEADERFUNCTION: one complete header line (CRLF included) per call, status lines too.
let curlHeaderCallback: curl_write_callback = { data, size, count, context in
    let n = size * count
    guard let data, let context, n > 0 else { return n }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    transfer.appendHeaderLine(UnsafeRawBufferPointer(start: data, count: n))
    return n
}
