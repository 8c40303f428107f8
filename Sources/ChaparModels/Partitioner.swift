/// Chooses a partition for a key. Stable across versions and processes, and the same as
/// Kafka's default partitioner (murmur2 of the key bytes, sign bit cleared, modulo the partition
/// count), so an account maps to the same partition on the embedded log and on Kafka.
public enum Partitioner {
    /// The partition for `key` among `count` partitions.
    public static func partition(forKey key: some Collection<UInt8>, count: Int) -> PartitionID {
        precondition(count > 0, "a topic always has at least one partition")
        let hash = murmur2(key) & 0x7fff_ffff
        return PartitionID(Int(hash % UInt32(count)))
    }

    /// Kafka's murmur2 (seed 0x9747b28c), as in org.apache.kafka.common.utils.Utils.murmur2.
    public static func murmur2(_ data: some Collection<UInt8>) -> UInt32 {
        let bytes = Array(data)
        let length = bytes.count
        let m: UInt32 = 0x5bd1_e995
        let r: UInt32 = 24
        var h: UInt32 = 0x9747_b28c ^ UInt32(truncatingIfNeeded: length)
        let blocks = length / 4
        for i in 0..<blocks {
            let base = i * 4
            var k = UInt32(bytes[base]) | UInt32(bytes[base + 1]) << 8 | UInt32(bytes[base + 2]) << 16 | UInt32(bytes[base + 3]) << 24
            k &*= m
            k ^= k >> r
            k &*= m
            h &*= m
            h ^= k
        }
        let tail = blocks * 4
        switch length & 3 {
        case 3:
            h ^= UInt32(bytes[tail + 2]) << 16
            h ^= UInt32(bytes[tail + 1]) << 8
            h ^= UInt32(bytes[tail])
            h &*= m
        case 2:
            h ^= UInt32(bytes[tail + 1]) << 8
            h ^= UInt32(bytes[tail])
            h &*= m
        case 1:
            h ^= UInt32(bytes[tail])
            h &*= m
        default:
            break
        }
        h ^= h >> 13
        h &*= m
        h ^= h >> 15
        return h
    }
}
