import ChaparModels
import Testing

@Suite("Partitioner (Kafka murmur2)")
struct PartitionerTests {
    /// org.apache.kafka.common.utils.UtilsTest#testMurmur2: the Java method returns a signed int.
    static let kafkaVectors: [(String, Int32)] = [
        ("21", -973_932_308),
        ("foobar", -790_332_482),
        ("a-little-bit-long-string", -985_981_536),
        ("a-little-bit-longer-string", -1_486_304_829),
        ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971),
        ("abc", 479_470_107),
    ]

    @Test("murmur2 matches Kafka's published vectors", arguments: kafkaVectors)
    func murmur2MatchesKafka(_ input: String, _ expected: Int32) {
        #expect(Int32(bitPattern: Partitioner.murmur2(Array(input.utf8))) == expected)
    }

    @Test("murmur2 of the empty key (seed ^ 0 mixed) matches the Java client")
    func murmur2Empty() {
        #expect(Int32(bitPattern: Partitioner.murmur2([UInt8]())) == 275_646_681)
    }

    @Test("murmur2 of bytes ≥ 0x80 treats them as unsigned, like Java's `& 0xff`")
    func highBytes() {
        // Any 1..7 byte tail length and high-bit bytes exercise both the block and tail paths.
        for length in 0...9 {
            let bytes = (0..<length).map { UInt8(0x80 + $0 * 13 % 0x7f) }
            #expect(Partitioner.murmur2(bytes) == referenceMurmur2(bytes), "length \(length)")
        }
        #expect(Partitioner.murmur2(Array("حساب-۱۲۳".utf8)) == referenceMurmur2(Array("حساب-۱۲۳".utf8)))
    }

    @Test("partition = (murmur2 & 0x7fffffff) % count, stable and in range", arguments: [1, 2, 3, 6, 12, 50, 10_000])
    func partitionForKey(_ count: Int) {
        for i in 0..<500 {
            let key = Array("account-\(i)".utf8)
            let p = Partitioner.partition(forKey: key, count: count)
            #expect(p.rawValue >= 0 && p.rawValue < count)
            #expect(p.rawValue == Int((Partitioner.murmur2(key) & 0x7fff_ffff) % UInt32(count)))
            #expect(Partitioner.partition(forKey: key[...], count: count) == p, "slices hash like arrays")
        }
    }

    @Test("Kafka's default partitioner: foobar lands in partition 16 of 50")
    func foobarOf50() {
        // -790332482 & 0x7fffffff = 1357151166; 1357151166 % 50 = 16.
        #expect(Partitioner.partition(forKey: Array("foobar".utf8), count: 50) == PartitionID(16))
    }

    @Test("negative hashes use the sign-cleared value, not abs()")
    func signBitCleared() {
        // "21" hashes negative; Kafka's toPositive is `h & 0x7fffffff`, which differs from abs(h).
        let h = Int64(Int32(bitPattern: Partitioner.murmur2(Array("21".utf8))))
        #expect(h < 0)
        let expected = Int((h & 0x7fff_ffff) % 7)
        #expect(Partitioner.partition(forKey: Array("21".utf8), count: 7).rawValue == expected)
    }

    @Test("keys spread over every partition")
    func spread() {
        var counts = [Int](repeating: 0, count: 12)
        for i in 0..<12_000 { counts[Partitioner.partition(forKey: Array("k\(i)".utf8), count: 12).rawValue] += 1 }
        #expect(counts.allSatisfy { $0 > 700 && $0 < 1300 }, "\(counts)")
    }
}

/// A literal transcription of Kafka's Java murmur2 (signed Int32 arithmetic with wrapping,
/// `>>>` as a logical shift, the fall-through switch), used to check the library on other inputs.
func referenceMurmur2(_ data: [UInt8]) -> UInt32 {
    let length = Int32(data.count)
    let seed = Int32(bitPattern: 0x9747_b28c)
    let m: Int32 = 0x5bd1_e995
    let r: Int32 = 24
    var h: Int32 = seed ^ length
    let length4 = Int(length / 4)
    func ushr(_ x: Int32, _ n: Int32) -> Int32 { Int32(bitPattern: UInt32(bitPattern: x) >> UInt32(n)) }
    for i in 0..<length4 {
        let i4 = i * 4
        var k: Int32 = Int32(data[i4]) &+ (Int32(data[i4 + 1]) << 8) &+ (Int32(data[i4 + 2]) << 16) &+ (Int32(bitPattern: UInt32(data[i4 + 3]) << 24))
        k = k &* m
        k ^= ushr(k, r)
        k = k &* m
        h = h &* m
        h ^= k
    }
    let tail = Int(length) & ~3
    let rest = Int(length % 4)
    if rest >= 3 { h ^= Int32(data[tail + 2]) << 16 }
    if rest >= 2 { h ^= Int32(data[tail + 1]) << 8 }
    if rest >= 1 {
        h ^= Int32(data[tail])
        h = h &* m
    }
    h ^= ushr(h, 13)
    h = h &* m
    h ^= ushr(h, 15)
    return UInt32(bitPattern: h)
}
