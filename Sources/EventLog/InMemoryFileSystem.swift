import Synchronization

/// A file system held in memory that remembers, per file, what was last made durable by
/// `sync`. ``simulateCrash(seed:)`` throws away what was not: each file goes back to its
/// synced bytes plus a random prefix of what was appended after (a torn write), exactly the
/// states a power cut can leave. Directory entries are treated as durable at once.
public final class InMemoryFileSystem: FileSystem {
    final class Node: @unchecked Sendable {
        // Safe: every access goes through InMemoryFileSystem.state's mutex.
        var data: [UInt8] = []
        var durable: [UInt8] = []
    }

    struct State {
        var files: [String: Node] = [:]
        var directories: Set<String> = ["/"]
        /// Held locks: path → the token of the handle holding it.
        var locks: [String: UInt64] = [:]
        var nextLockToken: UInt64 = 0
    }

    let state = Mutex(State())

    public init() {}

    static func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") where part != "." && !part.isEmpty { parts.append(part) }
        return "/" + parts.joined(separator: "/")
    }

    static func parent(_ path: String) -> String {
        let p = normalize(path)
        guard let slash = p.lastIndex(of: "/"), slash != p.startIndex else { return "/" }
        return String(p[..<slash])
    }

    public func createDirectory(_ path: String) throws(FileSystemError) {
        var current = ""
        state.withLock { s in
            for part in Self.normalize(path).split(separator: "/") {
                current += "/" + part
                s.directories.insert(current)
            }
        }
    }

    public func listDirectory(_ path: String) throws(FileSystemError) -> [String] {
        let dir = Self.normalize(path)
        return try state.withLock { s throws(FileSystemError) in
            guard s.directories.contains(dir) else { throw FileSystemError(.notFound, operation: "opendir", path: path, detail: "No such file or directory") }
            let prefix = dir == "/" ? "/" : dir + "/"
            var names = Set<String>()
            for p in s.files.keys where p.hasPrefix(prefix) && !p.dropFirst(prefix.count).contains("/") { names.insert(String(p.dropFirst(prefix.count))) }
            for p in s.directories where p.hasPrefix(prefix) && p != dir && !p.dropFirst(prefix.count).contains("/") { names.insert(String(p.dropFirst(prefix.count))) }
            return names.sorted()
        }
    }

    public func fileExists(_ path: String) -> Bool {
        let p = Self.normalize(path)
        return state.withLock { $0.files[p] != nil || $0.directories.contains(p) }
    }

    public func isDirectory(_ path: String) -> Bool {
        let p = Self.normalize(path)
        return state.withLock { $0.directories.contains(p) }
    }

    public func openFile(_ path: String, create: Bool) throws(FileSystemError) -> any LogFile {
        let p = Self.normalize(path)
        let node = try state.withLock { s throws(FileSystemError) -> Node in
            if let node = s.files[p] { return node }
            guard create else { throw FileSystemError(.notFound, operation: "open", path: path, detail: "No such file or directory") }
            guard s.directories.contains(Self.parent(p)) else { throw FileSystemError(.notFound, operation: "open", path: path, detail: "No such directory") }
            let node = Node()
            s.files[p] = node
            return node
        }
        return InMemoryFile(fs: self, node: node, path: path)
    }

    public func rename(_ from: String, to: String) throws(FileSystemError) {
        let f = Self.normalize(from), t = Self.normalize(to)
        try state.withLock { s throws(FileSystemError) in
            guard let node = s.files.removeValue(forKey: f) else { throw FileSystemError(.notFound, operation: "rename", path: from, detail: "No such file") }
            s.files[t] = node
        }
    }

    public func removeFile(_ path: String) throws(FileSystemError) {
        let p = Self.normalize(path)
        try state.withLock { s throws(FileSystemError) in
            guard s.files.removeValue(forKey: p) != nil else { throw FileSystemError(.notFound, operation: "unlink", path: path, detail: "No such file") }
        }
    }

    public func removeDirectory(_ path: String) throws(FileSystemError) {
        let p = Self.normalize(path)
        _ = state.withLock { $0.directories.remove(p) }
    }

    public func syncDirectory(_ path: String) throws(FileSystemError) {}

    public func lockFile(_ path: String) throws(FileSystemError) -> any FileLock {
        let p = Self.normalize(path)
        let token = try state.withLock { s throws(FileSystemError) -> UInt64 in
            if s.locks[p] != nil { throw FileSystemError(.locked, operation: "lock", path: path, detail: "Resource temporarily unavailable") }
            s.nextLockToken += 1
            s.locks[p] = s.nextLockToken
            if s.files[p] == nil { s.files[p] = Node() }
            return s.nextLockToken
        }
        return InMemoryLock(fs: self, path: p, token: token)
    }

    /// Simulates a power cut: every file keeps its synced bytes plus a random prefix (possibly
    /// with a garbled last chunk) of what was written after; all locks are dropped. Open
    /// handles from before the crash must not be used afterwards.
    public func simulateCrash(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        state.withLock { s in
            for path in s.files.keys.sorted() {
                let node = s.files[path]!
                let appendOnly = node.data.count >= node.durable.count && node.data.starts(with: node.durable)
                guard appendOnly else {
                    node.data = node.durable
                    continue
                }
                let extra = node.data.count - node.durable.count
                let keep = extra == 0 ? 0 : Int(rng.next() % UInt64(extra + 1))
                var survived = Array(node.data.prefix(node.durable.count + keep))
                if keep > 0 && rng.next() % 4 == 0 {
                    // A torn sector: the tail of what reached the disk is garbage.
                    let garble = min(keep, 1 + Int(rng.next() % 64))
                    for i in (survived.count - garble)..<survived.count { survived[i] = UInt8(truncatingIfNeeded: rng.next()) }
                }
                node.data = survived
                node.durable = survived
            }
            s.locks.removeAll()
        }
    }

    /// The current bytes of a file (tests use this to corrupt or inspect files).
    public func contents(of path: String) -> [UInt8]? {
        let p = Self.normalize(path)
        return state.withLock { $0.files[p]?.data }
    }

    /// Replaces a file's bytes, marking them durable.
    public func setContents(of path: String, _ bytes: [UInt8]) {
        let p = Self.normalize(path)
        state.withLock { s in
            let node = s.files[p] ?? Node()
            node.data = bytes
            node.durable = bytes
            s.files[p] = node
        }
    }

    /// Releases `path` only if `token` still holds it: a handle released twice, or one from before
    /// a simulated crash, must not free a lock that another holder has taken since.
    fileprivate func unlock(_ path: String, token: UInt64) {
        state.withLock { s in
            if s.locks[path] == token { s.locks[path] = nil }
        }
    }
}

