import CCurl

/// Process-wide libcurl state.
enum CurlLibrary {
    /// `curl_global_init` runs exactly once per process, the first time anything reads this. A
    /// `static let` initializer is lazy and thread-safe (swift_once). libcurl requires the call
    /// before any other thread uses it, so every engine and benchmark reads this before it starts
    /// a thread or creates a handle.
    static let initialized: Bool = curl_global_init(Int(CURL_GLOBAL_ALL)) == CURLE_OK

    /// Fails loudly if libcurl could not initialise (it only fails when out of memory or when the
    /// TLS library cannot start): nothing in the delivery path can work without it.
    static func ensureInitialized() {
        precondition(initialized, "curl_global_init failed: libcurl (or its TLS library) could not initialise")
    }
}

extension TransportError {
    /// A libcurl failure as a transport error: the kind from the CURLcode, the message from
    /// `curl_easy_strerror`, plus the transfer's error buffer when libcurl wrote details there
    /// (it names host and port, never the URL path or query, which may hold a bot token).
    init(curl code: CURLcode, detail: UnsafePointer<CChar>?) {
        var message = String(cString: curl_easy_strerror(code))
        if let detail, detail.pointee != 0 {
            let text = String(cString: detail)
            if text != message { message += ": " + text }
        }
        self.init(Kind(curl: code), code: Int32(bitPattern: code.rawValue), message)
    }
}

extension TransportError.Kind {
    /// How the retry policy should read a CURLcode.
    init(curl code: CURLcode) {
        switch code {
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            self = .connect
        case CURLE_OPERATION_TIMEDOUT:
            self = .timeout
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM,
             CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ENGINE_NOTFOUND,
             CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_ENGINE_INITFAILED, CURLE_SSL_SHUTDOWN_FAILED,
             CURLE_SSL_CRL_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
             CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CLIENTCERT, CURLE_USE_SSL_FAILED:
            self = .tls
        case CURLE_GOT_NOTHING, CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_PARTIAL_FILE,
             CURLE_WEIRD_SERVER_REPLY:
            self = .broken
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL, CURLE_BAD_FUNCTION_ARGUMENT:
            self = .invalidRequest
        default:
            self = .other
        }
    }
}

extension Duration {
    /// Whole milliseconds for libcurl's `*_MS` options, at least 1: libcurl reads 0 as "no timeout".
    var curlMilliseconds: Int {
        let (seconds, attoseconds) = components
        let ms = seconds.multipliedReportingOverflow(by: 1000)
        if ms.overflow || seconds < 0 { return seconds < 0 ? 1 : Int.max }
        return max(1, Int(ms.partialValue + attoseconds / 1_000_000_000_000_000))
    }
}
