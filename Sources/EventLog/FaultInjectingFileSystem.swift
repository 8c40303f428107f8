import Synchronization

/// Wraps another file system and injects the failures a storage engine must survive:
/// a disk that fills up part-way through a write, fsyncs that fail, and reads that fail.
/// Faults apply only to paths containing `pathFilter` (all paths when nil).
public final class FaultInjectingFileSystem: FileSystem {
    /// The faults in force; change them at any time with ``update(_:)``.
    public struct Faults: Sendable {
        /// Bytes that may still be written; a write that crosses it writes the prefix that fits, then fails with ENOSPC.
        public var writeBudget: Int?
        /// Every sync fails with EIO.
        public var failSync = false
        /// Every read fails with EIO.
        public var failRead = false
        /// Only paths containing this string are affected.
        public var pathFilter: String?
        public init(writeBudget: Int? = nil, failSync: Bool = false, failRead: Bool = false, pathFilter: String? = nil) {
            self.writeBudget = writeBudget
            self.failSync = failSync
            self.failRead = failRead
            self.pathFilter = pathFilter
        }
    }

    public let base: any FileSystem
    let faults = Mutex(Faults())

    public init(base: any FileSystem) { self.base = base }

    public func update(_ change: (inout Faults) -> Void) { faults.withLock { change(&$0) } }

    func applies(_ path: String, _ f: Faults) -> Bool { f.pathFilter.map { path.contains($0) } ?? true }

    public func createDirectory(_ path: String) throws(FileSystemError) { try base.createDirectory(path) }
    public func listDirectory(_ path: String) throws(FileSystemError) -> [String] { try base.listDirectory(path) }
    public func fileExists(_ path: String) -> Bool { base.fileExists(path) }
    public func isDirectory(_ path: String) -> Bool { base.isDirectory(path) }
    public func openFile(_ path: String, create: Bool) throws(FileSystemError) -> any LogFile {
        FaultyFile(inner: try base.openFile(path, create: create), fs: self)
    }
    public func rename(_ from: String, to: String) throws(FileSystemError) {
        let full = faults.withLock { f in applies(to, f) && f.writeBudget == 0 }
        if full { throw FileSystemError(.noSpace, operation: "rename", path: to, detail: "No space left on device (injected)") }
        try base.rename(from, to: to)
    }
    public func removeFile(_ path: String) throws(FileSystemError) { try base.removeFile(path) }
    public func removeDirectory(_ path: String) throws(FileSystemError) { try base.removeDirectory(path) }
    public func syncDirectory(_ path: String) throws(FileSystemError) { try base.syncDirectory(path) }
    public func lockFile(_ path: String) throws(FileSystemError) -> any FileLock { try base.lockFile(path) }
}

final class FaultyFile: LogFile, Sendable {
    let inner: any LogFile
    let fs: FaultInjectingFileSystem
    var path: String { inner.path }

    init(inner: any LogFile, fs: FaultInjectingFileSystem) {
        self.inner = inner
        self.fs = fs
    }

    func size() throws(FileSystemError) -> Int64 { try inner.size() }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(FileSystemError) -> Int {
        if fs.faults.withLock({ fs.applies(path, $0) && $0.failRead }) {
            throw FileSystemError(.io, operation: "pread", path: path, detail: "Input/output error (injected)")
        }
        return try inner.read(into: buffer, at: offset)
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(FileSystemError) {
        let allowed: Int = fs.faults.withLock { f in
            guard fs.applies(path, f), let budget = f.writeBudget else { return bytes.count }
            let n = min(budget, bytes.count)
            f.writeBudget = budget - n
            return n
        }
        if allowed > 0 { try inner.write(UnsafeRawBufferPointer(rebasing: bytes[0..<allowed]), at: offset) }
        if allowed < bytes.count {
            throw FileSystemError(.noSpace, operation: "pwrite", path: path, detail: "No space left on device (injected after \(allowed) of \(bytes.count) bytes)")
        }
    }

    func sync() throws(FileSystemError) {
        if fs.faults.withLock({ fs.applies(path, $0) && $0.failSync }) {
            throw FileSystemError(.io, operation: "fdatasync", path: path, detail: "Input/output error (injected)")
        }
        try inner.sync()
    }

    func truncate(to size: Int64) throws(FileSystemError) { try inner.truncate(to: size) }
}
