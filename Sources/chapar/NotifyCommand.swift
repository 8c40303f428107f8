import ArgumentParser

// Scaffold registered in Chapar.swift; replaced by the real command before it lands.
struct NotifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "notify", abstract: "Notifier tools: preview renders.")
}
