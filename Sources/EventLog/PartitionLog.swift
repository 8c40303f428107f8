import ChaparModels
import Logging
import Synchronization

/// One partition: an ordered list of segments, the last of which is active.
///
/// Appends are encoded by the caller's task, given offsets under the mutex, and queued; one
/// flush job at a time (on the blocking executor) writes everything queued in one `pwrite`
/// and one fsync, then acknowledges it all: concurrent producers share each fsync (group
/// commit). Readers only see records below the high watermark, i.e. acknowledged ones.
final class PartitionLog: Sendable {
    let topicPartition: TopicPartition
    let directory: String
    let configuration: TopicConfiguration
    let fileSystem: any FileSystem
    let clock: any ChaparClock
    let executor: BlockingExecutor
    let logger: Logger
    let state: Mutex<State>
    /// Bumped whenever the high watermark moves or the log is truncated, closed or fails.
    let signal = ChangeSignal()
    private let scratch = FlushScratch()

    typealias Completion = @Sendable (Result<Int64, LogError>) -> Void

    struct Pending {
        let bytes: [UInt8]
        let baseOffset: Int64
        let recordCount: Int
        let completion: Completion
    }

    struct State {
        var segments: [Segment]
        var logStartOffset: Int64
        var nextOffset: Int64
        var highWatermark: Int64
        var pending: [Pending] = []
        var flushScheduled = false
        var failure: LogError?
        var closed = false
        var unsynced = false
        var lastSync: UInt64 = 0
        var syncTimerArmed = false
    }

    init(topicPartition: TopicPartition, directory: String, configuration: TopicConfiguration, fileSystem: any FileSystem,
         clock: any ChaparClock, executor: BlockingExecutor, logger: Logger, segments: [Segment]) {
        precondition(!segments.isEmpty, "a partition always has an active segment")
        self.topicPartition = topicPartition
        self.directory = directory
        self.configuration = configuration
        self.fileSystem = fileSystem
        self.clock = clock
        self.executor = executor
        self.logger = logger
        let end = segments.last!.nextOffset
        state = Mutex(State(segments: segments, logStartOffset: segments.first!.baseOffset, nextOffset: end, highWatermark: end))
    }

    var label: String { topicPartition.description }

    // MARK: Append

    /// Queues an encoded batch; `completion` runs with the batch's base offset once it is
    /// acknowledged under the durability policy, or with the error that prevented it.
    func append(_ batch: BatchFormat.Encoded, completion: @escaping Completion) {
        let result = state.withLock { s -> Result<Bool, LogError> in
            if s.closed { return .failure(LogError(.closed, "the log is closed")) }
            if let failure = s.failure { return .failure(failure) }
            s.pending.append(Pending(bytes: batch.bytes, baseOffset: s.nextOffset, recordCount: batch.recordCount, completion: completion))
            s.nextOffset += Int64(batch.recordCount)
            if s.flushScheduled { return .success(false) }
            s.flushScheduled = true
            return .success(true)
        }
        switch result {
        case .failure(let error): completion(.failure(error))
        case .success(true): executor.submit { self.flush() }
        case .success(false): break
        }
    }

    /// Appends and waits for the acknowledgement.
    func append(_ batch: BatchFormat.Encoded) async throws(LogError) -> Int64 {
        let result = await withCheckedContinuation { (c: CheckedContinuation<Result<Int64, LogError>, Never>) in
            append(batch) { c.resume(returning: $0) }
        }
        return try result.get()
    }

