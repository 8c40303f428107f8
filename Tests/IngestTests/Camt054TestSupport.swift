import ChaparModels
import Foundation
@testable import Ingest
import Testing

/// Helpers shared by the camt.054 and MT940 tests: locating fixtures and samples, running a
/// parser to the end, writing scratch files.
enum FormatTestSupport {
    /// The repository root: this file is `<repo>/Tests/IngestTests/…`.
    static let repoRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    /// The public samples, read in place: `$CHAPAR_SAMPLES`, else `shared/samples` beside the
    /// repository, else `/work/shared/samples` (where this machine kind keeps them).
    static let samples: URL = {
        var candidates: [URL] = []
        if let env = ProcessInfo.processInfo.environment["CHAPAR_SAMPLES"] { candidates.append(URL(fileURLWithPath: env)) }
        candidates.append(repoRoot.deletingLastPathComponent().appendingPathComponent("shared/samples"))
        candidates.append(URL(fileURLWithPath: "/work/shared/samples"))
        return candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("SOURCES.md").path) } ?? candidates[0]
    }()
    /// Whether the public samples are there; the golden tests are skipped (and say why) when not.
    static let samplesAvailable = FileManager.default.fileExists(atPath: samples.appendingPathComponent("SOURCES.md").path)
    static let samplesMissing: Comment = "the public bank-format samples are not at \(samples.path); set CHAPAR_SAMPLES to their folder"
    static let fixtures: URL = repoRoot.appendingPathComponent("Tests/IngestTests/Fixtures")

    struct Outcome {
        var events: [TransactionEvent] = []
        var rejects: [EntryError] = []
        var warnings: [EntryError] = []
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
                case .warning(let w): out.warnings.append(w)
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
        precondition(FileManager.default.createFile(atPath: path, contents: Data(bytes)), "cannot create \(path)")
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
