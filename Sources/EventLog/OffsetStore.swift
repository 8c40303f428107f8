import ChaparModels
import Foundation
import Synchronization

/// Committed group offsets, one file per group (`groups/<group>.json`), each commit replacing
/// the whole file atomically so a multi-partition commit is all-or-nothing after a crash.
final class OffsetStore: Sendable {
    struct FileFormat: Codable {
        var group: String
        /// topic → partition (as a string) → next offset to consume
        var offsets: [String: [String: Int64]]
    }

    let directory: String
    let fileSystem: any FileSystem
    private let cache: Mutex<[GroupID: [TopicPartition: Int64]]>
    /// Serializes read-merge-write per store so two concurrent commits never lose each other's partitions.
    private let writeLock = Mutex(())

    init(directory: String, fileSystem: any FileSystem, report: inout RecoveryReport) throws(LogError) {
        self.directory = directory
        self.fileSystem = fileSystem
        var loaded: [GroupID: [TopicPartition: Int64]] = [:]
        do {
            try fileSystem.createDirectory(directory)
            for name in try fileSystem.listDirectory(directory) {
                let path = directory + "/" + name
                if name.hasSuffix(AtomicFile.temporarySuffix) {
                    try? fileSystem.removeFile(path)
                    report.actions.append(.init(kind: .removedTemporary, partition: "groups", detail: "\(name) from an interrupted commit"))
                    continue
                }
                guard name.hasSuffix(".json") else { continue }
                let bytes = try AtomicFile.read(path, fileSystem: fileSystem)
                guard let file = try? JSONDecoder().decode(FileFormat.self, from: Data(bytes)), let group = try? GroupID(file.group) else {
                    throw LogError(.corrupt, "committed offsets in \(path) are unreadable; restore the file from a backup or delete it to make the group start again from its start position")
                }
                var offsets: [TopicPartition: Int64] = [:]
                for (topic, partitions) in file.offsets {
                    guard let t = try? TopicName(topic) else { continue }
                    for (p, o) in partitions { if let pi = Int(p) { offsets[TopicPartition(t, PartitionID(pi))] = o } }
                }
                loaded[group] = offsets
            }
        } catch let error as LogError {
            throw error
        } catch {
            throw LogError(.storage, "reading committed offsets in \(directory) failed (\(error))")
        }
        cache = Mutex(loaded)
    }

    func committed(_ group: GroupID) -> [TopicPartition: Int64] { cache.withLock { $0[group] ?? [:] } }
    var groups: [GroupID] { cache.withLock { Array($0.keys) } }

    /// Merges `offsets` into the group's file and makes it durable. Blocking: call on the executor.
    ///
    /// `fence` runs under the same lock as the write, right before it: when it returns an error,
    /// nothing is written. A group member passes "do I still own these partitions?", so a member
    /// that lost them in a rebalance after it asked can never overwrite the new owner's commits
    /// (the check and the write are one step for every other committer).
    func commit(_ group: GroupID, _ offsets: [TopicPartition: Int64], replace: Bool = false,
                fence: (@Sendable () -> LogError?)? = nil) throws(LogError) {
        try writeLock.withLock { _ throws(LogError) in
            if let refused = fence?() { throw refused }
            var merged = replace ? [:] : committed(group)
            for (tp, o) in offsets { merged[tp] = o }
            var file = FileFormat(group: group.rawValue, offsets: [:])
            for (tp, o) in merged { file.offsets[tp.topic.rawValue, default: [:]][String(tp.partition.rawValue)] = o }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            let bytes: [UInt8]
            do { bytes = Array(try encoder.encode(file)) } catch { throw LogError(.storage, "encoding offsets of \(group) failed (\(error))") }
            do throws(FileSystemError) {
                try AtomicFile.write(bytes, to: directory + "/" + group.rawValue + ".json", fileSystem: fileSystem)
            } catch {
                let code: LogError.Code = error.kind == .noSpace ? .diskFull : .storage
                throw LogError(code, "committing offsets of group \(group) failed (\(error)); the previous commit is intact; records since then will be delivered again")
            }
            cache.withLock { $0[group] = merged }
        }
    }
}
