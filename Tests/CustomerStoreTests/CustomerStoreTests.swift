import ChaparModels
@testable import CustomerStore
import Foundation
import Testing

/// The store: failure paths (locked, corrupt, bad input) first, then writes, import/export and reads.
@Suite struct CustomerStoreTests {
    // MARK: storage failures

    @Test func corruptFileGivesClearStorageError() throws {
        let dir = Fixture.directory("corrupt")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var garbage = [UInt8](repeating: 0, count: 8192)
        var rng = SeededRandom(seed: 7)
        for i in garbage.indices { garbage[i] = UInt8(truncatingIfNeeded: rng.next()) }
        try Data(garbage).write(to: URL(fileURLWithPath: dir + "/customers.sqlite"))
        do {
            _ = try Fixture.store(dir)
            Issue.record("a file of random bytes opened as a customer store")
        } catch let error as CustomerStoreError {
            #expect(error.code == .storage)
            #expect(error.message.contains("not a customer database or is corrupt"), "\(error)")
            #expect(error.message.contains("restore"), "the message should say what to do: \(error)")
        }
    }

    @Test func missingDirectoryGivesClearStorageError() throws {
        do {
            _ = try CustomerStore.open(path: "/nonexistent-chapar-dir/customers.sqlite", logger: Fixture.logger)
            Issue.record("opened a store in a missing directory")
        } catch let error as CustomerStoreError {
            #expect(error.code == .storage)
            #expect(error.message.contains("does not exist"))
        }
    }

    @Test func writeBlockedBeyondBusyTimeoutFailsAsBusy() throws {
        let dir = Fixture.directory("locked")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let holder = try Fixture.store(dir)
        let waiter = try Fixture.store(dir, busyTimeout: .milliseconds(200))
        let locked = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
        Thread {
            try? holder.holdWriteLock(for: .seconds(2)) { locked.signal() }
            done.signal()
        }.start()
        locked.wait()
        let clock = ContinuousClock()
        let start = clock.now
        do {
            try waiter.add(try Fixture.profile("C1"))
            Issue.record("a write succeeded while another connection held the write lock")
        } catch let error as CustomerStoreError {
            #expect(error.code == .busy)
            #expect(error.message.contains("locked by another process"), "\(error)")
            #expect(error.message.contains("retry"))
        }
        let waited = start.duration(to: clock.now)
        #expect(waited >= .milliseconds(150) && waited < .milliseconds(1900), "should wait about the busy timeout, waited \(waited)")
        done.wait()
        // Once the lock is released the same write succeeds.
        try waiter.add(try Fixture.profile("C1"))
        #expect(try holder.customer(try CustomerID("C1")) != nil)
    }

    @Test func writeWaitsForShortLockWithinBusyTimeout() throws {
        let dir = Fixture.directory("wait")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let holder = try Fixture.store(dir)
        let waiter = try Fixture.store(dir, busyTimeout: .seconds(5))
        let locked = DispatchSemaphore(value: 0)
        Thread { try? holder.holdWriteLock(for: .milliseconds(300)) { locked.signal() } }.start()
        locked.wait()
        try waiter.add(try Fixture.profile("C1"))
        #expect(try waiter.count() == 1)
    }

    // MARK: validation

