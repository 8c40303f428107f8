import ArgumentParser

/// `chapar demo …`: realistic generated data for trying Chapar out and for benchmarks.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Demo data generators: customers and transactions on the same accounts.",
        subcommands: [DemoCustomers.self, DemoTransactions.self])
}
