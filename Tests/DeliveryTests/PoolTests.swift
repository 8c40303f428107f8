import ChaparModels
import Delivery
import EventLog
import Foundation
import Synchronization
import Testing

/// The pool's decisions, against a scripted in-process transport (the real gateways are in the
/// peer suites): ordering, lanes, retries, dead letters, breaker and failover, restart, timing.
@Suite(.serialized, .timeLimit(.minutes(5))) struct PoolTests {
    @Test func deliversEveryJobOnceAndCommitsEverything() async throws {
        try await PoolHarness.with { h in
            let jobs = (1...300).map { smsJob($0, customer: "C\(String(format: "%07d", $0 % 37))") }
            try await h.append(jobs)
            let transport = ScriptedTransport()
            let pool = DeliveryPool(channel: .sms, log: h.log, ledger: h.ledger, transport: transport, gateways: [gateway("gw")],
                                    configuration: fastPool, logger: quietLogger)
            try await run(pool) {
                let lag = try await h.lag(.sms)
                return transport.requests.count >= 300 && lag == 0
            }
            #expect(transport.requests.count == 300)
            #expect(Set(transport.requests.compactMap(\.idempotencyKey)) == Set(jobs.map(\.id.rawValue)))
            let sent = try h.ledger.list(.init(status: .sent, limit: 1000))
            #expect(sent.count == 300)
            #expect(sent.allSatisfy { $0.attempts == 1 && $0.gateway == "gw" && !$0.address.contains("9120000") })
            #expect(pool.statistics.held == [0, 0, 0])
        }
    }

    @Test func aSecondCopyOfAJobInHandIsNotSentAgain() async throws {
        try await PoolHarness.with { h in
            // The notifier re-emits the jobs of a batch it had not committed before a crash: the
            // same ids appear twice on the lane. While the first copy is in flight (slow gateway),
            // the second must not be sent; both offsets end up committed.
            let jobs = (1...20).map { smsJob($0, customer: "C\(String(format: "%07d", $0 % 5))") }
            try await h.append(jobs)
            try await h.append(jobs)
            let transport = ScriptedTransport { _, _ in
                try? await Task.sleep(for: .milliseconds(200))
                return .response(TransferResponse(status: 202))
            }
            let pool = DeliveryPool(channel: .sms, log: h.log, ledger: h.ledger, transport: transport, gateways: [gateway("gw", maxInFlight: 64)],
                                    configuration: fastPool, logger: quietLogger)
            try await run(pool) {
                let lag = try await h.lag(.sms)
                return lag == 0 && pool.statistics.held == [0, 0, 0]
            }
            #expect(transport.requests.count == 20, "\(transport.requests.count) requests for 20 jobs")
            #expect(Set(transport.requests.compactMap(\.idempotencyKey)).count == 20)
        }
    }

    @Test func aCustomersJobsGoOutInOrderWhateverTheConcurrency() async throws {
        try await PoolHarness.with { h in
            // Two customers, 40 jobs each, answered after random delays with 16 in flight.
            let jobs = (1...80).map { smsJob($0, customer: $0 % 2 == 0 ? "C0000002" : "C0000003") }
            try await h.append(jobs)
            let transport = ScriptedTransport { _, _ in
                try? await Task.sleep(for: .milliseconds(Int.random(in: 0...8)))
                return .response(TransferResponse(status: 202))
            }
            let pool = DeliveryPool(channel: .sms, log: h.log, ledger: h.ledger, transport: transport, gateways: [gateway("gw", maxInFlight: 16)],
                                    configuration: fastPool, logger: quietLogger)
            try await run(pool) { transport.requests.count >= 80 }
            for customer in ["C0000002", "C0000003"] {
                let events = transport.requests.filter { $0.url.contains("customer=\(customer)") }.compactMap { r -> Int? in
                    r.url.split(separator: "=").last.flatMap { Int($0.dropFirst(3)) }
                }
                #expect(events == events.sorted(), "\(customer) got its jobs out of order: \(events)")
                #expect(events.count == 40)
            }
        }
    }

    @Test func urgentJobsOvertakeABulkBacklogUnderTheSameRateLimit() async throws {
        try await PoolHarness.with { h in
            let bulk = (1...400).map { smsJob($0, customer: "C\(String(format: "%07d", $0))", priority: .bulk) }
            try await h.append(bulk)
            let transport = ScriptedTransport()
            let pool = DeliveryPool(channel: .sms, log: h.log, ledger: h.ledger, transport: transport, gateways: [gateway("gw", rate: 100)],
                                    configuration: fastPool, logger: quietLogger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await pool.run() }
                while transport.requests.count < 50 { try await Task.sleep(for: .milliseconds(10)) }
                let urgent = (1001...1005).map { smsJob($0, customer: "C\(String(format: "%07d", $0))", priority: .urgent) }
                let appended = ContinuousClock.now
                try await h.append(urgent)
                let ids = Set(urgent.map(\.id.rawValue))
                while transport.requests.filter({ ids.contains($0.idempotencyKey ?? "") }).count < 5 {
                    try await Task.sleep(for: .milliseconds(5))
                }
                let sent = transport.requests
                // At 100/s the bulk backlog left (about 350) takes 3.5 s; the urgent jobs went out
                // as soon as they were read, long before it was drained.
                let bulkAhead = sent.filter { $0.at >= appended && !ids.contains($0.idempotencyKey ?? "") }.count
                #expect(bulkAhead < 150, "urgent jobs went out only after \(bulkAhead) more bulk jobs (waited \(ContinuousClock.now - appended))")
                group.cancelAll()
                try await group.waitForAll()
            }
        }
    }

    @Test func failedAttemptsAreRetriedThenDeadLetteredWithTheReason() async throws {
        try await PoolHarness.with { h in
            let jobs = (1...5).map { smsJob($0, customer: "C\(String(format: "%07d", $0))") }
            try await h.append(jobs)
            let transport = ScriptedTransport { _, _ in .response(TransferResponse(status: 500, body: Array("upstream down".utf8))) }
            let pool = DeliveryPool(channel: .sms, log: h.log, ledger: h.ledger, transport: transport,
                                    gateways: [gateway("gw", breaker: .init(failureThreshold: 1000))], configuration: fastPool, logger: quietLogger)
            try await run(pool) {
                let dead = try await h.deadLetters().count, lag = try await h.lag(.sms)
                return dead >= 5 && lag == 0
            }
            #expect(transport.requests.count == 15, "3 attempts each")
            let dead = try await h.deadLetters()
            #expect(Set(dead.compactMap { $0.job?.id }) == Set(jobs.map(\.id)))
            #expect(dead.allSatisfy { $0.attempts == 3 && $0.reason.contains("gave up after 3 attempts") && $0.reason.contains("500") })
            let trace = try #require(try h.ledger.trace(jobs[0].id))
            #expect(trace.job.status == .dead)
            #expect(trace.attempts.map(\.number) == [1, 2, 3])
            #expect(trace.attempts.allSatisfy { $0.status == 500 && $0.outcome == "retry" })
        }
    }

    @Test func aRefusedMessageDiesAtOnceWithoutRetries() async throws {
        try await PoolHarness.with { h in
            try await h.append([smsJob(1), smsJob(10000, customer: "C0000009")])  // the adapter refuses addresses ending 0000
            let transport = ScriptedTransport { _, _ in .response(TransferResponse(status: 400, body: Array("bad number".utf8))) }
            let pool = DeliveryPool(channel: .sms, log: h.log, ledger: h.ledger, transport: transport, gateways: [gateway("gw")],
                                    configuration: fastPool, logger: quietLogger)
            try await run(pool) { (try await h.deadLetters()).count >= 2 }
            #expect(transport.requests.count == 1, "the refused address is never sent; the 400 is not retried")
            let reasons = try await h.deadLetters().map(\.reason).sorted()
            #expect(reasons.contains { $0.contains("400") && $0.contains("bad number") })
            #expect(reasons.contains { $0.contains("cannot send to") })
        }
    }

    @Test func retryAfterIsHonoured() async throws {
        try await PoolHarness.with { h in
            try await h.append([smsJob(1)])
            let transport = ScriptedTransport { _, previous in
                previous == 0 ? .response(TransferResponse(status: 429, headers: [HeaderField("Retry-After", "0.4")])) : .response(TransferResponse(status: 202))
            }
            let pool = DeliveryPool(channel: .sms, log: h.log, ledger: h.ledger, transport: transport, gateways: [gateway("gw")],
                                    configuration: fastPool, logger: quietLogger)
            try await run(pool) { transport.requests.count >= 2 }
            let r = transport.requests
            #expect(r[1].at - r[0].at >= .milliseconds(400))
            #expect(r[0].idempotencyKey == r[1].idempotencyKey)
        }
    }

    @Test func anOpenBreakerSendsToTheFailoverAndProbesThePrimaryLater() async throws {
        try await PoolHarness.with { h in
            try await h.append((1...60).map { smsJob($0, customer: "C\(String(format: "%07d", $0))") })
            let transport = ScriptedTransport { request, _ in
                request.url.hasPrefix("scripted://primary/") ? .failure(TransportError(.connect, code: 7, "refused")) : .response(TransferResponse(status: 202))
            }
            let pool = DeliveryPool(channel: .sms, log: h.log, ledger: h.ledger, transport: transport, gateways: [
                gateway("primary", maxInFlight: 1, retry: RetryPolicy(maxAttempts: 5, initialBackoff: .milliseconds(10), jitter: 0),
                        breaker: .init(failureThreshold: 3, openDuration: .seconds(2)), failover: "backup"),
                gateway("backup"),
            ], configuration: fastPool, logger: quietLogger)
            try await run(pool) { (try h.ledger.list(.init(status: .sent, limit: 100))).count >= 60 }
            let sent = try h.ledger.list(.init(status: .sent, limit: 100))
            #expect(sent.allSatisfy { $0.gateway == "backup" })
            let primary = transport.requests.filter { $0.url.hasPrefix("scripted://primary/") }.count
            // 3 failures open it; each reopening sends one probe.
            #expect(primary >= 3 && primary < 15, "primary got \(primary) requests")
            #expect(try await h.deadLetters().isEmpty)
        }
    }

    @Test func jobsAlreadySentAreNotSentAgainAfterARestartReadsThemAgain() async throws {
        try await PoolHarness.with { h in
            let jobs = (1...40).map { smsJob($0, customer: "C\(String(format: "%07d", $0))") }
            try await h.append(jobs)
            let transport = ScriptedTransport()
            let pool = DeliveryPool(channel: .sms, log: h.log, ledger: h.ledger, transport: transport, gateways: [gateway("gw")],
                                    configuration: fastPool, logger: quietLogger)
            try await run(pool) {
                let lag = try await h.lag(.sms)
                return lag == 0 && transport.requests.count >= 40
            }
            // As after a crash before the commit: the group reads every job again.
            for topic in Priority.allCases.map({ Topics.jobs(.sms, $0) }) {
                let d = try await h.log.describeTopic(topic)
                try await h.log.resetOffsets(GroupID("delivery.\(topic.rawValue)"), to: Dictionary(uniqueKeysWithValues: d.partitions.map {
                    (TopicPartition(topic, $0.partition), Offset(0))
                }))
            }
            let again = DeliveryPool(channel: .sms, log: h.log, ledger: h.ledger, transport: transport, gateways: [gateway("gw")],
                                     configuration: fastPool, logger: quietLogger)
            try await run(again) {
                let lag = try await h.lag(.sms)
                return lag == 0 && again.statistics.skippedAlreadyFinal >= 40
            }
            #expect(transport.requests.count == 40)
        }
    }

    @Test func aJobPastItsDeadlineIsExpiredNotSent() async throws {
        try await PoolHarness.with { h in
            let now = SystemClock().now()
            try await h.append([smsJob(1, deadline: Timestamp(milliseconds: now.milliseconds - 1000)), smsJob(2, customer: "C0000002")])
            let transport = ScriptedTransport()
            let pool = DeliveryPool(channel: .sms, log: h.log, ledger: h.ledger, transport: transport, gateways: [gateway("gw")],
                                    configuration: fastPool, logger: quietLogger)
            try await run(pool) {
                let lag = try await h.lag(.sms)
                return lag == 0 && transport.requests.count >= 1
            }
            #expect(transport.requests.count == 1)
            let expired = try h.ledger.list(.init(status: .expired))
            #expect(expired.map(\.event) == ["EV-1"])
            #expect(expired.first?.reason?.contains("deadline") == true)
        }
    }

    @Test func quietHoursParkTheJobInTheScheduleUntilItsTime() async throws {
        try await PoolHarness.with { h in
            let clock = ManualWallClock(SystemClock().now())
            let morning = Timestamp(milliseconds: clock.now().milliseconds + 8 * 3_600_000)
            try await h.append([smsJob(1, notBefore: morning), smsJob(2, customer: "C0000002")])
            let transport = ScriptedTransport()
            let pool = DeliveryPool(channel: .sms, log: h.log, ledger: h.ledger, transport: transport, gateways: [gateway("gw")],
                                    configuration: fastPool, clock: clock, logger: quietLogger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await pool.run() }
                // The other job goes at once; the deferred one is committed (lag 0) and held in the ledger, not memory.
                while true {
                    let lag = try await h.lag(.sms)
                    if lag == 0 && !transport.requests.isEmpty { break }
                    try await Task.sleep(for: .milliseconds(10))
                }
                #expect(transport.requests.count == 1)
                #expect(pool.statistics.held == [0, 0, 0])
                let parked = try h.ledger.list(.init(status: .scheduled))
                #expect(parked.count == 1 && parked.first?.dueAt == morning)
                // Not a minute early: still parked just before its time.
                clock.advance(by: .milliseconds(8 * 3_600_000 - 60_000))
                try await Task.sleep(for: .milliseconds(400))
                #expect(transport.requests.count == 1)
                clock.advance(by: .seconds(60))
                while transport.requests.count < 2 { try await Task.sleep(for: .milliseconds(20)) }
                group.cancelAll()
                try await group.waitForAll()
            }
            #expect(try h.ledger.list(.init(status: .sent)).count == 2)
        }
    }

    @Test func replayedDeadLettersAreSentAgainWithAFreshRetryBudget() async throws {
        try await PoolHarness.with { h in
            let job = smsJob(1)
            try await h.append([job])
            let healthy = Mutex(false)
            let transport = ScriptedTransport { _, _ in
                healthy.withLock { $0 } ? .response(TransferResponse(status: 202)) : .response(TransferResponse(status: 503))
            }
            let pool = DeliveryPool(channel: .sms, log: h.log, ledger: h.ledger, transport: transport,
                                    gateways: [gateway("gw", breaker: .init(failureThreshold: 1000))], configuration: fastPool, logger: quietLogger)
            try await run(pool) { (try h.ledger.list(.init(status: .dead))).count == 1 }
            healthy.withLock { $0 = true }
            let replayed = try h.ledger.replayDead(channel: .sms, since: nil, now: SystemClock().now())
            #expect(replayed.map(\.id) == [job.id.rawValue])
            let again = DeliveryPool(channel: .sms, log: h.log, ledger: h.ledger, transport: transport,
                                     gateways: [gateway("gw")], configuration: fastPool, logger: quietLogger)
            try await run(again) { (try h.ledger.list(.init(status: .sent))).count == 1 }
            let trace = try #require(try h.ledger.trace(job.id))
            #expect(trace.job.attempts == 4)
            #expect(trace.attempts.last?.outcome == "accepted")
            #expect(Set(transport.requests.compactMap(\.idempotencyKey)) == [job.id.rawValue])
        }
    }

    @Test func stoppingLetsInFlightAttemptsFinishAndRecordsThem() async throws {
        try await PoolHarness.with { h in
            try await h.append((1...8).map { smsJob($0, customer: "C\(String(format: "%07d", $0))") })
            let transport = ScriptedTransport { _, _ in
                try? await Task.sleep(for: .milliseconds(300))
                return .response(TransferResponse(status: 202))
            }
            let pool = DeliveryPool(channel: .sms, log: h.log, ledger: h.ledger, transport: transport, gateways: [gateway("gw", maxInFlight: 4)],
                                    configuration: fastPool, logger: quietLogger)
            try await run(pool) { transport.requests.count >= 4 }
            // The 4 in flight at the stop finished and were recorded; the rest were left for the next run.
            #expect(transport.requests.count == 4)
            #expect(try h.ledger.list(.init(status: .sent)).count == 4)
            #expect(try await h.lag(.sms) == 4)
        }
    }
}
