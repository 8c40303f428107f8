@testable import Delivery
import Testing

/// The engine keeps raw header lines and parses them on the caller's task; this is that parser.
@Suite struct CurlHeaderParsingTests {
    @Test func fieldsKeepOrderTrimValuesAndFoldContinuations() {
        let raw = Array("Content-Type: application/json\r\nX-A:  1 \r\n\tcontinued\r\nBad line\r\nRetry-After:3\r\nX-Empty:\r\n\r\n".utf8)
        let fields = raw.withUnsafeBytes { CurlTransfer.parseHeaderFields($0) }
        #expect(fields == [
            HeaderField("Content-Type", "application/json"),
            HeaderField("X-A", "1 continued"),
            HeaderField("Retry-After", "3"),
            HeaderField("X-Empty", ""),
        ])
    }

    @Test func onlyTheFinalResponsesHeadersAreKept() {
        let transfer = CurlTransfer(TransferRequest(url: "http://127.0.0.1:1/"), maxBodyBytes: 16)
        for line in ["HTTP/1.1 100 Continue\r\n", "X-Interim: yes\r\n", "\r\n",
                     "HTTP/1.1 202 Accepted\r\n", "Content-Length: 21\r\n", "\r\n"] {
            Array(line.utf8).withUnsafeBytes { transfer.appendHeaderLine($0) }
        }
        #expect(transfer.makeResponse().headers == [HeaderField("Content-Length", "21")])
    }

    @Test func bodyIsCappedAndFlagged() {
        let transfer = CurlTransfer(TransferRequest(url: "http://127.0.0.1:1/"), maxBodyBytes: 5)
        Array("abc".utf8).withUnsafeBytes { transfer.appendBody($0) }
        #expect(!transfer.body.truncated)
        Array("defgh".utf8).withUnsafeBytes { transfer.appendBody($0) }
        #expect(transfer.body.makeArray() == Array("abcde".utf8))
        #expect(transfer.body.truncated)
    }

    @Test func bodyOutgrowingTheInlineAreaSpillsIntact() {
        let transfer = CurlTransfer(TransferRequest(url: "http://127.0.0.1:1/", body: [1, 2, 3]), maxBodyBytes: 5000)
        var expected: [UInt8] = []
        for i in 0..<40 {
            let chunk = [UInt8](repeating: UInt8(i), count: 100)
            expected += chunk
            chunk.withUnsafeBytes { transfer.appendBody($0) }
        }
        let response = transfer.makeResponse()
        #expect(response.body == Array(expected.prefix(5000)) && response.body.count == 4000)
        #expect(!response.bodyTruncated)
        #expect(transfer.bodyCount == 3)
    }

    @Test func manyHeadersSpillAndStillParse() {
        let transfer = CurlTransfer(TransferRequest(url: "http://127.0.0.1:1/"), maxBodyBytes: 16)
        Array("HTTP/1.1 200 OK\r\n".utf8).withUnsafeBytes { transfer.appendHeaderLine($0) }
        for i in 0..<100 {
            Array("X-Header-\(i): value-\(i)\r\n".utf8).withUnsafeBytes { transfer.appendHeaderLine($0) }
        }
        let headers = transfer.makeResponse().headers
        #expect(headers.count == 100)
        #expect(headers.last == HeaderField("X-Header-99", "value-99"))
    }

    @Test func timeoutsBecomeAtLeastOneMillisecond() {
        #expect(Duration.milliseconds(300).curlMilliseconds == 300)
        #expect(Duration.seconds(5).curlMilliseconds == 5000)
        #expect(Duration.zero.curlMilliseconds == 1)
        #expect(Duration.microseconds(10).curlMilliseconds == 1)
        #expect(Duration.seconds(-1).curlMilliseconds == 1)
    }
}
