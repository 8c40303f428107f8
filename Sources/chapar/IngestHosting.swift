import EventLog
import Foundation
import Ingest
import Logging

/// Runs `body` while this process accepts `chapar ingest` from other processes on
/// `DATA_DIR/ingest.sock` (it owns the directory's lock, so ingest cannot open the log itself).
/// When the socket cannot be created the process still runs, and says why ingest will be refused.
/// Pass `index` when this process ingests too: one dedupe index per process.
func withIngestEndpoint<T>(_ data: DataDirOptions, log: EventLog, index: SeenIndex? = nil, _ body: () async throws -> T) async throws -> T {
    let endpoint: IngestEndpoint?
    do {
        endpoint = try IngestEndpoint(dataDirectory: data.dataDir, log: log, index: index, logger: cliLogger(data.verbose, label: "chapar.ingest"))
    } catch {
        FileHandle.standardError.write(Data("chapar: warning: \(error.message); `chapar ingest` will be refused while this runs\n".utf8))
        endpoint = nil
    }
    do {
        let result = try await body()
        await endpoint?.close()
        return result
    } catch {
        await endpoint?.close()
        throw error
    }
}
