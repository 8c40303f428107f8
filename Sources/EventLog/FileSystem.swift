/// The narrow storage interface the log is written against. Three implementations exist:
/// ``PosixFileSystem`` (real files), ``InMemoryFileSystem`` (deterministic, with crash
/// simulation that drops unsynced bytes) and ``FaultInjectingFileSystem`` (wraps another and
/// injects full disks, torn writes and failed fsyncs), so crash cases are testable.
public protocol FileSystem: Sendable {
    /// Creates a directory and its parents; no error if it exists.
    func createDirectory(_ path: String) throws(FileSystemError)
    /// Names (not paths) of the entries in a directory.
    func listDirectory(_ path: String) throws(FileSystemError) -> [String]
    func fileExists(_ path: String) -> Bool
    func isDirectory(_ path: String) -> Bool
    /// Opens a file for reading and writing, creating it when `create` is set.
    func openFile(_ path: String, create: Bool) throws(FileSystemError) -> any LogFile
    /// Atomically replaces `to` with `from`.
    func rename(_ from: String, to: String) throws(FileSystemError)
    func removeFile(_ path: String) throws(FileSystemError)
    /// Removes an empty directory.
    func removeDirectory(_ path: String) throws(FileSystemError)
    /// Makes a directory's entries (creates, renames, deletes) durable.
    func syncDirectory(_ path: String) throws(FileSystemError)
    /// Takes an exclusive advisory lock held until the handle is released; fails at once if held elsewhere.
    func lockFile(_ path: String) throws(FileSystemError) -> any FileLock
}

/// An open file. Positional reads and writes only, so concurrent readers need no seek state.
/// A file is closed when the last reference goes away, so a reader still holding a segment
/// that retention just deleted keeps reading valid bytes, never a reused descriptor.
public protocol LogFile: AnyObject, Sendable {
    var path: String { get }
    func size() throws(FileSystemError) -> Int64
    /// Reads up to `buffer.count` bytes at `offset`; returns fewer only at end of file.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(FileSystemError) -> Int
    /// Writes all of `bytes` at `offset`, or throws (possibly after writing a prefix).
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(FileSystemError)
    /// Makes everything written so far durable (fsync).
    func sync() throws(FileSystemError)
    func truncate(to size: Int64) throws(FileSystemError)
}

/// A held lock; released by `release()` or when the process exits.
public protocol FileLock: AnyObject, Sendable {
    func release()
}

extension LogFile {
    /// Reads exactly the bytes in `offset..<offset+count`, fewer only at end of file.
    public func read(at offset: Int64, count: Int) throws(FileSystemError) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: count)
        let n: Result<Int, FileSystemError> = result.withUnsafeMutableBytes { buffer in
            do throws(FileSystemError) { return .success(try read(into: buffer, at: offset)) } catch { return .failure(error) }
        }
        let got = try n.get()
        if got < count { result.removeLast(count - got) }
        return result
    }

    public func write(_ bytes: [UInt8], at offset: Int64) throws(FileSystemError) {
        let r: Result<Void, FileSystemError> = bytes.withUnsafeBytes { buffer in
            do throws(FileSystemError) { return .success(try write(buffer, at: offset)) } catch { return .failure(error) }
        }
        try r.get()
    }
}

/// A failed file-system call: which call, on which path, and the errno-style reason.
public struct FileSystemError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        case notFound, exists, noSpace, permissionDenied, locked, io, notDirectory, other
    }
    public let kind: Kind
    public let operation: String
    public let path: String
    public let detail: String

    public init(_ kind: Kind, operation: String, path: String, detail: String) {
        self.kind = kind
        self.operation = operation
        self.path = path
        self.detail = detail
    }

    public var description: String { "\(operation) \(path): \(detail)" }
}