    @Test(arguments: [
        ("", "name", "empty"),
        (" Ali", "name", "spaces"),
        ("Ali\u{7}", "name", "control character"),
        (String(repeating: "ع", count: 201), "name", "200"),
    ])
    func badNamesAreRejected(name: String, field: String, reason: String) throws {
        let dir = Fixture.directory("names")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Fixture.store(dir)
        #expect {
            try store.add(try Fixture.profile("C1", name: name))
        } throws: { error in
            guard let e = error as? CustomerStoreError else { return false }
            return e.code == .invalid && e.message.contains(field) && e.message.contains(reason)
        }
        #expect(try store.count() == 0)
    }

    @Test func unknownTimeZoneDuplicateChannelAndAccountAreRejected() throws {
        var p = try Fixture.profile("C1", accounts: ["IR1"])
        p.timeZone = "Tehran"
        #expect(throws: InvalidValue.self) { try CustomerStore.validate(p) }
        p.timeZone = "Asia/Tehran"
        p.channels.append(p.channels[0])
        #expect(throws: InvalidValue.self) { try CustomerStore.validate(p) }
        p.channels.removeLast()
        p.accounts.append(p.accounts[0])
        #expect(throws: InvalidValue.self) { try CustomerStore.validate(p) }
        p.accounts.removeLast()
        try CustomerStore.validate(p)
    }

    // MARK: writes

    @Test func addShowUpdateRemoveKeepPersianNameIntact() throws {
        let dir = Fixture.directory("crud")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Fixture.store(dir)
        let name = "فاطمه حسینیِ تهرانی ۱۴۰۲"
        let id = try CustomerID("C0000001")
        try store.add(try Fixture.profile("C0000001", name: name, accounts: ["IR490170000000000000000002"], email: "f@example.com"))
        #expect(throws: CustomerStoreError.self) { try store.add(try Fixture.profile("C0000001")) }
        let stored = try #require(try store.customer(id))
        #expect(stored.name == name)
        #expect(stored.name.unicodeScalars.elementsEqual(name.unicodeScalars), "no normalization of the name")
        #expect(stored.channels.map(\.channel) == [.sms, .email])

        try store.setEnabled(false, customer: id, channels: [.email])
        try store.link(id, account: try AccountID("IR1"))
        #expect(throws: CustomerStoreError.self) { try store.link(id, account: try AccountID("IR1")) }
        try store.update(id) { p in p.channels[0].quietHours = try QuietHours(parsing: "22:00-07:00") }
        let updated = try #require(try store.customer(id))
        #expect(updated.preference(for: .email)?.enabled == false)
        #expect(updated.accounts.map(\.rawValue) == ["IR490170000000000000000002", "IR1"])
        #expect(updated.preference(for: .sms)?.quietHours?.description == "22:00-07:00")
        #expect(try store.customers(forAccount: try AccountID("ir1")).map(\.id) == [id])

        try store.unlink(id, account: try AccountID("IR1"))
        #expect(try store.customers(forAccount: try AccountID("IR1")).isEmpty)
        #expect { try store.setEnabled(true, customer: id, channels: [.fax]) } throws: { ($0 as? CustomerStoreError)?.code == .notFound }
        try store.remove(id)
        #expect(try store.customer(id) == nil)
        #expect { try store.remove(id) } throws: { ($0 as? CustomerStoreError)?.code == .notFound }
    }

    @Test func jointAccountListsEveryHolderInIdOrder() throws {
        let dir = Fixture.directory("joint")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Fixture.store(dir)
        try store.add(try Fixture.profile("B", accounts: ["IRJOINT", "IRB"]))
        try store.add(try Fixture.profile("A", accounts: ["IRJOINT"]))
        #expect(try store.customers(forAccount: try AccountID("IRJOINT")).map(\.id.rawValue) == ["A", "B"])
        #expect(try store.list(CustomerFilter(account: try AccountID("IRB"))).map(\.id.rawValue) == ["B"])
        try store.remove(try CustomerID("B"))
        #expect(try store.customers(forAccount: try AccountID("IRJOINT")).map(\.id.rawValue) == ["A"], "links cascade with the customer")
    }

    @Test func listFiltersByChannelAndState() throws {
        let dir = Fixture.directory("list")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Fixture.store(dir)
        try store.add(try Fixture.profile("A", email: "a@example.com"))
        try store.add(try Fixture.profile("B", phone: nil, email: "b@example.com"))
        try store.add(try Fixture.profile("C", phone: nil))
        try store.setEnabled(false, customer: try CustomerID("B"), channels: [.email])
        func ids(_ f: CustomerFilter) throws -> [String] { try store.list(f).map(\.id.rawValue) }
        #expect(try ids(CustomerFilter()) == ["A", "B", "C"])
        #expect(try ids(CustomerFilter(channel: .sms)) == ["A"])
        #expect(try ids(CustomerFilter(channel: .email)) == ["A", "B"])
        #expect(try ids(CustomerFilter(channel: .email, enabled: true)) == ["A"])
        #expect(try ids(CustomerFilter(channel: .email, enabled: false)) == ["B"])
        #expect(try ids(CustomerFilter(enabled: false)) == ["B", "C"])
        #expect(try ids(CustomerFilter(enabled: true)) == ["A"])
    }

    @Test func concurrentUpdatesFromSeparateConnectionsAreNeverLost() throws {
        let dir = Fixture.directory("concurrent")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try Fixture.store(dir)
        try first.add(try Fixture.profile("C1"))
        let writers = 4, perWriter = 15
        let stores = try (0..<writers).map { _ in try Fixture.store(dir) }
        DispatchQueue.concurrentPerform(iterations: writers) { w in
            for i in 0..<perWriter {
                do { try stores[w].link(try CustomerID("C1"), account: try AccountID("IR\(w)X\(i)")) } catch { Issue.record("link failed: \(error)") }
            }
        }
        #expect(try first.customer(try CustomerID("C1"))?.accounts.count == writers * perWriter)
    }

    // MARK: CSV import and export

    @Test func importWithBadRowsInTheMiddleAppliesNothingAndReportsEveryRow() throws {
        let dir = Fixture.directory("atomic")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Fixture.store(dir)
        try store.add(try Fixture.profile("C2", name: "پیش از ورود"))
        let file = dir + "/bad.csv"
        try Fixture.write("""
            id,name,language,timezone,accounts,sms,sms_quiet_hours,email
            C1,علی,fa,Asia/Tehran,IR1,09121234567,,
            C2,زهرا,fa,,IR2;IR3,+989121234568,22:00-07:00,z@example.com
            C3,Bad Phone,en,Europe/Berlin,,12345,,
            C4,"Multi
            line, quoted",en,,,,,
            C5,Bad Lang,de,Mars/Base,,,25:00-07:00,
            C1,Duplicate,fa,,,,,
            C6,Ok,en,,,,,not-an-email

            """, to: file)
        do {
            _ = try store.importCSV(path: file)
            Issue.record("a file with bad rows was imported")
        } catch let error as CustomerStoreError {
            #expect(error.code == .invalid)
            #expect(error.message.contains("5 bad row(s); nothing was imported"), "\(error.message)")
            #expect(error.problems.contains("\(file):4: sms: '12345' is not a phone number: it has no country code; use E.164, e.g. +989121234567"), "\(error.problems)")
            #expect(error.problems.contains { $0.hasPrefix("\(file):7: language:") })
            #expect(error.problems.contains { $0.hasPrefix("\(file):7: timezone:") })
            #expect(error.problems.contains { $0.hasPrefix("\(file):7: sms_quiet_hours:") }, "set without an address")
            #expect(error.problems.contains("\(file):8: id: customer C1 is already on line 2; keep one row per customer"))
            #expect(error.problems.contains { $0.hasPrefix("\(file):9: email:") })
            #expect(error.problems.contains { $0.hasPrefix("\(file):5: name: the name contains a control character") }, "a record is reported at the line where it starts")
            #expect(!error.problems.contains { $0.contains(":6:") }, "the quoted line break does not start a record")
        }
        #expect(try store.count() == 1, "nothing applied")
        #expect(try store.customer(try CustomerID("C2"))?.name == "پیش از ورود", "the existing customer is untouched")
    }

    @Test(arguments: [
        ("id,name\n", "header: language"),
        ("", "is empty"),
        ("id,name,language,colour\n", "header: colour: unknown column"),
        ("id,name,language,id\n", "appears twice"),
    ])
    func badHeaderIsRejected(content: String, message: String) throws {
        let dir = Fixture.directory("header")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Fixture.store(dir)
        try Fixture.write(content, to: dir + "/h.csv")
        #expect { _ = try store.importCSV(path: dir + "/h.csv") } throws: { error in
            guard let e = error as? CustomerStoreError else { return false }
            return e.code == .invalid && e.message.contains(message)
        }
    }

    /// Every option of a row, one bad value at a time: the column named and the reason given.
    @Test(arguments: [
        ("id", "C 1", "not a customer id"),
        ("name", "", "empty"),
        ("language", "fr", "fa or en"),
        ("timezone", "Asia/Teheran", "IANA"),
        ("birthday", "1990-02-30", "not a valid date"),
        ("birthday", "30/01/1990", "YYYY-MM-DD"),
        ("active", "maybe", "true or false"),
        ("accounts", "IR1;IR1", "listed twice"),
        ("accounts", "IR 1;;", "empty"),
        ("sms", "+982188776655", "mobiles"),
        ("sms_enabled", "on", "true or false"),
        ("sms_events", "debit;Credit Card", "event kind"),
        ("sms_events", "debit;;credit", "event kind"),
        ("sms_min_amount", "IRR", "CURRENCY:AMOUNT"),
        ("sms_min_amount", "IR:100", "currency"),
        ("sms_min_amount", "EUR:10.555", "decimal places"),
        ("sms_min_amount", "EUR:-5", "only digits"),
        ("sms_min_amount", "EUR:5;EUR:6", "twice"),
        ("sms_quiet_hours", "22:00", "HH:MM-HH:MM"),
        ("sms_quiet_hours", "22:00-22:00", "real window"),
        ("sms_quiet_hours", "24:00-07:00", "24-hour clock"),
        ("email", "a@b", "needs a dot"),
        ("fax", "+989121234567", "faxes"),
        ("im", "icq:1", "IM kind"),
        ("im_enabled", "", ""),
    ])
    func everyColumnIsValidated(column: String, value: String, reason: String) throws {
        let dir = Fixture.directory("columns")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Fixture.store(dir)
        var row: [String: String] = ["id": "C1", "name": "نام", "language": "fa", "sms": "09121234567"]
        row[column] = value
        let columns = CustomerCSV.columns
        let line = columns.map { c in
            let v = row[c] ?? ""
            return v.contains(",") || v.contains("\"") ? "\"" + v.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : v
        }.joined(separator: ",")
        try Fixture.write(columns.joined(separator: ",") + "\n" + line + "\n", to: dir + "/c.csv")
        if reason.isEmpty {
            #expect(try store.importCSV(path: dir + "/c.csv").customers == 1)
            return
        }
        do {
            _ = try store.importCSV(path: dir + "/c.csv")
            Issue.record("\(column)=\(value) was accepted")
        } catch let error as CustomerStoreError {
            let prefix = "\(dir)/c.csv:2: \(column): "
            #expect(error.problems.contains { $0.hasPrefix(prefix) && $0.contains(reason) }, "\(error.problems)")
        }
        #expect(try store.count() == 0)
    }

    @Test func malformedQuotingIsReportedWithItsLine() throws {
        let dir = Fixture.directory("quotes")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Fixture.store(dir)
        try Fixture.write("id,name,language\nC1,Al\"i,fa\nC2,\"Ali\"x,fa\nC3,\"open,fa\n", to: dir + "/q.csv")
        #expect { _ = try store.importCSV(path: dir + "/q.csv") } throws: { error in
            let problems = (error as? CustomerStoreError)?.problems ?? []
            return problems.contains { $0.hasPrefix(dir + "/q.csv:2: row: a double quote") }
                && problems.contains { $0.hasPrefix(dir + "/q.csv:3: row: text after the closing quote") }
                && problems.contains { $0.hasPrefix(dir + "/q.csv:4: row: a quoted field is not closed") }
        }
    }

    @Test func exportThenImportReproducesTheStoreExactly() throws {
        let seed = UInt64(ProcessInfo.processInfo.environment["CHAPAR_TEST_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...1_000_000))
        print("exportThenImportReproducesTheStoreExactly seed \(seed) (rerun with CHAPAR_TEST_SEED=\(seed))")
        var rng = SeededRandom(seed: seed)
        let dir = Fixture.directory("roundtrip")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let source = try CustomerStore.open(path: dir + "/a.sqlite", logger: Fixture.logger)
        let profiles = try (1...300).map { try Fixture.randomProfile($0, rng: &rng) }
        let summary = try source.importProfiles(profiles)
        #expect(summary.customers == 300)
        #expect(try source.list() == profiles.map { p in var p = p; p.channels.sort { $0.channel < $1.channel }; return p })
        try source.exportCSV(to: dir + "/export.csv")
        let target = try CustomerStore.open(path: dir + "/b.sqlite", logger: Fixture.logger)
        let imported = try target.importCSV(path: dir + "/export.csv")
        #expect(imported.customers == 300 && imported.replaced == 0)
        #expect(try target.list() == (try source.list()), "seed \(seed)")
        // Importing the same file again replaces every customer with an identical copy.
        #expect(try target.importCSV(path: dir + "/export.csv").replaced == 300)
        #expect(try target.list() == (try source.list()))
        try target.exportCSV(to: dir + "/again.csv")
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/export.csv")) == Data(contentsOf: URL(fileURLWithPath: dir + "/again.csv")), "byte-identical export")
    }

    @Test func importProfilesIsAllOrNothing() throws {
        let dir = Fixture.directory("profiles")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Fixture.store(dir)
        var bad = try Fixture.profile("C2")
        bad.timeZone = "Nowhere"
        #expect { _ = try store.importProfiles([try Fixture.profile("C1"), bad]) } throws: { error in
            (error as? CustomerStoreError)?.problems.first?.contains("customer C2: timezone") == true
        }
        #expect { _ = try store.importProfiles([try Fixture.profile("C1"), try Fixture.profile("C1")]) } throws: { error in
            (error as? CustomerStoreError)?.code == .invalid
        }
        #expect(try store.count() == 0)
    }
}

