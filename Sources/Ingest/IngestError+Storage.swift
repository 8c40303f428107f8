import ChaparModels
import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#endif

extension IngestError {
    /// What a storage failure while `doing` (e.g. "cannot write the dedupe index PATH") means for
    /// the operator: `.diskFull` when the disk is full, which damages nothing, so the message says
    /// to free space and re-run and never to delete anything; otherwise `.storage` with `hint`.
    ///
    /// `directory` is where the failed write went: an error SQLite reports only as a generic I/O
    /// error (creating its shared-memory file on a full disk gives `SQLITE_IOERR_SHMSIZE`) counts
    /// as disk full when that file system has no space left.
    static func storage(_ doing: String, _ cause: any Error, directory: String? = nil, hint: String = "",
                        diskFullHint: String = "nothing is damaged; free space on that disk and run the same command again") -> IngestError {
        if let e = cause as? IngestError, e.code == .diskFull {
            return IngestError(.diskFull, "\(doing): \(e.message)", durable: e.durable)
        }
        if let e = cause as? LogError, e.code == .diskFull {
            // The log's message already says which partition and directory, and to free space.
            return IngestError(.diskFull, "\(doing): \(e.message)")
        }
        let detail = (cause as? IngestError)?.message ?? (cause as? LogError)?.message ?? "\(cause)"
        if DiskSpace.isDiskFull(cause) || (directory.map(DiskSpace.isFull) ?? false) {
            return IngestError(.diskFull, "disk full: \(doing) (\(detail)); \(diskFullHint)")
        }
        return IngestError(.storage, "\(doing): \(detail)\(hint.isEmpty ? "" : "; \(hint)")")
    }
}

/// Telling a full disk from other storage failures: only the first is cured by freeing space,
/// and only the others may mean something is damaged.
enum DiskSpace {
    /// Whether `error` says the disk or the quota is full: `ENOSPC`/`EDQUOT` however wrapped,
    /// SQLite's `SQLITE_FULL`, the log's `disk-full`.
    static func isDiskFull(_ error: any Error) -> Bool {
        switch error {
        case let e as IngestError: return e.code == .diskFull || mentionsFullDisk(e.message)
        case let e as LogError: return e.code == .diskFull
        case let e as DatabaseError: return e.resultCode == .SQLITE_FULL || mentionsFullDisk(e.message ?? "")
        case let e as POSIXError: return e.code == .ENOSPC || e.code == .EDQUOT
        case let e as CocoaError where e.code == .fileWriteOutOfSpace: return true
        default: break
        }
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain && (ns.code == Int(ENOSPC) || ns.code == Int(EDQUOT)) { return true }
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? any Error, isDiskFull(underlying) { return true }
        return mentionsFullDisk("\(error)")
    }

    /// `strerror(ENOSPC)`, `strerror(EDQUOT)` and SQLite's text for `SQLITE_FULL`.
    static func mentionsFullDisk(_ text: String) -> Bool {
        text.contains("No space left on device") || text.contains("database or disk is full") || text.contains("Disk quota exceeded")
    }

    /// Whether the file system holding `path` (or its nearest existing parent) has less than
    /// 64 KiB left for this user: too little for SQLite to add a page to its journal.
    static func isFull(_ path: String) -> Bool {
        guard let free = available(path) else { return false }
        return free < 64 << 10
    }

    /// Bytes available to this user on the file system holding `path` or its nearest existing parent.
    static func available(_ path: String) -> Int64? {
        var p = path.isEmpty ? "." : path
        var st = statvfs()
        while statvfs(p, &st) != 0 {
            let parent = (p as NSString).deletingLastPathComponent
            if parent == p || parent.isEmpty { return nil }
            p = parent
        }
        return Int64(st.f_bavail) * Int64(st.f_frsize)
    }
}
