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
        var warnings: [EntryError] = []
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
    /// Nanoseconds the parsing thread waited for the consumer (it was ahead: the consumer is the bottleneck).
    let stalls = Mutex<UInt64>(0)
    private let slots: DispatchSemaphore
    static let maxBatchBytes = 1 << 20

    /// Starts parsing at once. Fingerprints and encoding normally happen on the consumer's side
    /// (the async pipeline, whose append tasks run in parallel). When this thread had to wait for the
    /// consumer (it is ahead), it helps: it fingerprints the next batch and, with `isNew` (the dedupe
    /// index's Bloom filter), encodes the events that are certainly new; possible duplicates are
    /// encoded later, only if they turn out to be new. So the two cores share the work whichever
    /// side is the bottleneck.
    init(parser: consuming any EntryParser, batchSize: Int, depth: Int = 2,
         isNew: (@Sendable ([Fingerprint]) -> [Bool])? = nil) {
        // Created at 0 and raised to `depth`: libdispatch traps when a semaphore is freed below
        // its initial value, which is what a consumer that stops early (a full disk) leaves.
        slots = DispatchSemaphore(value: 0)
        for _ in 0..<depth { slots.signal() }
        let box = ParserBox(parser)
        let thread = Thread { [self] in
            self.produce(box, batchSize: batchSize, isNew: isNew)
        }
        thread.name = "chapar-ingest-parse"
        thread.stackSize = 1 << 20
        thread.start()
    }

    private func produce(_ box: ParserBox, batchSize: Int, isNew: (@Sendable ([Fingerprint]) -> [Bool])?) {
        let progress = box.parser as? any ProgressReporting
        var helpOut = false
        while true {
            let waitStart = DispatchTime.now().uptimeNanoseconds
            slots.wait()
            let waited = DispatchTime.now().uptimeNanoseconds - waitStart
            stalls.withLock { $0 += waited }
            helpOut = waited > 200_000
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
                        bytes += e.estimatedSize
                        batch.events.append(PreparedEvent(e))
                    case .rejected(let r): batch.rejects.append(r)
                    case .warning(let w): batch.warnings.append(w)
                    }
                }
            } catch {
                batch.failure = error
                batch.isLast = true
            }
            if helpOut, let isNew, !batch.events.isEmpty {
                for i in batch.events.indices { batch.events[i].computeFingerprint() }
                let new = isNew(batch.events.map { $0.fingerprint })
                for i in batch.events.indices where new[i] {
                    batch.events[i].record = EventCodec.record(batch.events[i].event)
                }
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

/// An event, and its dedupe fingerprint and encoded record once computed (on the parsing thread
/// when it has time to spare, else by the pipeline; records only for events that are not duplicates).
struct PreparedEvent: Sendable {
    let event: Event
    private var computedFingerprint: Fingerprint? = nil
    /// The encoded record, when the parsing thread already made it.
    var record: ProducerRecord? = nil

    init(_ event: Event) {
        self.event = event
    }

    /// SHA-256 of the id (computed now unless ``computeFingerprint()`` already did).
    var fingerprint: Fingerprint { computedFingerprint ?? Fingerprint(event.id) }

    mutating func computeFingerprint() {
        if computedFingerprint == nil { computedFingerprint = Fingerprint(event.id) }
    }

    var isMessage: Bool {
        if case .message = event { return true }
        return false
    }

    /// The record to append.
    var encoded: ProducerRecord { record ?? EventCodec.record(event) }
}

extension Event {
    /// Roughly the bytes this event holds, to bound batches by size.
    var estimatedSize: Int {
        switch self {
        case .transaction(let t): 160 + t.description.utf8.count + (t.counterparty?.utf8.count ?? 0)
        case .message(let m): 160 + m.variables.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
        }
    }
}
