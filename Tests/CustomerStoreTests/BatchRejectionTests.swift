import ChaparModels
@testable import CustomerStore
import Foundation
import GRDB
import Testing

/// Rows that pass validation but that SQLite still rejects (here: a trigger standing in for a
/// constraint added by a later migration) are reported by line, and nothing is applied.
@Suite struct BatchRejectionTests {
    @Test func rowRejectedByTheDatabaseIsNamedByItsLineAndNothingIsApplied() throws {
        let dir = Fixture.directory("reject")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Fixture.store(dir)
        try store.pool.write { db in
            try db.execute(sql: "CREATE TRIGGER no_c77 BEFORE INSERT ON customer WHEN NEW.id = 'C77' BEGIN SELECT RAISE(ABORT, 'C77 is blocked'); END")
        }
        var csv = "id,name,language,sms\n"
        for n in 1...150 { csv += "C\(n),نام \(n),fa,0912\(String(1_000_000 + n))\n" }
        try Fixture.write(csv, to: dir + "/r.csv")
        do {
            _ = try store.importCSV(path: dir + "/r.csv")
            Issue.record("the rejected row was not reported")
        } catch let error as CustomerStoreError {
            #expect(error.code == .invalid)
            #expect(error.problems == ["\(dir)/r.csv:78: row: the database rejected it (C77 is blocked)"], "\(error.problems)")
        }
        #expect(try store.count() == 0, "nothing applied")
    }
}
