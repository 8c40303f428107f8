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

/// Pango and Cairo's headers for `CPangoCairo`, named here instead of through pkg-config: SwiftPM
/// reads `pangocairo.pc` itself and warns on every build that it drops the `-pthread` the glib
/// and harfbuzz .pc files list (`warning: prohibited flag(s): -pthread`), a flag a header import
/// does not need. These are the directories Debian 12's libpango1.0-dev and libcairo2-dev install
/// (`pkg-config --cflags-only-I pangocairo` lists more; these four and glib's configuration
/// directory are the ones `pango/pangocairo.h` and `cairo-pdf.h` include). glib keeps
/// `glibconfig.h` in the multiarch library directory, chosen from the architecture the manifest
/// is compiled for (the build machine's: cross-compiling the fax channel is not supported). The
/// libraries come from the module map's `link` lines. Elsewhere (macOS with Homebrew) pkg-config
/// still finds them.
#if os(Linux)
#if arch(arm64)
let glibConfigDirectory = "/usr/lib/aarch64-linux-gnu/glib-2.0/include"
#else
let glibConfigDirectory = "/usr/lib/x86_64-linux-gnu/glib-2.0/include"
#endif
let pangoCairoFlags: [SwiftSetting] = [
    .unsafeFlags(["/usr/include/pango-1.0", "/usr/include/glib-2.0", glibConfigDirectory, "/usr/include/harfbuzz", "/usr/include/cairo"]
        .flatMap { ["-Xcc", "-I\($0)"] }),
]
let pangoCairo: Target = .systemLibrary(name: "CPangoCairo", providers: [.apt(["libpango1.0-dev", "libcairo2-dev"])])
#else
let pangoCairoFlags: [SwiftSetting] = []
let pangoCairo: Target = .systemLibrary(name: "CPangoCairo", pkgConfig: "pangocairo", providers: [.brew(["pango", "cairo"]), .apt(["libpango1.0-dev", "libcairo2-dev"])])
#endif

/// Where scripts/install-deps.sh links the librdkafka ≥ 2.1 the Kafka tests need (docs/kafka.md).
let kafkaTestLibraryPath = (Context.environment["CHAPAR_PEERS_HOME"] ?? "/var/cache/chapar-peers") + "/kafka/lib"

