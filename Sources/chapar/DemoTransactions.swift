import ArgumentParser
import ChaparDemo
import ChaparModels
import Foundation

/// `chapar demo generate-transactions`: realistic, reproducible bank files for demos, tests and benchmarks.
struct DemoTransactions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate-transactions",
        abstract: "Write realistic transactions (and some direct messages) as CSV or JSON Lines.",
        discussion: """
            Accounts follow the demo customer scheme: customer n (1…A) owns the IBANs with BBAN 0170 + the
            18-digit numbers 2n and 2n+1, and is C + n in 7 digits (C0000001). Activity is skewed (a few
            accounts make most transactions), descriptions are Persian, amounts mostly IRR with some EUR/USD,
            and about 1% of rows are direct messages (OTP security messages, birthday greetings).
            The same --seed always gives the same file.
            """)

    @Option(help: "Entries to write.") var count: Int = 1000
    @Option(help: "Customers whose accounts are used (customer n owns accounts 2n and 2n+1).") var accounts: Int = 10_000
    @Option(help: "Random seed; the same seed gives the same file.") var seed: UInt64 = 1
    @Option(help: "csv or jsonl.") var format: String = "csv"
    @Option(help: ArgumentHelp("Output file (default stdout).", valueName: "FILE")) var output: String?
    @Option(help: "Percent of entries that are direct messages (0-100).") var messagesPercent: Double = 1

    func validate() throws {
        guard count >= 0 else { throw ValidationError("--count must not be negative") }
        guard accounts >= 1 && accounts <= 9_999_999 else { throw ValidationError("--accounts must be between 1 and 9999999") }
        guard format == "csv" || format == "jsonl" else { throw ValidationError("--format must be csv or jsonl") }
        guard (0...100).contains(messagesPercent) else { throw ValidationError("--messages-percent must be between 0 and 100") }
    }

    func run() async throws {
        let fd: Int32
        if let output {
            fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                FileHandle.standardError.write(Data("chapar: error: cannot create \(output): \(String(cString: strerror(errno)))\n".utf8))
                throw ExitCode(73)
            }
        } else {
            fd = 1
        }
        var generator = TransactionGenerator(seed: seed, customers: accounts, messageFraction: messagesPercent / 100)
        var writer = FDWriter(fd: fd)
        generator.write(count: count, jsonl: format == "jsonl", to: &writer)
        writer.flush()
        if fd != 1 { close(fd) }
    }
}

/// Buffered writes to a file descriptor.
struct FDWriter: DemoOutput {
    let fd: Int32
    private var buffer: [UInt8] = []

    init(fd: Int32) {
        self.fd = fd
        buffer.reserveCapacity(1 << 17)
    }

    mutating func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 16 { flush() }
    }

    mutating func write(bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 16 { flush() }
    }

    mutating func flush() {
        var offset = 0
        buffer.withUnsafeBytes { raw in
            while offset < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                offset += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }
}

