import CSHA256

/// SHA-256 (FIPS 180-4), used for stable ids: job ids and content-hash event ids.
///
/// A small self-contained implementation so `ChaparModels` stays free of dependencies; ids are not
/// security boundaries here, but a standard hash keeps them stable and documentable across versions.
/// On x86 CPUs with the SHA extensions the block function runs on them (about 5× faster; ingest
/// hashes every event id); elsewhere, and in tests of both paths, the portable one runs.
public enum SHA256 {
    /// Whether the hardware block function is in use.
    public static let usesHardware = chapar_sha256_hardware() == 1
    /// The round constants (FIPS 180-4 §4.2.2), from the C target that also has the hardware path.
    // Safe: a pointer to a C `static const` array, never written.
    nonisolated(unsafe) private static let k = UnsafeBufferPointer(start: chapar_sha256_round_constants(), count: 64)

    /// The 32-byte digest of `bytes`.
    public static func hash(_ bytes: some Collection<UInt8>) -> [UInt8] {
        hash(bytes, hardware: usesHardware)
    }

    /// The digest computed with the hardware block function or without (tests compare both).
    static func hash(_ bytes: some Collection<UInt8>, hardware: Bool) -> [UInt8] {
        if let digest = bytes.withContiguousStorageIfAvailable({ hash(buffer: $0, hardware: hardware) }) { return digest }
        return Array(bytes).withUnsafeBufferPointer { hash(buffer: $0, hardware: hardware) }
    }

    /// Hashes without heap allocations besides the result: whole blocks straight from the input,
    /// the padded tail and the message schedule in stack buffers.
    private static func hash(buffer input: UnsafeBufferPointer<UInt8>, hardware: Bool) -> [UInt8] {
        var h: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) =
            (0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19)
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 128) { tail in
                let whole = input.count / 64 * 64
                var offset = 0
                if hardware {
                    if whole > 0 { blocksNI(&h, input.baseAddress!, whole / 64) }
                } else {
                    while offset < whole {
                        compress(&h, UnsafeRawPointer(input.baseAddress! + offset), w)
                        offset += 64
                    }
                }
                // The remainder, 0x80, zeros, and the bit length: one or two blocks.
                let rest = input.count - whole
                for i in 0..<rest { tail[i] = input[whole + i] }
                tail[rest] = 0x80
                let blocks = rest + 9 <= 64 ? 1 : 2
                for i in (rest + 1)..<(blocks * 64 - 8) { tail[i] = 0 }
                let bitLength = UInt64(input.count) &* 8
                for i in 0..<8 { tail[blocks * 64 - 8 + i] = UInt8(truncatingIfNeeded: bitLength >> UInt64(56 - 8 * i)) }
                if hardware {
                    blocksNI(&h, UnsafePointer(tail.baseAddress!), blocks)
                } else {
                    for block in 0..<blocks { compress(&h, UnsafeRawPointer(tail.baseAddress! + block * 64), w) }
                }
            }
        }
        return [UInt8](unsafeUninitializedCapacity: 32) { out, count in
            let words = [h.0, h.1, h.2, h.3, h.4, h.5, h.6, h.7]
            for (i, word) in words.enumerated() {
                out[4 * i] = UInt8(truncatingIfNeeded: word >> 24)
                out[4 * i + 1] = UInt8(truncatingIfNeeded: word >> 16)
                out[4 * i + 2] = UInt8(truncatingIfNeeded: word >> 8)
                out[4 * i + 3] = UInt8(truncatingIfNeeded: word)
            }
            count = 32
        }
    }

    @inline(__always)
    private static func blocksNI(_ h: inout (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32),
                                 _ data: UnsafePointer<UInt8>, _ count: Int) {
        withUnsafeMutablePointer(to: &h) { tuple in
            tuple.withMemoryRebound(to: UInt32.self, capacity: 8) { chapar_sha256_blocks_ni($0, data, count) }
        }
    }

    @inline(__always)
    private static func compress(_ h: inout (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32),
                                 _ block: UnsafeRawPointer, _ w: UnsafeMutableBufferPointer<UInt32>) {
        for i in 0..<16 {
            let j = i * 4
            w[i] = UInt32(block.load(fromByteOffset: j, as: UInt8.self)) << 24 | UInt32(block.load(fromByteOffset: j + 1, as: UInt8.self)) << 16
                | UInt32(block.load(fromByteOffset: j + 2, as: UInt8.self)) << 8 | UInt32(block.load(fromByteOffset: j + 3, as: UInt8.self))
        }
        for i in 16..<64 {
            let s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
            let s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
            w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
        }
        var (a, b, c, d, e, f, g, hh) = h
        for i in 0..<64 {
            let s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
            let ch = (e & f) ^ (~e & g)
            let t1 = hh &+ s1 &+ ch &+ k[i] &+ w[i]
            let s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
            let maj = (a & b) ^ (a & c) ^ (b & c)
            let t2 = s0 &+ maj
            hh = g; g = f; f = e; e = d &+ t1
            d = c; c = b; b = a; a = t1 &+ t2
        }
        h = (h.0 &+ a, h.1 &+ b, h.2 &+ c, h.3 &+ d, h.4 &+ e, h.5 &+ f, h.6 &+ g, h.7 &+ hh)
    }

    /// The digest of a string's UTF-8 bytes, in lowercase hex.
    public static func hex(_ text: String) -> String { hash(Array(text.utf8)).hexString }

    @inline(__always) private static func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }
}
