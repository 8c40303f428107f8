import ChaparModels
import Delivery
import EventLog
import Foundation
import Synchronization
import Testing

/// A gateway that accepts every job with a reference and settles it later, as HylaFAX does:
/// `fates` says, per job address, what each successive poll answer is once the job was sent.
final class PollingScriptedAdapter: ReportPollingAdapter, RequestResponseAdapter {
    let name = "polled"
    let reportInterval: Duration = .milliseconds(50)
    /// Per address, the fates of its successive submissions (the last one repeats).
    let fates: [String: [PolledReport.Fate]]
    /// How often each address was submitted, and the references handed out.
    let submissions = Mutex<[String: Int]>([:])
    private let references = Mutex<[String: (address: String, submission: Int)]>([:])

    init(fates: [String: [PolledReport.Fate]]) { self.fates = fates }

    func request(for job: DeliveryJob, attempt: Int) throws(PermanentFailure) -> TransferRequest {
        let n = submissions.withLock { s -> Int in
            s[job.address, default: 0] += 1
            return s[job.address]!   // just set
        }
        let reference = "R\(job.address)-\(n)"
        references.withLock { $0[reference] = (job.address, n) }
        return TransferRequest(url: "scripted://polled/\(reference)", headers: ["Idempotency-Key: \(job.id.rawValue)"])
    }

    func outcome(of result: TransferResult, for job: DeliveryJob) -> AttemptOutcome {
        let n = submissions.withLock { $0[job.address] ?? 0 }
        return .accepted(reference: "R\(job.address)-\(n)", response: "queued")
    }

    func reports(for references: [String], via transport: any Transport) async -> [String: PolledReport] {
        var answer: [String: PolledReport] = [:]
        for reference in references {
            guard let (address, n) = self.references.withLock({ $0[reference] }), let list = fates[address], !list.isEmpty else { continue }
            let fate = list[min(n, list.count) - 1]
            answer[reference] = PolledReport(fate, detail: "\(fate) (submission \(n))")
        }
        return answer
    }
}

@Suite(.timeLimit(.minutes(2))) struct PolledReportTests {
    @Test func reportsSettleJobsAFailureIsSentAgainWhileAttemptsLastAndThenDead() async throws {
        let delivered = smsJob(1, customer: "C0000001")
        let flaky = smsJob(2, customer: "C0000002")
        let hopeless = smsJob(3, customer: "C0000003")
        let exhausted = smsJob(4, customer: "C0000004")
        let adapter = PollingScriptedAdapter(fates: [
            delivered.address: [.delivered],
            flaky.address: [.failed(retry: true), .delivered],
            hopeless.address: [.failed(retry: false)],
            exhausted.address: [.failed(retry: true)],
        ])
        try await PoolHarness.with { h in
            try await h.append([delivered, flaky, hopeless, exhausted])
            let gateway = Gateway(settings: GatewaySettings(name: "polled", type: "test", channel: .sms,
                                                            retry: RetryPolicy(maxAttempts: 3, initialBackoff: .milliseconds(20), jitter: 0)),
                                  adapter: adapter)
            let pool = DeliveryPool(channel: .sms, log: h.log, ledger: h.ledger, transport: ScriptedTransport(), gateways: [gateway],
                                    configuration: fastPool, logger: quietLogger)
            try await run(pool) {
                let states = try [delivered, flaky, hopeless, exhausted].map { try h.ledger.trace($0.id)?.job.status }
                return states == [.delivered, .delivered, .dead, .dead]
            }
            let f = try #require(try h.ledger.trace(flaky.id))
            #expect(f.attempts.count == 2 && f.job.attempts == 2, "a failed fax is sent again: \(f.attempts)")
            #expect(f.reports.map(\.status) == [nil, .delivered])
            #expect(f.reports.first?.detail.hasPrefix("failed:") == true)

            let x = try #require(try h.ledger.trace(exhausted.id))
            #expect(x.attempts.count == 3, "sent again until the retry budget is spent: \(x.attempts)")
            #expect(x.job.reason?.contains("gave up after 3 attempts") == true, "\(String(describing: x.job.reason))")

            let n = try #require(try h.ledger.trace(hopeless.id))
            #expect(n.attempts.count == 1, "a failure that will not change is not retried")
            #expect(adapter.submissions.withLock { $0[hopeless.address] } == 1)

            let letters = try await h.deadLetters()
            #expect(Set(letters.compactMap { $0.job?.id }) == [hopeless.id, exhausted.id])
            #expect(try await h.lag(.sms) == 0)
        }
    }
}
