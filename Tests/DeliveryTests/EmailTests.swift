import ChannelEmail
import ChaparModels
import Delivery
import EventLog
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// An email job as the notifier writes it.
func emailJob(_ n: Int, address: String, priority: Priority = .normal, language: Language = .en,
              subject: String = "Chapar Bank: debit on account ****0001", text: String = "Your account was debited 12,500.00 IRR.",
              html: String = "<p>Your account was debited <b>12,500.00 IRR</b>.</p>") -> DeliveryJob {
    let event = try! EventID("EM-\(n)")  // literal ids: always valid
    let customer = try! CustomerID("C\(String(format: "%07d", n))")
    return DeliveryJob(id: JobID(event: event, customer: customer, channel: .email), event: event, customer: customer, channel: .email,
                       priority: priority, kind: .debit, address: address, language: language,
                       content: .email(subject: subject, text: text, html: html), createdAt: Timestamp(milliseconds: 1_790_000_000_000))
}

let persianSubject = "بانک چاپار: برداشت ۱٬۲۵۰٬۰۰۰ ریال از حساب ‎****0001 در تاریخ ۱۴۰۵/۰۶/۳۰ — لطفاً بررسی کنید"
let persianText = "مشتری گرامی، مبلغ ۱٬۲۵۰٬۰۰۰ ریال از حساب شما برداشت شد.\nموجودی: ۹۸٬۷۵۰٬۰۰۰ ریال"
let persianHTML = "<p dir=\"rtl\">مشتری گرامی، مبلغ <b>۱٬۲۵۰٬۰۰۰ ریال</b> از حساب شما برداشت شد.</p>"

func smtpAdapter(_ url: String, name: String = "smtp-1", startTLS: Bool = false, caFile: String? = nil, login: Login? = nil,
                 unsubscribe: String? = nil) throws -> SMTPAdapter {
    SMTPAdapter(name: name, configuration: .init(url: url, startTLS: startTLS, login: login,
                                                 from: try Mailbox(parsing: "بانک چاپار <alerts@chapar.example>"), unsubscribe: unsubscribe),
                timeouts: Timeouts(connect: .seconds(2), total: .seconds(2)), tls: TLSOptions(caFile: caFile))
}

/// The message bytes and headers, without a server.
@Suite struct EmailMessageTests {
    func lines(_ bytes: [UInt8]) -> [String] {
        String(decoding: bytes, as: UTF8.self).components(separatedBy: "\r\n")
    }

