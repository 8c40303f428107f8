public import ChaparModels
import Foundation

/// Deterministic demo customers.
///
/// Customer n (1-based) has id `C` + n in 7 digits and accounts
/// `IBAN.make(country: "IR", bban: "0170" + 2n in 18 digits)` and the same with 2n+1; every 10th
/// customer also holds the first account of customer n-1 (a joint account). The transaction
/// generator relies on exactly this scheme.
public struct DemoCustomerGenerator {
    private var rng: DemoCustomerRandom
    /// When true every customer gets exactly sms, email and im (the benchmark's "three channels").
    public var threeChannels = false
    /// When true every SMS channel also takes marketing (the 7 a.m. birthday flood's audience).
    public var smsMarketing = false
    /// When false nobody has quiet hours (benchmarks whose outcome must not depend on the time of day).
    public var quietHours = true

    public init(seed: UInt64, threeChannels: Bool = false) {
        rng = DemoCustomerRandom(seed: seed)
        self.threeChannels = threeChannels
    }

    /// The id of customer n.
    public static func id(_ n: Int) -> String {
        let digits = String(n)
        return "C" + String(repeating: "0", count: max(0, 7 - digits.count)) + digits
    }

    /// Account `k` (18-digit account number k in the bank 0170 BBAN).
    public static func account(_ k: Int) -> String {
        let digits = String(k)
        return IBAN.make(country: "IR", bban: "0170" + String(repeating: "0", count: max(0, 18 - digits.count)) + digits)
    }

    /// The accounts of customer n, joint account included.
    public static func accounts(_ n: Int) -> [String] {
        var list = [account(2 * n), account(2 * n + 1)]
        if n % 10 == 0 && n > 1 { list.append(account(2 * (n - 1))) }
        return list
    }

    private static let faFirst = [("علی", "ali"), ("محمد", "mohammad"), ("زهرا", "zahra"), ("فاطمه", "fatemeh"), ("رضا", "reza"), ("مریم", "maryam"),
                                  ("حسین", "hossein"), ("سارا", "sara"), ("امیر", "amir"), ("نرگس", "narges"), ("مهدی", "mahdi"), ("لیلا", "leila"),
                                  ("کاوه", "kaveh"), ("شیرین", "shirin"), ("بهرام", "bahram"), ("پریسا", "parisa")]
    private static let faLast = [("رضایی", "rezaei"), ("محمدی", "mohammadi"), ("حسینی", "hosseini"), ("احمدی", "ahmadi"), ("کریمی", "karimi"),
                                 ("موسوی", "mousavi"), ("جعفری", "jafari"), ("صادقی", "sadeghi"), ("تهرانی", "tehrani"), ("شیرازی", "shirazi"),
                                 ("اصفهانی", "esfahani"), ("نوری", "nouri")]
    private static let enFirst = ["Anna", "James", "Sophie", "Lukas", "Emma", "Oliver", "Mia", "Noah", "Clara", "David", "Laura", "Peter"]
    private static let enLast = ["Schmidt", "Smith", "Müller", "Martin", "Dubois", "Rossi", "Brown", "Weber", "Fischer", "Taylor", "Bernard", "Novak"]
    private static let europe = ["Europe/Berlin", "Europe/London", "Europe/Paris", "Europe/Vienna", "Europe/Istanbul", "Europe/Amsterdam"]

    /// Customer n (1-based).
    public mutating func customer(_ n: Int) -> CustomerProfile {
        let persian = rng.chance(0.7)
        let name: String, latin: String
        if persian {
            let f = rng.pick(Self.faFirst), l = rng.pick(Self.faLast)
            name = f.0 + " " + l.0
            latin = f.1 + "." + l.1
        } else {
            let f = rng.pick(Self.enFirst), l = rng.pick(Self.enLast)
            name = f + " " + l
            latin = (f + "." + l).lowercased().replacingOccurrences(of: "ü", with: "ue")
        }
        let timeZone = rng.chance(0.85) ? "Asia/Tehran" : rng.pick(Self.europe)
        let quiet: QuietHours? = rng.chance(0.3) && quietHours ? (rng.chance(0.5) ? Self.night : Self.lateNight) : nil
        let mobileDigits = String(n % 10_000_000)
        let mobile = "+98912" + String(repeating: "0", count: 7 - mobileDigits.count) + mobileDigits
        // Literal formats built from digits: these cannot fail validation.
        var channels = [ChannelPreference(channel: .sms, address: try! ContactAddress(.sms, mobile), quietHours: quiet,
                                          minimumAmounts: rng.chance(0.2) ? [.irr: 100_000_000] : [:])]
        if smsMarketing { channels[0].eventKinds.insert(.marketing) }
        let email = try! ContactAddress(.email, "\(latin)\(n)@example.com")
        channels.append(ChannelPreference(channel: .email, address: email, enabled: threeChannels || rng.chance(0.8),
                                          minimumAmounts: [:], eventKinds: rng.chance(0.1) ? [.debit, .credit, .security, .marketing] : EventKind.defaultSubscription))
        if !threeChannels && rng.chance(0.1) {
            let fax = "+9821" + String(10_000_000 + rng.next(below: 89_999_999))
            channels.append(ChannelPreference(channel: .fax, address: try! ContactAddress(.fax, fax), eventKinds: [.debit, .credit]))
        }
        if threeChannels || rng.chance(0.2) {
            let chat = 100_000_000 + rng.next(below: 8_999_999_999)
            channels.append(ChannelPreference(channel: .im, address: try! ContactAddress(.im, "telegram:\(chat)"), quietHours: quiet))
        }
        var birthday: CalendarDate?
        if rng.chance(0.5) { birthday = CalendarDate(daysSinceEpoch: -7300 + rng.next(below: 16_000)) }
        return CustomerProfile(
            id: try! CustomerID(Self.id(n)), name: name, language: persian ? .fa : .en, timeZone: timeZone, birthday: birthday,
            active: rng.chance(0.98), accounts: Self.accounts(n).map { try! AccountID($0) }, channels: channels)
    }

    private static let night = try! QuietHours(parsing: "22:00-07:00")  // literal
    private static let lateNight = try! QuietHours(parsing: "23:30-08:00")  // literal
}

extension ChannelPreference {
    fileprivate init(channel: Channel, address: ContactAddress, quietHours: QuietHours?, minimumAmounts: [CurrencyCode: Int64] = [:]) {
        self.init(channel: channel, address: address, enabled: true, minimumAmounts: minimumAmounts, eventKinds: EventKind.defaultSubscription, quietHours: quietHours)
    }
}

/// SplitMix64: a small, fast, seedable generator so demo files and benchmarks are reproducible.
public struct DemoCustomerRandom: RandomNumberGenerator {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func next(below n: Int) -> Int { Int(next() % UInt64(n)) }
    public mutating func chance(_ p: Double) -> Bool { Double(next() >> 11) / Double(1 << 53) < p }
    public mutating func pick<T>(_ items: [T]) -> T { items[next(below: items.count)] }
}
