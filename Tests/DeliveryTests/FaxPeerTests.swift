import ChannelFax
import ChaparModels
import Foundation
import Testing

// Faxes rendered by ChannelFax, submitted to a real HylaFAX (faxq + hfaxd on loopback, private
// spool, no modem) with the curl CLI as a plain test client, and read back from the spool.

@Suite(.serialized, .timeLimit(.minutes(3)))
struct FaxPeerTests {
    /// A Persian and an English fax go through hfaxd's client protocol into sendq: each queued job
    /// has the number it was sent to, and its spooled document is the PDF with its words.
    @Test func renderedFaxesAreQueuedByHylaFAXWithTheirNumberAndText() async throws {
        let peer = try await offPool { try HylaFAXPeer.start() }
        defer { peer.stop() }
        let scratch = TestPaths.temporaryDirectory("fax-submit")
        defer { TestPaths.removePeerDirectory(scratch) }
        let renderer = try FaxRenderer(letterhead: try FaxFixtures.letterhead())
        let persian = FaxFixtures.persianJob(11, address: "+982155512345")
        let english = FaxFixtures.englishJob(12, address: "02155567890")
        var submitted: [(job: DeliveryJob, id: Int)] = []
        for job in [persian, english] {
            let path = try PDFTools.write(try renderer.render(try FaxDocument(job: job)), to: scratch, name: "\(job.id).pdf")
            let id = try await offPool { try peer.submitWithCurl(path, number: job.address) }
            submitted.append((job, id))
        }

        for (job, id) in submitted {
            let queued = try #require(peer.sendq().first { $0.id == id }, "job \(id) is not in sendq: \(peer.sendq())")
            #expect(queued.number == job.address)
            #expect(queued.state == .ready, "\(queued)")
            let document = try #require(queued.documents.first, "job \(id) has no document: \(queued)")
            #expect(queued.documents.count == 1)
            let words = PDFTools.words(try PDFTools.text(document))
            let expected: Set<String>
            if job.language == .fa {
                expected = PDFTools.expectedWords([FaxFixtures.persianTitle] + FaxFixtures.persianLines + ["صفحه", "Chapar", "Bank"])
            } else {
                expected = PDFTools.expectedWords([FaxFixtures.englishTitle] + FaxFixtures.englishLines + ["Page", "Chapar", "Bank"])
            }
            #expect(expected.subtracting(words).isEmpty, "the spooled document of job \(id) lacks \(expected.subtracting(words).sorted())")
            #expect(try PDFTools.info(document)["Page size"] == "595.28 x 841.89 pts (A4)")
        }

        // The same state through hfaxd's protocol, as the adapter will ask for it.
        let listing = try await offPool { try peer.listWithCurl("sendq", format: "%j|%a|%e") }
        for (job, id) in submitted {
            #expect(listing.contains("\(id)|W|\(job.address)"), "LIST sendq: \(listing)")
        }
        let first = submitted[0].id
        let parameters = try await offPool { try peer.jobParametersWithCurl(first, ["STATE", "DIALSTRING"]) }
        #expect(parameters == ["STATE": "READY", "DIALSTRING": persian.address])
        let faxstat = try await offPool { try peer.faxstat(["-s"]) }
        #expect(faxstat.contains("HylaFAX scheduler"), "\(faxstat)")
    }
}
