import Foundation
import Synchronization

/// The production ``Transport``: one libcurl multi handle driven by one dedicated thread, serving
/// async callers from any task.
///
/// Thousands of transfers can be in flight on that one thread. Connections are kept alive and
/// reused (the multi handle's connection cache holds up to ``Configuration/maxConnections``), and
/// easy handles are recycled from a free list. Callers never block a thread of the cooperative
/// pool: `perform` parks the task and the engine thread resumes it when libcurl is done.
///
/// Per request: connect and total timeouts from ``TransferRequest/timeouts``; TLS verification on
/// unless ``TLSOptions/verify`` is false, with ``TLSOptions/caFile`` as the CA bundle; no
/// `Expect: 100-continue`; redirects are not followed; only `http` and `https` URLs. A `PUT`
/// sends its body like a `POST` does. The response keeps the final response's headers only, and
/// at most ``Configuration/maxResponseBodyBytes`` of body.
///
/// SMTP and FTP-like transfers (``TransferRequest/Kind/smtp(_:)``, ``TransferRequest/Kind/file(_:)``)
/// run on threads of their own (``Configuration/replyProtocolThreads``, started on first use), never
/// on the HTTP thread: libcurl waits for some of their replies *blocking* inside
/// `curl_multi_perform` (SMTP's answer to the end of DATA and its QUIT, FTP's answer after a STOR
/// and the commands after it), up to the transfer's timeout. A mail server that is slow to answer
/// then holds up only the other SMTP/FTP transfers on its thread, never the SMS and IM gateways.
///
/// Cancelling the calling task resumes it at once with ``TransportError/Kind/cancelled``; the
/// engine thread then drops the transfer. ``shutdown()`` (or releasing the engine) fails whatever
/// is queued or in flight with `cancelled` and joins the thread.
public final class CurlEngine: Transport {
    /// Connection limits and response bounds. Read once, when the engine starts.
    public struct Configuration: Sendable, Hashable {
        /// Connections the multi handle keeps open for reuse (`CURLMOPT_MAXCONNECTS`), and the
        /// number of idle easy handles kept for the next transfers. Default 512. Keep it at least
        /// the number of transfers you run at once: a connection finishing while the cache is
        /// full is closed, and the next request pays a new TCP (and TLS) handshake.
        public var maxConnections: Int
        /// Connections open at once to one host (`CURLMOPT_MAX_HOST_CONNECTIONS`). Default 0,
        /// unlimited: the worker pools above bound in-flight work per gateway. When set, extra
        /// transfers wait inside libcurl for a free connection, and that wait counts against
        /// their total timeout.
        public var maxConnectionsPerHost: Int
        /// Response body bytes kept per transfer. Default 64 KiB: gateways answer with a status
        /// document of a few hundred bytes, and an unbounded body would let one misbehaving
        /// gateway hold megabytes per in-flight request. Bytes beyond it are read and dropped
        /// (the connection stays reusable) and ``TransferResponse/bodyTruncated`` is set.
        public var maxResponseBodyBytes: Int
        /// Threads (each with its own multi handle and connection cache) for SMTP and FTP-like
        /// transfers; default 4. Each one can be stalled by one slow reply (see the type's
        /// comment), so this is also how many slow mail servers' replies are awaited at once.
        public var replyProtocolThreads: Int

        /// The defaults are documented on each property.
        public init(maxConnections: Int = 512, maxConnectionsPerHost: Int = 0, maxResponseBodyBytes: Int = 64 * 1024,
                    replyProtocolThreads: Int = 4) {
            self.maxConnections = maxConnections
            self.maxConnectionsPerHost = maxConnectionsPerHost
            self.maxResponseBodyBytes = maxResponseBodyBytes
            self.replyProtocolThreads = replyProtocolThreads
        }
    }

    /// What the engine was started with.
    public let configuration: Configuration
    /// The HTTP thread's loop.
    private let loop: CurlMultiLoop
    /// The SMTP/FTP threads' loops, started by the first such transfer; nil before that, and
    /// empty after shutdown (so a late transfer cannot start them again).
    private let replyLoops = Mutex<[CurlMultiLoop]?>(nil)
    /// Round-robin position over `replyLoops`.
    private let nextReplyLoop = Atomic<Int>(0)

    /// Initialises libcurl if this is the first engine of the process and starts the engine
    /// thread. Traps only if libcurl cannot initialise at all (out of memory).
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        loop = Self.startLoop(configuration, name: "chapar-curl")
    }

    /// A loop and the thread that runs it. The thread holds the loop, not the engine, so releasing
    /// the engine runs deinit, which stops the thread.
    private static func startLoop(_ configuration: Configuration, name: String) -> CurlMultiLoop {
        let loop = CurlMultiLoop(configuration: configuration)
        let thread = Thread { loop.run() }
        thread.name = name
        thread.start()
        return loop
    }

    deinit { shutdown() }

    /// The loop for `request`: the HTTP thread, or one of the SMTP/FTP threads (round robin).
    /// Nil once the engine is shut down and the SMTP/FTP threads are gone.
    private func loop(for request: TransferRequest) -> CurlMultiLoop? {
        if case .http = request.kind { return loop }
        let loops = replyLoops.withLock { loops -> [CurlMultiLoop] in
            if let loops { return loops }
            let started = (0..<max(1, configuration.replyProtocolThreads)).map { Self.startLoop(configuration, name: "chapar-curl-mail-\($0)") }
            loops = started
            return started
        }
        guard !loops.isEmpty else { return nil }
        return loops[nextReplyLoop.wrappingAdd(1, ordering: .relaxed).oldValue % loops.count]
    }

    /// Sends `request` and returns the gateway's answer, or why there was none. Never throws;
    /// returns `.failure(.cancelled)` promptly when the calling task is cancelled or the engine
    /// is shut down.
    public func perform(_ request: TransferRequest) async -> TransferResult {
        guard let loop = loop(for: request) else { return .failure(Self.engineStopped) }
        let transfer = CurlTransfer(request, maxBodyBytes: configuration.maxResponseBodyBytes)
        let failure: TransportError? = await withTaskCancellationHandler {
            await withUnsafeContinuation { continuation in
                // Cancelled before it could park: nothing was queued.
                guard transfer.install(continuation) else {
                    continuation.resume(returning: Self.cancelledByCaller)
                    return
                }
                if !loop.submit(transfer) {
                    transfer.settle()?.resume(returning: Self.engineStopped)
                }
            }
        } onCancel: {
            // Only the party that settles the transfer resumes the caller; if that is us, the
            // engine thread may still hold the transfer and must let go of it.
            if let continuation = transfer.settle() {
                continuation.resume(returning: Self.cancelledByCaller)
                loop.cancel(transfer)
            }
        }
        if let failure { return .failure(failure) }
        return .response(transfer.makeResponse())
    }

    /// Stops accepting transfers, fails queued and in-flight ones with
    /// ``TransportError/Kind/cancelled``, closes every connection and joins the engine thread.
    /// Idempotent; later `perform` calls return `cancelled` at once. Blocks the calling thread
    /// until the engine thread has exited (normally well under a millisecond per handle).
    public func shutdown() {
        loop.shutdown()
        let loops = replyLoops.withLock { loops in
            defer { loops = [] }
            return loops ?? []
        }
        for loop in loops { loop.shutdown() }
    }

    private static let cancelledByCaller = TransportError(.cancelled, "the transfer was cancelled by its caller")
    private static let engineStopped = TransportError(.cancelled, "the curl engine is shut down and accepts no transfers")
}
