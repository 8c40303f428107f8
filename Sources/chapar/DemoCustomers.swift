import ArgumentParser
import ChaparDemo
import ChaparModels
import CustomerStore
import Foundation

/// `chapar demo generate-customers`: an importable CSV of realistic, reproducible customers
/// (the scheme is ``DemoCustomerGenerator``'s).
struct DemoCustomers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate-customers",
        abstract: "Write an importable CSV of demo customers (Persian and English names, Iranian mobiles, IBANs).",
        discussion: "Example: chapar demo generate-customers --count 1000 --output customers.csv && chapar customers import customers.csv")

    @Option(help: "How many customers.") var count: Int = 1000
    @Option(help: "Random seed; the same seed gives the same file.") var seed: UInt64 = 1
    @Option(help: "Output file (stdout when omitted).") var output: String?

    func validate() throws {
        guard count >= 1 && count <= 9_999_999 else { throw ValidationError("--count must be between 1 and 9999999 (ids have 7 digits)") }
    }

    func run() async throws {
        try await CLIError.run {
            var writer = try CustomerCSV.Writer(path: output)
            var generator = DemoCustomerGenerator(seed: seed)
            for n in 1...count { try writer.write(generator.customer(n)) }
            try writer.finish()
            if let output { FileHandle.standardError.write(Data("wrote \(count) customers to \(output) (seed \(seed))\n".utf8)) }
        }
    }
}

