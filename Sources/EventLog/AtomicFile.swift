/// Replaces small files (indexes, offsets, topic metadata) so that a crash leaves either the
/// old or the new contents, never a mix: write a temporary file, fsync it, rename it over the
/// target, fsync the directory.
enum AtomicFile {
    static let temporarySuffix = ".tmp"

    static func write(_ bytes: [UInt8], to path: String, fileSystem: any FileSystem) throws(FileSystemError) {
        let temporary = path + temporarySuffix
        let file = try fileSystem.openFile(temporary, create: true)
        try file.truncate(to: 0)
        try file.write(bytes, at: 0)
        try file.sync()
        try fileSystem.rename(temporary, to: path)
        try fileSystem.syncDirectory(directory(of: path))
    }

    static func read(_ path: String, fileSystem: any FileSystem) throws(FileSystemError) -> [UInt8] {
        let file = try fileSystem.openFile(path, create: false)
        return try file.read(at: 0, count: Int(file.size()))
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