    /// Writes and syncs everything queued. Runs on the blocking executor, one at a time per partition.
    private func flush() {
        let now = clock.now().milliseconds
        let (taken, active, shouldRoll) = state.withLock { s -> ([Pending], Segment, Bool) in
            let taken = s.pending
            s.pending.removeAll(keepingCapacity: true)
            let active = s.segments.last!
            let roll = !taken.isEmpty && active.size > 0
                && (active.size >= configuration.segmentBytes || now - active.createdAt >= configuration.segmentMaxAge.milliseconds)
            return (taken, active, roll)
        }
        guard !taken.isEmpty else {
            finishRound(reschedule: false)
            return
        }
        var segment = active
        if shouldRoll {
            do throws(LogError) {
                if let next = try roll(active, now: now) { segment = next }
            } catch {
                fail(taken, error, sticky: true)
                return
            }
        }
        let start = state.withLock { _ in segment.size }
        var headers: [(BatchFormat.Header, Int64)] = []
        headers.reserveCapacity(taken.count)
        scratch.buffer.removeAll(keepingCapacity: true)
        for p in taken {
            let at = scratch.buffer.count
            scratch.buffer.append(contentsOf: p.bytes)
            BatchFormat.patchBaseOffset(p.baseOffset, in: &scratch.buffer, at: at)
            let batchHeader = scratch.buffer.withUnsafeBytes { raw in
                BatchFormat.Header(baseOffset: p.baseOffset, batchLength: p.bytes.count - BatchFormat.prefixSize, crc: 0, recordCount: p.recordCount,
                                   firstTimestamp: raw.loadUnaligned(fromByteOffset: at + 24, as: Int64.self),
                                   maxTimestamp: raw.loadUnaligned(fromByteOffset: at + 32, as: Int64.self))
            }
            headers.append((batchHeader, start + Int64(at)))
        }
        do {
            try segment.file.write(scratch.buffer, at: start)
        } catch {
            writeFailed(taken, error, segment: segment, start: start)
            return
        }
        var synced = false
        switch configuration.durability {
        case .always:
            do {
                try segment.file.sync()
                synced = true
            } catch {
                fail(taken, storageError("fsync", error), sticky: true)
                return
            }
        case .interval, .never:
            break
        }
        let written = Int64(scratch.buffer.count)
        if scratch.buffer.capacity > 64 << 20 { scratch.buffer = [] }
        state.withLock { s in
            for (h, position) in headers { segment.noteBatch(h, at: position, interval: configuration.indexIntervalBytes) }
            segment.size = start + written
            s.highWatermark = headers.last!.0.nextOffset
            if synced { s.lastSync = monotonicNanos() } else { s.unsynced = true }
        }
        for p in taken { p.completion(.success(p.baseOffset)) }
        signal.bump()
        if case .interval(let every) = configuration.durability { syncIfDue(every: every) }
        finishRound(reschedule: true)
    }

    /// Ends a flush round: runs again if more was queued meanwhile, else goes idle.
    private func finishRound(reschedule: Bool) {
        let again = state.withLock { s -> Bool in
            if !s.pending.isEmpty && s.failure == nil { return true }
            s.flushScheduled = false
            return false
        }
        if again { executor.submit { self.flush() } }
    }

    /// Interval policy: fsync now if the interval has passed since the last one, else arm a timer.
    private func syncIfDue(every: Duration) {
        let intervalNs = UInt64(max(1, every.milliseconds)) * 1_000_000
        let now = monotonicNanos()
        let action = state.withLock { s -> (Segment?, UInt64?) in
            guard s.unsynced, s.failure == nil else { return (nil, nil) }
            if now >= s.lastSync + intervalNs {
                s.unsynced = false
                s.lastSync = now
                return (s.segments.last!, nil)
            }
            if s.syncTimerArmed { return (nil, nil) }
            s.syncTimerArmed = true
            return (nil, s.lastSync + intervalNs)
        }
        if let segment = action.0 {
            do { try segment.file.sync() } catch { fail([], storageError("fsync", error), sticky: true) }
        }
        if let deadline = action.1 {
            executor.schedule(at: deadline) {
                self.state.withLock { $0.syncTimerArmed = false }
                self.syncIfDue(every: every)
            }
        }
    }

    /// A write failed part-way (e.g. a full disk): cut the file back to what was acknowledged,
    /// fail this round and everything queued behind it, and keep accepting appends.
    private func writeFailed(_ taken: [Pending], _ error: FileSystemError, segment: Segment, start: Int64) {
        let logError = error.kind == .noSpace
            ? LogError(.diskFull, "disk full while appending to \(label) (\(error)); nothing was acknowledged; free space in \(directory) and retry")
            : storageError("write", error)
        do {
            try segment.file.truncate(to: start)
        } catch {
            fail(taken, LogError(.storage, "\(logError.message); cutting the partial write back also failed (\(error)): restart chapar so recovery can repair \(label)"), sticky: true)
            return
        }
        logger.warning("append failed and was rolled back", metadata: ["chapar.partition": "\(label)", "chapar.error": "\(error)"])
        fail(taken, logError, sticky: false)
    }

