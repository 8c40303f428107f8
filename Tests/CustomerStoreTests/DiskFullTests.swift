@testable import CustomerStore
import GRDB
import Testing

/// A full disk is a temporary storage error (the CLI exits 75, like every command), never damage.
@Suite struct CustomerStoreDiskFullTests {
    @Test func sqliteFullIsAStorageErrorMarkedDiskFull() {
        let full = CustomerStore.map(DatabaseError(resultCode: .SQLITE_FULL), path: "/d/customers.sqlite", doing: "add customer C1 to")
        #expect(full.code == .storage && full.isDiskFull)
        #expect(full.message.contains("disk full; nothing is damaged: free space and run the same command again"), "\(full.message)")
        let corrupt = CustomerStore.map(DatabaseError(resultCode: .SQLITE_CORRUPT), path: "/d/customers.sqlite", doing: "open")
        #expect(corrupt.code == .storage && !corrupt.isDiskFull)
    }
}
