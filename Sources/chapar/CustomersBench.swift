import ArgumentParser
import ChaparDemo
import ChaparModels
import CustomerStore
import Foundation

/// `chapar bench customers`: CSV import of N customers, then cached lookups by account from R readers.
struct CustomersBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "customers",
        abstract: "Customer store import and lookup benchmark.",
        discussion: """
            (a) generate N demo customers with two accounts and three channels (sms, email, im) each into a CSV (not timed against the target);
            (b) import it into a new store (target: 1,000,000 in <= 15 s);
            (c) cold lookups by account (cache misses, SQLite reads), in batches of 1000 accounts and one at a time;
            (d) R concurrent readers looking up accounts from a working set that fits the cache (target: >= 200,000/s with 2 readers).
            """)

    @Option(help: "Customers to generate and import.") var customers: Int = 1_000_000
    @Option(help: "Concurrent readers for the lookup phase.") var readers: Int = 2
    @Option(help: "Lookups in the warm phase, over all readers.") var lookups: Int = 4_000_000
    @Option(help: "Accounts in the warm working set (must fit the cache).") var workingSet: Int = 100_000
    @Option(help: "Cache capacity of the directory.") var cache: Int = 200_000
    @Option(help: "Directory for the benchmark files (removed afterwards).") var dir: String =
        (NSTemporaryDirectory() as NSString).appendingPathComponent("chapar-bench-customers-\(getpid())")
    @Flag(help: "Keep the benchmark directory (CSV and database) instead of removing it.") var keep = false
    @Flag(help: "Print JSON.") var json = false

    func validate() throws {
        guard customers >= 1, readers >= 1, lookups >= 1, workingSet >= 1, cache >= 16 else {
            throw ValidationError("--customers, --readers, --lookups and --working-set must be at least 1, --cache at least 16")
        }
        guard workingSet <= cache else { throw ValidationError("--working-set (\(workingSet)) must not exceed --cache (\(cache)), or the warm phase measures misses") }
        guard !FileManager.default.fileExists(atPath: dir) else {
            throw ValidationError("\(dir) already exists; remove it or pass another --dir (the benchmark deletes its directory afterwards)")
        }
    }

    struct Figures: Codable {
        var customers: Int
        var csvBytes: Int64
        var generateSeconds: Double
        var importSeconds: Double
        var importCustomersPerSecond: Double
        var databaseBytes: Int64
        var coldLookups: Int
        var coldLookupsPerSecond: Double
        var coldBatchLookupsPerSecond: Double
        var readers: Int
        var warmLookups: Int
        var warmLookupsPerSecond: Double
        var hitRatio: Double
        var importTargetMet: Bool
        var lookupTargetMet: Bool
    }

    func run() async throws {
        try await CLIError.run {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { if !keep { try? FileManager.default.removeItem(atPath: dir) } }
            let clock = ContinuousClock()
            let csv = (dir as NSString).appendingPathComponent("customers.csv")

            // (a) generate
            var t0 = clock.now
            var writer = try CustomerCSV.Writer(path: csv)
            var generator = DemoCustomerGenerator(seed: 42, threeChannels: true)
            for n in 1...customers { try writer.write(generator.customer(n)) }
            try writer.finish()
            let generateSeconds = t0.duration(to: clock.now).seconds
            let csvBytes = (try? FileManager.default.attributesOfItem(atPath: csv)[.size] as? Int64) ?? 0

            // (b) import
            let store = try CustomerStore.open(path: DataLayout(dir).customers, logger: quietLogger())
            defer { store.close() }
            t0 = clock.now
            let summary = try store.importCSV(path: csv)
            let importSeconds = t0.duration(to: clock.now).seconds
            guard summary.customers == customers else {
                throw CustomerStoreError(.storage, "benchmark imported \(summary.customers) customers but generated \(customers)")
            }
            let databaseBytes = (try? FileManager.default.attributesOfItem(atPath: store.path)[.size] as? Int64) ?? 0

            // The working set: accounts spread over the whole id range.
            let set = min(workingSet, customers * 2)
            var accounts: [AccountID] = []
            accounts.reserveCapacity(set)
            for i in 0..<set {
                let n = 1 + Int((Double(i) / Double(set)) * Double(customers)) % customers
                accounts.append(try AccountID(DemoCustomerGenerator.account(2 * n + (i & 1))))
            }

            // (c1) cache misses in batches, as the notifier asks: other accounts than the working set
            var batchAccounts: [AccountID] = []
            batchAccounts.reserveCapacity(set)
            for i in 0..<set {
                let n = 1 + Int((Double(i) / Double(set)) * Double(customers)) % customers
                batchAccounts.append(try AccountID(DemoCustomerGenerator.account(2 * n + 1 - (i & 1))))
            }
            let batchDirectory = store.directory(cacheCapacity: cache)
            t0 = clock.now
            var batchFound = 0
            for start in stride(from: 0, to: batchAccounts.count, by: 1000) {
                batchFound += try await batchDirectory.customers(forAccounts: Set(batchAccounts[start..<min(start + 1000, batchAccounts.count)])).count
            }
            let batchSeconds = t0.duration(to: clock.now).seconds
            batchDirectory.close()
            guard batchFound == batchAccounts.count else { throw CustomerStoreError(.storage, "benchmark batch lookups found \(batchFound) of \(batchAccounts.count) accounts") }

            // (c2) single cold lookups fill the cache
            let directory = store.directory(cacheCapacity: cache)
            defer { directory.close() }
            t0 = clock.now
            for account in accounts {
                let found = try await directory.customers(forAccount: account)
                guard !found.isEmpty else { throw CustomerStoreError(.storage, "benchmark account \(account) has no customer") }
            }
            let coldSeconds = t0.duration(to: clock.now).seconds
            let before = directory.statistics

            // (d) warm lookups from R readers
            let perReader = lookups / readers
            let shared = accounts
            t0 = clock.now
            try await withThrowingTaskGroup(of: Int.self) { group in
                for r in 0..<readers {
                    group.addTask {
                        var rng = DemoCustomerRandom(seed: UInt64(r + 1))
                        var found = 0
                        for _ in 0..<perReader {
                            found &+= try await directory.customers(forAccount: shared[rng.next(below: shared.count)]).count
                        }
                        return found
                    }
                }
                for try await _ in group {}
            }
            let warmSeconds = t0.duration(to: clock.now).seconds
            let after = directory.statistics
            let hits = after.hits - before.hits, misses = after.misses - before.misses

            let figures = Figures(
                customers: customers, csvBytes: csvBytes, generateSeconds: generateSeconds, importSeconds: importSeconds,
                importCustomersPerSecond: Double(customers) / importSeconds, databaseBytes: databaseBytes,
                coldLookups: accounts.count, coldLookupsPerSecond: Double(accounts.count) / coldSeconds,
                coldBatchLookupsPerSecond: Double(batchAccounts.count) / batchSeconds,
                readers: readers, warmLookups: perReader * readers, warmLookupsPerSecond: Double(perReader * readers) / warmSeconds,
                hitRatio: Double(hits) / Double(max(1, hits + misses)),
                importTargetMet: customers < 1_000_000 || importSeconds <= 15, lookupTargetMet: Double(perReader * readers) / warmSeconds >= 200_000)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(figures), as: UTF8.self))
                return
            }
            print("chapar bench customers: \(customers) customers, 2 accounts and 3 channels each, in \(dir)")
            print(String(format: "  generate CSV        %8.2f s   %@", generateSeconds, formatBytes(csvBytes)))
            print(String(format: "  import              %8.2f s   %10.0f customers/s   database %@   (target <= 15 s for 1M: %@)",
                         importSeconds, figures.importCustomersPerSecond, formatBytes(databaseBytes), customers < 1_000_000 ? "n/a" : (figures.importTargetMet ? "met" : "MISSED")))
            print(String(format: "  cold lookups        %8d     %10.0f lookups/s (cache misses, one account per call)", accounts.count, figures.coldLookupsPerSecond))
            print(String(format: "  cold batch lookups  %8d     %10.0f lookups/s (cache misses, 1000 accounts per call)", batchAccounts.count, figures.coldBatchLookupsPerSecond))
            print(String(format: "  warm lookups        %8d     %10.0f lookups/s with %d readers, hit ratio %.4f (target >= 200,000/s: %@)",
                         figures.warmLookups, figures.warmLookupsPerSecond, readers, figures.hitRatio, figures.lookupTargetMet ? "met" : "MISSED"))
        }
    }
}
