import ChaparModels
import Delivery
import Foundation
import Testing

/// The ledger's writer gathers updates into larger commits; these pin down what it still promises.
@Suite(.timeLimit(.minutes(1))) struct LedgerBatchingTests {
    func sent(_ n: Int) -> LedgerEntry {
        LedgerEntry(job: smsJob(n, customer: "C\(String(format: "%07d", n))"), status: .sent, attempts: 1, at: Timestamp(milliseconds: 1_790_000_000_000))
    }

    @Test func aFlushCommitsEverySubmittedUpdateAtOnce() async throws {
        try await PoolHarness.with { h in
            for n in 1...300 { h.ledger.submit(sent(n)) }
            try await h.ledger.flush()
            // Read through another connection, as `chapar deliveries` does.
            #expect(try h.ledger.list(.init(status: .sent, limit: 1000)).count == 300)
        }
    }

    @Test func statesSeeTheUpdatesSubmittedBeforeThemWithoutAFlush() async throws {
        try await PoolHarness.with { h in
            let job = smsJob(7, customer: "C0000007")
            h.ledger.submit(LedgerEntry(job: job, status: .retrying, attempts: 2, at: Timestamp(milliseconds: 1_790_000_000_000)))
            let states = try await h.ledger.states(of: [job.id, smsJob(8, customer: "C0000008").id])
            #expect(states[job.id]?.status == .retrying && states[job.id]?.attempts == 2)
            #expect(states.count == 1)
        }
    }

    @Test func statesOfOtherJobsDoNotWaitForTheGatheredCommit() async throws {
        try await PoolHarness.with { h in
            for n in 1...100 { h.ledger.submit(sent(n)) }
            let started = ContinuousClock.now
            let states = try await h.ledger.states(of: [smsJob(1_000, customer: "C0001000").id])
            #expect(states.isEmpty)
            // Not a timing promise, only a sanity bound: far below the test's own limits.
            #expect(ContinuousClock.now - started < .seconds(5))
            try await h.ledger.flush()
            #expect(try h.ledger.list(.init(status: .sent, limit: 1000)).count == 100)
        }
    }

    @Test func readsDuringALargeCommitStillSeeEveryEarlierUpdateAboutTheirJobs() async throws {
        try await PoolHarness.with { h in
            // Several commits' worth, so the writer is busy while the reads arrive: a commit may end
            // early for them, and what it left must still be committed and seen.
            let total = 10_000
            for n in 1...total {
                h.ledger.submit(sent(n))
                if n % 1_000 == 0 {
                    let states = try await h.ledger.states(of: [sent(n).job, sent(n - 999).job, sent(total + n).job])
                    #expect(states[sent(n).job]?.status == .sent && states[sent(n - 999).job]?.status == .sent)
                    #expect(states[sent(total + n).job] == nil)
                }
            }
            let unrelated = try await h.ledger.states(of: [sent(3 * total).job])
            #expect(unrelated.isEmpty)
            try await h.ledger.flush()
            #expect(try h.ledger.list(.init(status: .sent, limit: 2 * total)).count == total)
        }
    }

    @Test func updatesReachTheFileWithoutAFlushSoon() async throws {
        try await PoolHarness.with { h in
            for n in 1...10 { h.ledger.submit(sent(n)) }
            let deadline = ContinuousClock.now + .seconds(10)
            while try h.ledger.list(.init(status: .sent, limit: 100)).count < 10 {
                try #require(ContinuousClock.now < deadline, "gathered updates were never committed")
                try await Task.sleep(for: .milliseconds(10))
            }
        }
    }

    @Test func closingCommitsWhatIsGathered() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("chapar-ledger-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ledger = try DeliveryLedger.open(path: dir + "/deliveries.sqlite", logger: quietLogger)
        for n in 1...50 { ledger.submit(sent(n)) }
        ledger.close()
        let reopened = try DeliveryLedger.open(path: dir + "/deliveries.sqlite", logger: quietLogger)
        defer { reopened.close() }
        #expect(try reopened.list(.init(status: .sent, limit: 100)).count == 50)
    }
}

/// The ledger's reads and schema as the pools rely on them.
@Suite(.timeLimit(.minutes(1))) struct LedgerLookupTests {
    @Test func statesAnswerForEveryKnownJobAcrossLookupChunks() async throws {
        try await PoolHarness.with { h in
            let at = Timestamp(milliseconds: 1_790_000_000_000)
            let jobs = (1...300).map { smsJob($0, customer: "C\(String(format: "%07d", $0))") }
            for (i, job) in jobs.enumerated() {
                h.ledger.submit(LedgerEntry(job: job, status: i % 2 == 0 ? .sent : .retrying, attempts: 1 + i % 3, at: at))
            }
            try await h.ledger.flush()
            // 300 known jobs and 10 unknown ones: more than two chunks, the last one partly empty.
            let unknown = (1_000..<1_010).map { smsJob($0, customer: "C0001000").id }
            let states = try await h.ledger.states(of: jobs.map(\.id) + unknown)
            #expect(states.count == 300)
            for (i, job) in jobs.enumerated() {
                let state = states[job.id]
                #expect(state?.status == (i % 2 == 0 ? .sent : .retrying) && state?.attempts == 1 + i % 3 && state?.budgetFrom == 0)
            }
            #expect(try await h.ledger.states(of: Array(unknown.prefix(1))).isEmpty)
        }
    }
}
