/// HMAC-SHA256 (RFC 2104), for signing webhook requests so receivers can check they came from
/// Chapar and were not altered (see `docs/delivery.md`, "Webhook signatures").
public enum HMACSHA256 {
    /// The 32-byte MAC of `message` under `key`.
    public static func mac(key: some Collection<UInt8>, message: some Collection<UInt8>) -> [UInt8] {
        var k = Array(key)
        if k.count > 64 { k = SHA256.hash(k) }
        k += Array(repeating: 0, count: 64 - k.count)
        var inner = k.map { $0 ^ 0x36 }
        inner.append(contentsOf: message)
        var outer = k.map { $0 ^ 0x5C }
        outer.append(contentsOf: SHA256.hash(inner))
        return SHA256.hash(outer)
    }

    /// Compares two MACs in time independent of where they differ.
    public static func equal(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for (x, y) in zip(a, b) { diff |= x ^ y }
        return diff == 0
    }
}