let package = Package(
    name: "chapar",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "chapar", targets: ["chapar"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    ],
    targets: [
        // Value types and the backend-neutral log protocol. No I/O.
        .target(name: "ChaparModels", dependencies: ["CSHA256"], swiftSettings: upcoming),
        // The SHA-256 block function on the x86 SHA extensions (ids and dedupe fingerprints).
        .target(name: "CSHA256"),
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
        // Customers, accounts and channel preferences in SQLite (GRDB), with a cached read API.
        .target(
            name: "CustomerStore",
            dependencies: [
                "ChaparModels",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming
        ),
        // Bank files (CSV, JSON Lines, camt.054, MT940/942) into events, deduplicated, streamed into the log.
        .target(
            name: "Ingest",
            dependencies: [
                "ChaparModels",
                .product(name: "GRDB", package: "GRDB.swift"),
                // SeenIndex calls SQLite's C API directly for its hot lookups.
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming
        ),
        // The notifier consumer group: rules, Persian/English templates, per-channel jobs.
        .target(
            name: "Notifier",
            dependencies: [
                "ChaparModels",
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming
        ),
        // libcurl, with typed wrappers for its variadic setopt/getinfo calls.
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        // The delivery engine shared by every channel: curl-multi transport, worker pools, rate
        // limits, retries, circuit breakers, the delivery ledger and dead letters.
        .target(
            name: "Delivery",
            dependencies: [
                "ChaparModels",
                "CCurl",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming
        ),
        // SMS gateways: Kannel's sendsms with delivery reports, and a generic JSON HTTP SMS API.
        .target(name: "ChannelSMS", dependencies: ["ChaparModels", "Delivery"], swiftSettings: upcoming),
        // IM gateways: Matrix, Telegram Bot API, and a signed generic webhook.
        .target(name: "ChannelIM", dependencies: ["ChaparModels", "Delivery"], swiftSettings: upcoming),
        // Email over SMTP(S): MIME messages with Persian headers, on the delivery engine.
        .target(name: "ChannelEmail", dependencies: ["ChaparModels", "Delivery"], swiftSettings: upcoming),
        // The one configuration file (YAML): parsed and validated with FILE:LINE errors.
        .target(
            name: "ChaparConfig",
            dependencies: ["ChaparModels", "Delivery", .product(name: "Yams", package: "Yams")],
            swiftSettings: upcoming
        ),
        // `chapar serve`: the whole pipeline as services in one ServiceGroup, the HTTP API, metrics,
        // the web console, gateway callbacks, and the demo's gateways.
        .target(
            name: "ChaparServer",
            dependencies: [
                "ChaparModels",
                "EventLog",
                "CustomerStore",
                "Ingest",
                "Notifier",
                "Delivery",
                "ChaparConfig",
                "ChaparDemo",
                "EventLogKafka",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: upcoming
        ),
        // Realistic, reproducible demo customers and transactions (`chapar demo`, `chapar serve --demo`, benchmarks).
        .target(name: "ChaparDemo", dependencies: ["ChaparModels"], swiftSettings: upcoming),
        // Pango and Cairo (PDF surface), for the fax documents; headers found through `pangoCairoFlags`.
        pangoCairo,
        // Fax: A4 PDF documents (letterhead, header, Persian right-to-left or English), fax numbers.
        // Notifier for its Jalali and Persian-digit date formatting, so dates read as in the other channels.
        .target(name: "ChannelFax", dependencies: ["ChaparModels", "Delivery", "ChannelEmail", "Notifier", "CPangoCairo"],
                swiftSettings: upcoming + pangoCairoFlags),
        // librdkafka (Debian's librdkafka-dev to build), with a typed wrapper for its variadic produce call.
        .systemLibrary(name: "CKafka", pkgConfig: "rdkafka", providers: [.apt(["librdkafka-dev"])]),
        // The log on a Kafka-API cluster (issue 12, docs/kafka.md): `KafkaLog`, a `MessageLog` over librdkafka.
        .target(
            name: "EventLogKafka",
            dependencies: ["ChaparModels", "CKafka", .product(name: "Logging", package: "swift-log")],
            swiftSettings: upcoming
        ),
        // The thin executable: parses flags, wires concrete types.
        .executableTarget(
            name: "chapar",
            dependencies: [
                "ChaparModels",
                "EventLog",
                "CustomerStore",
                "Ingest",
                "Notifier",
                "Delivery",
                "ChannelSMS",
                "ChannelIM",
                "ChannelEmail",
                "ChaparConfig",
                "ChaparServer",
                "ChaparDemo",
                "ChannelFax",
                "EventLogKafka",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming
        ),
        .testTarget(name: "ChaparModelsTests", dependencies: ["ChaparModels"], swiftSettings: upcoming),
        .testTarget(name: "EventLogTests", dependencies: ["EventLog", "ChaparModels"], swiftSettings: upcoming),
        .testTarget(name: "ChaparCLITests", dependencies: ["EventLog", "ChaparModels"], swiftSettings: upcoming),
        .testTarget(name: "CustomerStoreTests", dependencies: ["CustomerStore", "ChaparModels", .product(name: "GRDB", package: "GRDB.swift")], swiftSettings: upcoming),
        .testTarget(name: "IngestTests", dependencies: ["Ingest", "EventLog", "ChaparModels"], exclude: ["Fixtures"], swiftSettings: upcoming),
        .testTarget(name: "NotifierTests", dependencies: ["Notifier", "EventLog", "ChaparModels"], swiftSettings: upcoming),
        // Runs against Tansu (scripts/peers/tansu.sh). The runpath makes the test bundle load the
        // librdkafka ≥ 2.1 that scripts/install-deps.sh puts there instead of Debian's 2.0.2,
        // which cannot talk to Tansu (docs/kafka.md); without that directory Debian's is loaded.
        .testTarget(
            name: "EventLogKafkaTests",
            dependencies: ["EventLogKafka", "ChaparModels", "CKafka"],
            swiftSettings: upcoming,
            linkerSettings: [.unsafeFlags(["-Xlinker", "-rpath", "-Xlinker", kafkaTestLibraryPath])]
        ),
        .testTarget(
            name: "DeliveryTests",
            dependencies: ["Delivery", "ChannelSMS", "ChannelIM", "ChannelEmail", "ChannelFax", "ChaparConfig", "ChaparServer", "ChaparDemo", "EventLog", "ChaparModels",
                           .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: upcoming
        ),
    ]
)
