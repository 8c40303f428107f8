import ChaparModels
import Foundation
@testable import Notifier

/// Shared inputs for the rendering tests: two customers, a debit, a credit, a bank kind and the
/// five direct messages, all at 2026-03-21 10:00 UTC (1 Farvardin 1405, 13:30 in Tehran).
enum RenderingFixtures {
    /// The repository's `config/templates`, found from this file's path.
    static let templatesDirectory: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("config/templates").path
    }()

    static let shipped: TemplateCatalog = {
        do { return try TemplateCatalog.load(directory: templatesDirectory) } catch {
            fatalError("shipped templates do not load:\n\(error)")
        }
    }()

    static let renderer = MessageRenderer(catalog: shipped)

    /// 2026-03-21T10:00:00Z.
    static let nowruz2026 = Timestamp(milliseconds: 1_774_087_200_000)

    static let account = try! AccountID("IR062960000000100324200001")

    static let maryam = CustomerProfile(id: try! CustomerID("c-fa-1"), name: "مریم احمدی", language: .fa,
                                        timeZone: "Asia/Tehran", accounts: [account])
    static let sara = CustomerProfile(id: try! CustomerID("c-en-1"), name: "Sara Ahmadi", language: .en,
                                      timeZone: "Europe/London", accounts: [account])

    static func irr(_ rials: Int64) -> Money { Money(minorUnits: rials * 100, currency: .irr) }

    static let debit = Event.transaction(TransactionEvent(
        id: try! EventID("tx-debit-1"), account: account, direction: .debit, amount: irr(12_500_000),
        balanceAfter: irr(48_730_000), bookedAt: nowruz2026, description: "خرید از فروشگاه",
        counterparty: "Snapp Market"))

    static let credit = Event.transaction(TransactionEvent(
        id: try! EventID("tx-credit-1"), account: account, direction: .credit,
        amount: Money(minorUnits: 1250, currency: .eur), bookedAt: nowruz2026, description: "Refund <order #42> & co"))

    static let salary = Event.transaction(TransactionEvent(
        id: try! EventID("tx-salary-1"), account: account, direction: .credit, kind: try! EventKind("salary"),
        amount: irr(350_000_000), balanceAfter: irr(398_730_000), bookedAt: nowruz2026))

    static func message(_ template: String, _ kind: EventKind, _ variables: [String: String], expiresAt: Timestamp? = nil) -> Event {
        .message(DirectMessage(id: try! EventID("msg-\(template)"), customer: maryam.id, kind: kind, template: template,
                               variables: variables, createdAt: nowruz2026, expiresAt: expiresAt))
    }

    static let otp = message("otp", .security, ["code": "482913"], expiresAt: Timestamp(milliseconds: nowruz2026.milliseconds + 120_000))
    static let loginAlert = message("login-alert", .security, ["device": "Chrome on Windows", "location": "Tehran"])
    static let cardBlocked = message("card-blocked", .security, ["card": "****5678", "reason": "سه بار رمز اشتباه"])
    static let birthday = message("birthday", .marketing, [:])
    static let campaign = message("campaign", .marketing, ["title": "Nowruz 1405", "offer": "0% fee on transfers until 13 Farvardin",
                                                           "link": "https://bank.example/nowruz?a=1&b=2"])
}

/// A fresh temporary directory of template files for the bad-template tests.
struct TemplateDirectory {
    let path: String

    init(_ files: [String: String]) throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("chapar-templates-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        for (name, text) in files {
            let file = path + "/" + name
            try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        }
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}
