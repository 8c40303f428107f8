import ArgumentParser
import ChaparModels
import CustomerStore
import Foundation
import Logging

/// `chapar customers …`: customers, their accounts and channel preferences in `<data-dir>/customers.sqlite`.
///
/// Never opens the event log (whose directory lock `chapar serve` holds): SQLite in WAL mode is
/// safe for several processes, so operators can edit customers while the server runs.
struct CustomersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "customers",
        abstract: "Manage customers, their accounts and channel preferences.",
        discussion: """
            The store is <data-dir>/customers.sqlite (or --database FILE). A running server sees changes within about a second.
            Exit codes: 64 usage, 65 invalid data, 66 not found, 73 already exists, 74 storage error, 75 database busy (retry).
            See docs/customers.md for the CSV columns and validation rules.
            """,
        subcommands: [Add.self, Show.self, List.self, Remove.self, Enable.self, Disable.self, SetCommand.self, LinkAccount.self, UnlinkAccount.self,
                      Import.self, Export.self]
    )

    /// Where the store lives and how long to wait for another writer.
    struct StoreOptions: ParsableArguments {
        @OptionGroup var data: DataDirOptions

        @Option(help: ArgumentHelp("The customer database (default: <data-dir>/customers.sqlite).", valueName: "FILE"))
        var database: String?

        @Option(help: ArgumentHelp("How long to wait for another process's write, e.g. 5s or 200ms (env CHAPAR_BUSY_TIMEOUT).", valueName: "DURATION"))
        var busyTimeout: String = ProcessInfo.processInfo.environment["CHAPAR_BUSY_TIMEOUT"] ?? "5s"

        func validate() throws {
            guard parseDuration(busyTimeout) != nil else { throw ValidationError("--busy-timeout '\(busyTimeout)' is not a duration; use e.g. 5s or 500ms") }
        }

        /// Opens the store, creating the data directory when it is missing.
        func open() throws -> CustomerStore {
            var logger = Logger(label: "chapar.customers")
            logger.logLevel = data.verbose ? .debug : .warning
            let path: String
            if let database {
                path = database
            } else {
                do {
                    try FileManager.default.createDirectory(atPath: data.dataDir, withIntermediateDirectories: true)
                } catch {
                    throw CustomerStoreError(.storage, "cannot create the data directory \(data.dataDir): \(error.localizedDescription); pass another --data-dir")
                }
                path = DataLayout(data.dataDir).customers
            }
            return try CustomerStore.open(path: path, busyTimeout: parseDuration(busyTimeout) ?? .seconds(5), logger: logger)
        }

        /// Opens the store, runs `body`, closes it.
        func withStore<T>(_ body: (CustomerStore) throws -> T) throws -> T {
            let store = try open()
            defer { store.close() }
            return try body(store)
        }
    }

    // MARK: add

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a customer.",
            discussion: "Example: chapar customers add C0000001 --name 'علی رضایی' --language fa --phone 09121234567 --account IR490170000000000000000002")
        @OptionGroup var store: StoreOptions
        @Argument(help: "Customer id: letters, digits, '.', '_' and '-'.") var id: String
        @Option(help: "Display name (Persian or Latin).") var name: String
        @Option(help: "Message language: fa or en.") var language: String
        @Option(help: "IANA time zone for quiet hours.") var timezone: String = "Asia/Tehran"
        @Option(help: ArgumentHelp("Birthday.", valueName: "YYYY-MM-DD")) var birthday: String?
        @Flag(help: "Store the customer as inactive (no notifications).") var inactive = false
        @Option(help: ArgumentHelp("SMS number (E.164, or 09… for Iranian mobiles).", valueName: "NUMBER")) var phone: String?
        @Option(help: "Email address.") var email: String?
        @Option(help: ArgumentHelp("Fax number (E.164).", valueName: "NUMBER")) var fax: String?
        @Option(help: ArgumentHelp("IM address: telegram:<chat id>, matrix:@user:server or webhook:<name>.", valueName: "ADDRESS")) var im: String?
        @Option(name: .customLong("account"), help: ArgumentHelp("An account (IBAN) the customer holds; repeat for several.", valueName: "ACCOUNT"))
        var accounts: [String] = []
        @Flag(help: "Print the stored customer as JSON.") var json = false

        func run() async throws {
            try await CLIError.run {
                var channels: [ChannelPreference] = []
                for (channel, text) in [(Channel.sms, phone), (.email, email), (.fax, fax), (.im, im)] {
                    if let text { channels.append(ChannelPreference(channel: channel, address: try ContactAddress(channel, text))) }
                }
                var accountIDs: [AccountID] = []
                for a in accounts { let id = try AccountID(a); if !accountIDs.contains(id) { accountIDs.append(id) } }
                let profile = CustomerProfile(
                    id: try CustomerID(id), name: name, language: try Language(parsing: language), timeZone: timezone,
                    birthday: try birthday.map { b throws(InvalidValue) in try CalendarDate(iso: b) }, active: !inactive,
                    accounts: accountIDs, channels: channels)
                try store.withStore { try $0.add(profile) }
                if json { try printJSON(CustomerDocument(profile)) } else { print("added customer \(profile.id)") }
            }
        }
    }

    // MARK: show, list

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one customer with accounts and channels.")
        @OptionGroup var store: StoreOptions
        @Argument var id: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await CLIError.run {
                let customerID = try CustomerID(id)
                guard let profile = try store.withStore({ try $0.customer(customerID) }) else {
                    throw CustomerStoreError(.notFound, "there is no customer \(customerID); see 'chapar customers list'")
                }
                if json { return try printJSON(CustomerDocument(profile)) }
                printProfile(profile)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List customers, optionally filtered.")
        @OptionGroup var store: StoreOptions
        @Option(help: "Only customers with this channel (sms, email, fax, im).") var channel: String?
        @Flag(help: "Only customers with an enabled channel (with --channel: that channel enabled).") var enabled = false
        @Flag(help: "Only customers without an enabled channel (with --channel: that channel disabled).") var disabled = false
        @Option(help: "Only holders of this account.") var account: String?
        @Flag(help: "Print JSON.") var json = false

        func validate() throws {
            if enabled && disabled { throw ValidationError("give --enabled or --disabled, not both") }
        }

        func run() async throws {
            try await CLIError.run {
                let filter = CustomerFilter(channel: try channel.map { c throws(InvalidValue) in try Channel(parsing: c) },
                                            enabled: enabled ? true : disabled ? false : nil,
                                            account: try account.map { a throws(InvalidValue) in try AccountID(a) })
                let profiles = try store.withStore { try $0.list(filter) }
                if json { return try printJSON(profiles.map(CustomerDocument.init)) }
                printTable(["ID", "NAME", "LANG", "TIME ZONE", "ACCOUNTS", "CHANNELS"], profiles.map { p in
                    [p.id.rawValue, p.name, p.language.rawValue, p.timeZone, String(p.accounts.count),
                     p.channels.map { $0.enabled ? $0.channel.rawValue : "\($0.channel)(off)" }.joined(separator: ",")]
                })
            }
        }
    }

    // MARK: remove, enable, disable

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a customer with its account links and channels.")
        @OptionGroup var store: StoreOptions
        @Argument var id: String
        @Flag(help: "Print JSON.") var json = false

        func run() async throws {
            try await CLIError.run {
                let customerID = try CustomerID(id)
                try store.withStore { try $0.remove(customerID) }
                if json { try printJSON(["removed": customerID.rawValue]) } else { print("removed customer \(customerID)") }
            }
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Turn channels on: chapar customers enable ID sms email …")
        @OptionGroup var store: StoreOptions
        @Argument var id: String
        @Argument(help: "Channels: sms, email, fax, im.") var channels: [String]
        @Flag(help: "Print the customer as JSON.") var json = false

        func validate() throws { if channels.isEmpty { throw ValidationError("name at least one channel, e.g. chapar customers enable \(id) sms") } }

        func run() async throws { try await setEnabled(true, id: id, channels: channels, store: store, json: json) }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Turn channels off (the address is kept): chapar customers disable ID fax …")
        @OptionGroup var store: StoreOptions
        @Argument var id: String
        @Argument(help: "Channels: sms, email, fax, im.") var channels: [String]
        @Flag(help: "Print the customer as JSON.") var json = false

        func validate() throws { if channels.isEmpty { throw ValidationError("name at least one channel, e.g. chapar customers disable \(id) sms") } }

        func run() async throws { try await setEnabled(false, id: id, channels: channels, store: store, json: json) }
    }

    static func setEnabled(_ on: Bool, id: String, channels: [String], store: StoreOptions, json: Bool) async throws {
        try await CLIError.run {
            let customerID = try CustomerID(id)
            var parsed: [Channel] = []
            for c in channels { parsed.append(try Channel(parsing: c)) }
            let profile = try store.withStore { try $0.setEnabled(on, customer: customerID, channels: parsed) }
            if json { try printJSON(CustomerDocument(profile)) } else { print("\(on ? "enabled" : "disabled") \(parsed.map(\.rawValue).joined(separator: ", ")) for customer \(customerID)") }
        }
    }

    // MARK: set

    struct SetCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Change a customer's details or channel settings.",
            discussion: """
                Channel settings (--address, --min-amount, --quiet-hours, --events, --remove-channel) apply to the channel given
                with --channel; without --channel, --min-amount, --quiet-hours and --events apply to every channel the customer has.
                Examples:
                  chapar customers set C0000001 --channel sms --quiet-hours 22:00-07:00 --min-amount 5000000 IRR
                  chapar customers set C0000001 --channel email --address ali@example.com --events debit,credit,marketing
                  chapar customers set C0000001 --language en --timezone Europe/Berlin
                """)
        @OptionGroup var store: StoreOptions
        @Argument var id: String
        @Option(help: "New display name.") var name: String?
        @Option(help: "fa or en.") var language: String?
        @Option(help: "IANA time zone.") var timezone: String?
        @Option(help: ArgumentHelp("Birthday.", valueName: "YYYY-MM-DD")) var birthday: String?
        @Flag(help: "Forget the birthday.") var noBirthday = false
        @Flag(help: "Mark the customer active.") var active = false
        @Flag(help: "Mark the customer inactive (no notifications).") var inactive = false
        @Option(help: "The channel the settings below apply to (sms, email, fax, im).") var channel: String?
        @Option(help: "Address for --channel (adds the channel when the customer has none).") var address: String?
        @Flag(help: "Remove --channel from the customer.") var removeChannel = false
        @Option(parsing: .upToNextOption, help: ArgumentHelp("Minimum amount to notify, e.g. --min-amount 5000000 IRR (repeat for more currencies).", valueName: "AMOUNT CURRENCY"))
        var minAmount: [String] = []
        @Flag(help: "Remove every minimum amount.") var noMinAmount = false
        @Option(help: ArgumentHelp("Do-not-disturb window in the customer's time zone.", valueName: "HH:MM-HH:MM")) var quietHours: String?
        @Flag(help: "Remove the quiet hours.") var noQuietHours = false
        @Option(help: ArgumentHelp("Event kinds to receive, comma-separated (debit,credit,security,marketing,…), or none.", valueName: "K,K")) var events: String?
        @Flag(help: "Print the customer as JSON.") var json = false

        func validate() throws {
            if birthday != nil && noBirthday { throw ValidationError("give --birthday or --no-birthday, not both") }
            if active && inactive { throw ValidationError("give --active or --inactive, not both") }
            if quietHours != nil && noQuietHours { throw ValidationError("give --quiet-hours or --no-quiet-hours, not both") }
            if !minAmount.isEmpty && noMinAmount { throw ValidationError("give --min-amount or --no-min-amount, not both") }
            if minAmount.count % 2 != 0 { throw ValidationError("--min-amount takes an amount and a currency, e.g. --min-amount 5000000 IRR") }
            if (address != nil || removeChannel) && channel == nil { throw ValidationError("--address and --remove-channel need --channel, e.g. --channel sms") }
            if removeChannel && (address != nil || !minAmount.isEmpty || quietHours != nil || noQuietHours || events != nil || noMinAmount) {
                throw ValidationError("--remove-channel cannot be combined with other channel settings")
            }
            let anything = name != nil || language != nil || timezone != nil || birthday != nil || noBirthday || active || inactive
                || address != nil || removeChannel || !minAmount.isEmpty || noMinAmount || quietHours != nil || noQuietHours || events != nil
            if !anything { throw ValidationError("nothing to change; give at least one option, see 'chapar customers set --help'") }
        }

        func run() async throws {
            try await CLIError.run {
                let customerID = try CustomerID(id)
                let targetChannel = try channel.map { c throws(InvalidValue) in try Channel(parsing: c) }
                let newLanguage = try language.map { l throws(InvalidValue) in try Language(parsing: l) }
                let newBirthday = try birthday.map { b throws(InvalidValue) in try CalendarDate(iso: b) }
                let newAddress = try address.map { a throws(InvalidValue) in try ContactAddress(targetChannel!, a) }  // validate() requires --channel with --address
                let newQuiet = try quietHours.map { q throws(InvalidValue) in try QuietHours(parsing: q) }
                let newEvents = try events.map { e throws(InvalidValue) in try CustomerCSV.parseEvents(e.replacingOccurrences(of: ",", with: ";")) }
                var minimums: [CurrencyCode: Int64] = [:]
                for i in stride(from: 0, to: minAmount.count, by: 2) {
                    let currency = try CurrencyCode(minAmount[i + 1])
                    minimums[currency] = try Money(parsing: Substring(minAmount[i]), currency: currency).minorUnits
                }
                var change = CustomerChange()
                change.name = name
                change.language = newLanguage
                change.timeZone = timezone
                change.birthday = newBirthday
                change.removeBirthday = noBirthday
                change.active = active ? true : inactive ? false : nil
                change.channel = targetChannel
                change.address = newAddress
                change.removeChannel = removeChannel
                change.minimumAmounts = minimums
                change.removeMinimumAmounts = noMinAmount
                change.quietHours = newQuiet
                change.removeQuietHours = noQuietHours
                change.eventKinds = newEvents
                let profile = try store.withStore { try $0.apply(change, to: customerID) }
                if json { try printJSON(CustomerDocument(profile)) } else { print("updated customer \(customerID)") }
            }
        }
    }

    // MARK: accounts

    struct LinkAccount: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "link-account", abstract: "Link an account to a customer (joint accounts: link each holder).")
        @OptionGroup var store: StoreOptions
        @Argument var id: String
        @Argument var account: String
        @Flag(help: "Print the customer as JSON.") var json = false

        func run() async throws {
            try await CLIError.run {
                let customerID = try CustomerID(id), accountID = try AccountID(account)
                let profile = try store.withStore { try $0.link(customerID, account: accountID) }
                if json { try printJSON(CustomerDocument(profile)) } else { print("linked \(accountID) to customer \(customerID)") }
            }
        }
    }

    struct UnlinkAccount: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "unlink-account", abstract: "Unlink an account from a customer.")
        @OptionGroup var store: StoreOptions
        @Argument var id: String
        @Argument var account: String
        @Flag(help: "Print the customer as JSON.") var json = false

        func run() async throws {
            try await CLIError.run {
                let customerID = try CustomerID(id), accountID = try AccountID(account)
                let profile = try store.withStore { try $0.unlink(customerID, account: accountID) }
                if json { try printJSON(CustomerDocument(profile)) } else { print("unlinked \(accountID) from customer \(customerID)") }
            }
        }
    }

    // MARK: import, export

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import customers from CSV, all or nothing.",
            discussion: "Columns: \(CustomerCSV.columns.joined(separator: ",")) (see docs/customers.md). Customers already stored are replaced; others are kept.")
        @OptionGroup var store: StoreOptions
        @Argument(help: "The CSV file.") var file: String
        @Flag(help: "Print the summary as JSON.") var json = false

        func run() async throws {
            try await CLIError.run {
                let clock = ContinuousClock()
                let start = clock.now
                let summary = try store.withStore { try $0.importCSV(path: file) }
                let elapsed = start.duration(to: clock.now)
                if json { return try printJSON(summary) }
                print("imported \(summary.customers) customer(s) (\(summary.replaced) replaced), \(summary.accounts) account link(s), \(summary.channels) channel(s) in \(elapsed.milliseconds) ms")
            }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Export every customer as CSV (to stdout without FILE).")
        @OptionGroup var store: StoreOptions
        @Argument(help: "Output file; replaced atomically.") var file: String?

        func run() async throws {
            try await CLIError.run {
                let count = try store.withStore { try $0.exportCSV(to: file) }
                if let file { FileHandle.standardError.write(Data("exported \(count) customer(s) to \(file)\n".utf8)) }
            }
        }
    }
}

