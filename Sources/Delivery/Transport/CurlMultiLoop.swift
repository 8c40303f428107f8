import CCurl
import Dispatch
import Synchronization

/// The engine thread's side of ``CurlEngine``: one curl multi handle, the easy handles attached
/// to it, and a free list of idle easy handles.
///
/// `@unchecked Sendable` is safe because of thread confinement: `multi`, `idle` and `attached`
/// are used only by ``run()`` on the engine's one thread (and by the teardown at its end). Other
/// threads touch only `inbox`, a `Mutex`, and call `curl_multi_wakeup` (which libcurl allows
/// from any thread) while holding that lock and only until `stopping` is set; the engine thread
/// destroys the multi handle only after it has seen `stopping`, so no wake-up can race it.
final class CurlMultiLoop: @unchecked Sendable {
    /// What other threads hand to the engine thread.
    struct Inbox {
        var submitted: [CurlTransfer] = []
        var cancelled: [CurlTransfer] = []
        /// The engine thread found the inbox empty and is (about to be) asleep in
        /// `curl_multi_poll`. Only then does a new item need `curl_multi_wakeup`: an awake engine
        /// drains the inbox before it sleeps again, and one wake-up per sleep is enough.
        var engineAsleep = false
        var stopping = false
    }

    private let multi: UnsafeMutableRawPointer
    private let inbox = Mutex(Inbox())
    private let configuration: CurlEngine.Configuration
    /// Signalled once when the engine thread has cleaned up and is about to exit.
    private let exited = DispatchSemaphore(value: 0)

    // Engine thread only.
    private var idle: [CurlEasyHandle] = []
    private var attached: [CurlTransfer] = []

    /// How long `curl_multi_poll` sleeps when neither libcurl's timers nor a wake-up end it
    /// sooner. Nothing depends on it (every submission wakes the thread); it only bounds the
    /// damage of a missed wake-up. Once a second costs nothing measurable when idle.
    private static let pollMilliseconds: Int32 = 1000

