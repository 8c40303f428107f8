import ChaparModels
import Logging

extension PartitionLog {
    /// Opens a partition directory, validating what a crash may have damaged: the active
    /// segment is scanned batch by batch (checksums, offsets, record structure) and cut back
    /// to its last valid batch; sealed segments keep their index files unless those are
    /// missing, stale or corrupt, in which case they are rebuilt by scanning.
    static func open(
        topicPartition: TopicPartition, directory: String, configuration: TopicConfiguration, fileSystem: any FileSystem,
        clock: any ChaparClock, executor: BlockingExecutor, logger: Logger, report: inout RecoveryReport
    ) throws(LogError) -> PartitionLog {
        func storage(_ what: String, _ error: FileSystemError) -> LogError {
            LogError(.storage, "\(what) in \(directory) failed (\(error)); check the disk and permissions, then retry")
        }
        /// Cuts an active segment back to its last valid batch, makes the cut durable, and reports it.
        func cutTail(_ file: any LogFile, from fileSize: Int64, to validSize: Int64, lastOffset: Int64, reason: String) throws(LogError) {
            do {
                try file.truncate(to: validSize)
                try file.sync()
            } catch { throw storage("truncating the torn tail of \(file.path)", error) }
            report.bytesTruncated += fileSize - validSize
            report.add(.truncatedTail, topicPartition, "cut \(fileSize - validSize) bytes after offset \(lastOffset) at position \(validSize) of \(file.path): \(reason)")
        }
        do { try fileSystem.createDirectory(directory) } catch { throw storage("creating the partition directory", error) }
        let names: [String]
        do { names = try fileSystem.listDirectory(directory) } catch { throw storage("listing", error) }
        for name in names where name.hasSuffix(AtomicFile.temporarySuffix) {
            try? fileSystem.removeFile(directory + "/" + name)
            report.add(.removedTemporary, topicPartition, "\(name) from an interrupted write")
        }
        var bases = names.compactMap { Segment.baseOffset(fromFileName: $0, ext: "log") }.sorted()
        let now = clock.now().milliseconds
        if bases.isEmpty {
            do {
                _ = try fileSystem.openFile(Segment.path(directory, 0, "log"), create: true)
                try fileSystem.syncDirectory(directory)
            } catch { throw storage("creating the first segment", error) }
            bases = [0]
        }
        var segments: [Segment] = []
        for (i, base) in bases.enumerated() {
            let isLast = i == bases.count - 1
            let path = Segment.path(directory, base, "log")
            let file: any LogFile
            let fileSize: Int64
            do {
                file = try fileSystem.openFile(path, create: false)
                fileSize = try file.size()
            } catch { throw storage("opening \(path)", error) }
            if let previous = segments.last, base != previous.nextOffset {
                if fileSize == 0 && isLast && base > previous.nextOffset {
                    // An empty segment started past a tail that recovery just cut: start it again at the right offset.
                    try? fileSystem.removeFile(path)
                    report.add(.removedSegment, topicPartition, "empty segment \(base) did not follow offset \(previous.nextOffset)")
                    previous.sealed = false
                    // The previous segment is active again: cut what its scan rejected, as for any
                    // active segment, so appends never land in front of leftover bytes.
                    let previousFileSize: Int64
                    do { previousFileSize = try previous.file.size() } catch { throw storage("opening \(previous.logPath)", error) }
                    if previousFileSize > previous.size {
                        try cutTail(previous.file, from: previousFileSize, to: previous.size, lastOffset: previous.nextOffset - 1,
                                    reason: "it is the active segment again")
                    }
                    try? fileSystem.removeFile(previous.indexPath)  // written for it as a sealed segment; stale now
                    continue
                }
                report.add(.warning, topicPartition, "segment \(base) does not follow the previous one, which ends at offset \(previous.nextOffset); offsets in between are missing")
            }
            if !isLast, let loaded = loadIndex(base: base, fileSize: fileSize, directory: directory, fileSystem: fileSystem, topicPartition: topicPartition, report: &report) {
                segments.append(Segment(baseOffset: base, file: file, directory: directory, size: fileSize, nextOffset: loaded.nextOffset,
                                        maxTimestamp: loaded.maxTimestamp, createdAt: now, index: loaded.index, sealed: true))
                continue
            }
            let scan = try scanSegment(file: file, base: base, fileSize: fileSize, configuration: configuration, label: topicPartition.description)
            report.segmentsScanned += 1
            report.bytesScanned += scan.validSize
            let segment = Segment(baseOffset: base, file: file, directory: directory, size: scan.validSize, nextOffset: scan.nextOffset,
                                  maxTimestamp: scan.maxTimestamp, createdAt: scan.firstTimestamp ?? now, index: scan.index, sealed: !isLast)
            segment.bytesSinceIndexEntry = scan.bytesSinceIndexEntry
            if scan.validSize < fileSize {
                let reason = scan.stopReason ?? "incomplete batch"
                if isLast {
                    try cutTail(file, from: fileSize, to: scan.validSize, lastOffset: scan.nextOffset - 1, reason: reason)
                } else {
                    report.add(.warning, topicPartition, "sealed segment \(path) is damaged at position \(scan.validSize) (\(reason)); records after offset \(scan.nextOffset - 1) in it cannot be read")
                }
            }
            if !isLast {
                // Best effort: a failed write only means the index is rebuilt again at the next open.
                try? storeIndex(scan.index, baseOffset: base, nextOffset: scan.nextOffset, logSize: fileSize,
                                maxTimestamp: scan.maxTimestamp, path: segment.indexPath, fileSystem: fileSystem)
            }
            segments.append(segment)
        }
        // Only the last segment is active; everything before it is sealed and read-only.
        for s in segments.dropLast() { s.sealed = true }
        segments.last!.sealed = false
        report.partitions += 1
        return PartitionLog(topicPartition: topicPartition, directory: directory, configuration: configuration, fileSystem: fileSystem,
                            clock: clock, executor: executor, logger: logger, segments: segments)
    }