    @Test func headersAreASCIIFoldedAndTheMessageIsTheSameOnEveryRetry() throws {
        let adapter = try smtpAdapter("smtp://127.0.0.1:2525")
        let job = emailJob(1, address: "Customer.One@Example.COM", language: .fa, subject: persianSubject, text: persianText, html: persianHTML)
        let first = try adapter.request(for: job, attempt: 1)
        let second = try adapter.request(for: job, attempt: 2)
        #expect(first.body == second.body, "a retry must send the same bytes (Message-ID, boundaries, Date)")
        guard case .smtp(let envelope) = first.kind else {
            Issue.record("not an SMTP request: \(first.kind)")
            return
        }
        #expect(envelope.from == "alerts@chapar.example")
        #expect(envelope.recipients == ["Customer.One@example.com"])
        #expect(first.url == "smtp://127.0.0.1:2525/chapar.example")

        let text = String(decoding: first.body, as: UTF8.self)
        #expect(!text.replacing("\r\n", with: "").contains("\n"), "bare LF in the message")
        let all = lines(first.body)
        let headerEnd = try #require(all.firstIndex(of: ""))
        for line in all[..<headerEnd] {
            #expect(line.utf8.count <= 78, "header line over 78 characters: \(line)")
            #expect(line.utf8.allSatisfy { $0 < 0x80 }, "non-ASCII header line: \(line)")
        }
        for line in all { #expect(line.utf8.count <= 998) }
        #expect(all.contains("Message-ID: <\(job.id.rawValue)@chapar.example>"))
        #expect(all.contains("Date: Mon, 21 Sep 2026 14:13:20 +0000"))
        #expect(all.contains("Content-Language: fa"))
        #expect(all.contains("Auto-Submitted: auto-generated"))
        #expect(all.contains { $0.hasPrefix("Subject: =?UTF-8?B?") })
        #expect(all.contains { $0.hasPrefix("From: =?UTF-8?B?") && $0.hasSuffix("<alerts@chapar.example>") })
        #expect(all.contains(" boundary=\"=_alt_\(job.id.rawValue)\""))
        #expect(!all.contains { $0.hasPrefix("List-Unsubscribe") }, "List-Unsubscribe is for bulk mail only")
    }

    @Test func bulkMailCarriesListUnsubscribeAndTextOnlyMailHasOnePart() throws {
        let adapter = try smtpAdapter("smtp://127.0.0.1:2525", unsubscribe: "https://bank.example/unsubscribe")
        let bulk = lines(try adapter.request(for: emailJob(2, address: "a@example.com", priority: .bulk, html: ""), attempt: 1).body)
        #expect(bulk.contains("List-Unsubscribe: <https://bank.example/unsubscribe>"))
        #expect(bulk.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"))
        #expect(bulk.contains("Precedence: bulk"))
        #expect(bulk.contains("Content-Type: text/plain; charset=utf-8"))
        #expect(!bulk.contains { $0.contains("multipart") })

        let plain = try smtpAdapter("smtp://127.0.0.1:2525")
        let mailto = lines(try plain.request(for: emailJob(3, address: "a@example.com", priority: .bulk), attempt: 1).body)
        #expect(mailto.contains("List-Unsubscribe: <mailto:alerts@chapar.example?subject=unsubscribe>"))
    }

    @Test func dateHeadersFollowRFC5322() {
        #expect(MailHeader.date(Timestamp(milliseconds: 0)) == "Thu, 01 Jan 1970 00:00:00 +0000")
        #expect(MailHeader.date(Timestamp(milliseconds: 951_782_400_000)) == "Tue, 29 Feb 2000 00:00:00 +0000")
        #expect(MailHeader.date(Timestamp(milliseconds: 1_796_312_203_999)) == "Thu, 03 Dec 2026 15:36:43 +0000")
        #expect(MailHeader.date(Timestamp(milliseconds: -1)) == "Wed, 31 Dec 1969 23:59:59 +0000")
    }

    @Test func displayNamesAreQuotedOrEncoded() throws {
        #expect(MailHeader.phrase("Chapar Bank") == "Chapar Bank")
        #expect(MailHeader.phrase("Bank, Alerts") == "\"Bank, Alerts\"")
        #expect(MailHeader.phrase("say \"hi\"") == "\"say \\\"hi\\\"\"")
        #expect(MailHeader.phrase("بانک").hasPrefix("=?UTF-8?B?"))
        let box = try Mailbox(parsing: "  \"Chapar Bank\" <Alerts@Chapar.Example> ")
        #expect(box.name == "Chapar Bank")
        #expect(box.address == "Alerts@chapar.example")
        #expect(throws: InvalidValue.self) { try Mailbox(parsing: "Bank <not an address>") }
    }

    @Test func badAddressesAndOtherMediaAreClearPermanentFailures() throws {
        let adapter = try smtpAdapter("smtp://127.0.0.1:2525")
        for address in ["not-an-address", "a@b", "two@@example.com", "with space@example.com", ""] {
            #expect {
                _ = try adapter.request(for: emailJob(4, address: address), attempt: 1)
            } throws: { error in
                "\(error)".contains("is not an email address")
            }
        }
        var sms = emailJob(5, address: "a@example.com")
        sms.content = .sms(text: "hi", encoding: "gsm7", segments: 1)
        #expect { _ = try adapter.request(for: sms, attempt: 1) } throws: { "\($0)".contains("sends email only") }
    }

