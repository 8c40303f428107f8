import ChaparModels
import Foundation
@testable import Ingest

/// Helpers shared by the camt.054 and MT940 tests: locating fixtures and samples, running a
/// parser to the end, writing scratch files.
enum FormatTestSupport {
    /// The repository root: this file is `<repo>/Tests/IngestTests/…`.
    static let repoRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// The public samples, read in place (`/work/shared/samples`, beside the repository).
    static let samples: URL = repoRoot.deletingLastPathComponent().appendingPathComponent("shared/samples")
    static let fixtures: URL = repoRoot.appendingPathComponent("Tests/IngestTests/Fixtures")

    struct Outcome {
        var events: [TransactionEvent] = []
        var rejects: [EntryError] = []
        var error: IngestError?
        var all: [ParsedEntry] = []
    }

    /// Runs `parser` until nil or a thrown error, collecting everything.
    static func drain(_ parser: inout some EntryParser) -> Outcome {
        var out = Outcome()
        while true {
            do {
                guard let e = try parser.next() else { return out }
                out.all.append(e)
                switch e {
                case .event(.transaction(let t)): out.events.append(t)
                case .event: break
                case .rejected(let r): out.rejects.append(r)
                }
            } catch {
                out.error = error
                return out
            }
        }
    }

    /// A fresh scratch file with `bytes`, removed by the caller's `defer`.
    static func scratch(_ bytes: [UInt8], ext: String) -> String {
        let path = NSTemporaryDirectory() + "chapar-formats-\(UUID().uuidString).\(ext)"
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    static func camt(_ path: String, _ options: ParserOptions = ParserOptions(timeZone: "UTC")) -> Outcome {
        do {
            var p = try Camt054Parser(path: path, displayName: (path as NSString).lastPathComponent, options: options)
            return drain(&p)
        } catch {
            return Outcome(error: error)
        }
    }

    static func camt(text: String, _ options: ParserOptions = ParserOptions(timeZone: "UTC")) -> Outcome {
        camt(bytes: Array(text.utf8), options)
    }

    static func camt(bytes: [UInt8], _ options: ParserOptions = ParserOptions(timeZone: "UTC")) -> Outcome {
        let path = scratch(bytes, ext: "xml")
        defer { try? FileManager.default.removeItem(atPath: path) }
        return camt(path, options)
    }

    static func mt940(_ path: String, _ options: ParserOptions = ParserOptions(timeZone: "UTC")) -> Outcome {
        do {
            var p = try MT940Parser(path: path, displayName: (path as NSString).lastPathComponent, options: options)
            return drain(&p)
        } catch {
            return Outcome(error: error)
        }
    }

    static func mt940(text: String, _ options: ParserOptions = ParserOptions(timeZone: "UTC")) -> Outcome {
        mt940(bytes: Array(text.utf8), options)
    }

    static func mt940(bytes: [UInt8], _ options: ParserOptions = ParserOptions(timeZone: "UTC")) -> Outcome {
        let path = scratch(bytes, ext: "sta")
        defer { try? FileManager.default.removeItem(atPath: path) }
        return mt940(path, options)
    }

    /// UTC milliseconds of an ISO 8601 date-time with offset, for comparing with peers.
    static func millis(_ iso: String) -> Int64? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: iso).map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) }
    }
}
