import ChaparModels
@testable import Notifier
import Testing

@Suite("Rendering several channels at once")
struct PipelineBatchRenderTests {
    @Test("rendering all channels in one call gives exactly the per-channel renders, for every shipped event kind",
          arguments: [RenderingFixtures.debit, RenderingFixtures.credit, RenderingFixtures.salary, RenderingFixtures.otp,
                      RenderingFixtures.loginAlert, RenderingFixtures.cardBlocked, RenderingFixtures.birthday, RenderingFixtures.campaign])
    func batchEqualsSingle(event: Event) throws {
        for customer in [RenderingFixtures.maryam, RenderingFixtures.sara] {
            let renderer = RenderingFixtures.renderer
            let together = try renderer.render(event, for: customer, channels: Channel.allCases)
            let alone = try Channel.allCases.map { try renderer.render(event, for: customer, channel: $0) }
            #expect(together == alone, "\(event.id) for \(customer.id)")
            #expect(together.contains { $0 != nil })
        }
    }
}
