import Foundation
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `chapar customers`: exit codes, actionable errors, Persian round trips, several processes at once.
@Suite struct CustomersCLITests {
    private func customers(_ args: [String], dir: String, input: String = "") throws -> CLI.Result {
        try CLI.run(["customers"] + args + ["--data-dir", dir], input: input)
    }

    // MARK: failure paths

    @Test(arguments: [
        (["show", "C9"], Int32(66), "there is no customer C9"),
        (["remove", "C9"], Int32(66), "chapar customers list"),
        (["add", "C1", "--name", "x", "--language", "fa"], Int32(73), "already exists"),
        (["add", "C2", "--name", "x", "--language", "de"], Int32(65), "use fa or en"),
        (["add", "C2", "--name", "x", "--language", "fa", "--phone", "12345"], Int32(65), "use E.164"),
        (["add", "C2", "--name", "x", "--language", "fa", "--email", "x@y"], Int32(65), "name@example.com"),
        (["add", "C2", "--name", "x", "--language", "fa", "--im", "icq:1"], Int32(65), "telegram:<chat id>"),
        (["add", "C2", "--name", "x", "--language", "fa", "--timezone", "Tehran"], Int32(65), "Asia/Tehran"),
        (["add", "C 2", "--name", "x", "--language", "fa"], Int32(65), "not a customer id"),
        (["add", "C2", "--language", "fa"], Int32(64), "--name"),
        (["enable", "C1"], Int32(64), "<channels>"),
        (["enable", "C1", "pigeon"], Int32(65), "use sms, email, fax or im"),
        (["enable", "C1", "fax"], Int32(66), "has no fax address"),
        (["set", "C1"], Int32(64), "nothing to change"),
        (["set", "C1", "--min-amount", "5"], Int32(64), "amount and a currency"),
        (["set", "C1", "--min-amount", "5", "XX"], Int32(65), "ISO 4217"),
        (["set", "C1", "--quiet-hours", "22-07"], Int32(65), "HH:MM"),
        (["set", "C1", "--address", "+989121234567"], Int32(64), "need --channel"),
        (["set", "C1", "--channel", "im", "--events", "debit"], Int32(66), "no im address"),
        (["set", "C1", "--quiet-hours", "22:00-07:00", "--no-quiet-hours"], Int32(64), "not both"),
        (["unlink-account", "C1", "IR9"], Int32(66), "is not linked"),
        (["link-account", "C1", "IR1"], Int32(73), "already linked"),
        (["import", "/nonexistent/file.csv"], Int32(66), "check the path"),
        (["list", "--enabled", "--disabled"], Int32(64), "not both"),
        (["list", "--busy-timeout", "soon"], Int32(64), "not a duration"),
    ])
    func badInputGivesClearErrorAndExitCode(args: [String], status: Int32, message: String) throws {
        let dir = CLI.temporaryDirectory("cust-errors")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try customers(["add", "C1", "--name", "علی", "--language", "fa", "--phone", "09121234567", "--account", "IR1"], dir: dir).status == 0)
        let result = try customers(args, dir: dir)
        #expect(result.status == status, "stderr: \(result.stderr)")
        #expect(result.stderr.contains(message), "stderr: \(result.stderr)")
    }

    @Test func corruptDatabaseFileExitsWithStorageError() throws {
        let dir = CLI.temporaryDirectory("cust-corrupt")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data(String(repeating: "this is not sqlite\n", count: 400).utf8).write(to: URL(fileURLWithPath: dir + "/customers.sqlite"))
        let result = try customers(["list"], dir: dir)
        #expect(result.status == 74)
        #expect(result.stderr.contains("not a customer database or is corrupt"), "\(result.stderr)")
        #expect(result.stderr.contains("restore it from a backup"))
    }

    @Test  // scripts/install-deps.sh installs the sqlite3 shell this test uses to hold a lock from another process

    func databaseLockedBeyondTheBusyTimeoutExitsWith75() throws {
        let dir = CLI.temporaryDirectory("cust-locked")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try customers(["add", "C1", "--name", "Ali", "--language", "en"], dir: dir).status == 0)
        // Another process opens a write transaction and keeps it open while stdin stays open.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        holder.arguments = [dir + "/customers.sqlite"]
        let stdin = Pipe(), stdout = Pipe()
        holder.standardInput = stdin
        holder.standardOutput = stdout
        holder.standardError = FileHandle.nullDevice
        try holder.run()
        defer {
            try? stdin.fileHandleForWriting.close()
            holder.waitUntilExit()
        }
        stdin.fileHandleForWriting.write(Data("BEGIN IMMEDIATE;\nUPDATE customer SET active = active;\nSELECT 'locked';\n".utf8))
        var seen = Data()
        while !String(decoding: seen, as: UTF8.self).contains("locked") {
            let chunk = stdout.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen.append(chunk)
        }
        let clock = ContinuousClock()
        let start = clock.now
        let result = try CLI.run(["customers", "disable", "C1", "sms", "--busy-timeout", "300ms", "--data-dir", dir])
        let waited = start.duration(to: clock.now)
        #expect(result.status == 75, "stderr: \(result.stderr)")
        #expect(result.stderr.contains("locked by another process"), "\(result.stderr)")
        #expect(result.stderr.contains("retry"))
        #expect(waited >= .milliseconds(300), "it waits for the busy timeout first")
        // Readers are not blocked by the writer (WAL).
        let read = try customers(["show", "C1", "--busy-timeout", "300ms"], dir: dir)
        #expect(read.status == 0, "\(read.stderr)")
    }

    @Test func badImportReportsEveryRowAndAppliesNothing() throws {
        let dir = CLI.temporaryDirectory("cust-import")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/in.csv"
        try Data("id,name,language,sms\nC1,علی,fa,09121234567\nC2,Bad,xx,\nC3,زهرا,fa,+98 21 1234\nC4,OK,en,\n".utf8).write(to: URL(fileURLWithPath: file))
        let result = try customers(["import", file], dir: dir)
        #expect(result.status == 65)
        let lines = result.stderr.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("chapar: error: \(file) has 2 bad row(s); nothing was imported") == true, "\(result.stderr)")
        #expect(lines.contains { $0.hasPrefix("\(file):3: language: 'xx'") })
        #expect(lines.contains { $0.hasPrefix("\(file):4: sms: '+98 21 1234'") })
        let listed = try customers(["list", "--json"], dir: dir)
        #expect((try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [Any])?.isEmpty == true, "nothing applied: \(listed.stdout)")
    }

    // MARK: round trips

    @Test func persianNamesRoundTripThroughAddShowExportAndImport() throws {
        let dir = CLI.temporaryDirectory("cust-persian")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let name = "محمدرضا \"شجریان\", تهرانی"
        let added = try customers(["add", "C0000001", "--name", name, "--language", "fa", "--phone", "۰۹۱۲ ۱۲۳ ۴۵۶۷", "--email", "m@example.ir",
                                   "--im", "telegram:-1001234", "--account", "IR490170000000000000000002", "--json"], dir: dir)
        #expect(added.status == 0, "\(added.stderr)")
        #expect(try customers(["set", "C0000001", "--channel", "sms", "--quiet-hours", "22:00-07:00", "--min-amount", "5000000", "IRR", "--events", "debit,security"], dir: dir).status == 0)
        #expect(try customers(["disable", "C0000001", "im"], dir: dir).status == 0)
        let shown = try customers(["show", "C0000001", "--json"], dir: dir)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])
        #expect(json["name"] as? String == name)
        let channels = try #require(json["channels"] as? [[String: Any]])
        #expect(channels.map { $0["address"] as? String } == ["+989121234567", "m@example.ir", "telegram:-1001234"])
        #expect(channels[0]["quietHours"] as? String == "22:00-07:00")
        #expect(channels[0]["events"] as? [String] == ["debit", "security"])
        #expect(channels[2]["enabled"] as? Bool == false)
        #expect(try customers(["show", "C0000001"], dir: dir).stdout.contains(name))

        let exported = try customers(["export"], dir: dir)
        #expect(exported.status == 0)
        #expect(exported.stdout.contains("\"\(name.replacingOccurrences(of: "\"", with: "\"\""))\""), "the comma-bearing name is quoted: \(exported.stdout)")
        let file = dir + "/export.csv"
        #expect(try customers(["export", file], dir: dir).status == 0)
        let other = CLI.temporaryDirectory("cust-persian-b")
        defer { try? FileManager.default.removeItem(atPath: other) }
        let imported = try customers(["import", file, "--json"], dir: other)
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(try customers(["show", "C0000001", "--json"], dir: other).stdout == shown.stdout)
        #expect(try customers(["export"], dir: other).stdout == exported.stdout)
    }

    @Test func listFiltersAndJSON() throws {
        let dir = CLI.temporaryDirectory("cust-list")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try customers(["add", "A", "--name", "Anna", "--language", "en", "--email", "a@example.com", "--account", "IR1"], dir: dir).status == 0)
        #expect(try customers(["add", "B", "--name", "بهرام", "--language", "fa", "--phone", "09121111111", "--account", "IR1", "--account", "IR2"], dir: dir).status == 0)
        #expect(try customers(["disable", "B", "sms"], dir: dir).status == 0)
        func ids(_ args: [String]) throws -> [String] {
            let r = try customers(["list", "--json"] + args, dir: dir)
            let rows = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]] ?? []
            return rows.compactMap { $0["id"] as? String }
        }
        #expect(try ids([]) == ["A", "B"])
        #expect(try ids(["--account", "IR2"]) == ["B"])
        #expect(try ids(["--channel", "sms"]) == ["B"])
        #expect(try ids(["--channel", "sms", "--enabled"]) == [])
        #expect(try ids(["--disabled"]) == ["B"])
        let table = try customers(["list"], dir: dir)
        #expect(table.stdout.contains("sms(off)") && table.stdout.contains("بهرام"))
    }

    // MARK: several processes

    @Test func concurrentCLIWritersWhileAnotherProcessReads() throws {
        let dir = CLI.temporaryDirectory("cust-concurrent")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try customers(["add", "J", "--name", "Joint", "--language", "en"], dir: dir).status == 0)
        let writers = 6, perWriter = 4
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: writers + 1) { w in
            do {
                if w == writers {
                    // The reader: lists repeatedly while the writers run; it must never fail.
                    for _ in 0..<8 {
                        let r = try CLI.run(["customers", "list", "--json", "--data-dir", dir])
                        if r.status != 0 { failures.withLock { $0.append("reader: \(r.stderr)") } }
                    }
                    return
                }
                for i in 0..<perWriter {
                    let id = "W\(w)N\(i)"
                    let add = try CLI.run(["customers", "add", id, "--name", "نویسنده \(w)", "--language", "fa", "--phone", "0912\(w)00000\(i)", "--data-dir", dir])
                    let link = try CLI.run(["customers", "link-account", "J", "IR\(w)X\(i)", "--data-dir", dir])
                    for r in [add, link] where r.status != 0 { failures.withLock { $0.append("writer \(w): \(r.stderr)") } }
                }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 } == [])
        let list = try customers(["list", "--json"], dir: dir)
        let rows = try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(rows.count == 1 + writers * perWriter)
        let joint = rows.first { $0["id"] as? String == "J" }
        #expect((joint?["accounts"] as? [String])?.count == writers * perWriter, "no link lost between concurrent read-modify-writes")
    }

    // MARK: demo data

    @Test
    func demoCustomersFollowTheAccountSchemeAndImport() throws {
        let dir = CLI.temporaryDirectory("cust-demo")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/demo.csv"
        let generated = try CLI.run(["demo", "generate-customers", "--count", "30", "--seed", "5", "--output", file])
        #expect(generated.status == 0, "\(generated.stderr)")
        let again = try CLI.run(["demo", "generate-customers", "--count", "30", "--seed", "5"])
        #expect(again.stdout.replacingOccurrences(of: "\r\n", with: "\n") == (try String(contentsOfFile: file, encoding: .utf8)).replacingOccurrences(of: "\r\n", with: "\n"), "same seed, same file")
        let imported = try customers(["import", file], dir: dir)
        #expect(imported.status == 0, "\(imported.stderr)")
        let c10 = try customers(["show", "C0000010", "--json"], dir: dir)
        let json = try JSONSerialization.jsonObject(with: Data(c10.stdout.utf8)) as? [String: Any]
        // accounts 20, 21 and the joint account 18 (customer 9's first)
        #expect((json?["accounts"] as? [String])?.map { String($0.suffix(2)) } == ["20", "21", "18"])
        #expect(try customers(["list", "--account", (json?["accounts"] as? [String])?.last ?? "", "--json"], dir: dir).stdout.contains("C0000009"))
    }
}
