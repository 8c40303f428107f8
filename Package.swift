// swift-tools-version:6.1
import PackageDescription

/// Upcoming features every Chapar target opts into (see shared STYLE.md): explicit `any`,
/// imports that must be visible where members are used, and internal-by-default imports
/// so that only `public import` leaks a dependency into our API.
let upcoming: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "chapar",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "chapar", targets: ["chapar"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // Value types and the backend-neutral log protocol. No I/O.
        .target(name: "ChaparModels", swiftSettings: upcoming),
        // CRC32C (Castagnoli) with SSE4.2 when the CPU has it, table-driven otherwise.
        .target(name: "CCRC32C"),
        // The embedded partitioned log: segments, indexes, group commit, recovery, groups.
        .target(
            name: "EventLog",
            dependencies: [
                "ChaparModels",
                "CCRC32C",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming
        ),
        // The thin executable: parses flags, wires concrete types.
        .executableTarget(
            name: "chapar",
            dependencies: [
                "ChaparModels",
                "EventLog",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming
        ),
        .testTarget(name: "ChaparModelsTests", dependencies: ["ChaparModels"], swiftSettings: upcoming),
        .testTarget(name: "EventLogTests", dependencies: ["EventLog", "ChaparModels"], swiftSettings: upcoming),
        .testTarget(name: "ChaparCLITests", dependencies: ["EventLog", "ChaparModels"], swiftSettings: upcoming),
    ]
)
