import ChannelEmail
import ChannelFax
import ChaparModels
import Delivery
import EventLog
import Foundation
import Synchronization
import Testing

/// Fax jobs through the delivery pool, the hylafax adapter and the curl engine into a real HylaFAX
/// (faxq + hfaxd on loopback, no modem), and HylaFAX's verdicts back into the ledger.
@Suite(.serialized, .timeLimit(.minutes(3))) struct FaxDeliveryTests {
    func hylafaxGateway(_ peer: HylaFAXPeer, retry: RetryPolicy = RetryPolicy(maxAttempts: 2, initialBackoff: .milliseconds(50), jitter: 0)) throws -> Gateway {
        let adapter = HylaFAXAdapter(name: "hylafax-1",
                                     configuration: .init(url: peer.url, login: Login(username: peer.user, password: ""), reportInterval: .milliseconds(200)),
                                     renderer: try FaxRenderer(letterhead: try FaxFixtures.letterhead()),
                                     timeouts: Timeouts(connect: .seconds(2), total: .seconds(10)))
        return Gateway(settings: GatewaySettings(name: "hylafax-1", type: "hylafax", channel: .fax, retry: retry), adapter: adapter)
    }

    @Test func faxJobsAreRenderedAndQueuedInHylaFAXWithTheirNumberTextAndJobID() async throws {
        let peer = try await offPool { try HylaFAXPeer.start() }
        defer { peer.stop() }
        let engine = CurlEngine()
        defer { engine.shutdown() }
        let persian = FaxFixtures.persianJob(21, address: "+982155512345")
        let english = FaxFixtures.englishJob(22, address: "+982155567890")
        let badNumber = FaxFixtures.englishJob(23, address: "not-a-number")
        try await PoolHarness.with { h in
            try await h.deliver([persian, english, badNumber], through: try hylafaxGateway(peer), transport: engine)
            let bad = try #require(try h.ledger.trace(badNumber.id))
            #expect(bad.job.status == .dead && bad.job.reason?.contains("is not a fax number") == true, "\(String(describing: bad.job.reason))")

            for job in [persian, english] {
                let trace = try #require(try h.ledger.trace(job.id))
                #expect(trace.job.status == .sent, "HylaFAX queued it; no modem will ever dial: \(trace.job)")
                let reference = try #require(trace.job.gatewayReference.flatMap { Int($0) }, "HylaFAX's job id is the reference: \(trace.job)")
                let queued = try #require(peer.sendq().first { $0.id == reference }, "job \(reference) not in sendq: \(peer.sendq())")
                #expect(queued.number == job.address)
                #expect(queued.fields["jobtag"] == "chapar:\(job.id.rawValue)", "JOBINFO is the q file's jobtag: \(queued.fields)")
                let document = try #require(queued.documents.first)
                let words = PDFTools.words(try PDFTools.text(document))
                let expected = job.language == .fa
                    ? PDFTools.expectedWords([FaxFixtures.persianTitle] + FaxFixtures.persianLines + ["صفحه", "Chapar", "Bank"])
                    : PDFTools.expectedWords([FaxFixtures.englishTitle] + FaxFixtures.englishLines + ["Page", "Chapar", "Bank"])
                #expect(expected.subtracting(words).isEmpty, "the queued document lacks \(expected.subtracting(words).sorted())")
                #expect(try PDFTools.info(document)["Page size"] == "595.28 x 841.89 pts (A4)")
            }
        }
        #expect(peer.sendq().count == 2, "the bad number was never submitted")
    }

    /// HylaFAX gives a fax up (here: the test kills the queued job, as faxq does when its kill time
    /// passes): the pool learns it by polling, submits the fax again while attempts last, then dead.
    @Test func aFaxHylaFAXReportsFailedIsSubmittedAgainThenDead() async throws {
        let peer = try await offPool { try HylaFAXPeer.start() }
        defer { peer.stop() }
        let engine = CurlEngine()
        defer { engine.shutdown() }
        let job = FaxFixtures.persianJob(31, address: "+982155512345")
        try await PoolHarness.with { h in
            try await h.append([job])
            let pool = DeliveryPool(channel: .fax, log: h.log, ledger: h.ledger, transport: engine, gateways: [try hylafaxGateway(peer)],
                                    configuration: fastPool, logger: quietLogger)
            let killed = Mutex<Set<Int>>([])
            try await run(pool) {
                // Kill every HylaFAX job of ours as soon as it is queued.
                for queued in peer.sendq() where !killed.withLock({ $0.contains(queued.id) }) {
                    try await offPool { try peer.killWithCurl(queued.id) }
                    killed.withLock { _ = $0.insert(queued.id) }
                }
                return try h.ledger.trace(job.id)?.job.status == .dead
            }
            let trace = try #require(try h.ledger.trace(job.id))
            #expect(trace.attempts.count == 2, "submitted again once (max-attempts 2): \(trace.attempts)")
            #expect(Set(trace.attempts.compactMap { $0.response.split(separator: " ").dropFirst(2).first }).count == 2,
                    "each submission is its own HylaFAX job: \(trace.attempts.map(\.response))")
            #expect(trace.reports.filter { $0.detail.contains("Job aborted by request") }.count == 2, "\(trace.reports)")
            #expect(trace.job.reason?.contains("gave up after 2 attempts") == true, "\(String(describing: trace.job.reason))")
            #expect(try await h.deadLetters().contains { $0.job?.id == job.id })
        }
        #expect(peer.doneq().count == 2)
    }

    @Test func anHTTPFaxAPIGetsTheRenderedPDFAsAMultipartUpload() async throws {
        let gateway = try await offPool { try FaultGateway.start() }
        defer { gateway.stop() }
        let engine = CurlEngine()
        defer { engine.shutdown() }
        let job = FaxFixtures.persianJob(41, address: "+982155512345")
        let refused = FaxFixtures.englishJob(42, address: "+982155567890")
        try await PoolHarness.with { h in
            func adapter(_ path: String) throws -> Gateway {
                let adapter = HTTPFaxAdapter(name: "fax-api", configuration: .init(url: gateway.url(path), authorization: "Bearer fax-token"),
                                             renderer: try FaxRenderer(letterhead: try FaxFixtures.letterhead()))
                return Gateway(settings: GatewaySettings(name: "fax-api", type: "http-fax", channel: .fax,
                                                         retry: RetryPolicy(maxAttempts: 2, initialBackoff: .milliseconds(20), jitter: 0)), adapter: adapter)
            }
            try await h.deliver([job], through: try adapter("/ok"), transport: engine)
            try await h.deliver([refused], through: try adapter("/status/400"), transport: engine)
            #expect(try h.ledger.trace(job.id)?.job.status == .sent)
            let r = try #require(try h.ledger.trace(refused.id))
            #expect(r.job.status == .dead && r.attempts.count == 1 && r.attempts.first?.status == 400, "\(r.attempts)")
        }
        let posts = try gateway.requests().filter { $0.method == "POST" && $0.path == "/ok" }
        let post = try #require(posts.first)
        #expect(posts.count == 1)
        #expect(post.header("Idempotency-Key") == job.id.rawValue)
        #expect(post.header("Authorization") == "Bearer fax-token")
        #expect(post.header("Content-Type") == "multipart/form-data; boundary=chapar-fax-\(job.id.rawValue)")
        #expect(post.body.contains("Content-Disposition: form-data; name=\"to\"\r\n\r\n+982155512345\r\n"))
        #expect(post.body.contains("Content-Disposition: form-data; name=\"id\"\r\n\r\n\(job.id.rawValue)\r\n"))
        #expect(post.body.contains("Content-Disposition: form-data; name=\"file\"; filename=\"\(job.id.rawValue).pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1."))
        #expect(post.body.hasSuffix("--chapar-fax-\(job.id.rawValue)--\r\n"))
    }

    @Test func anEmailToFaxGatewayGetsTheFaxAsAPDFAttachmentToNumberAtDomain() async throws {
        let smtp = try await offPool { try SMTPPeer.start() }
        defer { smtp.stop() }
        let engine = CurlEngine()
        defer { engine.shutdown() }
        let job = FaxFixtures.persianJob(51, address: "+982155512345")
        try await PoolHarness.with { h in
            let adapter = EmailFaxAdapter(name: "mail-fax", domain: "fax.bank.example",
                                          renderer: try FaxRenderer(letterhead: try FaxFixtures.letterhead()),
                                          smtp: try smtpAdapter(smtp.url, name: "mail-fax"))
            try await h.deliver([job], through: Gateway(settings: GatewaySettings(name: "mail-fax", type: "email-fax", channel: .fax), adapter: adapter), transport: engine)
            #expect(try h.ledger.trace(job.id)?.job.status == .sent)
        }
        let scratch = TestPaths.temporaryDirectory("fax-mail")
        defer { TestPaths.removePeerDirectory(scratch) }
        let mail = try await offPool { _ = try smtp.waitForMessages(count: 1); return try smtp.messages(savingAttachmentsTo: scratch) }
        let message = try #require(mail.first)
        #expect(message.rcpt_to == ["+982155512345@fax.bank.example"])
        #expect(message.subject == FaxFixtures.persianTitle)
        #expect(message.message_id == "<\(job.id.rawValue)@chapar.example>")
        #expect(message.structure == ["multipart/mixed", "text/plain", "application/pdf"])
        let attachment = try #require(message.attachments.first)
        #expect(attachment.filename == "\(job.id.rawValue).pdf" && attachment.type == "application/pdf")
        let words = PDFTools.words(try PDFTools.text(attachment.saved))
        let expected = PDFTools.expectedWords([FaxFixtures.persianTitle] + FaxFixtures.persianLines + ["صفحه", "Chapar", "Bank"])
        #expect(expected.subtracting(words).isEmpty, "the attached PDF lacks \(expected.subtracting(words).sorted())")
    }
}
