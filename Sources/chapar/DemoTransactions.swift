import ArgumentParser
import ChaparModels
import Foundation

/// `chapar demo generate-transactions`: realistic, reproducible bank files for demos, tests and benchmarks.
struct DemoTransactions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate-transactions",
        abstract: "Write realistic transactions (and some direct messages) as CSV or JSON Lines.",
        discussion: """
            Accounts follow the demo customer scheme: customer n (1…A) owns the IBANs with BBAN 0170 + the
            18-digit numbers 2n and 2n+1, and is C + n in 7 digits (C0000001). Activity is skewed (a few
            accounts make most transactions), descriptions are Persian, amounts mostly IRR with some EUR/USD,
            and about 1% of rows are direct messages (OTP security messages, birthday greetings).
            The same --seed always gives the same file.
            """)

    @Option(help: "Entries to write.") var count: Int = 1000
    @Option(help: "Customers whose accounts are used (customer n owns accounts 2n and 2n+1).") var accounts: Int = 10_000
    @Option(help: "Random seed; the same seed gives the same file.") var seed: UInt64 = 1
    @Option(help: "csv or jsonl.") var format: String = "csv"
    @Option(help: ArgumentHelp("Output file (default stdout).", valueName: "FILE")) var output: String?
    @Option(help: "Percent of entries that are direct messages (0-100).") var messagesPercent: Double = 1

    func validate() throws {
        guard count >= 0 else { throw ValidationError("--count must not be negative") }
        guard accounts >= 1 && accounts <= 9_999_999 else { throw ValidationError("--accounts must be between 1 and 9999999") }
        guard format == "csv" || format == "jsonl" else { throw ValidationError("--format must be csv or jsonl") }
        guard (0...100).contains(messagesPercent) else { throw ValidationError("--messages-percent must be between 0 and 100") }
    }

    func run() async throws {
        let fd: Int32
        if let output {
            fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                FileHandle.standardError.write(Data("chapar: error: cannot create \(output): \(String(cString: strerror(errno)))\n".utf8))
                throw ExitCode(73)
            }
        } else {
            fd = 1
        }
        var generator = TransactionGenerator(seed: seed, customers: accounts, messageFraction: messagesPercent / 100)
        var writer = FDWriter(fd: fd)
        generator.write(count: count, jsonl: format == "jsonl", to: &writer)
        writer.flush()
        if fd != 1 { close(fd) }
    }
}

/// Buffered writes to a file descriptor.
struct FDWriter {
    let fd: Int32
    private var buffer: [UInt8] = []

    init(fd: Int32) {
        self.fd = fd
        buffer.reserveCapacity(1 << 17)
    }

    mutating func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 16 { flush() }
    }

    mutating func write(bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 16 { flush() }
    }

    mutating func flush() {
        var offset = 0
        buffer.withUnsafeBytes { raw in
            while offset < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                offset += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }
}

/// Deterministic generator of demo bank entries (SplitMix64; no Foundation randomness).
struct TransactionGenerator {
    private var state: UInt64
    let seed: UInt64
    let customers: Int
    let messageFraction: Double
    private var clockSeconds: Int64 = 1_795_468_800  // 2026-11-23T21:20:00Z, 00:50 in Tehran on the 24th
    private var ibanCache: [Int: String] = [:]

    init(seed: UInt64, customers: Int, messageFraction: Double = 0.01) {
        self.seed = seed
        state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 0x1234_5678
        self.customers = customers
        self.messageFraction = messageFraction
    }

    mutating func nextRandom() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func unit() -> Double { Double(nextRandom() >> 11) / Double(1 << 53) }

    mutating func pick<T>(_ items: [T]) -> T { items[Int(nextRandom() % UInt64(items.count))] }

    /// Zipf-like: customer 1 is the busiest; about 20% of customers make 80% of the entries.
    mutating func customer() -> Int {
        let u = unit()
        return min(customers, 1 + Int(Double(customers) * u * u * u))
    }

    mutating func iban(_ number: Int) -> String {
        if let cached = ibanCache[number] { return cached }
        let digits = String(number)
        let iban = IBAN.make(country: "IR", bban: "0170" + String(repeating: "0", count: 18 - digits.count) + digits)
        if ibanCache.count < 20_000 { ibanCache[number] = iban }
        return iban
    }

    static let csvHeader = "type,id,account,direction,amount,currency,balance,booked_at,value_date,description,counterparty,origin_channel,kind,customer,template,vars,expires_at\n"

