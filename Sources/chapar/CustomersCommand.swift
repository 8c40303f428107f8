import ArgumentParser

// Scaffold registered in Chapar.swift; replaced by the real command before it lands.
struct CustomersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "customers", abstract: "Manage customers, their accounts and channel preferences.")
}
