#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An in-memory Bloom filter over fingerprints: answers "definitely new" without touching SQLite,
/// so a first ingest (almost every id new) never probes the index. "Maybe seen" (a real duplicate
/// or a false positive, about 3% at design load) goes to the exact check.
///
/// Blocked: each fingerprint sets one bit in each of the 8 words of one 64-byte block (one cache
/// line per lookup). The bits come straight from the fingerprint, which is already a SHA-256 prefix.
/// 8 bits per id: 1 M ids take 1 MiB. When a layer reaches its capacity a new layer of twice the
/// capacity is added (a scalable Bloom filter), so the false-positive rate stays bounded however
/// many ids are added; lookups check every layer.
///
/// Never gives a false negative: that is what makes "definitely new" safe to append.
struct FingerprintFilter {
    struct Layer {
        /// 8 words per block; the block count is a power of two.
        var words: [UInt64]
        var capacity: Int
        var count: Int

        init(capacity: Int) {
            let bits = max(capacity, 1) * FingerprintFilter.bitsPerID
            var blocks = 1
            while blocks * 512 < bits { blocks <<= 1 }
            words = Array(repeating: 0, count: blocks * 8)
            self.capacity = capacity
            count = 0
        }

        init(words: [UInt64], capacity: Int, count: Int) {
            self.words = words
            self.capacity = capacity
            self.count = count
        }

        @inline(__always)
        func mayContain(_ f: Fingerprint) -> Bool {
            let blockMask = UInt64(words.count / 8 - 1)
            let base = Int(f.high & blockMask) &* 8
            var bits = f.low
            return words.withUnsafeBufferPointer { w in
                for k in 0..<8 {
                    if w[base &+ k] & (1 &<< (bits & 63)) == 0 { return false }
                    bits >>= 6
                }
                return true
            }
        }

        @inline(__always)
        mutating func insert(_ f: Fingerprint) {
            let blockMask = UInt64(words.count / 8 - 1)
            let base = Int(f.high & blockMask) &* 8
            var bits = f.low
            words.withUnsafeMutableBufferPointer { w in
                for k in 0..<8 {
                    w[base &+ k] |= 1 &<< (bits & 63)
                    bits >>= 6
                }
            }
            count += 1
        }
    }

    static let bitsPerID = 8
    private(set) var layers: [Layer]

    /// A filter for about `capacity` ids before it grows (at least `minimum`: 1 M ids, 1 MiB).
    init(capacity: Int, minimum: Int = 1 << 20) {
        layers = [Layer(capacity: max(capacity, minimum, 1))]
    }

    init(layers: [Layer]) {
        self.layers = layers.isEmpty ? [Layer(capacity: 1 << 20)] : layers
    }

    /// False means the fingerprint was never inserted.
    func mayContain(_ f: Fingerprint) -> Bool {
        for layer in layers where layer.mayContain(f) { return true }
        return false
    }

    mutating func insert(_ f: Fingerprint) {
        if layers[layers.count - 1].count >= layers[layers.count - 1].capacity {
            layers.append(Layer(capacity: layers[layers.count - 1].capacity * 2))
        }
        layers[layers.count - 1].insert(f)
    }

    /// Ids inserted (with repeats).
    var count: Int { layers.reduce(0) { $0 + $1.count } }
    /// Bytes of bit arrays.
    var bytes: Int { layers.reduce(0) { $0 + $1.words.count * 8 } }

    // MARK: Persistence

    static let magic: UInt64 = 0x4348_5342_4C4F_4F31  // "CHSBLOO1"

    /// Writes the filter, stamped with `epoch`, to `path` (temporary file, fsync, rename), so a
    /// reader sees either the previous file or this one, never a torn one.
    func save(to path: String, epoch: Int64) throws(IngestError) {
        var header: [UInt64] = [Self.magic, UInt64(bitPattern: epoch), UInt64(layers.count)]
        for l in layers { header += [UInt64(l.capacity), UInt64(l.count), UInt64(l.words.count)] }
        var sum = Self.checksum(header, seed: 0)
        for l in layers { sum = Self.checksum(l.words, seed: sum) }
        let tmp = path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Self.saveError(tmp, errno) }
        var ok = Self.writeAll(fd, header) && layers.allSatisfy { Self.writeAll(fd, $0.words) } && Self.writeAll(fd, [sum])
        ok = ok && fsync(fd) == 0
        let failed = errno
        close(fd)
        guard ok, rename(tmp, path) == 0 else {
            let e = ok ? errno : failed
            unlink(tmp)
            throw Self.saveError(path, e)
        }
    }

    /// The filter is only a cache (the next open rebuilds it from the index), so a failed save
    /// loses nothing; a full disk is reported as such.
    private static func saveError(_ path: String, _ code: Int32) -> IngestError {
        let text = String(cString: strerror(code))
        if code == ENOSPC || code == EDQUOT {
            return IngestError(.diskFull, "disk full: cannot save the dedupe filter \(path) (\(text)); nothing is lost: the next ingest rebuilds it from the index")
        }
        return IngestError(.storage, "cannot save the dedupe filter \(path): \(text); nothing is lost: the next ingest rebuilds it from the index")
    }

    /// The filter saved at `path` with its epoch, or nil when the file is missing, torn or not a filter.
    static func load(from path: String) -> (filter: FingerprintFilter, epoch: Int64)? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        func read(_ n: Int) -> [UInt64]? {
            guard n >= 0, n <= 1 << 32 else { return nil }
            var out = [UInt64](repeating: 0, count: n)
            let want = n * 8
            let got = out.withUnsafeMutableBytes { raw -> Int in
                var done = 0
                while done < want {
                    let r = Glibc.read(fd, raw.baseAddress! + done, want - done)
                    if r <= 0 { break }
                    done += r
                }
                return done
            }
            return got == want ? out : nil
        }
        guard let head = read(3), head[0] == magic, head[2] >= 1, head[2] <= 64 else { return nil }
        guard let shapes = read(Int(head[2]) * 3) else { return nil }
        var sum = checksum(head + shapes, seed: 0)
        var layers: [Layer] = []
        for i in 0..<Int(head[2]) {
            let capacity = Int(shapes[i * 3]), count = Int(shapes[i * 3 + 1]), n = Int(shapes[i * 3 + 2])
            guard n >= 8, n & (n - 1) == 0, let words = read(n) else { return nil }
            sum = checksum(words, seed: sum)
            layers.append(Layer(words: words, capacity: capacity, count: count))
        }
        guard let stored = read(1), stored[0] == sum else { return nil }
        return (FingerprintFilter(layers: layers), Int64(bitPattern: head[1]))
    }

    private static func writeAll(_ fd: Int32, _ words: [UInt64]) -> Bool {
        words.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let w = write(fd, raw.baseAddress! + done, raw.count - done)
                if w < 0 && errno == EINTR { continue }
                if w <= 0 { return false }
                done += w
            }
            return true
        }
    }

    /// A cheap order-sensitive checksum (detects torn or truncated files, not tampering).
    private static func checksum(_ words: [UInt64], seed: UInt64) -> UInt64 {
        var h = seed ^ 0x9E37_79B9_7F4A_7C15
        for w in words {
            h = (h ^ w) &* 0x100_0000_01B3
            h ^= h >> 29
        }
        return h
    }
}