    /// Fails `taken` and everything queued, and reassigns offsets from the high watermark.
    /// A sticky failure (fsync error, failed rollback) refuses every later append until reopen.
    private func fail(_ taken: [Pending], _ error: LogError, sticky: Bool) {
        let queued = state.withLock { s -> [Pending] in
            let queued = s.pending
            s.pending.removeAll()
            s.nextOffset = s.highWatermark
            s.flushScheduled = false
            if sticky && s.failure == nil { s.failure = error }
            return queued
        }
        if sticky {
            logger.error("partition refuses appends until restart", metadata: ["chapar.partition": "\(label)", "chapar.error": "\(error.message)"])
        }
        for p in taken + queued { p.completion(.failure(error)) }
        signal.bump()
    }

    func storageError(_ what: String, _ error: any Error) -> LogError {
        LogError(.storage, "\(what) failed on \(label) (\(error)); acknowledged records are safe, unacknowledged ones may be lost; restart chapar so recovery checks \(directory)")
    }

    /// Seals `old` (fsync + index file) and starts a new segment at its next offset. Returns
    /// nil (keep writing to `old`) when the new file cannot be created, e.g. on a full disk.
    private func roll(_ old: Segment, now: Int64) throws(LogError) -> Segment? {
        do { try old.file.sync() } catch { throw storageError("fsync before segment roll", error) }
        let (size, next, maxTs, index) = state.withLock { _ in (old.size, old.nextOffset, old.maxTimestamp, old.index) }
        writeIndex(index, baseOffset: old.baseOffset, nextOffset: next, logSize: size, maxTimestamp: maxTs, path: old.indexPath)
        let path = Segment.path(directory, next, "log")
        do {
            let file = try fileSystem.openFile(path, create: true)
            try file.truncate(to: 0)
            try fileSystem.syncDirectory(directory)
            let segment = Segment(baseOffset: next, file: file, directory: directory, size: 0, nextOffset: next, maxTimestamp: .min,
                                  createdAt: now, index: SegmentIndex(), sealed: false)
            state.withLock { s in
                old.sealed = true
                s.segments.append(segment)
            }
            logger.debug("rolled segment", metadata: ["chapar.partition": "\(label)", "chapar.offset": "\(next)"])
            return segment
        } catch {
            logger.warning("could not start a new segment; continuing in the current one", metadata: ["chapar.partition": "\(label)", "chapar.error": "\(error)"])
            return nil
        }
    }

    /// Writes an index file atomically; failure only costs a rebuild at the next open.
    func writeIndex(_ index: SegmentIndex, baseOffset: Int64, nextOffset: Int64, logSize: Int64, maxTimestamp: Int64, path: String) {
        do {
            try Self.storeIndex(index, baseOffset: baseOffset, nextOffset: nextOffset, logSize: logSize, maxTimestamp: maxTimestamp,
                                path: path, fileSystem: fileSystem)
        } catch {
            logger.warning("could not write segment index; it will be rebuilt at the next open", metadata: ["chapar.partition": "\(label)", "chapar.error": "\(error)"])
        }
    }

    /// Serializes an index and replaces its file atomically.
    static func storeIndex(_ index: SegmentIndex, baseOffset: Int64, nextOffset: Int64, logSize: Int64, maxTimestamp: Int64,
                           path: String, fileSystem: any FileSystem) throws(FileSystemError) {
        let bytes = index.serialize(baseOffset: baseOffset, nextOffset: nextOffset, logSize: logSize, maxTimestamp: maxTimestamp)
        try AtomicFile.write(bytes, to: path, fileSystem: fileSystem)
    }

    // MARK: Read

    struct Snapshot {
        let logStartOffset: Int64
        let highWatermark: Int64
        let segments: [Segment]
    }

    func snapshot() throws(LogError) -> Snapshot {
        try state.withLock { s throws(LogError) in
            if s.closed { throw LogError(.closed, "the log is closed") }
            return Snapshot(logStartOffset: s.logStartOffset, highWatermark: s.highWatermark, segments: s.segments)
        }
    }

    var highWatermark: Int64 { state.withLock { $0.highWatermark } }
    var logStartOffset: Int64 { state.withLock { $0.logStartOffset } }

