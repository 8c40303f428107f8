public import ChaparModels
import Foundation
public import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Lets `chapar ingest` work while another process owns the data directory.
///
/// One process owns a data directory (the log's `LOCK`). A long-running owner (`chapar notify run`,
/// later `chapar serve`) hosts this endpoint on `DATA_DIR/ingest.sock`: a second `chapar ingest`
/// that finds the directory locked sends each file's path and options there, and the owner runs the
/// same ``Ingestor`` (same dedupe index, same log) and streams rejects, progress and the summary
/// back. Requests run one at a time, so two uploads of one file still append it once.
///
/// The socket is created mode 0600 (only the owner's user can connect) and the owner opens the file
/// with its own permissions. When the client disconnects (Ctrl-C), the file's parser stops at its
/// next entry: what was appended so far is durable and indexed, so a re-ingest skips it.
///
/// Lifetime: ``init(dataDirectory:log:index:logger:)`` binds the socket; the owner then runs
/// ``run()`` for as long as it accepts ingest (every request runs as a child task of it) and calls
/// ``close()`` when done, which makes ``run()`` return once the requests in flight have ended.
/// Blocking socket I/O stays on threads of its own (an accept thread, one per connection), never
/// on the cooperative pool. ``ingestHere(_:onReject:onWarning:)`` does not need ``run()``.
public final class IngestEndpoint: Sendable {
    private struct State {
        var listener: Int32
        /// The dedupe index: the host's own (shared), or opened on the first request.
        var index: SeenIndex?
        var connections = 0
        var closed = false
        /// Hands requests read by connection threads to ``run()``; nil until it starts.
        var requests: AsyncStream<Request>.Continuation?
        var started = false
        /// ``run()`` takes requests (from its start until its loop ends).
        var running = false
    }

    private let dataDirectory: String
    private let socketPath: String
    private let log: any MessageLog
    private let logger: Logger
    private let state: Mutex<State>
    /// The host passed its own index (it closes it); else the endpoint opened one and closes it.
    private let ownsIndex: Bool

