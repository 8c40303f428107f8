import ArgumentParser

// Scaffold registered in Chapar.swift; replaced by the real command before it lands.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "demo", abstract: "Demo data generators.")
}