/// Account ids that look like IBANs must be valid ones; other account numbers stay free-form.
@Suite struct AccountIBANTests {
    @Test(arguments: [
        ("IR270170000000100324200001", nil),                 // valid Iranian IBAN
        ("DE89370400440532013000", nil),                     // valid German IBAN
        ("GB82WEST12345698765432", nil),
        ("0170-1003242-01", nil),                            // a bank's own number: not IBAN-shaped
        ("IR1", nil),
        ("IR280170000000100324200001", "check digits (28) do not match"),
        ("IR27017000000010032420001", "which has 26 characters, not 25"),
        ("DE8937040044053201300", "which has 22 characters, not 21"),
    ] as [(String, String?)])
    func ibanShapedAccountsAreChecked(_ account: String, _ problem: String?) throws {
        let dir = Fixture.directory("iban")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Fixture.store(dir)
        let profile = try Fixture.profile("C1", accounts: [account])
        if let problem {
            #expect {
                try store.add(profile)
            } throws: { error in
                "\(error)".contains(problem) && "\(error)".contains(account)
            }
            #expect(try store.customers(forAccount: try AccountID(account)).isEmpty, "nothing half-applied")
        } else {
            try store.add(profile)
            #expect(try store.customers(forAccount: try AccountID(account)).map(\.id.rawValue) == ["C1"])
        }
    }
}
