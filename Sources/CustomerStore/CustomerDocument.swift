public import ChaparModels

/// A customer as JSON: the `--json` output of `chapar customers` and the body of the HTTP API's
/// customer calls (documented in docs/customers.md). Reading one back validates every field with
/// the same rules as the CSV import and the CLI.
public struct CustomerDocument: Codable, Sendable, Hashable {
    public struct ChannelDocument: Codable, Sendable, Hashable {
        public var channel: String
        public var address: String
        public var enabled: Bool?
        /// Event kinds (default: the standard subscription).
        public var events: [String]?
        /// Currency → minimum amount as a decimal string (`"5000000"` IRR, `"20.00"` EUR).
        public var minAmounts: [String: String]?
        /// `HH:MM-HH:MM` in the customer's time zone.
        public var quietHours: String?
    }

    public var id: String
    public var name: String
    public var language: String
    public var timezone: String?
    public var birthday: String?
    public var active: Bool?
    public var accounts: [String]?
    public var channels: [ChannelDocument]?

    public init(_ p: CustomerProfile) {
        id = p.id.rawValue
        name = p.name
        language = p.language.rawValue
        timezone = p.timeZone
        birthday = p.birthday?.description
        active = p.active
        accounts = p.accounts.map(\.rawValue)
        channels = p.channels.map { c in
            ChannelDocument(channel: c.channel.rawValue, address: c.address.value, enabled: c.enabled, events: c.eventKinds.map(\.rawValue).sorted(),
                            minAmounts: Dictionary(uniqueKeysWithValues: c.minimumAmounts.map { ($0.key.rawValue, Money(minorUnits: $0.value, currency: $0.key).decimalString) }),
                            quietHours: c.quietHours?.description)
        }
    }

    /// `{"IRR": "5000000", "EUR": "20.00"}` as minor units per currency; a bad entry is reported
    /// as `field.CODE`. Shared with the API's customer PATCH.
    public static func minimums(_ amounts: [String: String], field: String) throws(InvalidValue) -> [CurrencyCode: Int64] {
        var result: [CurrencyCode: Int64] = [:]
        for (code, amount) in amounts {
            do {
                let currency = try CurrencyCode(code)
                result[currency] = try Money(parsing: Substring(amount), currency: currency).minorUnits
            } catch {
                throw InvalidValue("\(field).\(code)", error.reason)
            }
        }
        return result
    }

    /// The profile this document describes, validated (``CustomerStore/validate(_:)`` rules included).
    public func profile() throws(InvalidValue) -> CustomerProfile {
        var preferences: [ChannelPreference] = []
        for (i, c) in (channels ?? []).enumerated() {
            let channel: Channel
            do { channel = try Channel(parsing: c.channel) } catch { throw InvalidValue("channels[\(i)].channel", error.reason) }
            guard !preferences.contains(where: { $0.channel == channel }) else {
                throw InvalidValue("channels[\(i)]", "\(channel) appears twice; give one entry per channel")
            }
            var preference: ChannelPreference
            do { preference = ChannelPreference(channel: channel, address: try ContactAddress(channel, c.address)) } catch {
                throw InvalidValue("channels[\(i)].address", error.reason)
            }
            if let enabled = c.enabled { preference.enabled = enabled }
            if let events = c.events {
                do { preference.eventKinds = try CustomerCSV.parseEvents(events.joined(separator: ";")) } catch {
                    throw InvalidValue("channels[\(i)].events", error.reason)
                }
            }
            if let amounts = c.minAmounts { preference.minimumAmounts = try Self.minimums(amounts, field: "channels[\(i)].minAmounts") }
            if let q = c.quietHours {
                do { preference.quietHours = try QuietHours(parsing: q) } catch { throw InvalidValue("channels[\(i)].quietHours", error.reason) }
            }
            preferences.append(preference)
        }
        let customerID: CustomerID
        do { customerID = try CustomerID(id) } catch { throw InvalidValue("id", error.reason) }
        let lang: Language
        do { lang = try Language(parsing: language) } catch { throw InvalidValue("language", error.reason) }
        var birthdayDate: CalendarDate?
        if let birthday {
            do { birthdayDate = try CalendarDate(iso: birthday) } catch { throw InvalidValue("birthday", error.reason) }
        }
        var accountIDs: [AccountID] = []
        for (i, a) in (accounts ?? []).enumerated() {
            do { accountIDs.append(try AccountID(a)) } catch { throw InvalidValue("accounts[\(i)]", error.reason) }
        }
        let profile = CustomerProfile(id: customerID, name: name, language: lang, timeZone: timezone ?? "Asia/Tehran", birthday: birthdayDate,
                                      active: active ?? true, accounts: accountIDs, channels: preferences.sorted { $0.channel < $1.channel })
        try CustomerStore.validate(profile)
        return profile
    }
}