    @Test func smtpRepliesMapOntoTheRetryPaths() {
        func answer(_ status: Int, _ replies: [String]) -> AttemptOutcome {
            SMTPOutcome.classify(.response(TransferResponse(status: status, replies: replies)), gateway: "smtp-1")
        }
        #expect(answer(250, ["220 hi", "250 2.0.0 OK: queued as ABC123"]) == .accepted(reference: "ABC123", response: "250 2.0.0 OK: queued as ABC123"))
        #expect(answer(421, ["421 4.3.2 closing"]) == .retry(reason: "smtp-1 answered 421 4.3.2 closing", retryAfter: nil, gatewayFault: true))
        #expect(answer(451, ["451 local error"]) == .retry(reason: "smtp-1 answered 451 local error", retryAfter: nil, gatewayFault: true))
        #expect(answer(450, ["450 mailbox busy"]) == .retry(reason: "smtp-1 answered 450 mailbox busy", retryAfter: nil, gatewayFault: false))
        #expect(answer(550, ["250 OK", "550-5.1.1 no such", "550 5.1.1 user"]) == .rejected(reason: "smtp-1 answered 550-5.1.1 no such 550 5.1.1 user"))
        guard case .rejected(let reason) = answer(535, ["535 5.7.8 Authentication credentials invalid"]) else {
            Issue.record("535 must be a permanent refusal")
            return
        }
        #expect(reason.contains("535 5.7.8") && reason.contains("username and password"))
        let timeout = SMTPOutcome.classify(.failure(TransportError(.timeout, code: 28, "Timeout was reached")), gateway: "smtp-1")
        #expect(timeout == .retry(reason: "smtp-1: timeout: Timeout was reached (curl 28)", retryAfter: nil, gatewayFault: true))
    }

    @Test func configurationMistakesNameTheirKey() {
        func problem(_ values: [String: String]) -> ConfigurationProblem? {
            do {
                _ = try SMTPAdapter.factory(GatewaySettings(name: "smtp-1", type: "smtp", channel: .email), GatewayOptions(values), GatewayContext())
                return nil
            } catch {
                return error
            }
        }
        let good = ["url": "smtp://127.0.0.1:25", "from": "Bank <alerts@bank.example>"]
        #expect(problem(good) == nil)
        #expect(problem(good.merging(["url": "http://127.0.0.1:25"]) { $1 })?.key == "url")
        #expect(problem(good.merging(["url": "smtp://127.0.0.1:25/path"]) { $1 })?.message.contains("ehlo-name") == true)
        #expect(problem(["url": "smtp://127.0.0.1:25"])?.key == "from")
        #expect(problem(good.merging(["from": "Bank <bank>"]) { $1 })?.key == "from")
        #expect(problem(good.merging(["username": "u"]) { $1 })?.key == "password")
        #expect(problem(good.merging(["unsubscribe": "ftp://x"]) { $1 })?.key == "unsubscribe")
        #expect(problem(good.merging(["starttls": "maybe"]) { $1 })?.key == "starttls")
    }
}

