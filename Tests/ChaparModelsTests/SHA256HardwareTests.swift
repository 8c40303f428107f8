import Testing
@testable import ChaparModels

/// The SHA extensions path against the portable one: every length around the block and padding
/// boundaries, and seeded random inputs (the FIPS vectors in DomainTests run on the default path).
@Suite struct SHA256HardwareTests {
    @Test("hardware and portable digests agree on lengths 0…300 and on random inputs")
    func pathsAgree() {
        var seed: UInt64 = 0x5EED_C4A9
        func next() -> UInt8 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: seed >> 33)
        }
        var lengths = Array(0...300)
        lengths += [1_000, 4_095, 4_096, 65_537]
        for n in lengths {
            let input = (0..<n).map { _ in next() }
            let portable = SHA256.hash(input, hardware: false)
            #expect(portable.count == 32)
            if SHA256.usesHardware {
                #expect(SHA256.hash(input, hardware: true) == portable, "length \(n)")
            }
        }
        // A FIPS 180-4 vector through the hardware path explicitly, when there is one.
        if SHA256.usesHardware {
            #expect(SHA256.hash(Array("abc".utf8), hardware: true).hexString == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
            #expect(SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8), hardware: true).hexString
                    == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        }
    }
}