    init(configuration: CurlEngine.Configuration) {
        CurlLibrary.ensureInitialized()
        // curl_multi_init returns nil only when out of memory.
        guard let multi = curl_multi_init() else { preconditionFailure("curl_multi_init failed (out of memory)") }
        self.multi = multi
        self.configuration = configuration
        // Without MAXCONNECTS the connection cache is sized from the handles currently added, and
        // removing a finished handle closes its idle connection: thousands of new TCP connections
        // instead of one per concurrent transfer (SWIFT-NOTES §5.6).
        _ = ccurl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, max(1, configuration.maxConnections))
        _ = ccurl_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, max(0, configuration.maxConnectionsPerHost))
    }

    // MARK: Any thread

    /// Queues a transfer for the engine thread. False once shutdown has begun.
    func submit(_ transfer: CurlTransfer) -> Bool {
        inbox.withLock { inbox in
            guard !inbox.stopping else { return false }
            inbox.submitted.append(transfer)
            wake(&inbox)
            return true
        }
    }

    /// Asks the engine thread to drop a transfer whose caller was already resumed with
    /// `cancelled`. Harmless if it finished meanwhile or was never attached.
    func cancel(_ transfer: CurlTransfer) {
        inbox.withLock { inbox in
            guard !inbox.stopping else { return }
            inbox.cancelled.append(transfer)
            wake(&inbox)
        }
    }

    /// Stops accepting work, lets the engine thread fail everything pending or in flight with
    /// `cancelled`, and waits until it has cleaned up. Safe to call more than once and from
    /// several threads; must not be called on the engine thread itself.
    func shutdown() {
        inbox.withLock { inbox in
            guard !inbox.stopping else { return }
            inbox.stopping = true
            wake(&inbox)
        }
        exited.wait()
        // Pass the signal on, so that every concurrent or later caller returns too.
        exited.signal()
    }

    /// Call with the inbox lock held.
    private func wake(_ inbox: inout Inbox) {
        guard inbox.engineAsleep else { return }
        inbox.engineAsleep = false
        _ = curl_multi_wakeup(multi)
    }

    // MARK: Engine thread

    /// The engine thread's body: drain the inbox, drive libcurl, hand back finished transfers,
    /// sleep in `curl_multi_poll` until a socket, a timer or a wake-up needs attention.
    func run() {
        var submitted: [CurlTransfer] = []
        var cancelled: [CurlTransfer] = []
        submitted.reserveCapacity(256)
        var stillRunning: Int32 = 0
        while true {
            // Swap the inbox's arrays with the (empty) local ones: no copying, and both sides
            // keep their capacity, so a steady state allocates nothing here.
            let stopping = inbox.withLock { inbox in
                swap(&inbox.submitted, &submitted)
                swap(&inbox.cancelled, &cancelled)
                inbox.engineAsleep = false
                return inbox.stopping
            }
            if stopping { break }
            for transfer in submitted { attach(transfer) }
            submitted.removeAll(keepingCapacity: true)
            for transfer in cancelled { detach(transfer) }
            cancelled.removeAll(keepingCapacity: true)

            _ = curl_multi_perform(multi, &stillRunning)
            collectFinished()
            // Sleep only if nothing arrived meanwhile; from here on a submitter wakes us.
            let sleep = inbox.withLock { inbox in
                guard inbox.submitted.isEmpty, inbox.cancelled.isEmpty, !inbox.stopping else { return false }
                inbox.engineAsleep = true
                return true
            }
            if sleep { _ = curl_multi_poll(multi, nil, 0, Self.pollMilliseconds, nil) }
        }
        tearDown(unattached: submitted)
        exited.signal()
    }

    private func attach(_ transfer: CurlTransfer) {
        // Cancelled while queued: its caller has been resumed; nothing to send.
        guard !transfer.isSettled else { return }
        guard let easy = idle.popLast() ?? CurlEasyHandle.make() else {
            finish(transfer, TransportError(.other, "curl_easy_init failed (out of memory)"))
            return
        }
        let rc = configure(easy, for: transfer)
        guard rc == CURLE_OK else {
            recycle(easy)
            finish(transfer, TransportError(curl: rc, detail: nil))
            return
        }
        transfer.easy = easy
        transfer.slot = attached.count
        attached.append(transfer)
        let mc = curl_multi_add_handle(multi, easy.raw)
        if mc != CURLM_OK {
            unlink(transfer)
            recycle(easy)
            finish(transfer, TransportError(.other, "curl_multi_add_handle failed: " + String(cString: curl_multi_strerror(mc))))
        }
    }

    /// Sets every option of one transfer on a clean (new or reset) handle. The first failing
    /// setopt's code is returned: only an out-of-memory or a bad option value fails here.
    private func configure(_ easy: CurlEasyHandle, for transfer: CurlTransfer) -> CURLcode {
        let h = easy.raw
        let request = transfer.request
        let context = Unmanaged.passUnretained(transfer).toOpaque()
        var rc = request.url.withCString { ccurl_easy_setopt_str(h, CURLOPT_URL, $0) }   // libcurl copies it
        func set(_ code: CURLcode) { if rc == CURLE_OK { rc = code } }
        // Several threads, and libcurl must never use signals (alarm-based DNS timeouts) in them.
        set(ccurl_easy_setopt_long(h, CURLOPT_NOSIGNAL, 1))
        // The attached transfer; `attached` holds the strong reference while libcurl has it.
        set(ccurl_easy_setopt_ptr(h, CURLOPT_PRIVATE, context))
        set(ccurl_easy_setopt_write_cb(h, CURLOPT_WRITEFUNCTION, curlBodyCallback))
        set(ccurl_easy_setopt_ptr(h, CURLOPT_WRITEDATA, context))
        set(ccurl_easy_setopt_write_cb(h, CURLOPT_HEADERFUNCTION, curlHeaderCallback))
        set(ccurl_easy_setopt_ptr(h, CURLOPT_HEADERDATA, context))
        set(ccurl_easy_setopt_errorbuffer(h, easy.errorBuffer))
        set(ccurl_easy_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, request.timeouts.connect.curlMilliseconds))
        set(ccurl_easy_setopt_long(h, CURLOPT_TIMEOUT_MS, request.timeouts.total.curlMilliseconds))
        if !request.tls.verify {
            set(ccurl_easy_setopt_long(h, CURLOPT_SSL_VERIFYPEER, 0))
            set(ccurl_easy_setopt_long(h, CURLOPT_SSL_VERIFYHOST, 0))
        }
        if let caFile = request.tls.caFile {
            set(caFile.withCString { ccurl_easy_setopt_str(h, CURLOPT_CAINFO, $0) })
        }
        if let login = request.login {
            set(login.username.withCString { ccurl_easy_setopt_str(h, CURLOPT_USERNAME, $0) })
            set(login.password.withCString { ccurl_easy_setopt_str(h, CURLOPT_PASSWORD, $0) })
        }
        switch request.kind {
        case .http(let method):
            set(ccurl_easy_setopt_slist(h, CURLOPT_HTTPHEADER, transfer.headerList))
            // Only what the gateways speak: a `file://` or `gopher://` URL from a bad config is
            // refused (UNSUPPORTED_PROTOCOL) instead of being fetched. Redirects are not followed
            // (FOLLOWLOCATION stays 0): a gateway's 3xx is its answer.
            set(ccurl_easy_setopt_str(h, CURLOPT_PROTOCOLS_STR, "http,https"))
            switch method {
            case .get:
                break   // the default after a reset
            case .post:
                set(ccurl_easy_set_body(h, transfer.bodyBytes, curl_off_t(transfer.bodyCount)))
            case .put:
                // Not CURLOPT_UPLOAD (which would need a read callback and chunked framing):
                // a POST body sent with the PUT verb, as the Matrix API expects. The body is the
                // transfer's own copy, alive until the handle is removed (see CurlTransfer).
                set(ccurl_easy_setopt_str(h, CURLOPT_CUSTOMREQUEST, "PUT"))
                set(ccurl_easy_set_body(h, transfer.bodyBytes, curl_off_t(transfer.bodyCount)))
            case .patch:
                set(ccurl_easy_setopt_str(h, CURLOPT_CUSTOMREQUEST, "PATCH"))
                set(ccurl_easy_set_body(h, transfer.bodyBytes, curl_off_t(transfer.bodyCount)))
            case .delete:
                set(ccurl_easy_setopt_str(h, CURLOPT_CUSTOMREQUEST, "DELETE"))
            }
        case .smtp(let envelope):
            set(ccurl_easy_setopt_str(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps"))
            set(("<" + envelope.from + ">").withCString { ccurl_easy_setopt_str(h, CURLOPT_MAIL_FROM, $0) })   // copied
            set(ccurl_easy_setopt_slist(h, CURLOPT_MAIL_RCPT, transfer.recipientList))
            if envelope.security == .startTLS {
                set(ccurl_easy_setopt_long(h, CURLOPT_USE_SSL, Int(CURLUSESSL_ALL.rawValue)))
            }
            setUpload(&rc, h, transfer, context)
        case .file(let file):
            // hfaxd (like many FTP-like servers) has no CWD into the upload directory: the path
            // goes whole in STOR/RETR (`--ftp-method nocwd`).
            set(ccurl_easy_setopt_str(h, CURLOPT_PROTOCOLS_STR, "ftp,ftps"))
            set(ccurl_easy_setopt_long(h, CURLOPT_FTP_FILEMETHOD, Int(CURLFTPMETHOD_NOCWD.rawValue)))
            if let before = transfer.commandsBeforeList { set(ccurl_easy_setopt_slist(h, CURLOPT_QUOTE, before)) }
            if let after = transfer.commandsAfterList { set(ccurl_easy_setopt_slist(h, CURLOPT_POSTQUOTE, after)) }
            if file.direction == .upload { setUpload(&rc, h, transfer, context) }
        }
        return rc
    }

    /// The body goes out through the read callback (SMTP's DATA, an FTP STOR), with its size
    /// announced up front.
    private func setUpload(_ rc: inout CURLcode, _ h: UnsafeMutableRawPointer, _ transfer: CurlTransfer, _ context: UnsafeMutableRawPointer) {
        for code in [
            ccurl_easy_setopt_long(h, CURLOPT_UPLOAD, 1),
            ccurl_easy_setopt_read_cb(h, CURLOPT_READFUNCTION, curlReadCallback),
            ccurl_easy_setopt_ptr(h, CURLOPT_READDATA, context),
            ccurl_easy_setopt_off(h, CURLOPT_INFILESIZE_LARGE, curl_off_t(transfer.bodyCount)),
        ] where rc == CURLE_OK {
            rc = code
        }
    }

    /// Hands every finished transfer back to its caller.
    private func collectFinished() {
        var queued: Int32 = 0
        while let message = curl_multi_info_read(multi, &queued) {
            guard message.pointee.msg == CURLMSG_DONE, let h = message.pointee.easy_handle else { continue }
            // Read everything from the message now: removing the handle invalidates it.
            let code = message.pointee.data.result
            var context: UnsafeMutableRawPointer?
            _ = ccurl_easy_getinfo_ptr(h, CURLINFO_PRIVATE, &context)
            guard let context else {
                // Only handles this loop configured are ever added, and each carries PRIVATE.
                preconditionFailure("a finished curl handle without its transfer")
            }
            let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
            var failure: TransportError?
            var status = 0
            _ = ccurl_easy_getinfo_long(h, CURLINFO_RESPONSE_CODE, &status)
            transfer.status = status
            // An SMTP or FTP server that refused a step answered: its 4xx/5xx reply is the
            // response (the adapter reads it), not a transport failure.
            let refusedByServer = transfer.isReplyBased && status >= 400
            if code != CURLE_OK && !refusedByServer {
                failure = TransportError(curl: code, detail: transfer.easy?.errorBuffer)
            }
            transfer.finished = .now
            _ = curl_multi_remove_handle(multi, h)
            if let easy = transfer.easy { recycle(easy) }
            unlink(transfer)
            finish(transfer, failure)
        }
    }

    /// Removes a cancelled transfer from libcurl, if it is still attached.
    private func detach(_ transfer: CurlTransfer) {
        guard let easy = transfer.easy else { return }
        _ = curl_multi_remove_handle(multi, easy.raw)
        recycle(easy)
        unlink(transfer)
    }

    /// Resumes the caller unless cancellation or shutdown did so first. Resuming only queues the
    /// caller's task on its executor; it never runs caller code on this thread.
    private func finish(_ transfer: CurlTransfer, _ failure: TransportError?) {
        transfer.settle()?.resume(returning: failure)
    }

    /// Drops the transfer from `attached` in O(1) (the last one takes its slot).
    private func unlink(_ transfer: CurlTransfer) {
        let slot = transfer.slot
        guard slot >= 0 else { return }
        let last = attached.removeLast()
        if last !== transfer {
            attached[slot] = last
            last.slot = slot
        }
        transfer.slot = -1
        transfer.easy = nil
    }

    /// Keeps a finished handle for the next transfer, reset (options cleared, so no stale
    /// pointer to a freed header list or transfer survives); the connections themselves live in
    /// the multi handle's cache. Beyond `maxConnections` idle handles, the handle is freed.
    private func recycle(_ easy: CurlEasyHandle) {
        if idle.count < max(1, configuration.maxConnections) {
            curl_easy_reset(easy.raw)
            idle.append(easy)
        } else {
            easy.destroy()
        }
    }

    private func tearDown(unattached: [CurlTransfer]) {
        let shutDown = TransportError(.cancelled, "the curl engine was shut down before the transfer finished")
        for transfer in unattached { finish(transfer, shutDown) }
        for transfer in attached {
            if let easy = transfer.easy {
                _ = curl_multi_remove_handle(multi, easy.raw)
                easy.destroy()
            }
            transfer.easy = nil
            transfer.slot = -1
            finish(transfer, shutDown)
        }
        attached.removeAll()
        for easy in idle { easy.destroy() }
        idle.removeAll()
        _ = curl_multi_cleanup(multi)
    }
}