    private static func loadIndex(base: Int64, fileSize: Int64, directory: String, fileSystem: any FileSystem, topicPartition: TopicPartition,
                                  report: inout RecoveryReport) -> SegmentIndex.Loaded? {
        let path = Segment.path(directory, base, "index")
        guard fileSystem.fileExists(path) else {
            report.add(.rebuiltIndex, topicPartition, "\(path) was missing")
            return nil
        }
        let bytes: [UInt8]
        do { bytes = try AtomicFile.read(path, fileSystem: fileSystem) } catch {
            report.add(.rebuiltIndex, topicPartition, "\(path) could not be read (\(error))")
            return nil
        }
        switch SegmentIndex.parse(bytes, baseOffset: base, logSize: fileSize) {
        case .success(let loaded): return loaded
        case .failure(let problem):
            report.add(.rebuiltIndex, topicPartition, "\(path) was unusable: \(problem.reason)")
            return nil
        }
    }

    struct ScanResult {
        var validSize: Int64 = 0
        var nextOffset: Int64
        var maxTimestamp: Int64 = .min
        var firstTimestamp: Int64?
        var index = SegmentIndex()
        var bytesSinceIndexEntry = 0
        var stopReason: String?
    }

    /// Walks a segment from the start, validating each batch, and stops at the first that is
    /// incomplete or invalid. Everything before that point is intact.
    static func scanSegment(file: any LogFile, base: Int64, fileSize: Int64, configuration: TopicConfiguration, label: String) throws(LogError) -> ScanResult {
        var result = ScanResult(nextOffset: base)
        let chunkSize = 8 << 20
        var position: Int64 = 0
        while position < fileSize {
            let want = Int(min(Int64(chunkSize), fileSize - position))
            var chunk: [UInt8]
            do { chunk = try file.read(at: position, count: want) } catch {
                throw LogError(.storage, "reading \(file.path) during recovery failed (\(error))")
            }
            var cursor = 0
            var stop = false
            while cursor < chunk.count {
                let check = chunk.withUnsafeBytes { raw in
                    BatchFormat.check(UnsafeRawBufferPointer(rebasing: raw[cursor...]), expectedBaseOffset: result.nextOffset,
                                      maxBatchBytes: configuration.maxBatchBytes, deep: true)
                }
                switch check {
                case .valid(let header):
                    let at = position + Int64(cursor)
                    if result.index.count == 0 || result.bytesSinceIndexEntry >= configuration.indexIntervalBytes {
                        result.index.add(offset: header.baseOffset, position: at, maxTimestampBefore: result.maxTimestamp)
                        result.bytesSinceIndexEntry = 0
                    }
                    result.bytesSinceIndexEntry += header.totalSize
                    if result.firstTimestamp == nil { result.firstTimestamp = header.firstTimestamp }
                    result.maxTimestamp = max(result.maxTimestamp, header.maxTimestamp)
                    result.nextOffset = header.nextOffset
                    cursor += header.totalSize
                    result.validSize = position + Int64(cursor)
                case .incomplete(let needed):
                    if position + Int64(cursor) + Int64(needed) > fileSize {
                        result.stopReason = "the last batch is incomplete (a torn write): \(fileSize - position - Int64(cursor)) of \(needed) bytes present"
                        stop = true
                    } else if cursor == 0 {
                        // One batch larger than the chunk: read it whole.
                        do { chunk = try file.read(at: position, count: needed) } catch {
                            throw LogError(.storage, "reading \(file.path) during recovery failed (\(error))")
                        }
                        continue
                    }
                case .corrupt(let reason):
                    result.stopReason = reason
                    stop = true
                }
                if stop { break }
                if case .incomplete = check { break }
            }
            if stop { break }
            position += Int64(cursor)
        }
        return result
    }
}
