import ChaparModels
import Foundation
import Testing
@testable import Notifier

/// Bad templates are reported when the catalog loads, with file and line, all together.
@Suite struct RenderingCatalogErrors {
    static let goodSMS = "{{bank_name}}: {{amount}}\n"

    /// Loads `files` and returns the problem lines (relative to the directory), or records an issue.
    static func problems(_ files: [String: String]) throws -> [String] {
        let dir = try TemplateDirectory(files)
        defer { dir.remove() }
        do throws(NotifierError) {
            _ = try TemplateCatalog.load(directory: dir.path)
            Issue.record("loaded without error")
            return []
        } catch {
            #expect(error.code == .template)
            return error.message.split(separator: "\n").map { $0.replacingOccurrences(of: dir.path + "/", with: "") }
        }
    }

    @Test func syntaxErrorNamesFileAndLine() throws {
        let p = try Self.problems([
            "sms/debit.fa.mustache": "{{bank_name}}\n{{#balance}}مانده {{balance}}{{/amount}}\n",
            "sms/debit.en.mustache": Self.goodSMS,
        ])
        #expect(p.count == 1)
        #expect(p.first?.hasPrefix("sms/debit.fa.mustache:2: closing tag does not match the open section") == true, "\(p)")
    }

    @Test func unclosedSectionIsReported() throws {
        let p = try Self.problems([
            "sms/debit.fa.mustache": "{{bank_name}}\n{{#balance}}\nمانده {{balance}}\n",
            "sms/debit.en.mustache": Self.goodSMS,
        ])
        #expect(p.count == 1)
        #expect(p == ["sms/debit.fa.mustache:2: section {{#balance}} is never closed; add {{/balance}} where it should end"])
    }

    @Test func unknownVariableWithSuggestion() throws {
        let p = try Self.problems([
            "sms/debit.fa.mustache": "{{bank_name}}\n\nمبلغ {{amout}}\n",
            "sms/debit.en.mustache": Self.goodSMS,
        ])
        #expect(p.count == 1)
        #expect(p.first?.hasPrefix("sms/debit.fa.mustache:3: unknown variable 'amout'; did you mean 'amount'?") == true, "\(p)")
    }

    @Test func messageVariableInTransactionTemplateIsUnknown() throws {
        let p = try Self.problems([
            "sms/credit.fa.mustache": "{{code}}\n",
            "sms/credit.en.mustache": Self.goodSMS,
        ])
        #expect(p.first?.hasPrefix("sms/credit.fa.mustache:1: unknown variable 'code'") == true, "\(p)")
    }

    @Test func missingLanguageVariant() throws {
        let p = try Self.problems(["sms/credit.fa.mustache": Self.goodSMS])
        #expect(p.count == 1)
        #expect(p.first?.hasPrefix("sms/credit.fa.mustache:1: there is no en variant of sms/credit; add ") == true, "\(p)")
        #expect(p.first?.contains("there is no en variant of sms/credit; add ") == true, "\(p)")
        #expect(p.first?.hasSuffix("sms/credit.en.mustache (every template needs fa and en)") == true, "\(p)")
    }

    @Test func emailWithoutSubject() throws {
        let p = try Self.problems([
            "email/debit.en.mustache": "=== text ===\n{{amount}}\n=== html ===\n<p>{{amount}}</p>\n",
            "email/debit.fa.mustache": "=== subject ===\n{{amount}}\n=== text ===\n{{amount}}\n=== html ===\n<p>{{amount}}</p>\n",
        ])
        #expect(p == ["email/debit.en.mustache:1: the subject part is missing; add a line '=== subject ===' followed by the subject template"])
    }

    @Test func lineNumbersCountFromTheFileNotThePart() throws {
        let p = try Self.problems([
            "email/debit.en.mustache": "=== subject ===\n{{amount}}\n=== text ===\nok\n{{balanse}}\n=== html ===\n<p>{{amount}</p>\n",
            "email/debit.fa.mustache": "=== subject ===\n{{amount}}\n=== text ===\n{{amount}}\n=== html ===\n<p>{{amount}}</p>\n",
        ])
        #expect(p.count == 2, "\(p)")
        #expect(p.contains { $0.hasPrefix("email/debit.en.mustache:5: unknown variable 'balanse'; did you mean 'balance'?") }, "\(p)")
        #expect(p.contains { $0.hasPrefix("email/debit.en.mustache:7: tag not closed") }, "\(p)")
    }

