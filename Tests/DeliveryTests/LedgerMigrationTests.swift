import ChaparModels
import Foundation
import GRDB
import Testing
@testable import Delivery

/// A ledger written by an earlier version keeps its rows and its rules when it is opened.
@Suite(.timeLimit(.minutes(1))) struct LedgerMigrationTests {
    @Test func aV1LedgerKeepsItsJobsAndItsChecks() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("chapar-ledger-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/deliveries.sqlite"
        let j1 = try JobID("00000000000000000000000000000001"), j2 = try JobID("00000000000000000000000000000002")
        do {
            let v1 = try DatabaseQueue(path: path)
            try DeliveryLedger.migrator.migrate(v1, upTo: "v1-ledger")
            try await v1.write { db in
                try db.execute(sql: """
                    INSERT INTO jobs (id, event, customer, channel, priority, status, attempts, address, created_at, updated_at, due_at, record, budget_from)
                    VALUES ('00000000000000000000000000000001', 'e1', 'C1', 'sms', 'normal', 'sent', 1, '+98912***4567', 1, 2, NULL, NULL, 0),
                           ('00000000000000000000000000000002', 'e2', 'C2', 'sms', 'bulk', 'scheduled', 3, '+98912***4568', 1, 2, 5, x'0102', 2)
                    """)
            }
            try v1.close()
        }
        let ledger = try DeliveryLedger.open(path: path, logger: quietLogger)
        defer { ledger.close() }
        let states = try await ledger.states(of: [j1, j2])
        #expect(states[j1]?.status == .sent)
        #expect(states[j2]?.status == .scheduled && states[j2]?.attempts == 3 && states[j2]?.budgetFrom == 2)
        #expect(try await ledger.nextDue(channel: .sms) == Timestamp(milliseconds: 5))

        try await ledger.pool.write { db in
            let indexes = try String.fetchSet(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'jobs' AND sql IS NOT NULL")
            #expect(indexes == ["jobs_event", "jobs_customer", "jobs_status", "jobs_due"])
            for (column, value) in [("channel", "pager"), ("priority", "low"), ("status", "lost")] {
                let values = ["channel": "sms", "priority": "normal", "status": "sent"].merging([column: value]) { $1 }
                #expect(throws: DatabaseError.self) {
                    try db.execute(sql: """
                        INSERT INTO jobs (id, event, customer, channel, priority, status, address, created_at, updated_at)
                        VALUES ('bad', 'e', 'C', ?, ?, ?, 'x', 1, 1)
                        """, arguments: [values["channel"], values["priority"], values["status"]])
                }
            }
        }
    }
}
