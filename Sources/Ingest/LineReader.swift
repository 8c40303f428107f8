#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a file as physical lines through one fixed-size buffer, so memory stays constant
/// whatever the file size. Shared by the CSV and JSON Lines parsers.
///
/// A line ends at LF; a CR before the LF is dropped (CRLF files). A line longer than
/// `maxLineBytes` is not buffered: it is skipped up to its LF and reported as `.tooLong`, so a
/// 10 MB line costs no more memory than a short one. A UTF-8 byte order mark at the very start is
/// skipped (any encoding: a BOM in a Latin-1 file is a mistake that would show as garbage).
///
/// A class because it owns a descriptor and a buffer; one parser owns it, on one thread.
final class LineReader {
    /// What one call to ``next(_:)`` found.
    enum Line {
        /// Bytes of the line without its terminator; valid only until the next call.
        case line(UnsafeBufferPointer<UInt8>, number: Int)
        /// The line had more than `maxLineBytes` bytes and was skipped; `length` is its real length.
        case tooLong(number: Int, length: Int)
    }

    private let fd: Int32
    private let ownsDescriptor: Bool
    private var buffer: UnsafeMutableBufferPointer<UInt8>
    private var start = 0      // first unread byte in buffer
    private var end = 0        // one past the last valid byte
    private var eof = false
    private var checkedBOM = false
    /// 1-based number of the last line returned.
    private(set) var lineNumber = 0
    /// Bytes of the file consumed so far (for progress).
    private(set) var bytesConsumed: Int64 = 0
    let maxLineBytes: Int
    let path: String

    /// Opens `path` for reading. Throws `notFound` when it cannot be opened.
    convenience init(path: String, maxLineBytes: Int = 1 << 20, bufferBytes: Int = 1 << 20) throws(IngestError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let why = String(cString: strerror(errno))
            throw IngestError(.notFound, "cannot open \(path): \(why); check the path and permissions")
        }
        self.init(descriptor: fd, ownsDescriptor: true, path: path, maxLineBytes: maxLineBytes, bufferBytes: bufferBytes)
    }

    /// Reads from an open descriptor (stdin, a pipe); closes it at the end only if `ownsDescriptor`.
    init(descriptor: Int32, ownsDescriptor: Bool, path: String, maxLineBytes: Int = 1 << 20, bufferBytes: Int = 1 << 20) {
        self.fd = descriptor
        self.ownsDescriptor = ownsDescriptor
        self.path = path
        self.maxLineBytes = maxLineBytes
        // The buffer must hold a whole maximal line plus its CRLF.
        let size = max(bufferBytes, maxLineBytes + 2)
        buffer = .allocate(capacity: size)
    }

    deinit {
        buffer.deallocate()
        if ownsDescriptor { close(fd) }
    }

    /// Fills the buffer after moving unread bytes to the front. Returns false at end of file.
    private func fill() throws(IngestError) -> Bool {
        if eof { return false }
        if start > 0 {
            let unread = end - start
            if unread > 0 {
                memmove(buffer.baseAddress!, buffer.baseAddress! + start, unread)
            }
            start = 0
            end = unread
        }
        while end < buffer.count {
            let n = read(fd, buffer.baseAddress! + end, buffer.count - end)
            if n < 0 {
                if errno == EINTR { continue }
                let why = String(cString: strerror(errno))
                throw IngestError(.storage, "cannot read \(path): \(why)")
            }
            if n == 0 {
                eof = true
                break
            }
            end += n
            // One successful read is enough; don't block waiting to fill the whole buffer on pipes.
            break
        }
        if !checkedBOM && (end - start >= 3 || eof) {
            checkedBOM = true
            if end - start >= 3, buffer[start] == 0xEF, buffer[start + 1] == 0xBB, buffer[start + 2] == 0xBF {
                start += 3
                bytesConsumed += 3
            }
        }
        return true
    }

    /// The next physical line, or nil at end of file. A last line without LF is still a line;
    /// an empty file, or one ending with LF, has no extra empty line.
    func next() throws(IngestError) -> Line? {
        var scanFrom = start
        while true {
            // Search for LF in the unread bytes not yet scanned.
            if scanFrom < end {
                let base = buffer.baseAddress! + scanFrom
                if let hit = memchr(base, 0x0A, end - scanFrom) {
                    let nl = scanFrom + (UnsafeMutableRawPointer(mutating: hit) - UnsafeMutableRawPointer(base))
                    var stop = nl
                    if stop > start && buffer[stop - 1] == 0x0D { stop -= 1 }
                    let length = stop - start
                    lineNumber += 1
                    bytesConsumed += Int64(nl + 1 - start)
                    let lineStart = start
                    start = nl + 1
                    if length > maxLineBytes { return .tooLong(number: lineNumber, length: length) }
                    return .line(UnsafeBufferPointer(start: buffer.baseAddress! + lineStart, count: length), number: lineNumber)
                }
                scanFrom = end
            }
            // No LF in what we have.
            if end - start > maxLineBytes + 1 {
                return try skipLongLine()
            }
            let before = end - start
            guard try fill() else {
                // End of file: a final line without LF.
                if end > start {
                    var stop = end
                    if buffer[stop - 1] == 0x0D { stop -= 1 }
                    let length = stop - start
                    lineNumber += 1
                    bytesConsumed += Int64(end - start)
                    let lineStart = start
                    start = end
                    if length > maxLineBytes { return .tooLong(number: lineNumber, length: length) }
                    return .line(UnsafeBufferPointer(start: buffer.baseAddress! + lineStart, count: length), number: lineNumber)
                }
                return nil
            }
            scanFrom = start + before
            if eof && end - start == before && before == 0 { return nil }
        }
    }

    /// Discards the rest of an over-long line without keeping it, up to and including its LF.
    private func skipLongLine() throws(IngestError) -> Line {
        var length = 0
        var lastByte: UInt8 = 0
        lineNumber += 1
        let number = lineNumber
        while true {
            if start < end {
                let base = buffer.baseAddress! + start
                if let hit = memchr(base, 0x0A, end - start) {
                    let nl = start + (UnsafeMutableRawPointer(mutating: hit) - UnsafeMutableRawPointer(base))
                    length += nl - start
                    if nl > start { lastByte = buffer[nl - 1] }
                    bytesConsumed += Int64(nl + 1 - start)
                    start = nl + 1
                    // A CRLF line's CR is not part of its length.
                    return .tooLong(number: number, length: lastByte == 0x0D ? length - 1 : length)
                }
                length += end - start
                lastByte = buffer[end - 1]
                bytesConsumed += Int64(end - start)
                start = end
            }
            guard try fill() else { return .tooLong(number: number, length: length) }
            if eof && start == end { return .tooLong(number: number, length: length) }
        }
    }
}
