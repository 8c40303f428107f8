import ArgumentParser
import ChaparModels
import Delivery
import Foundation

/// `chapar deliveries …`: what the delivery ledger knows. Reads only the ledger, so it works while
/// `chapar deliver run` is running.
struct DeliveriesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deliveries",
        abstract: "Look up the fate of jobs in the delivery ledger, and replay dead letters.",
        subcommands: [Show.self, List.self, Dead.self]
    )

    struct LedgerOptions: ParsableArguments {
        @OptionGroup var data: DataDirOptions

        func open() throws -> DeliveryLedger {
            let path = DataLayout(data.dataDir).ledger
            guard FileManager.default.fileExists(atPath: path) else {
                throw CLIUsageFailure(code: 66, message: "no delivery ledger at \(path): nothing was delivered from this data directory yet (run `chapar deliver run`)")
            }
            return try DeliveryLedger.open(path: path, logger: cliLogger(data.verbose, label: "chapar.ledger"))
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One job's story (status, every attempt, every delivery report), or every job of a transaction.")
        @OptionGroup var options: LedgerOptions
        @Argument(help: "The job id (32 hex digits).") var job: String?
        @Option(help: "Every job of this transaction (event id).") var transaction: String?
        @Flag(help: "Print JSON.") var json = false

        func validate() throws {
            guard (job == nil) != (transaction == nil) else { throw ValidationError("give a job id or --transaction, not both") }
        }

        func run() throws {
            try CLIError.runSync {
                let ledger = try options.open()
                defer { ledger.close() }
                var ids: [JobID] = []
                if let job { ids = [try JobID(job)] }
                if let transaction {
                    ids = try ledger.list(.init(event: try EventID(transaction), limit: 1000)).compactMap { try? JobID($0.id) }
                    guard !ids.isEmpty else {
                        throw CLIUsageFailure(code: 66, message: "no job of transaction \(transaction) is in the ledger (not yet attempted, or no customer was notified)")
                    }
                }
                var traces: [LedgerTrace] = []
                for id in ids {
                    guard let trace = try ledger.trace(id) else {
                        throw CLIUsageFailure(code: 66, message: "job \(id) is not in the ledger: it was never attempted (still on its notify.* topic, or unknown)")
                    }
                    traces.append(trace)
                }
                if json { return try printJSON(traces) }
                for t in traces {
                    let j = t.job
                    print("job \(j.id)  \(j.status.rawValue)")
                    print("  transaction \(j.event), customer \(j.customer), \(j.channel) \(j.priority) to \(j.address)")
                    print("  attempts \(j.attempts), gateway \(j.gateway ?? "-"), reference \(j.gatewayReference ?? "-")")
                    if let reason = j.reason { print("  reason: \(reason)") }
                    if let due = j.dueAt { print("  due \(iso(due))") }
                    print("  created \(iso(j.createdAt)), updated \(iso(j.updatedAt))")
                    for a in t.attempts {
                        print("  attempt \(a.number) at \(iso(a.at)) via \(a.gateway): \(a.outcome)\(a.status.map { " \($0)" } ?? "") in \(String(format: "%.1f", a.durationMilliseconds)) ms: \(a.response)")
                    }
                    for r in t.reports {
                        print("  report at \(iso(r.at)) from \(r.gateway): \(r.status?.rawValue ?? "progress"): \(r.detail)")
                    }
                }
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Jobs in the ledger, most recently updated first.")
        @OptionGroup var options: LedgerOptions
        @Option(help: "scheduled, retrying, sent, delivered, failed, dead or expired.") var status: String?
        @Option(help: "sms, email, fax or im.") var channel: String?
        @Option(help: "Only this customer's jobs.") var customer: String?
        @Option(help: "At most this many rows.") var limit: Int = 100
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            try CLIError.runSync {
                let filter = DeliveryLedger.Filter(status: try status.map(JobStatus.init(parsing:)), channel: try channel.map(Channel.init(parsing:)),
                                                   customer: try customer.map(CustomerID.init), limit: max(1, limit))
                let ledger = try options.open()
                defer { ledger.close() }
                let jobs = try ledger.list(filter)
                if json { return try printJSON(jobs) }
                printTable(["JOB", "STATUS", "CHANNEL", "PRIORITY", "CUSTOMER", "TRANSACTION", "ATTEMPTS", "GATEWAY", "UPDATED", "LAST"],
                           jobs.map { [$0.id, $0.status.rawValue, $0.channel, $0.priority, $0.customer, $0.event, String($0.attempts), $0.gateway ?? "-",
                                       iso($0.updatedAt), String(($0.reason ?? $0.lastResponse ?? "").prefix(60))] })
            }
        }
    }

    struct Dead: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Dead letters: list them, or replay them.", subcommands: [DeadList.self, DeadReplay.self])
    }

    struct DeadFilter: ParsableArguments {
        @Option(help: "sms, email, fax or im.") var channel: String?
        @Option(help: "Only jobs that died at or after this time (ISO 8601, e.g. 2026-12-03T07:00:00Z, or UTC milliseconds).") var since: String?

        func parsed() throws -> (Channel?, Timestamp?) {
            let c = try channel.map(Channel.init(parsing:))
            guard let since else { return (c, nil) }
            if let ms = Int64(since) { return (c, Timestamp(milliseconds: ms)) }
            guard let date = ISO8601DateFormatter().date(from: since) else {
                throw CLIUsageFailure(code: 64, message: "--since \(since): not a time; write e.g. 2026-12-03T07:00:00Z or UTC milliseconds")
            }
            return (c, Timestamp(milliseconds: Int64(date.timeIntervalSince1970 * 1000)))
        }
    }

    struct DeadList: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "Jobs that failed for good, with why.")
        @OptionGroup var options: LedgerOptions
        @OptionGroup var filter: DeadFilter
        @Option(help: "At most this many rows.") var limit: Int = 100
        @Flag(help: "Print JSON.") var json = false

        func run() throws {
            try CLIError.runSync {
                let (channel, since) = try filter.parsed()
                let ledger = try options.open()
                defer { ledger.close() }
                let jobs = try ledger.list(.init(status: .dead, channel: channel, since: since, limit: max(1, limit)))
                if json { return try printJSON(jobs) }
                printTable(["JOB", "CHANNEL", "CUSTOMER", "TRANSACTION", "ATTEMPTS", "DIED", "REASON"],
                           jobs.map { [$0.id, $0.channel, $0.customer, $0.event, String($0.attempts), iso($0.updatedAt), $0.reason ?? ""] })
            }
        }
    }

    struct DeadReplay: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "replay",
            abstract: "Send dead jobs again (with a fresh retry budget and the same job ids).",
            discussion: "The jobs go back to the ledger's schedule, due now: a running `chapar deliver run` sends them within a second, or the next one does.")
        @OptionGroup var options: LedgerOptions
        @OptionGroup var filter: DeadFilter

        func run() throws {
            try CLIError.runSync {
                let (channel, since) = try filter.parsed()
                let ledger = try options.open()
                defer { ledger.close() }
                let jobs = try ledger.replayDead(channel: channel, since: since, now: SystemClock().now())
                print("replayed \(jobs.count) dead job\(jobs.count == 1 ? "" : "s")")
            }
        }
    }
}
