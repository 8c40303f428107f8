import CCRC32C

/// CRC32C (Castagnoli), the checksum framing every batch and index file.
enum CRC32C {
    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        chapar_crc32c(0, bytes.baseAddress, bytes.count)
    }
    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }
}
