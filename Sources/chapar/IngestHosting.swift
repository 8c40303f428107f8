import EventLog
import Foundation
import Ingest
import Logging

/// Runs `body` while this process accepts `chapar ingest` from other processes on
/// `DATA_DIR/ingest.sock` (it owns the directory's lock, so ingest cannot open the log itself).
/// The endpoint's ``IngestEndpoint/run()`` is a child task beside `body`: it is closed, and its
/// requests in flight have ended, before this returns. When the socket cannot be created the
/// process still runs, and says why ingest will be refused. Pass `index` when this process
/// ingests too: one dedupe index per process.
func withIngestEndpoint<T: Sendable>(_ data: DataDirOptions, log: EventLog, index: SeenIndex? = nil, _ body: () async throws -> T) async throws -> T {
    let endpoint: IngestEndpoint?
    do {
        endpoint = try IngestEndpoint(dataDirectory: data.dataDir, log: log, index: index, logger: cliLogger(data.verbose, label: "chapar.ingest"))
    } catch {
        FileHandle.standardError.write(Data("chapar: warning: \(error.message); `chapar ingest` will be refused while this runs\n".utf8))
        endpoint = nil
    }
    guard let endpoint else { return try await body() }
    let outcome = await withTaskGroup(of: Void.self, returning: Result<T, any Error>.self) { group in
        group.addTask { await endpoint.run() }
        let outcome: Result<T, any Error>
        do { outcome = .success(try await body()) } catch { outcome = .failure(error) }
        // Makes run() return once the requests it took have ended.
        await endpoint.close()
        await group.waitForAll()
        return outcome
    }
    return try outcome.get()
}
