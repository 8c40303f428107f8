import CCurl

/// The ceiling that `chapar bench delivery` prints beside ``CurlEngine``'s figure: libcurl's multi
/// interface driven directly on the calling thread, with none of the engine's work (no tasks,
/// no continuations, no per-request options, no response capture).
///
/// `concurrency` easy handles each POST the same body, which lives in one buffer for the whole
/// run (`POSTFIELDS`, no copy). A handle that finishes is re-added at once, which restarts the
/// same request on its kept-alive connection, until `requests` transfers have finished.
public enum RawCurlBenchmark {
    /// What one run did.
    public struct Result: Sendable, Hashable {
        /// Transfers finished (successful or not).
        public var requests: Int
        /// Transfers that failed below HTTP or answered a status of 400 or more.
        public var errors: Int
        /// Wall time from the first transfer's start to the last one's end.
        public var seconds: Double

        /// Finished transfers per second.
        public var requestsPerSecond: Double { seconds > 0 ? Double(requests) / seconds : 0 }

        /// Builds a result (the benchmark itself, or a report that compares runs).
        public init(requests: Int, errors: Int, seconds: Double) {
            self.requests = requests
            self.errors = errors
            self.seconds = seconds
        }
    }

    /// Runs the benchmark, blocking the calling thread until `requests` transfers finished: call
    /// it from a thread of its own, not from Swift's cooperative pool. `headers` are sent on every
    /// request (with `Expect:`, as the engine does), so that both figures measure the same bytes.
    public static func run(url: String, requests: Int, concurrency: Int, body: [UInt8],
                           headers: [String] = ["Content-Type: application/json"]) -> Result {
        session(requests: requests, concurrency: concurrency, bytes: body) { multi, handles, bodyBuffer in
            runHTTP(multi, handles: handles, bodyBuffer: bodyBuffer, url: url, requests: requests, bodyCount: body.count, headers: headers)
        }
    }