    @Test func unsupportedTagsAreReported() throws {
        let p = try Self.problems([
            "im/debit.fa.mustache": "{{{amount}}}\n{{&amount}}\n{{> footer}}\n{{amount.value}}\n",
            "im/debit.en.mustache": "{{amount}}\n",
        ])
        #expect(p.count == 4, "\(p)")
        #expect(p[0].hasPrefix("im/debit.fa.mustache:1: unescaped variable"))
        #expect(p[1].hasPrefix("im/debit.fa.mustache:2: unescaped variable"))
        #expect(p[2].hasPrefix("im/debit.fa.mustache:3: partials and blocks"))
        #expect(p[3].hasPrefix("im/debit.fa.mustache:4: dotted name"))
    }

    @Test func badFileNamesAndDirectories() throws {
        let p = try Self.problems([
            "sms/debit.de.mustache": Self.goodSMS,
            "sms/debit.fa.txt": Self.goodSMS,
            "pager/debit.fa.mustache": Self.goodSMS,
            "sms/Debit.en.mustache": Self.goodSMS,
        ])
        #expect(p.count == 4, "\(p)")
        #expect(p.contains { $0.hasPrefix("pager:1: 'pager' is not a channel directory") })
        #expect(p.contains { $0.hasPrefix("sms/debit.de.mustache:1: 'de' is not a supported language") })
        #expect(p.contains { $0.hasPrefix("sms/debit.fa.txt:1: not a template file name") })
        #expect(p.contains { $0.hasPrefix("sms/Debit.en.mustache:1: 'Debit' is not a template name") })
    }

    @Test func undeclaredUnknownTemplateName() throws {
        let p = try Self.problems(["sms/salary.fa.mustache": Self.goodSMS, "sms/salary.en.mustache": Self.goodSMS])
        #expect(p.count == 2)
        #expect(p.allSatisfy { $0.contains("'salary' is not a template Chapar knows") && $0.contains("{{! chapar: transaction }}") })
    }

    /// The acceptance case: many files, many problems, one error listing them all.
    @Test func allProblemsReportedTogether() throws {
        let p = try Self.problems([
            "sms/debit.fa.mustache": "{{bank_name}}\n{{amout}}\n",             // unknown variable, line 2
            "sms/debit.en.mustache": "{{#balance}}{{balance}}\n",              // unclosed section
            "sms/credit.fa.mustache": Self.goodSMS,                            // no en variant
            "email/otp.fa.mustache": "=== text ===\n{{code}}\n=== html ===\n{{code}}\n",  // no subject
            "email/otp.en.mustache": "=== subject ===\nx\n=== text ===\n{{cod}}\n=== html ===\n{{code}}\n",
            "fax/otp.fa.mustache": "=== title ===\nx\n=== body ===\n{{code}}\n",
            "fax/otp.en.mustache": "=== title ===\nx\n=== body ===\n{{code}}\n=== footer ===\n",
        ])
        let expectedPrefixes = [
            "sms/debit.fa.mustache:2: unknown variable 'amout'",
            "sms/debit.en.mustache:1: section {{#balance}} is never closed",
            "sms/credit.fa.mustache:1: there is no en variant",
            "email/otp.fa.mustache:1: the subject part is missing",
            "email/otp.en.mustache:4: unknown variable 'cod'; did you mean 'code'?",
            "fax/otp.en.mustache:5: unknown part 'footer'",
        ]
        for prefix in expectedPrefixes {
            #expect(p.contains { $0.hasPrefix(prefix) }, "missing \(prefix) in \(p)")
        }
        #expect(p.count == expectedPrefixes.count, "\(p)")
    }

