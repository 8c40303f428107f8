import ArgumentParser

// Scaffold registered in Chapar.swift; replaced by the real command before it lands.
struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ingest", abstract: "Ingest bank transaction files into the log.")
}
