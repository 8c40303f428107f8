#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file front to back through one fixed 64 KiB buffer, so memory does not grow with the
/// file. Shared by the camt.054 XML tokenizer and the MT940 line reader.
///
/// A value type around a file descriptor owned by ``Handle``: copies share the descriptor and its
/// position, so a parser holding one must not be copied while in use.
struct BankFileReader {
    /// Closes the descriptor when the last reader copy goes away.
    final class Handle {
        let fd: Int32
        init(fd: Int32) { self.fd = fd }
        deinit { if fd >= 0 { close(fd) } }
    }

    static let chunkSize = 64 * 1024

    let handle: Handle
    let displayName: String
    var buffer: [UInt8]
    var position = 0
    var end = 0
    var atEOF = false
    /// Bytes handed out so far (for progress and error messages).
    var consumed: Int64 = 0

    /// Opens `path` for reading; a missing or unreadable file is `.notFound` with the reason.
    init(path: String, displayName: String) throws(IngestError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let reason = String(cString: strerror(errno))
            throw IngestError(.notFound, "\(displayName): cannot open the file (\(reason)); check the path and its permissions")
        }
        var st = stat()
        if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw IngestError(.notFound, "\(displayName): is a directory, not a file")
        }
        handle = Handle(fd: fd)
        self.displayName = displayName
        buffer = [UInt8](repeating: 0, count: Self.chunkSize)
    }

    /// Refills the buffer; returns false at the end of the file.
    mutating func refill() throws(IngestError) -> Bool {
        if atEOF { return false }
        position = 0
        end = 0
        while true {
            let n = buffer.withUnsafeMutableBytes { read(handle.fd, $0.baseAddress, Self.chunkSize) }
            if n > 0 { end = n; return true }
            if n == 0 { atEOF = true; return false }
            if errno == EINTR { continue }
            let reason = String(cString: strerror(errno))
            throw IngestError(.storage, "\(displayName): reading the file failed (\(reason))")
        }
    }

    /// The next byte, or nil at the end of the file.
    @inline(__always)
    mutating func next() throws(IngestError) -> UInt8? {
        if position == end {
            if !(try refill()) { return nil }
        }
        let b = buffer[position]
        position += 1
        consumed += 1
        return b
    }

    /// The next byte without consuming it.
    @inline(__always)
    mutating func peek() throws(IngestError) -> UInt8? {
        if position == end {
            if !(try refill()) { return nil }
        }
        return buffer[position]
    }

    /// The first `count` bytes of the file (for sniffing and BOM checks) without consuming them.
    /// Only valid before anything was read.
    mutating func prefix(_ count: Int) throws(IngestError) -> ArraySlice<UInt8> {
        precondition(consumed == 0 && position == 0, "prefix() is only for the start of the file")
        if end == 0 { _ = try refill() }
        return buffer[0..<min(count, end)]
    }
}