    /// Binds `DATA_DIR/ingest.sock` (replacing a stale one: the caller owns the directory's lock);
    /// connections are accepted once ``run()`` runs. Pass `index` when this process ingests too
    /// (`chapar ingest` itself): one index per process, so its requests and the host's own ingest
    /// are serialised on it. Without one, the index is opened on the first request and closed by ``close()``.
    public init(dataDirectory: String, log: any MessageLog, index: SeenIndex? = nil, logger: Logger) throws(IngestError) {
        self.dataDirectory = dataDirectory
        socketPath = IngestSocket.path(dataDirectory: dataDirectory)
        self.log = log
        self.logger = logger
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw IngestError(.storage, "cannot create the ingest socket: \(String(cString: strerror(errno)))") }
        unlink(socketPath)
        let old = umask(0o177)
        let bound = IngestSocket.withAddress(socketPath) { bind(fd, $0, $1) } ?? -1
        let bindErrno = errno
        umask(old)
        guard bound == 0, listen(fd, 16) == 0 else {
            Glibc.close(fd)
            throw IngestError(.storage, "cannot listen on \(socketPath): \(String(cString: strerror(bindErrno))); check the data directory is writable")
        }
        state = Mutex(State(listener: fd, index: index))
        ownsIndex = index == nil
    }

    /// Accepts connections and runs each one's request as a child task, until ``close()`` (or
    /// until this task is cancelled: then requests in flight stop at their next entry, keeping what
    /// they appended, and later connections are answered with an error). Call it once.
    public func run() async {
        let (requests, continuation) = AsyncStream.makeStream(of: Request.self)
        let listener = state.withLock { s -> Int32 in
            precondition(!s.started, "IngestEndpoint.run() is called once")
            s.started = true
            if s.closed { return -1 }
            s.requests = continuation
            s.running = true
            return s.listener
        }
        guard listener >= 0 else { return }
        let thread = Thread { [self] in self.acceptLoop(listener) }
        thread.name = "chapar-ingest-accept"
        thread.stackSize = 256 << 10
        thread.start()
        logger.info("accepting ingest from other processes", metadata: ["chapar.socket": "\(socketPath)"])
        await withDiscardingTaskGroup { group in
            for await request in requests {
                group.addTask {
                    request.outbox.markStarted()
                    let frames = await withTaskCancellationHandler {
                        await self.run(request.body, outbox: request.outbox, cancelled: request.cancelled)
                    } onCancel: {
                        request.cancelled.cancel(because: "the process owning the data directory is stopping")
                    }
                    request.outbox.finish(frames)
                }
            }
        }
        // Requests handed over but never started (the loop was cancelled) are answered by their
        // connection threads once they see this; later ones are refused by handOver(_:).
        state.withLock { s in
            s.running = false
            s.requests = nil
        }
        continuation.finish()
    }

    /// Ingests a file for this process itself (the HTTP API's uploads and events): the same
    /// validation, the same dedupe index, and one at a time with the socket's requests.
    public func ingestHere(_ request: RemoteIngestRequest, onReject: @Sendable (EntryError) -> Void = { _ in },
                           onWarning: @Sendable (EntryError) -> Void = { _ in }) async throws(IngestError) -> Ingestor.Summary {
        let (ingestor, source, mode) = try prepare(request, cancelled: CancelFlag())
        try await ingestor.prepare()
        return try await ingestor.ingest(source, mode: mode, onReject: onReject, onWarning: onWarning)
    }

    /// Stops accepting, lets running requests finish, removes the socket and closes the dedupe index.
    public func close() async {
        let listener = state.withLock { s -> Int32 in
            if s.closed { return -1 }
            s.closed = true
            let fd = s.listener
            s.listener = -1
            return fd
        }
        guard listener >= 0 else { return }
        unlink(socketPath)
        // Wakes the blocked accept() (EINVAL on Linux).
        shutdown(listener, Int32(SHUT_RDWR))
        // run() ends once the requests it took have ended; one handed over later is refused.
        state.withLock { $0.requests }?.finish()
        // Wait for in-flight requests: each finishes its ingest (or stops at its next entry when its client left).
        while state.withLock({ $0.connections > 0 }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
        Glibc.close(listener)
        let index = state.withLock { s -> SeenIndex? in
            defer { s.index = nil }
            return s.index
        }
        guard ownsIndex else { return }
        await index?.waitForMerges()
        do { try index?.close() } catch { logger.warning("cannot save the dedupe filter: \(error.message)") }
    }

    private func acceptLoop(_ listener: Int32) {
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                if state.withLock({ $0.closed }) { return }
                logger.error("ingest socket accept failed: \(String(cString: strerror(errno)))")
                usleep(100_000)
                continue
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            let admitted = state.withLock { s -> Bool in
                if s.closed { return false }
                s.connections += 1
                return true
            }
            guard admitted else {
                Glibc.close(fd)
                return
            }
            let thread = Thread { [self] in
                self.serve(fd)
                Glibc.close(fd)
                self.state.withLock { $0.connections -= 1 }
            }
            thread.name = "chapar-ingest-conn"
            thread.stackSize = 512 << 10
            thread.start()
        }
    }

    /// One connection, on its own thread: read the request, hand it to ``run()``, and write its
    /// frames as they come (so a slow client never blocks the ingest on the cooperative pool).
    private func serve(_ fd: Int32) {
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var reader = SocketLineReader(fd: fd, limit: 1 << 16)
        let request: RemoteIngestRequest
        do {
            let line = try reader.next()
            request = try JSONDecoder().decode(RemoteIngestRequest.self, from: Data(line))
        } catch {
            _ = IngestSocket.send(fd, RemoteIngestFrame.error(IngestError(.usage, "not an ingest request (\(error)); use `chapar ingest` of the same version")).line())
            return
        }
        let outbox = Outbox()
        let cancelled = CancelFlag()
        if !handOver(Request(body: request, outbox: outbox, cancelled: cancelled)) {
            _ = IngestSocket.send(fd, Self.stopping(request).line())
            return
        }
        var clientGone = false
        while true {
            if !outbox.isStarted && !state.withLock({ $0.running }) { outbox.finish([Self.stopping(request).line()]) }
            let (lines, done) = outbox.take(waitingUpToMilliseconds: 200)
            if !clientGone {
                for line in lines where !IngestSocket.send(fd, line) {
                    clientGone = true
                    break
                }
                if !clientGone && Self.peerClosed(fd) { clientGone = true }
                if clientGone {
                    cancelled.cancel(because: "the client disconnected")
                    logger.warning("ingest client disconnected; stopping its file at the next entry", metadata: ["chapar.file": "\(request.displayName)"])
                }
            }
            if done { return }
        }
    }

    /// The answer to a request that ``run()`` will not run.
    private static func stopping(_ request: RemoteIngestRequest) -> RemoteIngestFrame {
        .error(IngestError(.storage, "the process owning the data directory (pid \(getpid())) is not taking ingest requests (it is stopping); \(request.displayName) was not ingested: run the same command again"))
    }

    /// Queues a request for ``run()``; false when it is not running (stopping, or not started).
    private func handOver(_ request: Request) -> Bool {
        state.withLock { s -> Bool in
            guard s.running, !s.closed, let requests = s.requests else { return false }
            if case .enqueued = requests.yield(request) { return true }
            return false
        }
    }

    /// `POLLRDHUP` from <poll.h> (Linux), which Glibc does not export.
    private static let pollRDHUP: Int16 = 0x2000

    /// True once the client closed its end (the client sends nothing after its request).
    private static func peerClosed(_ fd: Int32) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN) | Self.pollRDHUP, revents: 0)
        guard poll(&p, 1, 0) > 0 else { return false }
        if p.revents & (Self.pollRDHUP | Int16(POLLHUP) | Int16(POLLERR)) != 0 { return true }
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) == 0
    }

    /// Runs one request (its ingest waits for any other on the same index); returns the final frames.
    private func run(_ request: RemoteIngestRequest, outbox: Outbox, cancelled: CancelFlag) async -> [[UInt8]] {
        var accepted = RemoteIngestFrame(kind: .accepted)
        accepted.pid = getpid()
        outbox.push(accepted.line())
        do {
            let (ingestor, source, mode) = try prepare(request, cancelled: cancelled)
            try await ingestor.prepare()
            logger.info("ingesting for another process", metadata: ["chapar.file": "\(request.displayName)"])
            let summary = try await ingestor.ingest(source, mode: mode,
                                                    onReject: { outbox.push(RemoteIngestFrame(kind: .reject, text: $0.description).line()) },
                                                    onWarning: { outbox.push(RemoteIngestFrame(kind: .warning, text: $0.warningDescription).line()) },
                                                    onProgress: { outbox.progress($0) })
            var frame = RemoteIngestFrame(progress: summary.counts, kind: .summary)
            frame.seconds = summary.seconds
            frame.refused = summary.refused
            if let failure = summary.failure {
                frame.code = failure.code.rawValue
                frame.text = failure.message
            }
            return [frame.line()]
        } catch {
            return [RemoteIngestFrame.error(error).line()]
        }
    }

    /// Validates a request and builds what ingests it (the index is opened once, on first use).
    private func prepare(_ r: RemoteIngestRequest, cancelled: CancelFlag) throws(IngestError) -> (Ingestor, Ingestor.Source, Ingestor.Mode) {
        guard r.version == 1 else {
            throw IngestError(.usage, "ingest protocol version \(r.version) is not supported by this chapar (version 1); use the same chapar binary for both")
        }
        guard r.path.hasPrefix("/") else { throw IngestError(.usage, "the file path must be absolute: \(r.path)") }
        let format = try InputFormat(parsing: r.format)
        guard let encoding = ParserOptions.Encoding(rawValue: r.encoding) else {
            throw IngestError(.usage, "'\(r.encoding)' is not a supported encoding; use utf-8, windows-1256 or iso-8859-1")
        }
        var currency: CurrencyCode? = nil
        if let c = r.defaultCurrency {
            do { currency = try CurrencyCode(c) } catch { throw IngestError(.usage, "currency: \(error.reason)") }
        }
        guard let mode = Ingestor.Mode(rawValue: r.mode), mode != .dryRun else {
            throw IngestError(.usage, "'\(r.mode)' is not an ingest mode for the data directory's owner; use append or strict")
        }
        guard (1...100_000).contains(r.batchSize), r.transactionsPartitions >= 1, r.messagesPartitions >= 1 else {
            throw IngestError(.usage, "batch size must be 1…100000 and partition counts at least 1")
        }
        let options = ParserOptions(encoding: encoding, defaultCurrency: currency, timeZone: r.timeZone)
        var config = Ingestor.Configuration(batchSize: r.batchSize)
        config.transactionsTopic.partitions = r.transactionsPartitions
        config.messagesTopic.partitions = r.messagesPartitions
        config.logger = logger
        let index = try openIndex()
        var st = stat()
        let found = stat(r.path, &st) == 0
        // A FIFO or device would block the parser on a read no disconnect can interrupt.
        if found && (st.st_mode & S_IFMT) != S_IFREG {
            throw IngestError(.notFound, "\(r.displayName) is not a regular file; ingest files (copy a stream to a file first)")
        }
        let size: Int64? = found ? Int64(st.st_size) : nil
        let source = Ingestor.Source(displayName: r.displayName, size: size) { () throws(IngestError) -> any EntryParser in
            guard access(r.path, R_OK) == 0 else {
                throw IngestError(.notFound, "\(r.displayName): the process owning the data directory (pid \(getpid())) cannot read \(r.path): \(String(cString: strerror(errno))); make it readable by that user")
            }
            return CancellableParser(try format.makeParser(path: r.path, displayName: r.displayName, options: options),
                                     cancelled: cancelled, file: r.displayName)
        }
        return (Ingestor(log: log, index: index, configuration: config), source, mode)
    }

    private func openIndex() throws(IngestError) -> SeenIndex {
        // Opened under the lock so two first requests cannot open two indexes.
        try state.withLock { (s: inout State) throws(IngestError) -> SeenIndex in
            if let index = s.index { return index }
            let index = try SeenIndex(path: DataLayout(dataDirectory).ingestIndex)
            s.index = index
            return index
        }
    }
}

