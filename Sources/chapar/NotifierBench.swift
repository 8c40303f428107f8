import ArgumentParser

// Scaffold registered in Chapar.swift; replaced by the real command before it lands.
struct NotifierBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "notifier", abstract: "Notifier benchmark.")
}