/// Prints a profile for humans.
private func printProfile(_ p: CustomerProfile) {
    print("customer \(p.id)  \(p.name)")
    print("  language \(p.language), time zone \(p.timeZone)\(p.birthday.map { ", birthday \($0)" } ?? ""), \(p.active ? "active" : "inactive")")
    print("  accounts: \(p.accounts.isEmpty ? "none" : p.accounts.map(\.rawValue).joined(separator: " "))")
    if p.channels.isEmpty { print("  channels: none") }
    for c in p.channels {
        var line = "  \(c.channel.rawValue.padding(toLength: 5, withPad: " ", startingAt: 0)) \(c.address.value)  \(c.enabled ? "enabled" : "disabled")"
        line += "  events \(c.eventKinds.isEmpty ? "none" : c.eventKinds.map(\.rawValue).sorted().joined(separator: ","))"
        if !c.minimumAmounts.isEmpty { line += "  min \(CustomerCSV.minimumsText(c.minimumAmounts))" }
        if let q = c.quietHours { line += "  quiet \(q)" }
        print(line)
    }
}

extension CustomerStoreError: CLIReportable {
    var exitCode: Int32 {
        switch code {
        case .invalid: 65
        case .notFound: 66
        case .exists: 73
        // A full disk damages nothing: EX_TEMPFAIL like every other command (README, exit codes).
        case .storage: isDiskFull ? 75 : 74
        case .busy: 75
        }
    }

    var cliMessage: String { description }
}
