/// Which segments retention removes: a pure decision, tested without I/O.
///
/// Only whole segments are deleted, oldest first, and never the active (last) one. By age, a
/// segment goes when its newest record is older than `retentionAge` (so every record in it
/// is expired); by size, the oldest segments go while the partition is larger than `retentionBytes`.
enum RetentionPolicy {
    struct SegmentInfo: Equatable {
        let baseOffset: Int64
        let size: Int64
        let maxTimestamp: Int64
    }

    enum Reason: String, Equatable { case age, size }

    /// The number of leading segments to delete, with the reason for each.
    static func segmentsToDelete(_ segments: [SegmentInfo], now: Int64, retentionAgeMs: Int64?, retentionBytes: Int64?) -> [Reason] {
        guard segments.count > 1 else { return [] }
        var reasons: [Reason] = []
        var total = segments.reduce(0) { $0 + $1.size }
        for segment in segments.dropLast() {
            if let age = retentionAgeMs, segment.maxTimestamp != Int64.min, now - segment.maxTimestamp > age {
                reasons.append(.age)
            } else if let limit = retentionBytes, total > limit {
                reasons.append(.size)
            } else {
                break
            }
            total -= segment.size
        }
        return reasons
    }
}
