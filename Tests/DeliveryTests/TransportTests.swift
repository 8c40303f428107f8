import Delivery
import Testing

@Suite struct TransportTests {
    @Test func headerLookupIsCaseInsensitive() {
        let r = TransferResponse(status: 429, headers: [HeaderField("Retry-After", "3")])
        #expect(r.header("retry-after") == "3")
        #expect(r.header("x-missing") == nil)
    }
}
