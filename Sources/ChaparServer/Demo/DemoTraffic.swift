import ChaparDemo
import ChaparModels
import Foundation
import Ingest
import Logging

/// The demo's steady stream: every second, a few realistic transactions (and about 3% OTP and
/// greeting messages) on the demo customers' accounts, booked now, ingested through the same
/// path as `chapar ingest` and `POST /v1/ingest`.
struct DemoTraffic: Sendable {
    let endpoint: IngestEndpoint
    let layout: DataLayout
    let customers: Int
    let eventsPerSecond: Double
    let logger: Logger

    func run() async throws {
        let started = Int64(Date().timeIntervalSince1970)
        // Ids are FT<seed>-<n>: a seed per start keeps each run's ids new.
        var generator = TransactionGenerator(seed: UInt64(started), customers: customers, messageFraction: 0.03)
        var owed = 0.0
        try? FileManager.default.createDirectory(atPath: layout.uploads, withIntermediateDirectories: true)
        while !Task.isCancelled {
            owed += eventsPerSecond
            let count = Int(owed)
            owed -= Double(count)
            if count > 0 {
                generator.clockSeconds = Int64(Date().timeIntervalSince1970)
                var buffer = DemoBuffer()
                generator.write(count: count, jsonl: false, to: &buffer)
                let path = "\(layout.uploads)/demo-\(UUID().uuidString).csv"
                if FileManager.default.createFile(atPath: path, contents: Data(buffer.bytes)) {
                    defer { unlink(path) }
                    let request = RemoteIngestRequest(path: path, displayName: "demo", format: .csv, options: ParserOptions(), mode: .append,
                                                      configuration: Ingestor.Configuration())
                    do {
                        let summary = try await endpoint.ingestHere(request)
                        if summary.counts.rejected > 0 { logger.warning("demo: \(summary.counts.rejected) generated entries were rejected") }
                    } catch {
                        logger.warning("demo: could not ingest generated transactions: \(error.message)")
                    }
                }
            }
            try await Task.sleep(for: .seconds(1))
        }
    }
}