/// A request read by a connection thread, with what its frames go to and what stops it.
private struct Request: Sendable {
    var body: RemoteIngestRequest
    var outbox: Outbox
    var cancelled: CancelFlag
}

/// Frames waiting for the connection thread; progress frames are coalesced (only the newest is sent).
private final class Outbox: Sendable {
    private struct State {
        var lines: [[UInt8]] = []
        var progress: Ingestor.Progress? = nil
        var lastProgress = ContinuousClock.now
        var started = false
        var done = false
    }
    private let state = Mutex(State())
    private let signal = DispatchSemaphore(value: 0)

    func push(_ line: [UInt8]) {
        state.withLock { s in
            if let p = s.progress {
                s.lines.append(RemoteIngestFrame(progress: p).line())
                s.progress = nil
            }
            s.lines.append(line)
        }
        signal.signal()
    }

    func progress(_ p: Ingestor.Progress) {
        let wake = state.withLock { s -> Bool in
            s.progress = p
            let now = ContinuousClock.now
            guard s.lastProgress.duration(to: now) >= .milliseconds(100) else { return false }
            s.lastProgress = now
            return true
        }
        if wake { signal.signal() }
    }

    /// Whether a task has taken the request (then only it finishes the outbox).
    var isStarted: Bool { state.withLock { $0.started } }
    func markStarted() { state.withLock { $0.started = true } }