    @Test func windowsLineEndsAreNormalised() throws {
        let dir = try TemplateDirectory([
            "sms/debit.fa.mustache": "{{bank_name}}\r\n{{#balance}}\r\n{{balance}}\r\n{{/balance}}\r\n",
            "sms/debit.en.mustache": "{{bank_name}}\r\n{{#balance}}\r\n{{balance}}\r\n{{/balance}}\r\n",
        ])
        defer { dir.remove() }
        let renderer = MessageRenderer(catalog: try TemplateCatalog.load(directory: dir.path))
        #expect(try renderer.render(RenderingFixtures.debit, for: RenderingFixtures.sara, channel: .sms)
                == .sms(text: "Chapar Bank\n48,730,000 IRR", encoding: "gsm7", segments: 1))
    }

    @Test func missingDirectory() {
        #expect(throws: NotifierError.self) { try TemplateCatalog.load(directory: "/nonexistent/chapar-templates") }
    }

    @Test func shippedTemplatesLoad() throws {
        let catalog = try TemplateCatalog.load(directory: RenderingFixtures.templatesDirectory)
        for channel in Channel.allCases {
            for name in ["debit", "credit", "transaction", "otp", "login-alert", "card-blocked", "birthday", "campaign"] {
                #expect(catalog.contains(channel: channel, name: name), "\(channel)/\(name)")
            }
        }
    }
}

/// Template selection, declarations and render-time checks.
@Suite struct RenderingRenderer {
    var f: RenderingFixtures.Type { RenderingFixtures.self }

    @Test func declaredBankKindAndMessageTemplates() throws {
        let dir = try TemplateDirectory([
            "sms/salary.fa.mustache": "{{! chapar: transaction }}\nحقوق {{amount}}\n",
            "sms/salary.en.mustache": "{{! chapar: transaction }}\nSalary {{amount}}\n",
            "sms/transaction.fa.mustache": "{{amount}}\n",
            "sms/transaction.en.mustache": "{{amount}}\n",
            "sms/loan-due.fa.mustache": "{{! chapar: message installment due_date }}\nقسط {{installment}}{{#due_date}} تا {{due_date}}{{/due_date}}\n",
            "sms/loan-due.en.mustache": "{{! chapar: message installment due_date }}\nInstallment {{installment}}{{#due_date}} due {{due_date}}{{/due_date}}\n",
        ])
        defer { dir.remove() }
        let renderer = MessageRenderer(catalog: try TemplateCatalog.load(directory: dir.path))
        #expect(try renderer.render(f.salary, for: f.sara, channel: .sms) == .sms(text: "Salary 350,000,000 IRR", encoding: "gsm7", segments: 1))
        // A debit has no `debit` template here: the generic one renders it.
        #expect(try renderer.render(f.debit, for: f.sara, channel: .sms) == .sms(text: "12,500,000 IRR", encoding: "gsm7", segments: 1))
        // No email templates at all: nil, so the pipeline skips the channel.
        #expect(try renderer.render(f.debit, for: f.sara, channel: .email) == nil)
        #expect(try renderer.render(f.otp, for: f.sara, channel: .sms) == nil)

        let loan = RenderingFixtures.message("loan-due", .marketing, ["installment": "5,000,000 IRR"])
        #expect(try renderer.render(loan, for: f.sara, channel: .sms) == .sms(text: "Installment 5,000,000 IRR", encoding: "gsm7", segments: 1))
        // `installment` is used unguarded, so a message without it cannot be rendered.
        let broken = RenderingFixtures.message("loan-due", .marketing, ["due_date": "tomorrow"])
        do throws(NotifierError) {
            _ = try renderer.render(broken, for: f.sara, channel: .sms)
            Issue.record("rendered a message without its required variable")
        } catch {
            #expect(error.code == .render)
            #expect(error.message.contains("has no variable 'installment'"), "\(error.message)")
            #expect(error.message.contains("loan-due.en.mustache"), "\(error.message)")
        }
    }

    @Test func unknownTimeZoneIsARenderError() {
        var lost = f.sara
        lost.timeZone = "Mars/Olympus"
        #expect(throws: NotifierError.self) { try f.renderer.render(f.debit, for: lost, channel: .sms) }
    }

    @Test func customerTimeZoneDecidesDateAndTime() throws {
        // 2026-03-20 23:00 UTC: still 20 Mar in London, already 1 Farvardin 02:30 in Tehran, 21 Mar 08:00 in Tokyo.
        let late = Event.transaction(TransactionEvent(id: try EventID("tx-late"), account: f.account, direction: .debit,
                                                      amount: f.irr(1000), bookedAt: Timestamp(milliseconds: f.nowruz2026.milliseconds - 11 * 3_600_000)))
        var tokyo = f.sara
        tokyo.timeZone = "Asia/Tokyo"
        let london = try #require(try f.renderer.render(late, for: f.sara, channel: .sms))
        let tehran = try #require(try f.renderer.render(late, for: f.maryam, channel: .sms))
        let japan = try #require(try f.renderer.render(late, for: tokyo, channel: .sms))
        #expect(describe(london).contains("20 Mar 2026 23:00"))
        #expect(describe(tehran).contains("۱ فروردین ۱۴۰۵ ساعت ۰۲:۳۰"))
        #expect(describe(japan).contains("21 Mar 2026 08:00"))
    }

