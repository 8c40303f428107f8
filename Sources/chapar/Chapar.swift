import ArgumentParser

/// The `chapar` executable: a thin composition root. Every subcommand parses its flags,
/// builds the concrete types and calls into the library modules.
@main
struct Chapar: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chapar",
        abstract: "Chapar: durable, ordered notification dispatch for banks.",
        discussion: """
            Exit codes: 0 success, 1 unexpected failure, 64 usage error, 65 invalid data, 66 not found,
            73 already exists, 74 storage or corruption error, 75 temporary (locked directory, disk full).
            """,
        subcommands: [ServeCommand.self, ConfigCommand.self, LogCommand.self, CustomersCommand.self, IngestCommand.self, NotifyCommand.self, DeliverCommand.self, DeliveriesCommand.self, DemoCommand.self, BenchCommand.self]
    )
}
