import ChaparModels
import Foundation
@testable import Ingest

/// Temporary files and helpers shared by the ingest tests.
enum Fixture {
    static func directory(_ name: String) -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("chapar-ingest-\(name)-\(UUID().uuidString.prefix(8))").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Writes `bytes` to a new file in `dir` and returns its path.
    @discardableResult
    static func file(_ dir: String, _ name: String, _ bytes: [UInt8]) -> String {
        let path = dir + "/" + name
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    @discardableResult
    static func file(_ dir: String, _ name: String, _ text: String) -> String { file(dir, name, Array(text.utf8)) }

    /// Every entry a parser yields, or the error that stopped it.
    static func entries(_ parser: consuming some EntryParser) -> (entries: [ParsedEntry], error: IngestError?) {
        var p = parser
        var out: [ParsedEntry] = []
        do {
            while let e = try p.next() { out.append(e) }
            return (out, nil)
        } catch {
            return (out, error)
        }
    }

    static func csv(_ text: String, options: ParserOptions = ParserOptions(), maxLineBytes: Int = 1 << 20) throws -> (entries: [ParsedEntry], error: IngestError?) {
        try csv(bytes: Array(text.utf8), options: options, maxLineBytes: maxLineBytes)
    }

    static func csv(bytes: [UInt8], options: ParserOptions = ParserOptions(), maxLineBytes: Int = 1 << 20) throws -> (entries: [ParsedEntry], error: IngestError?) {
        let dir = directory("csv")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = file(dir, "in.csv", bytes)
        return entries(try CSVParser(path: path, displayName: "in.csv", options: options, maxLineBytes: maxLineBytes))
    }

    static func jsonl(_ text: String, options: ParserOptions = ParserOptions(), maxLineBytes: Int = 1 << 20) throws -> (entries: [ParsedEntry], error: IngestError?) {
        let dir = directory("jsonl")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = file(dir, "in.jsonl", text)
        return entries(try JSONLinesParser(path: path, displayName: "in.jsonl", options: options, maxLineBytes: maxLineBytes))
    }

    static let header = "id,account,direction,amount,currency,balance,booked_at,value_date,description,counterparty,origin_channel\n"
    static let account = "IR490170000000000000000002"
}

extension ParsedEntry {
    var transaction: TransactionEvent? {
        if case .event(.transaction(let t)) = self { return t }
        return nil
    }
    var message: DirectMessage? {
        if case .event(.message(let m)) = self { return m }
        return nil
    }
    var rejection: EntryError? {
        if case .rejected(let e) = self { return e }
        return nil
    }
}