    @Test func htmlEscapedInHTMLOnly() throws {
        guard case .email(let subject, let text, let html)? = try f.renderer.render(f.credit, for: f.sara, channel: .email) else {
            Issue.record("no email")
            return
        }
        #expect(text.contains("Refund <order #42> & co"))
        #expect(!text.contains("&lt;") && !subject.contains("&amp;"))
        #expect(html.contains("Refund &lt;order #42&gt; &amp; co"))
        #expect(!html.contains("<order"))
    }

    @Test func latinCustomerNameIsIsolatedInPersian() throws {
        var sam = f.maryam
        sam.name = "Sam Rahimi"
        guard case .fax(_, let lines)? = try f.renderer.render(f.birthday, for: sam, channel: .fax) else {
            Issue.record("no fax")
            return
        }
        #expect(lines.first == "\u{2066}Sam Rahimi\u{2069} عزیز،")
    }

    @Test func persianOutputHasIsolatesAndPersianDigits() throws {
        guard case .sms(let text, let encoding, _)? = try f.renderer.render(f.debit, for: f.maryam, channel: .sms) else {
            Issue.record("no sms")
            return
        }
        #expect(encoding == "ucs2")
        #expect(text.contains("\u{2066}****0001\u{2069}"))
        #expect(text.contains("۱۲\u{066C}۵۰۰\u{066C}۰۰۰"))
        // Outside the isolated account number, no ASCII digit remains.
        let outside = text.replacingOccurrences(of: "\u{2066}****0001\u{2069}", with: "")
        #expect(!outside.unicodeScalars.contains { $0.properties.numericType != nil && $0.isASCII })
    }

    @Test func imEscapesMarkdown() throws {
        let msg = RenderingFixtures.message("campaign", .marketing, ["title": "*50% off* [now]", "offer": "a_b (c)"])
        guard case .im(let text, let format)? = try f.renderer.render(msg, for: f.sara, channel: .im) else {
            Issue.record("no im")
            return
        }
        #expect(format == "markdown")
        #expect(text == "*\\*50% off\\* \\[now\\]*\na\\_b \\(c\\)\n_Chapar Bank_")
    }

    @Test func describeIsReadable() throws {
        let sms = describe(.sms(text: "hi", encoding: "gsm7", segments: 1))
        #expect(sms == "SMS · gsm7 · 1 segment(s) · 2 septets\nhi")
        let fax = describe(.fax(title: "T", lines: ["a", "b"]))
        #expect(fax == "Fax · 2 line(s)\nTitle: T\n  a\n  b")
        let email = describe(.email(subject: "S", text: "t", html: "<p>h</p>"))
        #expect(email == "Email\nSubject: S\n--- text ---\nt\n--- html ---\n<p>h</p>")
        #expect(describe(.im(text: "x", format: "markdown")) == "IM · markdown\nx")
    }

    @Test func configurationValidation() {
        #expect(throws: NotifierError.self) { try RenderConfiguration(smsMaxSegments: 0).validate() }
        #expect(throws: NotifierError.self) { try RenderConfiguration(bankName: [.fa: "بانک"]).validate() }
        #expect(throws: Never.self) { try RenderConfiguration().validate() }
    }
}


/// One renderer shared by concurrent tasks gives the same results as serial rendering.
@Suite struct RenderingConcurrency {
    @Test func sharedRendererIsConsistentAcrossTasks() async throws {
        let renderer = MessageRenderer(catalog: RenderingFixtures.shipped)
        let customers = [RenderingFixtures.maryam, RenderingFixtures.sara]
        let expected = try customers.map { try renderer.render(RenderingFixtures.debit, for: $0, channel: .email) }
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for task in 0..<4 {
                group.addTask {
                    for i in 0..<500 {
                        let c = (task + i) % 2
                        guard try renderer.render(RenderingFixtures.debit, for: customers[c], channel: .email) == expected[c] else { return false }
                    }
                    return true
                }
            }
            for try await consistent in group { #expect(consistent) }
        }
    }
}
