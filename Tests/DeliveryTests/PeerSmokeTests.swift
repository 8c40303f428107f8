import Foundation
import Testing

// Proves each real test peer works from Swift, with /usr/bin/curl as the client (no Chapar code in
// the way). Each test starts its own peer on free ports, so the suites may run side by side.

@Suite("PeerSmoke: Kannel") struct PeerSmokeKannelTests {
    static let persian = "سلام، موجودی حساب شما ۱۲۳ ریال"

    /// Why the Kannel adapter must send coding=2: Persian sent without it is turned into '?'s by
    /// Kannel's GSM 7-bit conversion and still answered 202.
    @Test func persianArrivesAsUCS2OnlyWithCoding2() async throws {
        try await offPool {
            let kannel = try KannelPeer.start()
            defer { kannel.stop() }
            func send(_ extra: KeyValuePairs<String, String>, text: String) throws -> CurlResponse {
                let base = TestCurl.query([
                    "username": kannel.username, "password": kannel.password, "from": "BANK", "to": "989121234567",
                ])
                let rest = extra.map { "&\($0.key)=\($0.value)" }.joined()
                return try TestCurl.request("\(kannel.sendsmsURL)?\(base)\(rest)&text=\(TestCurl.percentEncoded(text))")
            }
            let ucs2 = try send(["coding": "2", "charset": "utf-8"], text: Self.persian)
            #expect(ucs2.status == 202)
            #expect(ucs2.body.contains("Accepted for delivery"))
            let plain = try send(["charset": "utf-8"], text: Self.persian)
            #expect(plain.status == 202)

            let messages = try kannel.waitForMessages(count: 2)
            #expect(messages[0].coding == "ucs-2")
            #expect(messages[0].text == Self.persian)
            #expect(messages[0].from == "BANK")
            #expect(messages[0].to == "989121234567")
            #expect(messages[1].coding == "text")
            #expect(messages[1].text == String(Self.persian.map { $0.isASCII ? $0 : "?" }))
        }
    }

    /// Delivery reports reach a callback on 127.0.0.1 with no extra Kannel configuration: one for
    /// the SMSC's acknowledgement (type 8) and one for delivery (type 1), in either order.
    @Test func deliveryReportsReachALoopbackCallback() async throws {
        try await offPool {
            let kannel = try KannelPeer.start()
            defer { kannel.stop() }
            let gateway = try FaultGateway.start()
            defer { gateway.stop() }
            let dlrURL = gateway.url("/webhook/dlr") + "?ref=job-42&type=%d&status=%A&to=%p"
            let query = TestCurl.query([
                "username": kannel.username, "password": kannel.password, "from": "BANK", "to": "989121234567",
                "text": "OTP 123456", "dlr-mask": "31", "dlr-url": dlrURL,
            ])
            #expect(try TestCurl.request("\(kannel.sendsmsURL)?\(query)").status == 202)
            try kannel.waitForMessages(count: 1)
            let deadline = ContinuousClock.now.advanced(by: .seconds(10))
            var reports: [GatewayRequest] = []
            while reports.count < 2, ContinuousClock.now < deadline {
                reports = try gateway.requests().filter { $0.path == "/webhook/dlr" }
                usleep(20_000)
            }
            #expect(Set(reports.compactMap { $0.query["type"] }) == ["8", "1"])
            #expect(reports.allSatisfy { $0.query["ref"] == "job-42" && $0.query["to"] == "989121234567" })
        }
    }

    /// With fakesmsc stopped, sendsms still accepts ("Queued for later delivery") and the MT waits
    /// in bearerbox; it reaches the SMSC once fakesmsc is back.
    @Test func messagesQueueWhileTheSMSCIsDown() async throws {
        try await offPool {
            let kannel = try KannelPeer.start()
            defer { kannel.stop() }
            try kannel.stopSMSC()
            let query = TestCurl.query([
                "username": kannel.username, "password": kannel.password, "from": "BANK", "to": "989121234567",
                "text": "queued",
            ])
            let queued = try TestCurl.request("\(kannel.sendsmsURL)?\(query)")
            #expect(queued.status == 202)
            #expect(queued.body.contains("Queued for later delivery"))
            usleep(300_000)
            #expect(kannel.messages().isEmpty)
            #expect(try kannel.status().contains("(1 queued)") || kannel.status().contains("store size 1"))
            try kannel.startSMSC()
            #expect(try kannel.waitForMessages(count: 1).map(\.text) == ["queued"])
        }
    }

