/// One segment file of a partition. `baseOffset`, `file` and the paths never change; the
/// mutable fields are only touched under the owning partition's mutex (hence the
/// `@unchecked Sendable`).
final class Segment: @unchecked Sendable {
    let baseOffset: Int64
    let file: any LogFile
    let logPath: String
    let indexPath: String

    /// Bytes of whole, acknowledged batches: readers never read past it.
    var size: Int64
    /// One past the last record in this segment.
    var nextOffset: Int64
    var maxTimestamp: Int64
    /// Wall-clock ms when the segment was created (or its first record's time after recovery); drives roll by age.
    var createdAt: Int64
    var index: SegmentIndex
    var bytesSinceIndexEntry: Int = 0
    var sealed: Bool

    init(baseOffset: Int64, file: any LogFile, directory: String, size: Int64, nextOffset: Int64, maxTimestamp: Int64, createdAt: Int64, index: SegmentIndex, sealed: Bool) {
        self.baseOffset = baseOffset
        self.file = file
        self.logPath = Segment.path(directory, baseOffset, "log")
        self.indexPath = Segment.path(directory, baseOffset, "index")
        self.size = size
        self.nextOffset = nextOffset
        self.maxTimestamp = maxTimestamp
        self.createdAt = createdAt
        self.index = index
        self.sealed = sealed
    }

    /// `<dir>/<20-digit base offset>.<ext>`, the Kafka naming, so files sort by offset.
    static func path(_ directory: String, _ baseOffset: Int64, _ ext: String) -> String {
        let digits = String(baseOffset)
        return directory + "/" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + "." + ext
    }

    /// Parses a segment file name back to its base offset.
    static func baseOffset(fromFileName name: String, ext: String) -> Int64? {
        guard name.hasSuffix("." + ext) else { return nil }
        let stem = name.dropLast(ext.count + 1)
        guard stem.count == 20, stem.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int64(stem)
    }

    /// Records an index entry for a batch written at `position` when enough bytes have passed.
    func noteBatch(_ header: BatchFormat.Header, at position: Int64, interval: Int) {
        if index.count == 0 || bytesSinceIndexEntry >= interval {
            index.add(offset: header.baseOffset, position: position, maxTimestampBefore: maxTimestamp)
            bytesSinceIndexEntry = 0
        }
        bytesSinceIndexEntry += header.totalSize
        maxTimestamp = max(maxTimestamp, header.maxTimestamp)
        nextOffset = header.nextOffset
    }
}
