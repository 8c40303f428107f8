public import ChaparModels

/// Where a job stands in the delivery ledger.
///
/// A job that was never attempted has no ledger row: it is still on its `notify.*` topic (the
/// consumer group's lag counts it). `sent`, `delivered`, `failed`, `dead` and `expired` are final
/// for delivery: a job in one of them is never sent again, also after a restart.
public enum JobStatus: String, Sendable, CaseIterable, Codable, Hashable {
    /// Deferred (quiet hours, or a replayed dead letter): waits in the ledger until `dueAt`.
    case scheduled
    /// At least one attempt failed and another will follow.
    case retrying
    /// A gateway accepted it.
    case sent
    /// The gateway's delivery report says it reached the handset or inbox.
    case delivered
    /// The gateway's delivery report says it did not reach the recipient.
    case failed
    /// Given up after the last attempt, or rejected for good; on `notify.dead` with its reason.
    case dead
    /// Its deadline passed before it could be sent; not sent.
    case expired

    /// True for the states after which the job is never sent again.
    public var isFinal: Bool {
        switch self {
        case .scheduled, .retrying: false
        case .sent, .delivered, .failed, .dead, .expired: true
        }
    }

    /// Precedence when two updates race (a delivery report can arrive before the `sent` row is
    /// written): a later-stage state never goes back to an earlier one.
    var rank: Int {
        switch self {
        case .scheduled: 0
        case .retrying: 1
        case .sent: 2
        case .delivered, .failed, .dead, .expired: 3
        }
    }

    public init(parsing text: String) throws(InvalidValue) {
        guard let s = JobStatus(rawValue: text.lowercased()) else {
            throw InvalidValue("status", "'\(text)' is not a status; use one of \(JobStatus.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self = s
    }
}

/// One attempt to hand a job to a gateway.
public struct AttemptRecord: Sendable, Hashable, Codable {
    /// 1 for the first attempt.
    public var number: Int
    public var at: Timestamp
    public var gateway: String
    /// `accepted`, `retry`, `rejected`.
    public var outcome: String
    /// The gateway's status code, or nil when no answer came.
    public var status: Int?
    /// What the gateway said, or why nothing came back (cut to a few hundred characters).
    public var response: String
    public var durationMilliseconds: Double

    public init(number: Int, at: Timestamp, gateway: String, outcome: String, status: Int?, response: String, durationMilliseconds: Double) {
        self.number = number
        self.at = at
        self.gateway = gateway
        self.outcome = outcome
        self.status = status
        self.response = response
        self.durationMilliseconds = durationMilliseconds
    }
}

/// A change of one job's state, with the attempt that caused it (if any).
public struct LedgerEntry: Sendable {
    public var job: JobID
    public var event: EventID
    public var customer: CustomerID
    public var channel: Channel
    public var priority: Priority
    public var status: JobStatus
    /// Attempts made so far (the row keeps the largest seen).
    public var attempts: Int
    public var gateway: String?
    public var gatewayReference: String?
    public var lastResponse: String?
    public var reason: String?
    /// The address, masked for display (`+98912***4567`).
    public var maskedAddress: String
    public var createdAt: Timestamp
    public var at: Timestamp
    /// For `scheduled`: when to send.
    public var dueAt: Timestamp?
    /// The job's record bytes, kept while `scheduled` (to send it later) and when `dead` (to replay it).
    public var record: [UInt8]?
    public var attempt: AttemptRecord?

    public init(job: DeliveryJob, status: JobStatus, attempts: Int, at: Timestamp, gateway: String? = nil,
                gatewayReference: String? = nil, lastResponse: String? = nil, reason: String? = nil,
                dueAt: Timestamp? = nil, record: [UInt8]? = nil, attempt: AttemptRecord? = nil) {
        self.job = job.id
        self.event = job.event
        self.customer = job.customer
        self.channel = job.channel
        self.priority = job.priority
        self.status = status
        self.attempts = attempts
        self.gateway = gateway
        self.gatewayReference = gatewayReference
        self.lastResponse = lastResponse
        self.reason = reason
        self.maskedAddress = AddressMask.mask(job.address)
        self.createdAt = job.createdAt
        self.at = at
        self.dueAt = dueAt
        self.record = record
        self.attempt = attempt
    }
}

/// A gateway's delivery report for a job (Kannel DLR).
public struct DeliveryReport: Sendable, Hashable, Codable {
    public var job: JobID
    public var at: Timestamp
    public var gateway: String
    /// `delivered`, `failed`, or nil for an intermediate report (SMSC accepted, buffered).
    public var status: JobStatus?
    /// The gateway's report as received (type and status text), for the trace.
    public var detail: String

    public init(job: JobID, at: Timestamp, gateway: String, status: JobStatus?, detail: String) {
        self.job = job
        self.at = at
        self.gateway = gateway
        self.status = status
        self.detail = detail
    }
}

/// A job's row in the ledger.
public struct LedgerJob: Sendable, Hashable, Codable {
    public var id: String
    public var event: String
    public var customer: String
    public var channel: String
    public var priority: String
    public var status: JobStatus
    public var attempts: Int
    public var gateway: String?
    public var gatewayReference: String?
    public var lastResponse: String?
    public var reason: String?
    public var address: String
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    public var dueAt: Timestamp?
}

/// Everything the ledger knows of one job: its row, each attempt and each delivery report.
public struct LedgerTrace: Sendable, Hashable, Codable {
    public var job: LedgerJob
    public var attempts: [AttemptRecord]
    public var reports: [DeliveryReport]
}

/// Masks addresses for the ledger, logs and the console: no full phone number, email or chat id.
public enum AddressMask {
    /// `+989121234567` → `+98912***4567`; `user@bank.ir` → `u***@bank.ir`; others keep their
    /// first 3 and last 2 characters.
    public static func mask(_ address: String) -> String {
        var copy = address
        if let masked = copy.withUTF8(maskPrintableASCII) { return masked }
        let chars = Array(address)
        if let at = chars.firstIndex(of: "@"), at > 0 {
            return String(chars[0]) + "***" + String(chars[at...])
        }
        if chars.count <= 6 { return String(repeating: "*", count: chars.count) }
        let keepEnd = chars.first == "+" ? 4 : 2
        let keepStart = chars.first == "+" ? min(6, chars.count - keepEnd - 1) : 3
        return String(chars[0..<keepStart]) + "***" + String(chars[(chars.count - keepEnd)...])
    }

    /// The same rules on bytes, for printable ASCII (every phone number, and most addresses), where
    /// each byte is one Character; nil for anything else. The ledger masks every job's address, and
    /// an array of Characters per job was a measurable part of a delivery's cost.
    private static func maskPrintableASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        guard bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else { return nil }
        func text(_ range: Range<Int>) -> String { String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self) }
        if let at = bytes.firstIndex(of: UInt8(ascii: "@")), at > 0 {
            return text(0..<1) + "***" + text(at..<bytes.count)
        }
        if bytes.count <= 6 { return String(repeating: "*", count: bytes.count) }
        let plus = bytes[0] == UInt8(ascii: "+")
        let keepEnd = plus ? 4 : 2
        let keepStart = plus ? min(6, bytes.count - keepEnd - 1) : 3
        return text(0..<keepStart) + "***" + text((bytes.count - keepEnd)..<bytes.count)
    }
}
