import ChaparModels
import Mustache
import Testing
@testable import Notifier

/// Chapar's compiled renderer must produce exactly what swift-mustache produces for the same
/// template and values (standalone lines, sections, inverted sections, escaping).
@Suite struct RenderingEngineEquivalence {
    static let events: [Event] = [RenderingFixtures.debit, RenderingFixtures.credit, RenderingFixtures.salary, RenderingFixtures.otp,
                                  RenderingFixtures.loginAlert, RenderingFixtures.cardBlocked, RenderingFixtures.birthday, RenderingFixtures.campaign,
                                  // without optional values, so inverted/empty sections are exercised too
                                  .transaction(TransactionEvent(id: try! EventID("tx-bare"), account: RenderingFixtures.account, direction: .debit,
                                                                amount: RenderingFixtures.irr(1), bookedAt: RenderingFixtures.nowruz2026)),
                                  RenderingFixtures.message("otp", .security, ["code": "1"]),
                                  RenderingFixtures.message("login-alert", .security, ["device": "x"])]

    @Test func shippedTemplatesRenderTheSameInBothEngines() throws {
        var compared = 0
        for event in Self.events {
            for customer in [RenderingFixtures.maryam, RenderingFixtures.sara] {
                for channel in Channel.allCases {
                    var mine: [String: String] = [:], theirs: [String: String] = [:]
                    _ = try RenderingFixtures.renderer.renderDetailed(event, for: customer, channel: channel) { scope, template in
                        var memo = RenderMemo()
                        for (name, program) in template.programs { mine[name] = program.render(scope, memo: &memo) }
                        for (name, part) in template.mustacheParts { theirs[name] = part.render(scope) }
                    }
                    #expect(mine == theirs, "\(event.id) \(customer.language) \(channel)")
                    compared += mine.count
                }
            }
        }
        #expect(compared == Self.events.count * 2 * 7)  // sms 1 + email 3 + fax 2 + im 1 parts
    }

    @Test(arguments: [
        "a\n  {{#balance}}  \nB {{balance}}\n  {{/balance}}\nc\n",
        "{{#balance}}x{{/balance}}\n{{^balance}}none{{/balance}}\n",
        "  {{! comment }}\nline\n{{!\nmulti\nline\n}}\nend",
        "{{#amount}}[{{.}}]{{/amount}} {{^counterparty}}no counterparty{{/counterparty}}\r\n{{#balance}}\r\n{{balance}}\r\n{{/balance}}\r\n",
        "{{#balance}}{{#amount}}{{balance}}|{{amount}}|{{.}}{{/amount}}{{/balance}}",
        "no tags at all",
        "{{amount}}{{amount}}\n\n\n{{#balance}}\n\n{{/balance}}",
    ])
    func specCases(_ text: String) throws {
        let dir = try TemplateDirectory(["sms/debit.en.mustache": text, "sms/debit.fa.mustache": text])
        defer { dir.remove() }
        let catalog = try TemplateCatalog.load(directory: dir.path)
        let renderer = MessageRenderer(catalog: catalog)
        for event in [RenderingFixtures.debit, Self.events[8]] {
            _ = try renderer.renderDetailed(event, for: RenderingFixtures.sara, channel: .sms) { scope, template in
                var memo = RenderMemo()
                #expect(template.programs["text"]!.render(scope, memo: &memo) == template.mustacheParts["text"]!.render(scope), "\(text)")
            }
        }
    }
}
