import ChaparModels
@testable import EventLog
import Foundation
import Logging
import Synchronization
import Testing

/// A logger that stays silent unless something is critical, so test output stays readable.
let quietLogger: Logger = {
    var logger = Logger(label: "test")
    logger.logLevel = .critical
    return logger
}()

/// Runs `body` with a fresh directory under the system temporary directory, removed afterwards.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("chapar-test-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try await body(url.path)
}

/// Opens a log quietly.
func openLog(_ directory: String, fileSystem: any FileSystem = PosixFileSystem(), clock: any ChaparClock = SystemClock(),
             ioThreads: Int = 2) throws -> EventLog {
    try EventLog.open(.init(directory: directory, ioThreads: ioThreads, fileSystem: fileSystem, clock: clock, logger: quietLogger))
}

/// Expects `body` to throw a ``LogError`` with `code`; returns it for further checks.
@discardableResult
func expectLogError<R>(_ code: LogError.Code, _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation,
                       _ body: () async throws -> R) async -> LogError? {
    do {
        _ = try await body()
        Issue.record("expected LogError.\(code), but the call succeeded. \(comment.map { "\($0)" } ?? "")", sourceLocation: sourceLocation)
        return nil
    } catch let error as LogError {
        #expect(error.code == code, "expected \(code), got \(error.code): \(error.message). \(comment.map { "\($0)" } ?? "")", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected LogError.\(code), got \(error). \(comment.map { "\($0)" } ?? "")", sourceLocation: sourceLocation)
        return nil
    }
}

/// Reads a whole partition from its start (or `from`) to its high watermark.
func readAll(_ log: EventLog, _ topic: TopicName, _ partition: Int, from: Offset? = nil) async throws -> [ConsumerRecord] {
    let description = try await log.describeTopic(topic).partitions[partition]
    var next = from ?? description.startOffset
    var records: [ConsumerRecord] = []
    while true {
        let result = try await log.fetch(topic, partition: PartitionID(partition), from: next, limits: FetchLimits(maxRecords: 5000))
        records.append(contentsOf: result.records)
        if result.records.isEmpty || result.nextOffset >= result.highWatermark { break }
        next = result.nextOffset
    }
    return records
}

extension ConsumerRecord {
    var valueText: String { String(decoding: value, as: UTF8.self) }
    var keyText: String? { key.map { String(decoding: $0, as: UTF8.self) } }
}

/// A producer record with a string key and value.
func record(_ key: String?, _ value: String, timestamp: Int64? = nil, partition: Int? = nil) -> ProducerRecord {
    ProducerRecord(key: key, value: value, timestamp: timestamp.map { Timestamp(milliseconds: $0) }, partition: partition.map { PartitionID($0) })
}

/// Thread-safe accumulator for concurrent test tasks.
final class Box<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>
    init(_ value: Value) { storage = Mutex(value) }
    func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R { storage.withLock { body(&$0) } }
    var value: Value { storage.withLock { $0 } }
}

/// The base offsets of the segment files of a partition directory, sorted.
func segmentBases(_ partitionDirectory: String) throws -> [Int64] {
    try FileManager.default.contentsOfDirectory(atPath: partitionDirectory)
        .compactMap { Segment.baseOffset(fromFileName: $0, ext: "log") }
        .sorted()
}

/// Appends bytes to a real file.
func appendBytes(_ bytes: [UInt8], toFile path: String) throws {
    let handle = try #require(FileHandle(forWritingAtPath: path))
    defer { try? handle.close() }
    try handle.seekToEnd()
    try handle.write(contentsOf: Data(bytes))
}

/// Truncates a real file.
func truncateFile(_ path: String, to size: Int64) throws {
    let handle = try #require(FileHandle(forWritingAtPath: path))
    defer { try? handle.close() }
    try handle.truncate(atOffset: UInt64(size))
}

func fileSize(_ path: String) throws -> Int64 {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    return (attributes[.size] as? NSNumber)?.int64Value ?? -1
}

func readFile(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }
func writeFile(_ path: String, _ bytes: [UInt8]) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }

/// Deterministic pseudo-random bytes.
func randomBytes(_ count: Int, _ rng: inout SplitMix64) -> [UInt8] {
    (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
}

extension Result where Failure == any Error {
    /// Captures the outcome of an async throwing call.
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