    /// The multi handle (its connection cache sized to the handles) and one stable copy of
    /// `bytes` for every transfer of the run, both freed when `body` returns. Nothing to do for
    /// zero requests, or without memory for a multi handle.
    private static func session(requests: Int, concurrency: Int, bytes: [UInt8],
                                _ body: (UnsafeMutableRawPointer, Int, UnsafeMutableRawBufferPointer) -> Result) -> Result {
        CurlLibrary.ensureInitialized()
        let handles = max(1, min(concurrency, requests))
        guard requests > 0, let multi = curl_multi_init() else {
            return Result(requests: 0, errors: requests, seconds: 0)
        }
        defer { curl_multi_cleanup(multi) }
        _ = ccurl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, handles)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, bytes.count), alignment: 1)
        defer { buffer.deallocate() }
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
        return body(multi, handles, buffer)
    }

    private static func runHTTP(_ multi: UnsafeMutableRawPointer, handles: Int, bodyBuffer: UnsafeMutableRawBufferPointer, url: String,
                                requests: Int, bodyCount: Int, headers: [String]) -> Result {
        var headerList = curl_slist_append(nil, "Expect:")
        for line in headers { headerList = curl_slist_append(headerList, line) ?? headerList }
        defer { curl_slist_free_all(headerList) }

        var easies: [UnsafeMutableRawPointer] = []
        defer { for h in easies { curl_easy_cleanup(h) } }
        for _ in 0..<handles {
            guard let h = curl_easy_init() else { break }
            easies.append(h)
            _ = url.withCString { ccurl_easy_setopt_str(h, CURLOPT_URL, $0) }
            _ = ccurl_easy_setopt_long(h, CURLOPT_NOSIGNAL, 1)
            _ = ccurl_easy_setopt_slist(h, CURLOPT_HTTPHEADER, headerList)
            _ = ccurl_easy_setopt_off(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(bodyCount))
            _ = ccurl_easy_setopt_ptr(h, CURLOPT_POSTFIELDS, bodyBuffer.baseAddress)
            _ = ccurl_easy_setopt_write_cb(h, CURLOPT_WRITEFUNCTION, discardCallback)
            _ = ccurl_easy_setopt_long(h, CURLOPT_TIMEOUT_MS, 30_000)
        }
        guard !easies.isEmpty else { return Result(requests: 0, errors: requests, seconds: 0) }

        return drive(multi, easies, requests: requests) { h, code in
            var status = 0
            _ = ccurl_easy_getinfo_long(h, CURLINFO_RESPONSE_CODE, &status)
            return code == CURLE_OK && status < 400
        }
    }

    /// Runs `easies` on `multi` until `requests` transfers have finished, re-adding each handle as
    /// it finishes (after `restart`, if given). `succeeded` judges each finished transfer.
    private static func drive(_ multi: UnsafeMutableRawPointer, _ easies: [UnsafeMutableRawPointer], requests: Int,
                              restart: (UnsafeMutableRawPointer) -> Void = { _ in },
                              succeeded: (UnsafeMutableRawPointer, CURLcode) -> Bool) -> Result {
        let clock = ContinuousClock()
        let start = clock.now
        var started = 0
        var finished = 0
        var errors = 0
        for h in easies {
            _ = curl_multi_add_handle(multi, h)
            started += 1
        }
        var running: Int32 = 0
        var queued: Int32 = 0
        while finished < started {
            _ = curl_multi_perform(multi, &running)
            while let message = curl_multi_info_read(multi, &queued) {
                guard message.pointee.msg == CURLMSG_DONE, let h = message.pointee.easy_handle else { continue }
                if !succeeded(h, message.pointee.data.result) { errors += 1 }
                finished += 1
                _ = curl_multi_remove_handle(multi, h)
                if started < requests {
                    restart(h)
                    _ = curl_multi_add_handle(multi, h)
                    started += 1
                }
            }
            if finished < started { _ = curl_multi_poll(multi, nil, 0, 1000, nil) }
        }
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        for h in easies { _ = curl_multi_remove_handle(multi, h) }
        return Result(requests: finished, errors: errors + (requests - started), seconds: seconds)
    }

    /// The SMTP ceiling: `concurrency` easy handles each sending the same `message` from `from` to
    /// `recipient` on one multi handle on the calling thread, re-added as they finish (on their kept
    /// connection: MAIL, RCPT, DATA without a new EHLO), until `requests` messages are done. Errors
    /// count failed transfers. Blocks the calling thread like ``run(url:requests:concurrency:body:headers:)``,
    /// and like every libcurl SMTP client it waits for each end-of-DATA reply inside `curl_multi_perform`.
    public static func runSMTP(url: String, from: String, recipient: String, message: [UInt8], requests: Int, concurrency: Int) -> Result {
        session(requests: requests, concurrency: concurrency, bytes: message) { multi, handles, messageBuffer in
            runSMTP(multi, handles: handles, messageBuffer: messageBuffer, messageCount: message.count, url: url, from: from,
                    recipient: recipient, requests: requests)
        }
    }

    /// Each handle reads the one message copy through its own cursor.
    private static func runSMTP(_ multi: UnsafeMutableRawPointer, handles: Int, messageBuffer: UnsafeMutableRawBufferPointer, messageCount: Int,
                                url: String, from: String, recipient: String, requests: Int) -> Result {
        let cursors = UnsafeMutablePointer<UploadCursor>.allocate(capacity: handles)
        cursors.initialize(repeating: UploadCursor(base: UnsafeRawPointer(messageBuffer.baseAddress!), count: messageCount, offset: 0),
                           count: handles)   // allocate(byteCount: ≥ 1) always has a base address
        defer { cursors.deallocate() }

        let recipients = curl_slist_append(nil, "<\(recipient)>")
        defer { curl_slist_free_all(recipients) }

        var easies: [UnsafeMutableRawPointer] = []
        defer { for h in easies { curl_easy_cleanup(h) } }
        for i in 0..<handles {
            guard let h = curl_easy_init() else { break }
            easies.append(h)
            _ = url.withCString { ccurl_easy_setopt_str(h, CURLOPT_URL, $0) }
            _ = ccurl_easy_setopt_long(h, CURLOPT_NOSIGNAL, 1)
            _ = ("<" + from + ">").withCString { ccurl_easy_setopt_str(h, CURLOPT_MAIL_FROM, $0) }
            _ = ccurl_easy_setopt_slist(h, CURLOPT_MAIL_RCPT, recipients)
            _ = ccurl_easy_setopt_long(h, CURLOPT_UPLOAD, 1)
            _ = ccurl_easy_setopt_off(h, CURLOPT_INFILESIZE_LARGE, curl_off_t(messageCount))
            _ = ccurl_easy_setopt_read_cb(h, CURLOPT_READFUNCTION, cursorReadCallback)
            _ = ccurl_easy_setopt_ptr(h, CURLOPT_READDATA, cursors + i)
            _ = ccurl_easy_setopt_ptr(h, CURLOPT_PRIVATE, cursors + i)
            _ = ccurl_easy_setopt_long(h, CURLOPT_TIMEOUT_MS, 30_000)
        }
        guard !easies.isEmpty else { return Result(requests: 0, errors: requests, seconds: 0) }

        return drive(multi, easies, requests: requests, restart: { h in
            var cursor: UnsafeMutableRawPointer?
            _ = ccurl_easy_getinfo_ptr(h, CURLINFO_PRIVATE, &cursor)
            cursor?.assumingMemoryBound(to: UploadCursor.self).pointee.offset = 0
        }, succeeded: { _, code in code == CURLE_OK })
    }

    /// Where one handle is in the shared message.
    private struct UploadCursor {
        var base: UnsafeRawPointer
        var count: Int
        var offset: Int
    }

    /// READFUNCTION over an ``UploadCursor``.
    private static let cursorReadCallback: curl_read_callback = { buffer, size, count, context in
        guard let buffer, let context else { return 0 }
        let cursor = context.assumingMemoryBound(to: UploadCursor.self)
        let n = min(size * count, cursor.pointee.count - cursor.pointee.offset)
        guard n > 0 else { return 0 }
        UnsafeMutableRawPointer(buffer).copyMemory(from: cursor.pointee.base + cursor.pointee.offset, byteCount: n)
        cursor.pointee.offset += n
        return n
    }

    /// The answers are not looked at; without a WRITEFUNCTION libcurl would print them to stdout.
    private static let discardCallback: curl_write_callback = { _, size, count, _ in size * count }
}