    func finish(_ lines: [[UInt8]]) {
        state.withLock { s in
            if s.done { return }
            if let p = s.progress { s.lines.append(RemoteIngestFrame(progress: p).line()) }
            s.progress = nil
            s.lines += lines
            s.done = true
        }
        signal.signal()
    }

    /// Waits for something to send (or the timeout), then takes it all.
    func take(waitingUpToMilliseconds timeout: Int) -> (lines: [[UInt8]], done: Bool) {
        _ = signal.wait(timeout: .now() + .milliseconds(timeout))
        return state.withLock { s in
            var lines = s.lines
            if let p = s.progress {
                lines.append(RemoteIngestFrame(progress: p).line())
                s.progress = nil
            }
            s.lines = []
            return (lines, s.done)
        }
    }
}

/// A parser that stops (with an error naming why) once its client has gone.
private struct CancellableParser: EntryParser {
    var base: any EntryParser
    let cancelled: CancelFlag
    let file: String

    init(_ base: any EntryParser, cancelled: CancelFlag, file: String) {
        self.base = base
        self.cancelled = cancelled
        self.file = file
    }

    mutating func next() throws(IngestError) -> ParsedEntry? {
        if let reason = cancelled.reason {
            throw IngestError(.storage, "\(file): stopped because \(reason); what was appended is kept and a re-ingest skips it")
        }
        return try base.next()
    }
}

extension RemoteIngestFrame {
    init(kind: Kind, text: String) {
        self.init(kind: kind)
        self.text = text
    }
}

/// Set, with the reason, when a request must stop: its client has gone, or the owner is stopping.
private final class CancelFlag: Sendable {
    private let why = Mutex<String?>(nil)
    /// Why the request stops; nil while it may go on.
    var reason: String? { why.withLock { $0 } }
    /// The first reason given wins.
    func cancel(because reason: String) { why.withLock { if $0 == nil { $0 = reason } } }
}
