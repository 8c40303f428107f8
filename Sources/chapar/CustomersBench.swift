import ArgumentParser

// Scaffold registered in Chapar.swift; replaced by the real command before it lands.
struct CustomersBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "customers", abstract: "Customer store import and lookup benchmark.")
}