/// Email through a real SMTP server (aiosmtpd writing a Maildir, scripts/peers/smtp.sh) on
/// loopback; what arrived is decoded by Python's email package, not by our own code.
@Suite(.serialized, .timeLimit(.minutes(3))) struct EmailPeerTests {
    func emailGateway(_ adapter: SMTPAdapter, maxInFlight: Int = 16, retry: RetryPolicy = RetryPolicy(maxAttempts: 2, initialBackoff: .milliseconds(20), jitter: 0)) -> Gateway {
        Gateway(settings: GatewaySettings(name: adapter.name, type: "smtp", channel: .email, maxInFlight: maxInFlight, retry: retry), adapter: adapter)
    }

    @Test func persianAndEnglishMailArrivesAsMultipartThatAMailReaderDecodes() async throws {
        let smtp = try await offPool { try SMTPPeer.start() }
        defer { smtp.stop() }
        let engine = CurlEngine()
        defer { engine.shutdown() }
        let persian = emailJob(1, address: "customer.one@example.com", language: .fa, subject: persianSubject, text: persianText, html: persianHTML)
        let english = emailJob(2, address: "customer.two@example.com", priority: .bulk, html: "")
        try await PoolHarness.with { h in
            try await h.deliver([persian, english], through: emailGateway(try smtpAdapter(smtp.url)), transport: engine)
            for job in [persian, english] {
                let trace = try #require(try h.ledger.trace(job.id))
                #expect(trace.job.status == .sent)
                #expect(trace.attempts.first?.status == 250)
                #expect(trace.attempts.first?.response.contains("queued as") == true)
            }
        }
        let mail = try await offPool { try smtp.waitForMessages(count: 2) }
        let fa = try #require(mail.first { $0.rcpt_to == ["customer.one@example.com"] })
        #expect(fa.subject == persianSubject)
        #expect(fa.from == "بانک چاپار <alerts@chapar.example>")
        #expect(fa.mail_from == "alerts@chapar.example")
        #expect(fa.message_id == "<\(persian.id.rawValue)@chapar.example>")
        #expect(fa.structure == ["multipart/alternative", "text/plain", "text/html"])
        #expect(fa.text.replacing("\r\n", with: "\n").trimmingCharacters(in: .newlines) == persianText)
        #expect(fa.html.replacing("\r\n", with: "\n").trimmingCharacters(in: .newlines) == persianHTML)
        #expect(fa.headers["list-unsubscribe"] == nil)
        #expect(fa.date == "Mon, 21 Sep 2026 14:13:20 +0000")
        #expect(fa.max_line <= 78)

        let en = try #require(mail.first { $0.rcpt_to == ["customer.two@example.com"] })
        #expect(en.structure == ["text/plain"])
        #expect(en.headers["list-unsubscribe"] == "<mailto:alerts@chapar.example?subject=unsubscribe>")
        #expect(en.headers["x-chapar-job"] == english.id.rawValue)
    }

    @Test func manyMessagesShareAFewConnections() async throws {
        let smtp = try await offPool { try SMTPPeer.start() }
        defer { smtp.stop() }
        let engine = CurlEngine()
        defer { engine.shutdown() }
        let jobs = (0..<300).map { emailJob(100 + $0, address: "c\($0)@example.com") }
        let maxInFlight = 8
        try await PoolHarness.with { h in
            try await h.deliver(jobs, through: emailGateway(try smtpAdapter(smtp.url), maxInFlight: maxInFlight), transport: engine)
            #expect(try h.ledger.list(.init(status: .sent, limit: 1000)).count == jobs.count)
        }
        let mail = try await offPool { try smtp.waitForMessages(count: jobs.count) }
        #expect(Set(mail.map(\.message_id)).count == jobs.count)
        // One EHLO per connection: the connections were kept and reused, not one per message.
        let connections = smtp.ehloCount()
        #expect(connections >= 1 && connections <= 2 * maxInFlight, "\(connections) SMTP connections for \(jobs.count) messages")
    }

    @Test func authWithTheRightPasswordSendsAndAWrongOneIsAClearPermanentError() async throws {
        let smtp = try await offPool { try SMTPPeer.start(auth: "chapar:s3cret-pass") }
        defer { smtp.stop() }
        let engine = CurlEngine()
        defer { engine.shutdown() }
        let good = emailJob(1, address: "a@example.com")
        let refused = emailJob(2, address: "b@example.com")
        try await PoolHarness.with { h in
            try await h.deliver([good], through: emailGateway(try smtpAdapter(smtp.url, login: Login(username: "chapar", password: "s3cret-pass"))), transport: engine)
            try await h.deliver([refused], through: emailGateway(try smtpAdapter(smtp.url, name: "smtp-bad", login: Login(username: "chapar", password: "wrong"))), transport: engine)
            #expect(try h.ledger.trace(good.id)?.job.status == .sent)
            let trace = try #require(try h.ledger.trace(refused.id))
            #expect(trace.job.status == .dead)
            #expect(trace.attempts.count == 1, "a refused login is not retried: \(trace.attempts)")
            #expect(trace.attempts.first?.status == 535)
            #expect(trace.job.reason?.contains("username and password") == true, "\(String(describing: trace.job.reason))")
            #expect(try await h.deadLetters().contains { $0.job?.id == refused.id })
        }
        let mail = try await offPool { try smtp.waitForMessages(count: 1) }
        #expect(mail.map(\.rcpt_to) == [["a@example.com"]])
    }

    /// STARTTLS and SMTPS with certificate checks on: a server whose certificate is trusted (its CA
    /// file configured) gets the mail over TLS, with AUTH; an untrusted certificate is a TLS failure
    /// (retried, then dead); plain SMTP to a server that requires STARTTLS says so.
    @Test(arguments: ["starttls", "smtps"])
    func tlsSessionsAreVerifiedAndCarryAuth(_ mode: String) async throws {
        let smtp = try await offPool { try SMTPPeer.start(auth: "chapar:s3cret-pass", tls: mode) }
        defer { smtp.stop() }
        let engine = CurlEngine()
        defer { engine.shutdown() }
        let login = Login(username: "chapar", password: "s3cret-pass")
        let trusted = emailJob(1, address: "a@example.com")
        let untrusted = emailJob(2, address: "b@example.com")
        let plain = emailJob(3, address: "c@example.com")
        try await PoolHarness.with { h in
            try await h.deliver([trusted], through: emailGateway(try smtpAdapter(smtp.url, startTLS: mode == "starttls", caFile: smtp.caFile, login: login)), transport: engine)
            try await h.deliver([untrusted], through: emailGateway(try smtpAdapter(smtp.url, name: "smtp-untrusted", startTLS: mode == "starttls", login: login)), transport: engine)
            #expect(try h.ledger.trace(trusted.id)?.job.status == .sent)
            let u = try #require(try h.ledger.trace(untrusted.id))
            #expect(u.job.status == .dead && u.attempts.allSatisfy { $0.response.contains("tls") }, "\(u.attempts)")
            if mode == "starttls" {
                try await h.deliver([plain], through: emailGateway(try smtpAdapter(smtp.url, name: "smtp-plain", startTLS: false, login: login)), transport: engine)
                let p = try #require(try h.ledger.trace(plain.id))
                #expect(p.job.status == .dead && p.job.reason?.contains("starttls: true") == true, "\(String(describing: p.job.reason))")
            }
        }
        let mail = try await offPool { try smtp.waitForMessages(count: 1) }
        #expect(mail.map(\.rcpt_to) == [["a@example.com"]])
    }

    @Test func everySMTPFailureClassEndsInTheRightStateWithTheServersReply() async throws {
        let smtp = try await offPool { try SMTPPeer.start() }
        defer { smtp.stop() }
        let engine = CurlEngine()
        defer { engine.shutdown() }
        let reject = emailJob(1, address: "reject550@example.com")
        let busy = emailJob(2, address: "busy421@example.com")
        let temporary = emailJob(3, address: "temp451@example.com")
        let flaky = emailJob(4, address: "flaky451@example.com")
        let dropped = emailJob(5, address: "drop@example.com")
        let malformed = emailJob(7, address: "no-at-sign.example.com")
        let fine = emailJob(8, address: "fine@example.com")
        let jobs = [reject, busy, temporary, flaky, dropped, malformed, fine]
        try await PoolHarness.with { h in
            try await h.deliver(jobs, through: emailGateway(try smtpAdapter(smtp.url)), transport: engine)
            func trace(_ job: DeliveryJob) throws -> LedgerTrace { try #require(try h.ledger.trace(job.id)) }

            let r = try trace(reject)
            #expect(r.job.status == .dead && r.attempts.count == 1, "550 is final: \(r.attempts)")
            #expect(r.attempts.first?.status == 550 && r.job.reason?.contains("550 5.1.1") == true)

            for job in [busy, temporary] {
                let t = try trace(job)
                #expect(t.job.status == .dead, "\(job.address): \(t.job.status)")
                #expect(t.attempts.count == 2, "4xx is retried up to max-attempts: \(t.attempts)")
                #expect(t.attempts.allSatisfy { $0.outcome == "retry" && ($0.status == 421 || $0.status == 451) }, "\(t.attempts)")
            }
            #expect(try trace(busy).attempts.first?.response.contains("421 4.3.2") == true)

            let f = try trace(flaky)
            #expect(f.job.status == .sent && f.attempts.map(\.status) == [451, 250], "\(f.attempts)")

            let d = try trace(dropped)
            #expect(d.job.status == .dead && d.attempts.count == 2, "\(d.attempts)")
            #expect(d.attempts.allSatisfy { $0.status == nil && $0.outcome == "retry" }, "no reply is a transport failure: \(d.attempts)")
            #expect(d.attempts.first?.response.contains("broken") == true)

            let m = try trace(malformed)
            #expect(m.job.status == .dead && m.attempts.first?.status == nil)
            #expect(m.job.reason?.contains("is not an email address") == true, "\(String(describing: m.job.reason))")

            #expect(try trace(fine).job.status == .sent)
        }
        // The greylisted message arrived once, with the Message-ID it had on the refused try.
        let mail = try await offPool { try smtp.waitForMessages(count: 2) }
        #expect(Set(mail.flatMap(\.rcpt_to)) == ["flaky451@example.com", "fine@example.com"])
        #expect(mail.first { $0.rcpt_to == ["flaky451@example.com"] }?.message_id == "<\(flaky.id.rawValue)@chapar.example>")
    }

    /// A server that never answers the end of DATA: the attempt times out and is retried. libcurl
    /// waits for that answer blocking its thread (see CurlEngine), so SMTP runs on threads of its
    /// own: an HTTP gateway on the same engine answers meanwhile as fast as ever.
    @Test func aServerThatNeverAnswersTimesOutAndDoesNotHoldUpHTTPGateways() async throws {
        let smtp = try await offPool { try SMTPPeer.start() }
        defer { smtp.stop() }
        let http = try await offPool { try FaultGateway.start() }
        defer { http.stop() }
        let engine = CurlEngine(configuration: .init(replyProtocolThreads: 1))
        defer { engine.shutdown() }
        let silent = emailJob(1, address: "silent@example.com")
        try await PoolHarness.with { h in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await h.deliver([silent], through: emailGateway(try smtpAdapter(smtp.url)), transport: engine) }
                // While the mail thread waits for the silent server, HTTP requests go through.
                try await Task.sleep(for: .milliseconds(300))
                for _ in 0..<5 {
                    let started = ContinuousClock.now
                    let result = await engine.perform(TransferRequest(kind: .http(.post), url: http.url("/ok"), body: Array("{}".utf8)))
                    guard case .response(let r) = result else {
                        Issue.record("the HTTP request failed: \(result)")
                        break
                    }
                    #expect(r.status == 202)
                    #expect(ContinuousClock.now - started < .milliseconds(500), "an HTTP request waited behind the SMTP thread")
                }
                try await group.waitForAll()
            }
            let t = try #require(try h.ledger.trace(silent.id))
            #expect(t.job.status == .dead && t.attempts.count == 2, "\(t.attempts)")
            #expect(t.attempts.allSatisfy { $0.status == nil && $0.response.contains("timeout") }, "\(t.attempts)")
        }
        #expect(smtp.storedCount() == 0)
    }
}