    /// Reads acknowledged records from `offset` on. Always returns at least one whole batch's
    /// records (if any are available) even when that batch is larger than `maxBytes`.
    func read(from offset: Int64, maxRecords: Int, maxBytes: Int) throws(LogError) -> FetchResult {
        let snap = try snapshot()
        guard offset >= snap.logStartOffset && offset <= snap.highWatermark else {
            throw LogError(.offsetOutOfRange, "offset \(offset) is outside \(label), which holds offsets \(snap.logStartOffset) to \(snap.highWatermark) (end); use --from-beginning or an offset in that range")
        }
        var records: [ConsumerRecord] = []
        var current = offset
        guard offset < snap.highWatermark, maxRecords > 0 else {
            return FetchResult(records: [], nextOffset: Offset(offset), logStartOffset: Offset(snap.logStartOffset), highWatermark: Offset(snap.highWatermark))
        }
        records.reserveCapacity(min(maxRecords, 16_384))
        var segmentIndex = Self.segmentIndex(for: current, in: snap.segments)
        var position: Int64? = nil  // nil: start from the index's floor entry for `current`
        var budget = max(maxBytes, BatchFormat.headerSize)
        var returnedBytes = 0  // bytes of the batches that records were returned from
        reading: while records.count < maxRecords && current < snap.highWatermark && segmentIndex < snap.segments.count {
            let segment = snap.segments[segmentIndex]
            let (limit, floor) = state.withLock { _ in (segment.size, segment.index.position(floorOf: current)) }
            let start = position ?? floor
            if start >= limit {
                segmentIndex += 1
                position = 0
                continue
            }
            if budget <= 0 && !records.isEmpty { break }
            var chunk = try readBytes(segment, at: start, count: Int(min(Int64(max(budget, 64 << 10)), limit - start)))
            var cursor = 0
            while cursor < chunk.count && records.count < maxRecords && current < snap.highWatermark {
                let check = chunk.withUnsafeBytes { raw in
                    BatchFormat.check(UnsafeRawBufferPointer(rebasing: raw[cursor...]), expectedBaseOffset: nil, maxBatchBytes: configuration.maxBatchBytes, deep: false)
                }
                switch check {
                case .valid(let header):
                    if header.nextOffset > current {
                        // Stop before a batch that would pass maxBytes; the first batch is always returned whole.
                        if !records.isEmpty && returnedBytes + header.totalSize > maxBytes { break reading }
                        let before = records.count
                        try BatchFormat.decode(chunk, batchAt: cursor, header: header, offsets: current..<snap.highWatermark,
                                               topic: topicPartition.topic, partition: topicPartition.partition, into: &records, limit: maxRecords)
                        if records.count == maxRecords, records.count > before {
                            current = records.last!.offset.rawValue + 1
                        } else {
                            current = min(header.nextOffset, snap.highWatermark)
                        }
                        returnedBytes += header.totalSize
                    }
                    cursor += header.totalSize
                case .incomplete(let needed):
                    if cursor > 0 { break }  // the rest starts at a batch boundary: read it next round
                    guard start + Int64(needed) <= limit else {
                        throw LogError(.corrupt, "\(label) has a batch running past the end of \(segment.logPath) at position \(start); restart chapar so recovery can repair it")
                    }
                    chunk = try readBytes(segment, at: start, count: needed)  // one batch larger than the budget
                    continue
                case .corrupt(let reason):
                    throw LogError(.corrupt, "\(label) is corrupt at position \(start + Int64(cursor)) of \(segment.logPath) (\(reason)); records from offset \(current) cannot be read")
                }
                if case .incomplete = check { break }
            }
            if cursor == 0 { break reading }
            budget -= cursor
            position = start + Int64(cursor)
        }
        return FetchResult(records: records, nextOffset: Offset(current), logStartOffset: Offset(snap.logStartOffset), highWatermark: Offset(snap.highWatermark))
    }

    private func readBytes(_ segment: Segment, at position: Int64, count: Int) throws(LogError) -> [UInt8] {
        do {
            return try segment.file.read(at: position, count: count)
        } catch {
            throw LogError(.storage, "reading \(segment.logPath) failed (\(error))")
        }
    }

