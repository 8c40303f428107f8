import Foundation
import Testing

/// `chapar notify`: bad templates stop it at start, before any event is read; preview explains.
@Suite("chapar notify CLI")
struct NotifyCLITests {
    static let templates = NotifierCrashTests.templates

    /// A copy of the shipped templates with one file broken.
    func brokenTemplates(_ dir: String) throws -> String {
        let copy = dir + "/templates"
        try FileManager.default.copyItem(atPath: Self.templates, toPath: copy)
        for (name, addition) in [("sms/debit.fa.mustache", "\n{{#amount}} never closed\n"), ("email/credit.en.mustache", "\n{{no_such_variable}}\n")] {
            let file = copy + "/" + name
            let text = try String(contentsOfFile: file, encoding: .utf8) + addition
            try text.write(toFile: file, atomically: true, encoding: .utf8)
        }
        return copy
    }

    @Test("bad templates stop notify run at start with every FILE:LINE and exit 65; nothing is consumed")
    func badTemplateStopsAtStart() throws {
        let dir = CLI.temporaryDirectory("notify-bad-template")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let templates = try brokenTemplates(dir)
        let r = try CLI.run(["notify", "run", "--until-idle", "0.2", "--templates", templates, "--data-dir", dir + "/data"])
        #expect(r.status == 65, "\(r.stderr)")
        #expect(r.stderr.contains("sms/debit.fa.mustache:"), "names the file and line: \(r.stderr)")
        #expect(r.stderr.contains("email/credit.en.mustache:") && r.stderr.contains("no_such_variable"), "every problem, together: \(r.stderr)")
        let groups = try CLI.run(["log", "groups", "--data-dir", dir + "/data"])
        #expect(!groups.stdout.contains("notifier"), "nothing was consumed: \(groups.stdout)")
    }

    @Test("preview renders what each channel would send, and says why a channel is skipped")
    func preview() throws {
        let dir = CLI.temporaryDirectory("notify-preview")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let account = "IR062960000000100324200001"
        #expect(try CLI.run(["customers", "add", "C1", "--name", "مریم احمدی", "--language", "fa", "--phone", "09121234567",
                             "--email", "maryam@example.com", "--account", account, "--data-dir", dir]).status == 0)
        #expect(try CLI.run(["customers", "disable", "C1", "email", "--data-dir", dir]).status == 0)
        let event = #"{"type":"transaction","id":"T1","account":"IR062960000000100324200001","direction":"debit","amount":1250000000,"currency":"IRR","bookedAt":1774087200000}"#
        let r = try CLI.run(["notify", "preview", "--customer", "C1", "--event", event, "--at", "1774087200000",
                             "--templates", Self.templates, "--data-dir", dir])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("== sms: send now (notify.sms → +989121234567)"), "\(r.stdout)")
        #expect(r.stdout.contains("۱۲٬۵۰۰٬۰۰۰ ریال"), "Persian digits and grouping: \(r.stdout)")
        #expect(r.stdout.contains("۱ فروردین ۱۴۰۵"), "Jalali date of 2026-03-21: \(r.stdout)")
        #expect(r.stdout.contains("== email: skip: channel-disabled"), "\(r.stdout)")
        let missing = try CLI.run(["notify", "preview", "--customer", "C9", "--event", event, "--templates", Self.templates, "--data-dir", dir])
        #expect(missing.status == 66, "\(missing.stderr)")
    }
}

@Suite("chapar notify run: refusals")
struct NotifyRunRefusalTests {
    @Test("a missing customer database is refused (66) instead of consuming the backlog with nobody to notify")
    func missingDatabaseIsRefused() throws {
        let dir = CLI.temporaryDirectory("notify-nodb")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try CLI.run(["notify", "run", "--until-idle", "0.2", "--database", dir + "/typo.sqlite",
                             "--templates", NotifierCrashTests.templates, "--data-dir", dir + "/data"])
        #expect(r.status == 66, "\(r.stderr)")
        #expect(r.stderr.contains("no customer database"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/typo.sqlite"), "nothing is created")
    }
}
