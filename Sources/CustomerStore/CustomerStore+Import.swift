public import ChaparModels
import Foundation
import GRDB
import Logging
import Synchronization

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
        let reader = try CSVReader(path: file)
        // A pipeline of dedicated threads: one reads and splits the CSV, `validators` build and
        // validate profiles, and this thread writes them to SQLite in file order. Validation costs
        // more than writing, so it gets two threads. Every handoff is bounded, so memory stays flat
        // however large the file.
        let validators = 2
        let raw = Handoff<RawBatch>(capacity: 4)
        let parsed = OrderedHandoff<ParsedBatch>(capacity: 8, producers: validators)
        let done = DispatchSemaphore(value: 0)
        let readerThread = Thread {
            CustomerStore.read(reader, file: file, into: raw)
            reader.close()
            done.signal()
        }
        readerThread.name = "chapar.customers.read"
        readerThread.start()
        for v in 0..<validators {
            let thread = Thread {
                while let batch = raw.take() {
                    guard parsed.put(batch.sequence, CustomerStore.validate(batch, file: file)) else { break }
                }
                parsed.producerFinished()
                done.signal()
            }
            thread.name = "chapar.customers.validate.\(v)"
            thread.start()
        }
        defer {
            raw.cancel()
            parsed.cancel()
            for _ in 0...validators { done.wait() }
        }
        return try bulkWrite("import \(file) into") { writer, summary, problems, _, replacing in
            var badRows = 0
            var rejected: [(line: Int, message: String)] = []
            while let batch = parsed.take() {
                if let fatal = batch.fatal { throw fatal }
                problems += batch.problems
                badRows += batch.badRows
                guard problems.isEmpty && rejected.isEmpty else { continue }  // nothing will be applied: just collect the reports
                for (line, profile) in batch.profiles {
                    if replacing, try writer.delete(profile.id, problems: &rejected) { summary.replaced += 1 }
                    try writer.insert(profile, line: line, problems: &rejected)
                    summary.add(profile)
                }
            }
            try writer.finish(problems: &rejected)
            for r in rejected { problems.append("\(file):\(r.line): row: the database rejected it (\(r.message))") }
            badRows += rejected.count
            if !problems.isEmpty {
                throw CustomerStoreError(.invalid, "\(file) has \(badRows) bad row(s); nothing was imported. Fix every row listed below and import the file again:", problems: problems)
            }
        }
    }

    /// Records as read, in file order, with the header they belong to.
    struct RawBatch: Sendable {
        var sequence: Int
        var header: CustomerCSV.Header?
        /// Each record, and the line of an earlier record with the same id when it repeats one.
        var records: [(record: Result<CSVReader.Record, CSVReader.Malformed>, duplicateOf: Int?)] = []
        var fatal: CustomerStoreError?
    }

    /// Validated rows (with their line numbers) and the problems found, a thousand rows at a time.
    struct ParsedBatch: Sendable {
        var profiles: [(line: Int, profile: CustomerProfile)] = []
        var problems: [String] = []
        var badRows = 0
        /// A problem that stops the import (missing or bad header, unreadable file).
        var fatal: CustomerStoreError?
    }

    /// The reader thread: splits `reader` into batches of records, until the end or a cancel.
    /// Duplicate ids are found here, where the records pass in file order.
    static func read(_ reader: CSVReader, file: String, into handoff: Handoff<RawBatch>) {
        var reader = reader
        defer { handoff.finish() }
        var sequence = 0
        func fail(_ error: CustomerStoreError) { _ = handoff.put(RawBatch(sequence: sequence, fatal: error)) }
        do {
            guard let first = try reader.next() else {
                return fail(CustomerStoreError(.invalid, "\(file) is empty; the first line must name the columns: \(CustomerCSV.columns.joined(separator: ","))"))
            }
            let header: CustomerCSV.Header
            switch first {
            case .failure(let bad):
                return fail(CustomerStoreError(.invalid, "\(file):\(bad.line): header: \(bad.reason)"))
            case .success(let record):
                do { header = try CustomerCSV.Header(record.fields) } catch {
                    return fail(CustomerStoreError(.invalid, "\(file):\(record.line): header: \(error.field): \(error.reason)"))
                }
            }
            let idColumn = header.id ?? 0
            var seen: [String: Int] = [:]
            var batch = RawBatch(sequence: sequence, header: header)
            batch.records.reserveCapacity(1000)
            while let next = try reader.next() {
                var duplicateOf: Int?
                if case .success(let record) = next {
                    if record.fields.count == 1 && record.fields[0].isEmpty { continue }  // blank line
                    if idColumn < record.fields.count, !record.fields[idColumn].isEmpty,
                       let earlier = seen.updateValue(record.line, forKey: record.fields[idColumn]) {
                        seen[record.fields[idColumn]] = earlier
                        duplicateOf = earlier
                    }
                }
                batch.records.append((next, duplicateOf))
                if batch.records.count >= 1000 {
                    guard handoff.put(batch) else { return }
                    sequence += 1
                    batch = RawBatch(sequence: sequence, header: header)
                    batch.records.reserveCapacity(1000)
                }
            }
            _ = handoff.put(batch)
        } catch {
            fail(error)
        }
    }

    /// A validator thread's work: records to profiles, or to `FILE:LINE: column: what is wrong`.
    static func validate(_ raw: RawBatch, file: String) -> ParsedBatch {
        var batch = ParsedBatch()
        if let fatal = raw.fatal {
            batch.fatal = fatal
            return batch
        }
        guard let header = raw.header else { return batch }
        batch.profiles.reserveCapacity(raw.records.count)
        var rowProblems: [(column: String, reason: String)] = []
        for (next, duplicateOf) in raw.records {
            switch next {
            case .failure(let bad):
                batch.problems.append("\(file):\(bad.line): row: \(bad.reason)")
                batch.badRows += 1
            case .success(let record):
                rowProblems.removeAll(keepingCapacity: true)
                let profile = CustomerCSV.profile(record.fields, header: header, problems: &rowProblems)
                if let duplicateOf {
                    rowProblems.append(("id", "customer \(record.fields[header.id ?? 0]) is already on line \(duplicateOf); keep one row per customer"))
                }
                if let profile, rowProblems.isEmpty {
                    batch.profiles.append((record.line, profile))
                } else {
                    for p in rowProblems { batch.problems.append("\(file):\(record.line): \(p.column): \(p.reason)") }
                    batch.badRows += 1
                }
            }
        }
        return batch
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
            var rejected: [(line: Int, message: String)] = []
            for (i, p) in profiles.enumerated() {
                if seen.updateValue(i, forKey: p.id.rawValue) != nil {
                    throw CustomerStoreError(.invalid, "customer \(p.id) is given twice; nothing was imported")
                }
                if replacing, try writer.delete(p.id, problems: &rejected) { summary.replaced += 1 }
                try writer.insert(p, line: i, problems: &rejected)
                summary.add(p)
            }
            try writer.finish(problems: &rejected)
            for r in rejected { problems.append("customer \(profiles[r.line].id): the database rejected it (\(r.message))") }
        }
    }

    /// One immediate write transaction tuned for bulk inserts; rolls back if `body` throws.
    private func bulkWrite(_ what: String,
                           _ body: (BatchProfileWriter, inout ImportSummary, inout [String], inout [String: Int], Bool) throws -> Void) throws -> ImportSummary {
        do {
            let summary = try pool.writeWithoutTransaction { db -> ImportSummary in
                // Foreign-key checks cost a parent lookup per row. Into an empty store, where every row
                // is written right after its parent and nothing is deleted, they can be skipped; the
                // pragma only takes effect outside a transaction, hence the check before BEGIN.
                let emptyBefore = try Bool.fetchOne(db, sql: "SELECT 1 FROM customer LIMIT 1") == nil
                if emptyBefore { try db.execute(sql: "PRAGMA foreign_keys = OFF") }
                defer { if emptyBefore { try? db.execute(sql: "PRAGMA foreign_keys = ON") } }
                // A large page cache keeps the account index (inserted in random order) in memory.
                let cacheSize = try Int.fetchOne(db, sql: "PRAGMA cache_size") ?? -2000
                try db.execute(sql: "PRAGMA cache_size = -262144")
                defer { try? db.execute(sql: "PRAGMA cache_size = \(cacheSize)") }
                // Batches run in savepoints; keep their page journals in memory instead of temp files.
                try db.execute(sql: "PRAGMA temp_store = MEMORY")
                defer { try? db.execute(sql: "PRAGMA temp_store = DEFAULT") }
                var summary = ImportSummary()
                try db.inTransaction(.immediate) {
                    let replacing = try Bool.fetchOne(db, sql: "SELECT 1 FROM customer LIMIT 1") ?? false
                    if replacing && emptyBefore {
                        throw CustomerStoreError(.busy, "another process added customers while the import was starting; run the import again")
                    }
                    var problems: [String] = []
                    var seen: [String: Int] = [:]
                    if emptyBefore { try db.execute(sql: "DROP INDEX customer_account_by_account") }
                    try body(try BatchProfileWriter(db), &summary, &problems, &seen, replacing)
                    if emptyBefore { try db.execute(sql: Schema.accountIndex) }
                    if !problems.isEmpty { throw CustomerStoreError(.invalid, "nothing was imported", problems: problems) }
                    return .commit
                }
                return summary
            }
            localWrites.add(1, ordering: .releasing)
            logger.info("customers imported", metadata: ["chapar.customers": .stringConvertible(summary.customers), "chapar.replaced": .stringConvertible(summary.replaced)])
            return summary
        } catch {
            throw CustomerStore.map(error, path: path, doing: what)
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

/// A bounded single-producer, single-consumer handoff between two threads.
final class Handoff<Item: Sendable>: @unchecked Sendable {
    // Safe: `items`, `finished` and `cancelled` are only touched with `condition` locked.
    private let condition = NSCondition()
    private var items: [Item] = []
    private var finished = false
    private var cancelled = false
    private let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// Waits for room and appends; false when the consumer cancelled (the producer should stop).
    func put(_ item: Item) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count >= capacity && !cancelled { condition.wait() }
        if cancelled { return false }
        items.append(item)
        condition.broadcast()
        return true
    }

    /// The producer is done.
    func finish() {
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// The next item, or nil once the producer finished and everything was taken.
    func take() -> Item? {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty && !finished && !cancelled { condition.wait() }
        if items.isEmpty || cancelled { return nil }
        condition.broadcast()
        return items.removeFirst()
    }

    /// The consumer stops: wakes and stops the producer.
    func cancel() {
        condition.lock()
        cancelled = true
        items.removeAll()
        condition.broadcast()
        condition.unlock()
    }
}

/// A bounded handoff from several producers to one consumer that takes items in sequence order.
final class OrderedHandoff<Item: Sendable>: @unchecked Sendable {
    // Safe: every stored property except `capacity` is only touched with `condition` locked.
    private let condition = NSCondition()
    private var items: [Int: Item] = [:]
    private var next = 0
    private var producers: Int
    private var cancelled = false
    private let capacity: Int

    init(capacity: Int, producers: Int) {
        self.capacity = capacity
        self.producers = producers
    }

    /// Waits until `sequence` is within `capacity` of the next to be taken, then stores the item;
    /// false when the consumer cancelled.
    func put(_ sequence: Int, _ item: Item) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while sequence >= next + capacity && !cancelled { condition.wait() }
        if cancelled { return false }
        items[sequence] = item
        condition.broadcast()
        return true
    }

    /// One producer is done.
    func producerFinished() {
        condition.lock()
        producers -= 1
        condition.broadcast()
        condition.unlock()
    }

    /// The next item in sequence, or nil once every producer finished and nothing is left.
    func take() -> Item? {
        condition.lock()
        defer { condition.unlock() }
        while items[next] == nil && producers > 0 && !cancelled { condition.wait() }
        guard !cancelled, let item = items.removeValue(forKey: next) else { return nil }
        next += 1
        condition.broadcast()
        return item
    }

    /// The consumer stops: wakes and stops the producers.
    func cancel() {
        condition.lock()
        cancelled = true
        items.removeAll()
        condition.broadcast()
        condition.unlock()
    }
}
