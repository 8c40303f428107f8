import ChaparModels
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What `chapar ingest` asks the process owning a data directory to do: ingest one file, read by
/// that process from `path`, with the client's options. One request per connection.
///
/// The wire format (a newline-terminated JSON object each way, one request then a stream of
/// frames) is documented in `docs/ingest.md` ("Ingest while the directory is in use").
public struct RemoteIngestRequest: Codable, Sendable, Equatable {
    /// Protocol version; an owner refuses versions it does not know.
    public var version: Int = 1
    /// Absolute path of the file; the owner opens it itself (same machine, same user).
    public var path: String
    /// The name used in messages (`FILE:LINE: …`), as the user typed it.
    public var displayName: String
    /// An ``InputFormat`` name.
    public var format: String
    /// A ``ParserOptions/Encoding`` name.
    public var encoding: String
    public var defaultCurrency: String?
    public var timeZone: String
    /// `append` or `strict` (``Ingestor/Mode``; a dry run never needs the owner).
    public var mode: String
    public var batchSize: Int
    /// Partitions of `transactions` / `messages` when this ingest creates them.
    public var transactionsPartitions: Int
    public var messagesPartitions: Int

    public init(path: String, displayName: String, format: InputFormat, options: ParserOptions, mode: Ingestor.Mode,
                configuration: Ingestor.Configuration) {
        self.path = path
        self.displayName = displayName
        self.format = format.rawValue
        encoding = options.encoding.rawValue
        defaultCurrency = options.defaultCurrency?.rawValue
        timeZone = options.timeZone
        self.mode = mode.rawValue
        batchSize = configuration.batchSize
        transactionsPartitions = configuration.transactionsTopic.partitions
        messagesPartitions = configuration.messagesTopic.partitions
    }
}

/// One line the owner sends back while it ingests a request.
struct RemoteIngestFrame: Codable, Sendable {
    enum Kind: String, Codable, Sendable {
        /// The owner took the request (`pid`); it may wait behind another ingest first.
        case accepted
        /// One rejected entry, `text` = `FILE:LINE: what is wrong`.
        case reject
        /// A problem with the file that rejects no entry, `text` = `FILE:LINE: warning: what is wrong`.
        case warning
        /// Counters so far.
        case progress
        /// The end: counters, `seconds`, and `failureCode`/`text` when the file could not be read to its end.
        case summary
        /// The request failed: `code` (an ``IngestError/Code``) and `text`; with the counters
        /// (``IngestError/durable``) when it stopped part way, e.g. on a full disk.
        case error
    }

    var kind: Kind
    var text: String? = nil
    var code: String? = nil
    var pid: Int32? = nil
    var read: Int? = nil
    var appended: Int? = nil
    var duplicates: Int? = nil
    var rejected: Int? = nil
    var warnings: Int? = nil
    var bytesRead: Int64? = nil
    var phase: String? = nil
    var seconds: Double? = nil
    var refused: Bool? = nil

    init(kind: Kind) { self.kind = kind }

    init(progress p: Ingestor.Progress, kind: Kind = .progress) {
        self.kind = kind
        read = p.read
        appended = p.appended
        duplicates = p.duplicates
        rejected = p.rejected
        warnings = p.warnings
        bytesRead = p.bytesRead
        phase = p.phase
    }

    var progress: Ingestor.Progress {
        var p = Ingestor.Progress()
        p.read = read ?? 0
        p.appended = appended ?? 0
        p.duplicates = duplicates ?? 0
        p.rejected = rejected ?? 0
        p.warnings = warnings ?? 0
        p.bytesRead = bytesRead ?? -1
        p.phase = phase ?? "ingest"
        return p
    }

    /// The request failed; when it stopped part way, with the counts of what is durable.
    static func error(_ e: IngestError) -> RemoteIngestFrame {
        var f = e.durable.map { RemoteIngestFrame(progress: $0, kind: .error) } ?? RemoteIngestFrame(kind: .error)
        f.code = e.code.rawValue
        f.text = e.message
        return f
    }

    func line() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        // Encoding plain strings and numbers cannot fail.
        var bytes = (try? encoder.encode(self)).map { [UInt8]($0) } ?? Array(#"{"kind":"error","text":"unencodable frame"}"#.utf8)
        bytes.append(0x0A)
        return bytes
    }
}

/// The Unix-domain socket beside the log through which the owner of a data directory accepts ingest.
enum IngestSocket {
    /// `O_PATH` from <fcntl.h> (Linux), which Glibc does not export.
    static let oPath: Int32 = 0o10000000

    /// `DATA_DIR/ingest.sock`.
    static func path(dataDirectory: String) -> String {
        DataLayout(dataDirectory).ingestSocket
    }

    /// Runs `body` with an address for `path`. A path longer than `sun_path` (108 bytes) is reached
    /// through `/proc/self/fd/N/ingest.sock` of an `O_PATH` descriptor of its directory.
    static func withAddress<T>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T? {
        var target = path
        var dirFD: Int32 = -1
        defer { if dirFD >= 0 { close(dirFD) } }
        var addr = sockaddr_un()
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        if target.utf8.count >= capacity {
            dirFD = open((path as NSString).deletingLastPathComponent, Self.oPath | O_DIRECTORY | O_CLOEXEC)
            guard dirFD >= 0 else { return nil }
            target = "/proc/self/fd/\(dirFD)/\((path as NSString).lastPathComponent)"
            guard target.utf8.count < capacity else { return nil }
        }
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            let bytes = Array(target.utf8)
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    /// Writes all of `bytes`; false when the peer is gone (never raises SIGPIPE).
    static func send(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        return bytes.withUnsafeBytes { raw in
            while offset < raw.count {
                let n = Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return false }
                offset += n
            }
            return true
        }
    }
}

/// Reads newline-terminated lines from a socket, each at most `limit` bytes.
struct SocketLineReader {
    let fd: Int32
    let limit: Int
    private var buffer: [UInt8] = []
    private var start = 0

    init(fd: Int32, limit: Int) {
        self.fd = fd
        self.limit = limit
    }

    enum Failure: Error { case closed, tooLong, timedOut, failed(Int32) }

    /// The next line without its newline; `.closed` at the end of the stream.
    mutating func next() throws(Failure) -> [UInt8] {
        while true {
            if let nl = buffer[start...].firstIndex(of: 0x0A) {
                let line = Array(buffer[start..<nl])
                start = nl + 1
                if start > 1 << 16 {
                    buffer.removeFirst(start)
                    start = 0
                }
                return line
            }
            if buffer.count - start > limit { throw .tooLong }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { throw .closed }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { throw .timedOut }
                throw .failed(errno)
            }
            buffer.append(contentsOf: chunk[0..<n])
        }
    }
}