/// `chapar deliver run` with an smtp gateway from the configuration file, killed mid-batch.
@Suite(.serialized, .timeLimit(.minutes(4))) struct EmailCLITests {
    @Test func killedMidBatchThenRestartedResendsOnlyInFlightMailWithTheSameMessageID() async throws {
        let smtp = try await offPool { try SMTPPeer.start() }
        defer { smtp.stop() }
        let f = try await DeliverFixture.start()
        let maxInFlight = 16
        let rate = 150.0
        try f.writeConfig("""
            delivery:
              commit-interval: 100ms
            channels:
              email:
                gateway: mail
            gateways:
              mail:
                type: smtp
                url: \(smtp.url)
                starttls: false
                from: "بانک چاپار <alerts@chapar.example>"
                rate: \(Int(rate))/s
                burst: 10
                max-in-flight: \(maxInFlight)

            """)
        let jobs = (0..<600).map { n in
            emailJob(10_000 + n, address: "c\(n)@example.com", language: n % 2 == 0 ? .fa : .en,
                     subject: n % 2 == 0 ? persianSubject : "Debit \(n) IRR", text: n % 2 == 0 ? persianText : "Debit \(n) IRR")
        }
        try await f.produce(lines: jobs.map { job in
            "\(job.customer)|" + String(decoding: JobCodec.record(job).value, as: UTF8.self)
        }, to: "notify.email")

        let p = try f.startDeliver()
        defer { p.kill() }
        let reached = try await offPool { p.wait(upTo: .seconds(60)) { smtp.storedCount() >= 150 } }
        #expect(reached, "the server never stored 150 messages: \(p.stderr)")
        p.kill()
        #expect(p.waitForExit(timeout: .seconds(5)) == 128 + SIGKILL)
        // Let the server finish writing what it had fully received before the kill.
        try await Task.sleep(for: .milliseconds(300))
        let beforeRestart = smtp.storedCount()
        #expect(beforeRestart < jobs.count, "everything was sent before the kill; the test proves nothing")
        let recorded = try await f.ledger([]).filter { $0.status == .sent }.count
        print("SIGKILL (email): the server had stored \(beforeRestart) messages, the ledger recorded \(recorded) as sent")

        let run = try await f.deliver(timeout: .seconds(120))
        #expect(run.status == 0, "stderr: \(run.stderr)")
        let ledger = try await f.ledger([])
        #expect(ledger.count == jobs.count && ledger.allSatisfy { $0.status == .sent },
                "\(Dictionary(grouping: ledger, by: \.status).mapValues(\.count))")

        let mail = try await offPool { try smtp.messages() }
        let byID = Dictionary(grouping: mail, by: \.message_id)
        #expect(Set(byID.keys) == Set(jobs.map { "<\($0.id.rawValue)@chapar.example>" }), "every job arrived under its own Message-ID")
        let duplicated = byID.filter { $0.value.count > 1 }
        let duplicates = duplicated.values.reduce(0) { $0 + $1.count - 1 }
        print("SIGKILL restart (email): \(mail.count) messages for \(jobs.count) jobs; \(duplicated.count) sent twice")
        // A message is sent again only if the killed process had handed it to the server but its
        // `sent` row never reached the ledger database: in flight at the kill (≤ max-in-flight), or
        // answered while the ledger writer gathered outcomes for its next commit (≤ 50 ms, see
        // DeliveryLedger) or was committing. At the gateway's rate that is a few dozen at most.
        #expect(duplicates <= maxInFlight + Int(rate * 0.25), "\(duplicates) duplicate messages")
        #expect(duplicates <= beforeRestart - recorded, "a message the ledger had recorded as sent was sent again")
        for (_, copies) in duplicated {
            #expect(Set(copies.map { "\($0.subject)|\($0.date)|\($0.text)" }).count == 1, "a resent message differs from the first copy")
        }
    }
}