    static let debits: [(String, String, [String])] = [
        ("خرید", "pos", ["فروشگاه رفاه", "هایپراستار", "نان سنگک محله", "داروخانه دکتر احمدی", "کافه نادری"]),
        ("خرید اینترنتی", "internet", ["دیجی‌کالا", "اسنپ‌فود", "علی‌بابا", "بلیط قطار رجا"]),
        ("برداشت از خودپرداز", "atm", ["خودپرداز شعبه ونک", "خودپرداز میدان تجریش", "خودپرداز بازار تبریز"]),
        ("پرداخت قبض برق", "mobile", ["توانیر"]),
        ("پرداخت قبض گاز", "mobile", ["شرکت ملی گاز"]),
        ("انتقال کارت به کارت", "mobile", ["مریم رضایی", "علی محمدی", "زهرا حسینی"]),
        ("پرداخت قسط وام", "branch", ["وام مسکن"]),
    ]
    static let credits: [(String, String, [String])] = [
        ("واریز حقوق", "branch", ["شرکت نفت پارس", "دانشگاه تهران", "شهرداری اصفهان"]),
        ("واریز سود سپرده", "branch", [""]),
        ("انتقال وجه پایا", "internet", ["حسین کریمی", "فاطمه موسوی"]),
        ("واریز نقدی", "branch", [""]),
    ]

    /// Writes a header (CSV) and `count` entries.
    mutating func write(count: Int, jsonl: Bool, to out: inout FDWriter) {
        if !jsonl { out.write(Self.csvHeader) }
        for i in 0..<count {
            clockSeconds += Int64(nextRandom() % 4)
            let n = customer()
            if unit() < messageFraction {
                message(i, customer: n, jsonl: jsonl, to: &out)
            } else {
                transaction(i, customer: n, jsonl: jsonl, to: &out)
            }
        }
    }

    private func time(_ utcSeconds: Int64) -> String {
        // Tehran local time with its offset (+03:30, no DST since 2022).
        let local = utcSeconds + 12_600
        let date = CalendarDate(daysSinceEpoch: Int(local / 86_400))
        let sec = Int(local % 86_400)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(date)T\(two(sec / 3600)):\(two(sec / 60 % 60)):\(two(sec % 60))+03:30"
    }

    private mutating func transaction(_ i: Int, customer n: Int, jsonl: Bool, to out: inout FDWriter) {
        let account = iban(2 * n + Int(nextRandom() % 2))
        let debit = unit() < 0.7
        let (description, channel, counterparties) = debit ? pick(Self.debits) : pick(Self.credits)
        let counterparty = pick(counterparties)
        let roll = unit()
        let currency = roll < 0.9 ? "IRR" : roll < 0.96 ? "EUR" : "USD"
        let amount: String
        if currency == "IRR" {
            // log-uniform 10,000 to 500,000,000 rials, in whole thousands
            let v = Int(10_000 * pow(50_000, unit())) / 1000 * 1000
            amount = String(max(v, 1000))
        } else {
            let cents = Int(100 * pow(2000, unit()))
            amount = "\(cents / 100).\(cents % 100 < 10 ? "0" : "")\(cents % 100)"
        }
        let booked = time(clockSeconds)
        let id = "FT\(seed)-\(i + 1)"
        let direction = debit ? "debit" : "credit"
        if jsonl {
            var w = JSONWriter(capacity: 384)
            w.beginObject()
            w.field("type", "transaction")
            w.field("id", id)
            w.field("account", account)
            w.field("direction", direction)
            w.field("amount", amount)
            w.field("currency", currency)
            w.field("booked_at", booked)
            w.field("value_date", String(booked.prefix(10)))
            w.field("description", description)
            if !counterparty.isEmpty { w.field("counterparty", counterparty) }
            w.field("origin_channel", channel)
            w.endObject()
            out.write(bytes: w.bytes)
            out.write("\n")
        } else {
            out.write("transaction,\(id),\(account),\(direction),\(amount),\(currency),,\(booked),\(booked.prefix(10)),\(description),\(counterparty),\(channel),,,,,\n")
        }
    }

    private mutating func message(_ i: Int, customer n: Int, jsonl: Bool, to out: inout FDWriter) {
        let digits = String(n)
        let customer = "C" + String(repeating: "0", count: max(0, 7 - digits.count)) + digits
        let security = unit() < 0.6
        let created = time(clockSeconds)
        let id = "MSG\(seed)-\(i + 1)"
        let template = security ? "otp" : "birthday"
        let kind = security ? "security" : "marketing"
        let code = String(100_000 + Int(nextRandom() % 900_000))
        let expires = security ? time(clockSeconds + 120) : ""
        if jsonl {
            var w = JSONWriter(capacity: 256)
            w.beginObject()
            w.field("type", "message")
            w.field("id", id)
            w.field("customer", customer)
            w.field("kind", kind)
            w.field("template", template)
            w.beginObject("vars")
            if security { w.field("code", code) } else { w.field("campaign", "birthday-1405") }
            w.endObject()
            w.field("created_at", created)
            if security { w.field("expires_at", expires) }
            w.endObject()
            out.write(bytes: w.bytes)
            out.write("\n")
        } else {
            let vars = security ? "code=\(code)" : "campaign=birthday-1405"
            // Messages take their time from booked_at in CSV (there is no separate created_at column here).
            out.write("message,\(id),,,,,,\(created),,,,,\(kind),\(customer),\(template),\(vars),\(expires)\n")
        }
    }
}
