import ChaparConfig
import ChaparModels
import Delivery
import Foundation
import Hummingbird
import Logging

/// The delivery ledger over HTTP: a transaction's trace, deliveries by status and channel, one
/// job's story, dead letters and their replay. Addresses are masked as in the ledger.
struct DeliveriesAPI: Sendable {
    let state: ServerState

    func add(to group: RouterGroup<BasicRequestContext>) {
        group.get("transactions/:id") { request, context in
            try await self.transaction(try Self.parameter(context, "id"))
        }
        group.get("deliveries") { request, _ in try await self.list(request, status: nil) }
        group.get("deliveries/:job") { _, context in try await self.job(try Self.parameter(context, "job")) }
        group.get("dead-letters") { request, _ in try await self.list(request, status: .dead) }
        group.post("dead-letters/replay") { request, _ in try await self.replay(request) }
    }

    struct TransactionTrace: Encodable {
        /// The event (transaction or message) id.
        var transaction: String
        /// Every job the notifier made for it that the delivery pools have seen, with every
        /// attempt and delivery report. Jobs still waiting on their topic are not listed yet.
        var jobs: [LedgerTrace]
        /// Job counts by status.
        var summary: [String: Int]
    }

    func transaction(_ id: String) async throws -> Response {
        let event: EventID
        do { event = try EventID(id) } catch { throw APIError.badRequest("'\(id)' is not an event id: \(error.reason)") }
        let ledger = state.ledger
        let traces = try await Blocking.run { () throws -> [LedgerTrace] in
            try ledger.list(DeliveryLedger.Filter(event: event, limit: 1000)).compactMap { job in try ledger.trace(try JobID(job.id)) }
        }
        guard !traces.isEmpty else {
            throw APIError.notFound("no delivery of \(id) is recorded yet: it was not ingested, made no job (check the customer's channels), or its jobs are still waiting on their topics")
        }
        var summary: [String: Int] = [:]
        for t in traces { summary[t.job.status.rawValue, default: 0] += 1 }
        return try JSON.response(TransactionTrace(transaction: id, jobs: traces.sorted { $0.job.channel < $1.job.channel }, summary: summary))
    }

    func job(_ id: String) async throws -> Response {
        guard let job = try? JobID(id) else { throw APIError.badRequest("'\(id)' is not a job id (32 hex digits)") }
        let ledger = state.ledger
        guard let trace = try await Blocking.run({ try ledger.trace(job) }) else {
            throw APIError.notFound("the ledger has no job \(id) (never attempted, or not yet)")
        }
        return try JSON.response(trace)
    }

    func list(_ request: Request, status fixed: JobStatus?) async throws -> Response {
        var filter = DeliveryLedger.Filter(limit: try request.query("limit", default: 100, range: 1...1000))
        filter.status = fixed
        if fixed == nil, let s = request.query("status") {
            guard let status = JobStatus(rawValue: s) else {
                throw APIError.badRequest("status must be one of \(JobStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            filter.status = status
        }
        if let c = request.query("channel") {
            do { filter.channel = try Channel(parsing: c) } catch { throw APIError.badRequest("channel: \(error.reason)") }
        }
        if let c = request.query("customer") {
            do { filter.customer = try CustomerID(c) } catch { throw APIError.badRequest("customer: \(error.reason)") }
        }
        if let since = request.query("since") {
            guard let ms = Int64(since) else { throw APIError.badRequest("since is a time in UTC milliseconds") }
            filter.since = Timestamp(milliseconds: ms)
        }
        let ledger = state.ledger
        let jobs = try await Blocking.run { [filter] in try ledger.list(filter) }
        struct Listing: Encodable {
            var jobs: [LedgerJob]
            var counts: [String: [String: Int]]
        }
        return try JSON.response(Listing(jobs: jobs, counts: try await state.ledgerCounts()))
    }

    struct ReplayRequest: Decodable {
        var channel: String? = nil
        /// Only jobs that died at or after this time (UTC milliseconds).
        var since: Int64? = nil
    }

    /// Moves dead jobs back into the schedule with a fresh retry budget; the running pools send them.
    func replay(_ request: Request) async throws -> Response {
        let body = try await JSON.body(request, limit: 64 << 10)
        let replay = body.isEmpty ? ReplayRequest() : try JSON.decode(ReplayRequest.self, from: body, allowed: ["": ["channel", "since"]])
        let channel: Channel?
        do { channel = try replay.channel.map { c throws(InvalidValue) in try Channel(parsing: c) } } catch {
            throw APIError.badRequest("channel: \(error.reason)")
        }
        let ledger = state.ledger
        let since = replay.since.map { Timestamp(milliseconds: $0) }
        let now = Timestamp(milliseconds: Int64(Date().timeIntervalSince1970 * 1000))
        let jobs = try await Blocking.run { try ledger.replayDead(channel: channel, since: since, now: now) }
        state.logger.info("dead letters replayed through the API", metadata: ["chapar.count": "\(jobs.count)"])
        struct Replayed: Encodable {
            var replayed: Int
            var jobs: [String]
        }
        return try JSON.response(Replayed(replayed: jobs.count, jobs: jobs.map(\.id)))
    }

    static func parameter(_ context: BasicRequestContext, _ name: String) throws -> String {
        guard let value = context.parameters.get(name) else { throw APIError.badRequest("missing \(name)") }
        return value
    }
}
