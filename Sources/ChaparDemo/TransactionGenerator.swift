import ChaparModels
import Foundation

/// Where the generators write: a file, a buffer.
public protocol DemoOutput {
    mutating func write(_ text: String)
    mutating func write(bytes: [UInt8])
}

/// Generated entries collected in memory (e.g. one batch of the demo's transaction stream).
public struct DemoBuffer: DemoOutput {
    public private(set) var bytes: [UInt8] = []
    public init() {}
    public mutating func write(_ text: String) { bytes.append(contentsOf: text.utf8) }
    public mutating func write(bytes more: [UInt8]) { bytes.append(contentsOf: more) }
}

/// Deterministic generator of demo bank entries (``DemoCustomerRandom``'s SplitMix64; no Foundation randomness).
public struct TransactionGenerator {
    private var random: DemoCustomerRandom
    public let seed: UInt64
    public let customers: Int
    public let messageFraction: Double
    /// The booking time of the next entry (UTC seconds); it advances 0-3 s per entry.
    public var clockSeconds: Int64 = 1_795_468_800  // 2026-11-23T21:20:00Z, 00:50 in Tehran on the 24th
    /// Entry ids are `FT<seed>-<n>` and `MSG<seed>-<n>`, n counting from here + 1.
    public var nextIndex = 0
    private var ibanCache: [Int: String] = [:]

    public init(seed: UInt64, customers: Int, messageFraction: Double = 0.01) {
        self.seed = seed
        random = DemoCustomerRandom(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ 0x1234_5678)
        self.customers = customers
        self.messageFraction = messageFraction
    }

    private mutating func nextRandom() -> UInt64 { random.next() }

    private mutating func unit() -> Double { Double(nextRandom() >> 11) / Double(1 << 53) }

    private mutating func pick<T>(_ items: [T]) -> T { items[Int(nextRandom() % UInt64(items.count))] }

    /// Zipf-like: customer 1 is the busiest; about 20% of customers make 80% of the entries.
    private mutating func customer() -> Int {
        let u = unit()
        return min(customers, 1 + Int(Double(customers) * u * u * u))
    }

    private mutating func iban(_ number: Int) -> String {
        if let cached = ibanCache[number] { return cached }
        let digits = String(number)
        let iban = IBAN.make(country: "IR", bban: "0170" + String(repeating: "0", count: 18 - digits.count) + digits)
        if ibanCache.count < 20_000 { ibanCache[number] = iban }
        return iban
    }

    public static let csvHeader = "type,id,account,direction,amount,currency,balance,booked_at,value_date,description,counterparty,origin_channel,kind,customer,template,vars,expires_at\n"

    private static let debits: [(String, String, [String])] = [
        ("خرید", "pos", ["فروشگاه رفاه", "هایپراستار", "نان سنگک محله", "داروخانه دکتر احمدی", "کافه نادری"]),
        ("خرید اینترنتی", "internet", ["دیجی‌کالا", "اسنپ‌فود", "علی‌بابا", "بلیط قطار رجا"]),
        ("برداشت از خودپرداز", "atm", ["خودپرداز شعبه ونک", "خودپرداز میدان تجریش", "خودپرداز بازار تبریز"]),
        ("پرداخت قبض برق", "mobile", ["توانیر"]),
        ("پرداخت قبض گاز", "mobile", ["شرکت ملی گاز"]),
        ("انتقال کارت به کارت", "mobile", ["مریم رضایی", "علی محمدی", "زهرا حسینی"]),
        ("پرداخت قسط وام", "branch", ["وام مسکن"]),
    ]
    private static let credits: [(String, String, [String])] = [
        ("واریز حقوق", "branch", ["شرکت نفت پارس", "دانشگاه تهران", "شهرداری اصفهان"]),
        ("واریز سود سپرده", "branch", [""]),
        ("انتقال وجه پایا", "internet", ["حسین کریمی", "فاطمه موسوی"]),
        ("واریز نقدی", "branch", [""]),
    ]

    /// Writes a header (CSV) and `count` entries.
    public mutating func write(count: Int, jsonl: Bool, header: Bool = true, to out: inout some DemoOutput) {
        if !jsonl && header { out.write(Self.csvHeader) }
        for _ in 0..<count {
            let i = nextIndex
            nextIndex += 1
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

    private mutating func transaction(_ i: Int, customer n: Int, jsonl: Bool, to out: inout some DemoOutput) {
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

    private mutating func message(_ i: Int, customer n: Int, jsonl: Bool, to out: inout some DemoOutput) {
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