    static func segmentIndex(for offset: Int64, in segments: [Segment]) -> Int {
        var lo = 0, hi = segments.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if segments[mid].baseOffset <= offset { lo = mid + 1 } else { hi = mid }
        }
        return max(0, lo - 1)
    }

    /// The first offset with a timestamp at or after `timestamp`, or nil.
    func offset(for timestamp: Int64) throws(LogError) -> Int64? {
        let snap = try snapshot()
        for segment in snap.segments {
            let (maxTs, start) = state.withLock { _ in (segment.maxTimestamp, segment.index.position(forTimestamp: timestamp)) }
            guard maxTs >= timestamp else { continue }
            var offset = max(snap.logStartOffset, segment.baseOffset)
            // Scan from the index hint: read onwards and return the first match.
            let firstOffset = state.withLock { _ -> Int64 in
                let i = segment.index.positions.firstIndex(of: start)
                return i.map { segment.index.offsets[$0] } ?? segment.baseOffset
            }
            offset = max(offset, firstOffset)
            while offset < snap.highWatermark {
                let result = try read(from: offset, maxRecords: 4096, maxBytes: 1 << 20)
                if result.records.isEmpty { break }
                if let hit = result.records.first(where: { $0.timestamp.milliseconds >= timestamp }) { return hit.offset.rawValue }
                offset = result.nextOffset.rawValue
                if offset >= segment.nextOffset { break }
            }
        }
        return nil
    }

    // MARK: Maintenance

    func describe() -> PartitionDescription {
        state.withLock { s in
            PartitionDescription(partition: topicPartition.partition, startOffset: Offset(s.logStartOffset), endOffset: Offset(s.highWatermark),
                                 bytes: s.segments.reduce(0) { $0 + $1.size }, segments: s.segments.count)
        }
    }

    /// Deletes whole expired segments (never the active one). Returns what was deleted.
    func applyRetention(now: Int64) -> [(baseOffset: Int64, bytes: Int64, reason: String)] {
        let removed = state.withLock { s -> [(Segment, RetentionPolicy.Reason)] in
            let infos = s.segments.map { RetentionPolicy.SegmentInfo(baseOffset: $0.baseOffset, size: $0.size, maxTimestamp: $0.maxTimestamp) }
            let reasons = RetentionPolicy.segmentsToDelete(infos, now: now, retentionAgeMs: configuration.retentionAge?.milliseconds, retentionBytes: configuration.retentionBytes)
            guard !reasons.isEmpty else { return [] }
            let doomed = Array(zip(s.segments.prefix(reasons.count), reasons))
            s.segments.removeFirst(reasons.count)
            s.logStartOffset = s.segments.first!.baseOffset
            return doomed
        }
        guard !removed.isEmpty else { return [] }
        for (segment, _) in removed {
            // Readers holding the segment keep their open descriptor; unlinking is safe.
            try? fileSystem.removeFile(segment.logPath)
            try? fileSystem.removeFile(segment.indexPath)
        }
        try? fileSystem.syncDirectory(directory)
        signal.bump()
        let report = removed.map { (segment, reason) in (segment.baseOffset, segment.size, reason.rawValue) }
        for r in report {
            logger.info("retention deleted a segment", metadata: ["chapar.partition": "\(label)", "chapar.offset": "\(r.0)", "chapar.bytes": "\(r.1)", "chapar.reason": "\(r.2)"])
        }
        return report
    }

    /// Stops accepting appends, waits for queued ones and syncs. The active segment's index is not
    /// stored: recovery always rescans the active segment at open.
    func close() async {
        let wasOpen = state.withLock { s -> Bool in
            defer { s.closed = true }
            return !s.closed
        }
        guard wasOpen else { return }
        while state.withLock({ $0.flushScheduled }) {
            try? await Task.sleep(for: .milliseconds(1))
        }
        let (active, failure) = state.withLock { s in (s.segments.last!, s.failure) }
        if failure == nil {
            try? active.file.sync()
        }
        signal.bump()
    }
}

/// The flusher's reusable write buffer. Only the single running flush of a partition touches
/// it (guaranteed by `flushScheduled`), hence `@unchecked Sendable`.
final class FlushScratch: @unchecked Sendable {
    var buffer: [UInt8] = []
}
