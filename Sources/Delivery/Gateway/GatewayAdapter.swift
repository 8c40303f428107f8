public import ChaparModels

/// Speaks one gateway's protocol: sends a job through a ``Transport`` and says how the attempt
/// ended. Each channel module (`ChannelSMS`, `ChannelIM`, later email and fax) provides adapters;
/// the pool, limits, retries, ledger and dead letters are the same for all of them.
///
/// Most gateways take one request per message: conform to ``RequestResponseAdapter`` and
/// ``deliver(_:attempt:via:)`` comes for free. An adapter that needs more than one exchange (a
/// Matrix direct-message room to find or create first) implements `deliver` itself.
///
/// Every request carries the job id (an `Idempotency-Key` header or the gateway's own field) so a
/// retried or re-sent job is recognisable.
public protocol GatewayAdapter: Sendable {
    func deliver(_ job: DeliveryJob, attempt: Int, via transport: any Transport) async -> AttemptResult
}

/// A gateway that settles a message's fate only after accepting it, and has to be asked (HylaFAX
/// queues a fax, dials later, and keeps the outcome in its done queue). The pool keeps the record
/// of every job such a gateway accepted, asks it every ``reportInterval`` about the ones without a
/// final report, and acts on what it says: delivered → `delivered`; failed → another attempt after
/// the gateway's retry policy's backoff while the job has attempts left (the job goes back into
/// the ledger's schedule, with the same id), else `dead` with a dead letter. A push gateway
/// (Kannel's delivery reports) needs none of this.
public protocol ReportPollingAdapter: GatewayAdapter {
    /// How often the pool asks.
    var reportInterval: Duration { get }
    /// The final fates among `references` (the gateway's own ids, as its ``AttemptOutcome/accepted(reference:response:)``
    /// gave them); a reference without an entry has no final fate yet. A gateway that cannot be
    /// asked now returns nothing (the pool asks again next time).
    func reports(for references: [String], via transport: any Transport) async -> [String: PolledReport]
}

/// What a ``ReportPollingAdapter`` says about one message it had accepted.
public struct PolledReport: Sendable, Hashable {
    public enum Fate: Sendable, Hashable {
        case delivered
        /// It did not reach the recipient. `retry`: trying again may help (busy line, no answer);
        /// false for a fate that will not change (a number that does not exist).
        case failed(retry: Bool)
    }

    public var fate: Fate
    /// The gateway's words, for the trace (`Busy signal detected`, `Kill time expired`).
    public var detail: String

    public init(_ fate: Fate, detail: String) {
        self.fate = fate
        self.detail = detail
    }
}

/// How one attempt ended, with the gateway's status code (if it answered) for the ledger.
public struct AttemptResult: Sendable, Hashable {
    public var outcome: AttemptOutcome
    public var status: Int?

    public init(_ outcome: AttemptOutcome, status: Int? = nil) {
        self.outcome = outcome
        self.status = status
    }
}

/// A gateway that takes one request per message.
public protocol RequestResponseAdapter: GatewayAdapter {
    /// The request for one attempt. Throws when this job can never be sent through this gateway
    /// (an address it cannot take): the job fails for good with that reason, without a request.
    func request(for job: DeliveryJob, attempt: Int) throws(PermanentFailure) -> TransferRequest
    /// How the gateway's answer (or its absence) ends the attempt.
    func outcome(of result: TransferResult, for job: DeliveryJob) -> AttemptOutcome
}

extension RequestResponseAdapter {
    public func deliver(_ job: DeliveryJob, attempt: Int, via transport: any Transport) async -> AttemptResult {
        let request: TransferRequest
        do {
            request = try self.request(for: job, attempt: attempt)
        } catch {
            return AttemptResult(.rejected(reason: error.reason))
        }
        let result = await transport.perform(request)
        if case .response(let r) = result { return AttemptResult(outcome(of: result, for: job), status: r.status) }
        return AttemptResult(outcome(of: result, for: job))
    }
}

/// A job that cannot be sent, whatever we retry.
public struct PermanentFailure: Error, Sendable, Hashable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// How one attempt ended.
public enum AttemptOutcome: Sendable, Hashable {
    /// The gateway took the message. `reference` is its own id for it, if it gave one;
    /// `response` is what it said, kept in the ledger.
    case accepted(reference: String?, response: String)
    /// Worth trying again (after `retryAfter` if the gateway said so). `gatewayFault` says
    /// whether the gateway itself is unwell (counts for its circuit breaker and failover).
    case retry(reason: String, retryAfter: Duration?, gatewayFault: Bool)
    /// The gateway refused this message for good (bad number, blocked chat, 4xx).
    case rejected(reason: String)
}

/// The usual reading of an HTTP gateway's answer, shared by the HTTP adapters:
/// 2xx accepted; 429 and 503 retried after `Retry-After`; 408, 425 and other 5xx retried as the
/// gateway's fault; other 4xx rejected; transport failures retried (except our own bad request).
public enum HTTPOutcome {
    public static func classify(_ result: TransferResult, gateway: String, reference: (TransferResponse) -> String? = { _ in nil }) -> AttemptOutcome {
        switch result {
        case .failure(let error):
            let reason = "\(gateway): \(error.kind.rawValue): \(error.description)"
            return error.isRetriable ? .retry(reason: reason, retryAfter: nil, gatewayFault: error.kind != .cancelled) : .rejected(reason: reason)
        case .response(let r):
            // Only the refusals and retries quote the answer: an accepted message skips building it.
            var said: String { "\(gateway) answered \(r.status): \(r.bodyText(limit: 200))" }
            switch r.status {
            case 200..<300:
                return .accepted(reference: reference(r), response: "\(r.status) \(r.bodyText(limit: 200))")
            case 429, 503:
                return .retry(reason: said, retryAfter: retryAfter(r), gatewayFault: true)
            case 401, 403:
                // Our credentials were refused: every message would be, so this is the gateway
                // route's fault (breaker, failover, alert), not this message's.
                return .retry(reason: "\(said) (credentials refused: check the gateway's configuration)", retryAfter: nil, gatewayFault: true)
            case 408, 425, 500..<600:
                return .retry(reason: said, retryAfter: retryAfter(r), gatewayFault: true)
            default:
                return .rejected(reason: said)
            }
        }
    }

    /// `Retry-After` as delta-seconds (the form gateways use). An HTTP-date is read as "soon"
    /// (nil: the policy's own backoff applies) rather than trusting a remote clock.
    public static func retryAfter(_ r: TransferResponse) -> Duration? {
        guard let text = r.header("Retry-After")?.trimmingSpaces, let seconds = Double(text), seconds >= 0 else { return nil }
        return .milliseconds(Int64(seconds * 1000))
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " || s.first == "\t" { s.removeFirst() }
        while s.last == " " || s.last == "\t" || s.last == "\r" { s.removeLast() }
        return String(s)
    }
}
