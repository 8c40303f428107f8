public import ChaparModels

/// A data directory's `LOCK` without the embedded log: what `chapar serve` takes when its log is on
/// Kafka, so that the directory's local state (customers, ledger, dedupe index, ingest socket)
/// still has one owner. Same file and same message as the embedded log's lock, so
/// a second process sees who holds it whichever backend runs. Released by ``release()`` or when
/// the process ends.
public final class DataDirectoryLock: Sendable {
    private let lock: any FileLock

    /// Creates the directory if needed and locks it; `locked` names the holder.
    public init(directory: String) throws(LogError) {
        let fs = PosixFileSystem()
        do { try fs.createDirectory(directory) } catch {
            throw LogError(.storage, "cannot create data directory \(directory) (\(error)); check the path and permissions")
        }
        lock = try EventLog.lockDirectory(directory, fileSystem: fs)
    }

    public func release() { lock.release() }
}
