import ChannelIM
import ChannelSMS
import ChaparModels
import Delivery
import Foundation
import Testing

/// What each adapter puts on the wire and how it reads answers (the peer suites send for real).
@Suite struct AdapterTests {
    @Test func kannelSendsUCS2WithCoding2AndAReportURLCarryingTheJob() throws {
        let adapter = KannelAdapter(name: "k", configuration: .init(url: "http://127.0.0.1:13013/cgi-bin/sendsms", username: "u", password: "p&w",
                                                                    from: "BANK", reportURL: "http://127.0.0.1:8089/v1/callbacks/kannel/k", reportSecret: "s3cret"))
        var job = smsJob(1, text: "سلام")
        job.content = .sms(text: "سلام", encoding: "ucs2", segments: 1)
        let r = try adapter.request(for: job, attempt: 1)
        #expect(r.url.contains("coding=2") && r.url.contains("charset=utf-8"))
        #expect(r.url.contains("password=p%26w"))
        #expect(r.url.contains("to=%2B98912000"))
        #expect(r.url.contains("text=%D8%B3%D9%84%D8%A7%D9%85"))
        #expect(r.url.contains("dlr-mask=31"))
        // The dlr-url is encoded once; Kannel decodes it and fills in %d, %A, %T.
        #expect(r.url.contains("dlr-url=" + URLCheck.encode("http://127.0.0.1:8089/v1/callbacks/kannel/k?job=\(job.id)&secret=s3cret&type=%d&answer=%A&ts=%T")))
        #expect(r.headers.contains("Idempotency-Key: \(job.id)"))
        let gsm = try adapter.request(for: smsJob(2), attempt: 1)
        #expect(!gsm.url.contains("coding=2"))
    }

    @Test func kannelRefusesWhatIsNotAPhoneNumber() {
        var job = smsJob(1)
        job.address = "not a number"
        let adapter = KannelAdapter(name: "k", configuration: .init(url: "http://127.0.0.1:1/", username: "u", password: "p"))
        #expect(throws: PermanentFailure.self) { try adapter.request(for: job, attempt: 1) }
    }

    @Test func httpSMSFillsItsTemplateWithEscapedValuesAndReadsTheReference() throws {
        let adapter = HTTPSMSAdapter(name: "h", url: "http://127.0.0.1:1/sms", authorization: "Bearer abc",
                                     template: #"{"to":"{{to}}","msg":"{{text}}","ref":"{{id}}"}"#, referenceField: "message_id")
        let job = smsJob(1, text: "quote \" and\nnewline")
        let r = try adapter.request(for: job, attempt: 1)
        let body = String(decoding: r.body, as: UTF8.self)
        #expect(body == #"{"to":"+989120000001","msg":"quote \" and\nnewline","ref":"\#(job.id)"}"#)
        #expect(r.headers.contains("Authorization: Bearer abc"))
        let answer = TransferResult.response(TransferResponse(status: 201, body: Array(#"{"message_id":"P-77"}"#.utf8)))
        #expect(adapter.outcome(of: answer, for: job) == .accepted(reference: "P-77", response: #"201 {"message_id":"P-77"}"#))
        #expect(JSONTemplate.problem(#"{"to": {{to}}"#) != nil)
    }

    @Test func telegramReadsFloodWaitsAndRefusals() {
        let adapter = TelegramAdapter(name: "t", baseURL: "http://127.0.0.1:1", token: "x")
        let job = smsJob(1)
        let flood = TransferResult.response(TransferResponse(status: 429, body: Array(#"{"ok":false,"error_code":429,"description":"Too Many Requests","parameters":{"retry_after":7}}"#.utf8)))
        #expect(adapter.outcome(of: flood, for: job) == .retry(reason: "t answered 429: Too Many Requests", retryAfter: .seconds(7), gatewayFault: true))
        let blocked = TransferResult.response(TransferResponse(status: 403, body: Array(#"{"ok":false,"description":"Forbidden: bot was blocked by the user"}"#.utf8)))
        guard case .rejected(let reason) = adapter.outcome(of: blocked, for: job) else {
            Issue.record("a blocked bot is a refusal of this message")
            return
        }
        #expect(reason.contains("blocked"))
    }

    @Test func webhookSignaturesFollowTheDocumentedScheme() {
        // HMAC-SHA256("key", "1700000000.{}") computed independently (Python hmac).
        let signature = WebhookAdapter.signature(secret: Array("key".utf8), timestamp: 1_700_000_000, body: Array("{}".utf8))
        #expect(signature == "v1=" + HMACSHA256.mac(key: Array("key".utf8), message: Array("1700000000.{}".utf8)).hexString)
        // RFC 4231 test case 2.
        #expect(HMACSHA256.mac(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8)).hexString
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func addressesAreMaskedForTheLedger() {
        #expect(AddressMask.mask("+989121234567") == "+98912***4567")
        #expect(AddressMask.mask("ali@bank.ir") == "a***@bank.ir")
        #expect(!AddressMask.mask("telegram:123456789").contains("123456789"))
    }
}
