public import ChaparModels
import Foundation
import GRDB
import Logging

/// What an import changed.
public struct ImportSummary: Sendable, Hashable, Codable {
    /// Customers written (new plus replaced).
    public var customers: Int
    /// Of those, customers that existed before and were replaced.
    public var replaced: Int
    /// Account links written.
    public var accounts: Int
    /// Channel preferences written.
    public var channels: Int

    /// A summary with the given counts.
    public init(customers: Int = 0, replaced: Int = 0, accounts: Int = 0, channels: Int = 0) {
        self.customers = customers
        self.replaced = replaced
        self.accounts = accounts
        self.channels = channels
    }
}

extension CustomerStore {
    /// Imports a CSV file (layout: ``CustomerCSV``) in one transaction: either every row is applied
    /// or none is.
    ///
    /// The file is streamed, so memory does not grow with its size beyond a set of the ids seen.
    /// Each row describes one customer completely: a customer already in the store is replaced
    /// (accounts and channels included); customers not in the file are left alone.
    /// - Throws: `invalid` with one `FILE:LINE: column: what is wrong` per bad field in
    ///   ``CustomerStoreError/problems`` (nothing is applied), `notFound` when the file does not exist,
    ///   `storage`/`busy` for database trouble.
    public func importCSV(path file: String) throws -> ImportSummary {
        var reader = try CSVReader(path: file)
        defer { reader.close() }
        return try bulkWrite("import \(file) into") { writer, summary, problems, seen, replacing in
            guard let first = try reader.next() else {
                throw CustomerStoreError(.invalid, "\(file) is empty; the first line must name the columns: \(CustomerCSV.columns.joined(separator: ","))")
            }
            let header: CustomerCSV.Header
            switch first {
            case .failure(let bad):
                throw CustomerStoreError(.invalid, "\(file):\(bad.line): header: \(bad.reason)")
            case .success(let record):
                do { header = try CustomerCSV.Header(record.fields) } catch let error as InvalidValue {
                    throw CustomerStoreError(.invalid, "\(file):\(record.line): header: \(error.field): \(error.reason)")
                } catch {
                    throw CustomerStoreError(.invalid, "\(file):\(record.line): header: \(error)")
                }
            }
            var rowProblems: [(column: String, reason: String)] = []
            var badRows = 0
            while let next = try reader.next() {
                let record: CSVReader.Record
                switch next {
                case .failure(let bad):
                    problems.append("\(file):\(bad.line): row: \(bad.reason)")
                    badRows += 1
                    continue
                case .success(let r):
                    record = r
                }
                if record.fields.count == 1 && record.fields[0].isEmpty { continue }  // blank line
                rowProblems.removeAll(keepingCapacity: true)
                guard let profile = CustomerCSV.profile(record.fields, header: header, problems: &rowProblems) else {
                    for p in rowProblems { problems.append("\(file):\(record.line): \(p.column): \(p.reason)") }
                    badRows += 1
                    continue
                }
                if let earlier = seen.updateValue(record.line, forKey: profile.id.rawValue) {
                    seen[profile.id.rawValue] = earlier
                    problems.append("\(file):\(record.line): id: customer \(profile.id) is already on line \(earlier); keep one row per customer")
                    badRows += 1
                    continue
                }
                guard problems.isEmpty else { continue }  // nothing will be applied: just keep validating
                do {
                    if replacing, try writer.delete(profile.id) { summary.replaced += 1 }
                    try writer.insert(profile)
                    summary.add(profile)
                } catch let error as DatabaseError {
                    problems.append("\(file):\(record.line): row: the database rejected it (\(error.message ?? "\(error.resultCode)"))")
                    badRows += 1
                }
            }
            if !problems.isEmpty {
                throw CustomerStoreError(.invalid, "\(file) has \(badRows) bad row(s); nothing was imported. Fix every row listed below and import the file again:", problems: problems)
            }
        }
    }

    /// Adds or replaces many customers in one transaction (the notifier's benchmark and tests use it).
    /// Every profile is validated first; if any is invalid nothing is written.
    public func importProfiles(_ profiles: [CustomerProfile]) throws -> ImportSummary {
        var problems: [String] = []
        for p in profiles {
            do { try CustomerStore.validate(p) } catch { problems.append("customer \(p.id): \(error)") }
        }
        if !problems.isEmpty {
            throw CustomerStoreError(.invalid, "\(problems.count) customer(s) are invalid; nothing was imported:", problems: problems)
        }
        return try bulkWrite("import customers into") { writer, summary, problems, seen, replacing in
            for p in profiles {
                if seen.updateValue(0, forKey: p.id.rawValue) != nil {
                    throw CustomerStoreError(.invalid, "customer \(p.id) is given twice; nothing was imported")
                }
                if replacing, try writer.delete(p.id) { summary.replaced += 1 }
                try writer.insert(p)
                summary.add(p)
            }
        }
    }

    /// One immediate write transaction tuned for bulk inserts; rolls back if `body` throws.
    private func bulkWrite(_ what: String,
                           _ body: (ProfileWriter, inout ImportSummary, inout [String], inout [String: Int], Bool) throws -> Void) throws -> ImportSummary {
        try write(what) { db in
            // A large page cache keeps the account index (inserted in random order) in memory.
            let cacheSize = try Int.fetchOne(db, sql: "PRAGMA cache_size") ?? -2000
            try db.execute(sql: "PRAGMA cache_size = -262144")
            defer { try? db.execute(sql: "PRAGMA cache_size = \(cacheSize)") }
            let replacing = try Bool.fetchOne(db, sql: "SELECT 1 FROM customer LIMIT 1") ?? false
            var summary = ImportSummary()
            var problems: [String] = []
            var seen: [String: Int] = [:]
            try body(try ProfileWriter(db), &summary, &problems, &seen, replacing)
            if !problems.isEmpty { throw CustomerStoreError(.invalid, "nothing was imported", problems: problems) }
            logger.info("customers imported", metadata: ["chapar.customers": .stringConvertible(summary.customers), "chapar.replaced": .stringConvertible(summary.replaced)])
            return summary
        }
    }

    /// Writes every customer as CSV (layout: ``CustomerCSV``) to `path`, or to stdout when nil, from
    /// one consistent snapshot. A file is written beside the target and renamed into place, so a
    /// failed export never leaves half a file. Returns the number of customers written.
    @discardableResult
    public func exportCSV(to path: String?) throws -> Int {
        let temporary = path.map { $0 + ".tmp-\(getpid())" }
        var writer = try CSVWriter(path: temporary)
        var count = 0
        do {
            try writer.write(CustomerCSV.columns)
            try forEachCustomer { profile in
                try writer.write(CustomerCSV.row(profile))
                count += 1
            }
            try writer.finish()
            if let path, let temporary, rename(temporary, path) != 0 {
                throw CustomerStoreError(.storage, "cannot write \(path): \(String(cString: strerror(errno)))")
            }
        } catch {
            if let temporary { Foundation.unlink(temporary) }
            throw error
        }
        return count
    }
}

extension ImportSummary {
    mutating func add(_ p: CustomerProfile) {
        customers += 1
        accounts += p.accounts.count
        channels += p.channels.count
    }
}
