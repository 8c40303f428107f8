import ChaparModels
import Foundation
import Synchronization

/// Runs a parser on its own thread and hands its output to async code in batches, at most
/// `depth` batches ahead, so file reads never block the cooperative pool and parsing overlaps
/// the log append of the previous batch. Memory: at most `depth + 2` batches.
final class ParsingThread: Sendable {
    /// What the parser thread produced since the previous batch.
    struct Batch: Sendable {
        var events: [PreparedEvent] = []
        var rejects: [EntryError] = []
        var bytesRead: Int64 = 0
        /// The parser's fatal error, after which no more batches come.
        var failure: IngestError? = nil
        var isLast = false
    }

    private struct State {
        var ready: [Batch] = []
        var waiter: CheckedContinuation<Batch, Never>? = nil
        var cancelled = false
    }

    private let state = Mutex(State())
    private let slots: DispatchSemaphore
    static let maxBatchBytes = 1 << 20

    /// Starts parsing at once. `encode` decides whether each event is also turned into its record
    /// on the parser thread (not needed for validation-only passes).
    init(parser: consuming any EntryParser, batchSize: Int, depth: Int = 2, encode: Bool) {
        slots = DispatchSemaphore(value: depth)
        let box = ParserBox(parser)
        let thread = Thread { [self] in
            self.produce(box, batchSize: batchSize, encode: encode)
        }
        thread.name = "chapar-ingest-parse"
        thread.stackSize = 1 << 20
        thread.start()
    }

    private func produce(_ box: ParserBox, batchSize: Int, encode: Bool) {
        let progress = box.parser as? any ProgressReporting
        while true {
            slots.wait()
            if state.withLock({ $0.cancelled }) { return }
            var batch = Batch()
            batch.events.reserveCapacity(batchSize)
            var produced = 0
            var bytes = 0
            let startBytes = progress?.bytesRead ?? 0
            do throws(IngestError) {
                // A batch ends at `batchSize` entries or about 1 MiB of input or records, whichever
                // comes first, so long narratives cannot multiply the memory in flight.
                while produced < batchSize && bytes < Self.maxBatchBytes
                        && (progress.map { $0.bytesRead - startBytes < Int64(Self.maxBatchBytes) } ?? true) {
                    guard let entry = try box.parser.next() else {
                        batch.isLast = true
                        break
                    }
                    produced += 1
                    switch entry {
                    case .event(let e):
                        let prepared = PreparedEvent(e, encode: encode)
                        bytes += prepared.record.map { $0.value.count + ($0.key?.count ?? 0) + 64 } ?? 0
                        batch.events.append(prepared)
                    case .rejected(let r): batch.rejects.append(r)
                    }
                }
            } catch {
                batch.failure = error
                batch.isLast = true
            }
            batch.bytesRead = progress?.bytesRead ?? -1
            let last = batch.isLast
            let waiter = state.withLock { s -> CheckedContinuation<Batch, Never>? in
                if let w = s.waiter {
                    s.waiter = nil
                    return w
                }
                s.ready.append(batch)
                return nil
            }
            waiter?.resume(returning: batch)
            if last { return }
        }
    }

    /// The next batch; after one with `isLast`, do not call again.
    func next() async -> Batch {
        let batch = await withCheckedContinuation { (c: CheckedContinuation<Batch, Never>) in
            let ready = state.withLock { s -> Batch? in
                if !s.ready.isEmpty { return s.ready.removeFirst() }
                s.waiter = c
                return nil
            }
            if let ready { c.resume(returning: ready) }
        }
        slots.signal()
        return batch
    }

    /// Stops the thread after its current batch (the consumer gave up).
    func cancel() {
        state.withLock { $0.cancelled = true }
        slots.signal()
    }
}

/// Hands a parser (not Sendable: it owns a descriptor and buffers) to the parsing thread.
private final class ParserBox: @unchecked Sendable {
    // Safe: after init only the parsing thread touches `parser`.
    var parser: any EntryParser
    init(_ parser: consuming any EntryParser) { self.parser = parser }
}

/// What the pipeline needs to dedupe and append an event, computed on the parser thread. The
/// event itself is not kept once encoded: the record is all the log needs.
struct PreparedEvent: Sendable {
    let isMessage: Bool
    let fingerprint: Fingerprint
    let record: ProducerRecord?

    init(_ event: Event, encode: Bool) {
        if case .message = event { isMessage = true } else { isMessage = false }
        fingerprint = Fingerprint(event.id)
        record = encode ? EventCodec.record(event) : nil
    }
}
