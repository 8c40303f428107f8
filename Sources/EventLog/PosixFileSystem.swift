import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Real files through POSIX calls (pread/pwrite/fsync/flock).
public struct PosixFileSystem: FileSystem {
    public init() {}

    static func error(_ operation: String, _ path: String, _ code: Int32 = errno) -> FileSystemError {
        let kind: FileSystemError.Kind = switch code {
        case ENOENT: .notFound
        case EEXIST: .exists
        case ENOSPC, EDQUOT: .noSpace
        case EACCES, EPERM, EROFS: .permissionDenied
        case EWOULDBLOCK: .locked
        case EIO: .io
        case ENOTDIR: .notDirectory
        default: .other
        }
        return FileSystemError(kind, operation: operation, path: path, detail: String(cString: strerror(code)))
    }

    public func createDirectory(_ path: String) throws(FileSystemError) {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw Self.error("mkdir", current)
            }
        }
    }

    public func listDirectory(_ path: String) throws(FileSystemError) -> [String] {
        guard let dir = opendir(path) else { throw Self.error("opendir", path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { ptr in
                ptr.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    public func fileExists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    public func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    public func openFile(_ path: String, create: Bool) throws(FileSystemError) -> any LogFile {
        let flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0)
        let fd = open(path, flags, 0o644)
        if fd < 0 { throw Self.error("open", path) }
        return PosixFile(fd: fd, path: path)
    }

    public func rename(_ from: String, to: String) throws(FileSystemError) {
        if Glibc.rename(from, to) != 0 { throw Self.error("rename", from) }
    }

    public func removeFile(_ path: String) throws(FileSystemError) {
        if unlink(path) != 0 { throw Self.error("unlink", path) }
    }

    public func removeDirectory(_ path: String) throws(FileSystemError) {
        if rmdir(path) != 0 { throw Self.error("rmdir", path) }
    }

    public func syncDirectory(_ path: String) throws(FileSystemError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw Self.error("open", path) }
        defer { Glibc.close(fd) }
        if fsync(fd) != 0 { throw Self.error("fsync", path) }
    }

    public func lockFile(_ path: String) throws(FileSystemError) -> any FileLock {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if fd < 0 { throw Self.error("open", path) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            Glibc.close(fd)
            throw Self.error("lock", path, code)
        }
        // Record who holds the lock (process id, then its command line, cut short) so the error a
        // second process sees can name it: `chapar ingest …`, `chapar serve`, a test.
        var command = CommandLine.arguments.map { $0.split(separator: "/").last.map(String.init) ?? $0 }.joined(separator: " ")
        if command.count > 160 { command = String(command.prefix(160)) + "…" }
        command = String(command.map { $0.isNewline ? " " : $0 })
        let text = "\(getpid())\n\(command)\n"
        _ = ftruncate(fd, 0)
        _ = text.withCString { pwrite(fd, $0, strlen($0), 0) }
        return PosixLock(fd: fd)
    }
}

/// A file descriptor. Positional I/O is thread-safe and the descriptor is immutable after
/// init and closed only in deinit, so sharing it across threads is safe.
final class PosixFile: LogFile, @unchecked Sendable {
    let fd: Int32
    let path: String

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { Glibc.close(fd) }

    func size() throws(FileSystemError) -> Int64 {
        var st = stat()
        if fstat(fd, &st) != 0 { throw PosixFileSystem.error("fstat", path) }
        return Int64(st.st_size)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(FileSystemError) -> Int {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw PosixFileSystem.error("pread", path)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(FileSystemError) {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw PosixFileSystem.error("pwrite", path)
            }
            done += n
        }
    }

    func sync() throws(FileSystemError) {
        if fdatasync(fd) != 0 { throw PosixFileSystem.error("fdatasync", path) }
    }

    func truncate(to size: Int64) throws(FileSystemError) {
        if ftruncate(fd, off_t(size)) != 0 { throw PosixFileSystem.error("ftruncate", path) }
    }

}

/// Holds an flock'd descriptor; the kernel drops the lock if the process dies.
final class PosixLock: FileLock, @unchecked Sendable {
    // Safe: `released` is guarded by the mutex, so the descriptor is closed exactly once.
    private let fd: Int32
    private let released = Mutex(false)
    init(fd: Int32) { self.fd = fd }
    func release() {
        let first = released.withLock { done in
            defer { done = true }
            return !done
        }
        if first {
            flock(fd, LOCK_UN)
            Glibc.close(fd)
        }
    }
    deinit { release() }
}
