import ChaparModels
import CustomerStore
import Foundation
import Logging
import Testing

/// Temporary directories, stores and sample data for the customer store tests.
enum Fixture {
    static func directory(_ name: String) -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("chapar-customers-\(name)-\(UUID().uuidString.prefix(8))").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static var logger: Logger {
        var logger = Logger(label: "test.customers")
        logger.logLevel = .warning
        return logger
    }

    static func store(_ dir: String, busyTimeout: Duration = .seconds(5)) throws -> CustomerStore {
        try CustomerStore.open(path: dir + "/customers.sqlite", busyTimeout: busyTimeout, logger: logger)
    }

    static func profile(_ id: String, name: String = "علی رضایی", language: Language = .fa, accounts: [String] = [], phone: String? = "+989121234567",
                        email: String? = nil) throws -> CustomerProfile {
        var channels: [ChannelPreference] = []
        if let phone { channels.append(ChannelPreference(channel: .sms, address: try ContactAddress(.sms, phone))) }
        if let email { channels.append(ChannelPreference(channel: .email, address: try ContactAddress(.email, email))) }
        return CustomerProfile(id: try CustomerID(id), name: name, language: language, accounts: try accounts.map { a throws(InvalidValue) in try AccountID(a) },
                               channels: channels)
    }

    /// A seeded random profile that exercises every column (the seed is printed by the caller).
    static func randomProfile(_ n: Int, rng: inout SeededRandom) throws -> CustomerProfile {
        let names = ["علی رضایی", "زهرا «محمدی»", "Anna Schmidt", "O'Brien, Pat", "Line\nBreak? no", "مریم \"نوری\"", "Müller–Lüdenscheidt", "کاوه، تهرانی"]
        var name = names[rng.next(below: names.count)]
        if name.contains("\n") { name = "Quote \"q\", comma" }
        var channels: [ChannelPreference] = []
        let zones = ["Asia/Tehran", "Europe/Berlin", "UTC", "America/New_York"]
        for channel in Channel.allCases where rng.next(below: 3) > 0 {
            let address: String
            switch channel {
            case .sms: address = "+98912" + String(1_000_000 + rng.next(below: 8_999_999))
            case .email: address = "c\(n)@example.com"
            case .fax: address = "+9821" + String(10_000_000 + rng.next(below: 89_999_999))
            case .im: address = ["telegram:-100\(n)", "matrix:@c\(n):example.org", "webhook:ops-\(n)"][rng.next(below: 3)]
            }
            var minimums: [CurrencyCode: Int64] = [:]
            if rng.next(below: 2) == 0 { minimums[.irr] = Int64(rng.next(below: 1_000_000)) * 100 }
            if rng.next(below: 4) == 0 { minimums[.eur] = Int64(rng.next(below: 100_000)) }
            let kinds: [Set<EventKind>] = [EventKind.defaultSubscription, [], [.marketing], [.debit, try EventKind("salary")]]
            let quiet: QuietHours? = rng.next(below: 2) == 0 ? nil : try QuietHours(start: try TimeOfDay(minutes: rng.next(below: 720)), end: try TimeOfDay(minutes: 720 + rng.next(below: 720)))
            channels.append(ChannelPreference(channel: channel, address: try ContactAddress(channel, address), enabled: rng.next(below: 4) > 0,
                                              minimumAmounts: minimums, eventKinds: kinds[rng.next(below: kinds.count)], quietHours: quiet))
        }
        let accounts = try (0..<rng.next(below: 4)).map { i throws(InvalidValue) in try AccountID("IR\(n)X\(i)") }
        return CustomerProfile(id: try CustomerID(String(format: "R%05d", n)), name: name, language: rng.next(below: 2) == 0 ? .fa : .en,
                               timeZone: zones[rng.next(below: zones.count)],
                               birthday: rng.next(below: 2) == 0 ? nil : CalendarDate(daysSinceEpoch: rng.next(below: 20_000) - 10_000),
                               active: rng.next(below: 5) > 0, accounts: accounts, channels: channels)
    }

    static func write(_ text: String, to path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }
}

/// SplitMix64, seeded so a failing run can be repeated.
struct SeededRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func next(below n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// The real `chapar` executable, for tests that need a second process.
enum ChildProcess {
    static let binary: String = {
        if let env = ProcessInfo.processInfo.environment["CHAPAR_BIN"] { return env }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("chapar").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/chapar").path
    }()

    /// Runs `chapar args…` and returns its exit status and stderr (output is discarded).
    static func run(_ args: [String]) throws -> (status: Int32, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = args
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let data = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
