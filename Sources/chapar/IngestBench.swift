import ArgumentParser

// Scaffold registered in Chapar.swift; replaced by the real command before it lands.
struct IngestBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ingest", abstract: "Ingest benchmark.")
}