    @Test func fakeSMSCOutputParsing() {
        let output = """
            2026-12-03 08:34:24 [1] [0] DEBUG: Got message 1: <My Bank 989121234567 ucs-2 %063%06D%06'%06E%00+%00a>
            2026-12-03 08:34:27 [1] [0] DEBUG: Got message 2: <BANK 0912 text line1>
            2026-12-03 08:34:27 [1] [0] DEBUG: Got message 3: <line2 <x> 100% a+b>
            2026-12-03 08:34:27 [1] [0] DEBUG: Got message 4: <BANK 0912 udh %05%00%03%04%02%02 data %063%063>
            2026-12-03 08:34:27 [1] [0] DEBUG: Got message 5: <BANK 0912 udh %05%00%03%04%02%01 data %06'%06'>
            2026-12-03 08:34:27 [1] [0] INFO: fakesmsc starting
            """
        let messages = FakeSMSCMessage.parse(output)
        #expect(messages.count == 4)
        #expect(messages[0].from == "My Bank")
        #expect(messages[0].text == "سلام a")
        #expect(messages[1].text == "line1\nline2 <x> 100% a+b")
        #expect(messages[2].concatenation?.sequence == 2)
        #expect(FakeSMSCMessage.reassembled(Array(messages[2...]), ucs2: true) == "ااسس")
        #expect(FakeSMSCMessage.reassembled([messages[2]], ucs2: true) == nil)
    }
}

@Suite("PeerSmoke: fault gateway") struct PeerSmokeFaultGatewayTests {
    @Test func behavioursAndRecording() async throws {
        try await offPool {
            let gateway = try FaultGateway.start()
            defer { gateway.stop() }

            let ok = try TestCurl.request(
                gateway.url("/ok/sms?to=98912"), method: "POST", headers: ["Content-Type": "application/json", "X-Sig": "abc"],
                body: #"{"text":"سلام"}"#)
            #expect(ok.status == 202)
            #expect(ok.body.contains(#""id": "1""#))

            let limited = try TestCurl.request(gateway.url("/retry-after/7"))
            #expect(limited.status == 429)
            #expect(limited.header("Retry-After") == "7")

            // Per Idempotency-Key: the first 2 tries fail, the third succeeds; another key starts over.
            let statuses = try (1...3).map { _ in
                try TestCurl.request(gateway.url("/flaky/2/sms"), method: "POST", headers: ["Idempotency-Key": "job-1"], body: "x").status
            }
            #expect(statuses == [500, 500, 202])
            #expect(try TestCurl.request(gateway.url("/flaky/2/sms"), method: "POST", headers: ["Idempotency-Key": "job-2"]).status == 500)

            let requests = try gateway.requests()
            #expect(requests.map(\.n) == Array(1...6))
            #expect(requests[0].method == "POST")
            #expect(requests[0].path == "/ok/sms")
            #expect(requests[0].query == ["to": "98912"])
            #expect(requests[0].header("x-sig") == "abc")
            #expect(requests[0].body == #"{"text":"سلام"}"#)
            #expect(requests.filter { $0.header("Idempotency-Key") == "job-1" }.count == 3)
            #expect(try TestCurl.request(gateway.url("/_count")).body.trimmingCharacters(in: .whitespacesAndNewlines) == "6")
        }
    }
}

@Suite("PeerSmoke: Synapse") struct PeerSmokeSynapseTests {
    /// A message arrives in the room; a retried PUT with the same transaction id is the same event.
    @Test func messageArrivesAndTransactionIDsDeduplicate() async throws {
        try await offPool {
            let synapse = try SynapsePeer.start()
            defer { synapse.stop() }
            let room = TestCurl.percentEncoded(synapse.roomID)
            let url = "\(synapse.url)/_matrix/client/v3/rooms/\(room)/send/m.room.message/chapar-job-1"
            let body = #"{"msgtype":"m.text","body":"موجودی حساب شما ۱۲۳ ریال"}"#
            let headers = ["Authorization": "Bearer \(synapse.botToken)", "Content-Type": "application/json"]
            let first = try TestCurl.request(url, method: "PUT", headers: headers, body: body)
            let retry = try TestCurl.request(url, method: "PUT", headers: headers, body: body)
            #expect(first.status == 200)
            #expect(retry.status == 200)
            #expect(first.body.contains("event_id"))
            #expect(retry.body == first.body)

            let received = try synapse.messages()
            #expect(received.count == 1)
            #expect(received.first?.sender == synapse.botUser)
            #expect(received.first?.body == "موجودی حساب شما ۱۲۳ ریال")
            #expect(received.first.map { first.body.contains($0.eventID) } == true)
            #expect(try synapse.messages(token: synapse.botToken).first?.transactionID == "chapar-job-1")
        }
    }
}
