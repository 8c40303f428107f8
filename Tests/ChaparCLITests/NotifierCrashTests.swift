import ChaparModels
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The notifier as a real process: SIGKILL it mid-batch, restart, and check that every event has
/// its jobs and that duplicates are only re-writes of the same job.
@Suite("Notifier crash safety (real processes)")
struct NotifierCrashTests {
    static let templates: String = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("config/templates").path

    /// Prepares a data directory with demo customers and ingested transactions.
    func prepare(_ dir: String, customers: Int, events: Int, seed: UInt64) throws {
        let customersCSV = dir + "/customers.csv", transactionsCSV = dir + "/transactions.csv"
        try expectOK(CLI.run(["demo", "generate-customers", "--count", "\(customers)", "--seed", "\(seed)", "--output", customersCSV]))
        try expectOK(CLI.run(["customers", "import", customersCSV, "--data-dir", dir]))
        try expectOK(CLI.run(["demo", "generate-transactions", "--count", "\(events)", "--accounts", "\(customers)", "--seed", "\(seed)",
                              "--messages-percent", "0", "--output", transactionsCSV]))
        try expectOK(CLI.run(["ingest", transactionsCSV, "--data-dir", dir]))
    }

    func expectOK(_ r: CLI.Result, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == 0, "exit \(r.status): \(r.stderr)", sourceLocation: sourceLocation)
    }

    /// Every job on the notify topics, as (job id, event, customer, channel) with duplicates kept.
    func jobs(_ dir: String) throws -> [DeliveryJob] {
        let topics = try CLI.run(["log", "topics", "--json", "--data-dir", dir])
        let names = try (JSONSerialization.jsonObject(with: Data(topics.stdout.utf8)) as? [[String: Any]] ?? [])
            .compactMap { $0["name"] as? String }.filter { $0.hasPrefix("notify.") }
        var out: [DeliveryJob] = []
        for name in names {
            let r = try CLI.run(["log", "consume", name, "--from-beginning", "--exit-at-end", "--format", "%s\\n", "--data-dir", dir])
            for line in r.stdout.split(separator: "\n") where !line.isEmpty { out.append(try JobCodec.decode(Array(line.utf8))) }
        }
        return out
    }

    @Test("SIGKILL mid-batch, restart: no event without its jobs, duplicates only with the same job id (seeded)")
    func killAndRestart() async throws {
        try await CLI.offPool { [self] in try self.killAndRestartBlocking() }
    }

    func killAndRestartBlocking() throws {
        let seed = UInt64(ProcessInfo.processInfo.environment["CHAPAR_TEST_SEED"] ?? "") ?? UInt64(Date().timeIntervalSince1970)
        print("notifier crash test seed: \(seed)")
        var random = seed
        func next() -> UInt64 { random = random &* 6364136223846793005 &+ 1442695040888963407; return random >> 33 }

        let killed = CLI.temporaryDirectory("notify-killed"), reference = CLI.temporaryDirectory("notify-reference")
        defer {
            try? FileManager.default.removeItem(atPath: killed)
            try? FileManager.default.removeItem(atPath: reference)
        }
        for dir in [killed, reference] { try prepare(dir, customers: 300, events: 20_000, seed: seed) }

        // Reference: one uninterrupted run.
        try expectOK(CLI.run(["notify", "run", "--until-idle", "0.5", "--batch-size", "500", "--templates", Self.templates, "--data-dir", reference]))
        let expected = try jobs(reference)
        #expect(expected.count > 20_000, "the reference run produced jobs")

        // Killed: SIGKILL at random moments, several times, then let it finish.
        var kills = 0
        for _ in 0..<6 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: CLI.binary)
            p.arguments = ["notify", "run", "--until-idle", "0.5", "--batch-size", "500", "--templates", Self.templates, "--data-dir", killed]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            usleep(useconds_t(50_000 + Int(next() % 400_000)))
            if p.isRunning { kill(p.processIdentifier, SIGKILL); kills += 1 }
            p.waitUntilExit()
        }
        try expectOK(CLI.run(["notify", "run", "--until-idle", "0.5", "--batch-size", "500", "--templates", Self.templates, "--data-dir", killed]))
        let got = try jobs(killed)
        print("notifier crash test: \(kills) kills, \(got.count) jobs written for \(expected.count) expected")

        let expectedIDs = Set(expected.map(\.id))
        let gotIDs = Set(got.map(\.id))
        #expect(gotIDs == expectedIDs, "missing \(expectedIDs.subtracting(gotIDs).count), unexpected \(gotIDs.subtracting(expectedIDs).count) (seed \(seed))")
        // A duplicate is the same job again: same event, customer, channel, address and content.
        var first: [JobID: DeliveryJob] = [:]
        for job in got {
            if let earlier = first[job.id] {
                #expect(earlier.event == job.event && earlier.customer == job.customer && earlier.channel == job.channel
                        && earlier.content == job.content && earlier.address == job.address, "job \(job.id) differs between copies (seed \(seed))")
            } else {
                first[job.id] = job
            }
        }
        #expect(kills > 0, "no kill landed while the notifier ran; the test proved nothing (seed \(seed))")
    }
}