final class InMemoryFile: LogFile, Sendable {
    let fs: InMemoryFileSystem
    let node: InMemoryFileSystem.Node
    let path: String

    init(fs: InMemoryFileSystem, node: InMemoryFileSystem.Node, path: String) {
        self.fs = fs
        self.node = node
        self.path = path
    }

    func size() throws(FileSystemError) -> Int64 { fs.state.withLock { _ in Int64(node.data.count) } }

    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(FileSystemError) -> Int {
        fs.state.withLock { _ in
            let start = Int(offset)
            guard start < node.data.count else { return 0 }
            let n = min(buffer.count, node.data.count - start)
            node.data.withUnsafeBytes { src in
                buffer.baseAddress!.copyMemory(from: src.baseAddress! + start, byteCount: n)
            }
            return n
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(FileSystemError) {
        fs.state.withLock { _ in
            let start = Int(offset)
            if node.data.count < start { node.data.append(contentsOf: repeatElement(0, count: start - node.data.count)) }
            let overlap = min(bytes.count, node.data.count - start)
            if overlap > 0 {
                node.data.withUnsafeMutableBytes { dst in
                    (dst.baseAddress! + start).copyMemory(from: bytes.baseAddress!, byteCount: overlap)
                }
            }
            if overlap < bytes.count { node.data.append(contentsOf: bytes[overlap...]) }
        }
    }

    func sync() throws(FileSystemError) { fs.state.withLock { _ in node.durable = node.data } }

    func truncate(to size: Int64) throws(FileSystemError) {
        fs.state.withLock { _ in
            let n = Int(size)
            if node.data.count > n { node.data.removeLast(node.data.count - n) } else { node.data.append(contentsOf: repeatElement(0, count: n - node.data.count)) }
        }
    }
}

final class InMemoryLock: FileLock, Sendable {
    let fs: InMemoryFileSystem
    let path: String
    let token: UInt64
    init(fs: InMemoryFileSystem, path: String, token: UInt64) {
        self.fs = fs
        self.path = path
        self.token = token
    }
    func release() { fs.unlock(path, token: token) }
}

/// A small, fast, seedable random generator (SplitMix64) for deterministic fault schedules.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
