import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The client side of ``IngestEndpoint``: what `chapar ingest` does when another process owns the
/// data directory.
public enum IngestClient {
    /// Whether a process accepts ingest for `dataDirectory` right now (something listens on its socket).
    public static func isAccepting(dataDirectory: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return IngestSocket.withAddress(IngestSocket.path(dataDirectory: dataDirectory)) { connect(fd, $0, $1) } == 0
    }

    /// Sends `request` to the endpoint of the process owning `dataDirectory` and relays what it
    /// reports: `onAccepted` with the owner's pid, each reject line, progress, and the summary.
    /// Returns nil when no process accepts ingest there (no socket, or nobody listening on it).
    /// The socket conversation runs on its own thread, never on the cooperative pool.
    public static func ingest(_ request: RemoteIngestRequest, dataDirectory: String,
                              onAccepted: @escaping @Sendable (Int32) -> Void = { _ in },
                              onReject: @escaping @Sendable (String) -> Void = { _ in },
                              onWarning: @escaping @Sendable (String) -> Void = { _ in },
                              onProgress: @escaping @Sendable (Ingestor.Progress) -> Void = { _ in }) async throws(IngestError) -> Ingestor.Summary? {
        let path = IngestSocket.path(dataDirectory: dataDirectory)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw IngestError(.storage, "cannot create a socket: \(String(cString: strerror(errno)))") }
        let connected = IngestSocket.withAddress(path) { connect(fd, $0, $1) } ?? -1
        if connected != 0 {
            let e = errno
            close(fd)
            if [ENOENT, ECONNREFUSED, ENOTDIR].contains(e) || connected == -1 && e == 0 { return nil }
            throw IngestError(.storage, "cannot connect to \(path): \(String(cString: strerror(e)))")
        }
        let result = await withCheckedContinuation { (c: CheckedContinuation<Result<Ingestor.Summary, IngestError>, Never>) in
            let thread = Thread {
                let r = converse(fd, request, onAccepted: onAccepted, onReject: onReject, onWarning: onWarning, onProgress: onProgress)
                close(fd)
                c.resume(returning: r)
            }
            thread.name = "chapar-ingest-client"
            thread.stackSize = 512 << 10
            thread.start()
        }
        return try result.get()
    }

    private static func converse(_ fd: Int32, _ request: RemoteIngestRequest,
                                 onAccepted: (Int32) -> Void, onReject: (String) -> Void, onWarning: (String) -> Void,
                                 onProgress: (Ingestor.Progress) -> Void) -> Result<Ingestor.Summary, IngestError> {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        guard var line = try? [UInt8](encoder.encode(request)) else {
            return .failure(IngestError(.usage, "cannot encode the ingest request"))
        }
        line.append(0x0A)
        let lost = IngestError(.storage, "the process owning the data directory stopped before it finished \(request.displayName); what it appended is kept, and ingesting the file again skips it")
        guard IngestSocket.send(fd, line) else { return .failure(lost) }
        // Frames are small; a reject line is bounded by the entry's message.
        var reader = SocketLineReader(fd: fd, limit: 1 << 22)
        let decoder = JSONDecoder()
        while true {
            let bytes: [UInt8]
            do { bytes = try reader.next() } catch { return .failure(lost) }
            guard let frame = try? decoder.decode(RemoteIngestFrame.self, from: Data(bytes)) else {
                return .failure(IngestError(.storage, "the data directory's owner sent an unreadable reply; use the same chapar binary for both"))
            }
            switch frame.kind {
            case .accepted: onAccepted(frame.pid ?? 0)
            case .reject: onReject(frame.text ?? "")
            case .warning: onWarning(frame.text ?? "")
            case .progress: onProgress(frame.progress)
            case .error:
                let code = frame.code.flatMap(IngestError.Code.init(rawValue:)) ?? .storage
                return .failure(IngestError(code, frame.text ?? "the data directory's owner refused the ingest",
                                            durable: frame.read == nil ? nil : frame.progress))
            case .summary:
                let failure = frame.code.map { IngestError(IngestError.Code(rawValue: $0) ?? .storage, frame.text ?? "") }
                return .success(Ingestor.Summary(file: request.displayName, counts: frame.progress, seconds: frame.seconds ?? 0,
                                                 failure: failure, refused: frame.refused ?? false))
            }
        }
    }
}
