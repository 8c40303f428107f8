public import ChaparModels
import Foundation
import GRDB

/// Which customers `list` returns; every condition given must hold.
public struct CustomerFilter: Sendable, Hashable {
    /// Only customers with a preference on this channel.
    public var channel: Channel?
    /// With `channel`: only where that channel is enabled (true) or disabled (false); without it:
    /// customers with at least one enabled (true) or no enabled (false) channel.
    public var enabled: Bool?
    /// Only holders of this account.
    public var account: AccountID?

    /// A filter; the defaults match every customer.
    public init(channel: Channel? = nil, enabled: Bool? = nil, account: AccountID? = nil) {
        self.channel = channel
        self.enabled = enabled
        self.account = account
    }
}

extension CustomerStore {
    // MARK: validation

    /// IANA zone identifiers this system knows, plus `UTC`.
    static let knownTimeZones: Set<String> = Set(TimeZone.knownTimeZoneIdentifiers).union(["UTC", "GMT"])

    /// Checks what the types alone cannot: a printable name, a known time zone, one preference per
    /// channel whose address belongs to it, no account listed twice, and an account that looks like
    /// an IBAN is a valid one (its country's length, its check digits).
    public static func validate(_ p: CustomerProfile) throws(InvalidValue) {
        try validateName(p.name)
        try validateTimeZone(p.timeZone)
        var seen: Set<Channel> = []
        for pref in p.channels {
            guard seen.insert(pref.channel).inserted else { throw InvalidValue(pref.channel.rawValue, "the \(pref.channel) channel is given twice; keep one") }
            guard pref.address.channel == pref.channel else {
                throw InvalidValue(pref.channel.rawValue, "the address \(pref.address.masked) is a \(pref.address.channel) address, not \(pref.channel)")
            }
            for (currency, minor) in pref.minimumAmounts where minor < 0 {
                throw InvalidValue("min-amount", "the \(currency) minimum is negative; use 0 or more")
            }
        }
        if p.accounts.count > 1 && Set(p.accounts).count != p.accounts.count {
            throw InvalidValue("accounts", "an account is listed twice; list each account once")
        }
        for account in p.accounts {
            if let problem = IBAN.problem(account.rawValue) { throw InvalidValue("accounts", problem) }
        }
    }

    /// 1 to 200 characters, no control characters (Persian, Arabic and Latin letters are all fine).
    public static func validateName(_ name: String) throws(InvalidValue) {
        guard !name.trimmingSpaces.isEmpty else { throw InvalidValue("name", "the name is empty; give the customer's name") }
        // Characters never outnumber UTF-8 bytes, so counting graphemes is needed only for long names.
        guard name.utf8.count <= 200 || name.count <= 200 else { throw InvalidValue("name", "the name is longer than 200 characters") }
        guard name == name.trimmingSpaces else { throw InvalidValue("name", "the name starts or ends with spaces; remove them") }
        // Control characters (category Cc) are exactly U+0000–001F and U+007F–009F.
        for scalar in name.unicodeScalars where scalar.value < 0x20 || (scalar.value >= 0x7F && scalar.value <= 0x9F) {
            throw InvalidValue("name", "the name contains a control character (U+\(String(scalar.value, radix: 16, uppercase: true))); remove it")
        }
    }

    /// An IANA identifier known to this system, e.g. `Asia/Tehran`, `Europe/Berlin` or `UTC`.
    public static func validateTimeZone(_ zone: String) throws(InvalidValue) {
        guard knownTimeZones.contains(zone) else {
            throw InvalidValue("timezone", "'\(zone)' is not an IANA time zone; use a name such as Asia/Tehran or Europe/Berlin")
        }
    }

    // MARK: reads

    /// One customer, or nil.
    public func customer(_ id: CustomerID) throws -> CustomerProfile? {
        try read("read") { db in try ProfileReader.load([id.rawValue], db)[id.rawValue] }
    }

    /// Every holder of `account`, in id order.
    public func customers(forAccount account: AccountID) throws -> [CustomerProfile] {
        try read("read") { db in
            let ids = try ProfileReader.customerIDs(forAccount: account, db)
            let profiles = try ProfileReader.load(ids, db)
            return ids.compactMap { profiles[$0] }
        }
    }

    /// Number of customers.
    public func count() throws -> Int {
        try read("count customers in") { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM customer") ?? 0 }
    }

    /// Customers matching `filter`, in id order.
    public func list(_ filter: CustomerFilter = CustomerFilter()) throws -> [CustomerProfile] {
        var all: [CustomerProfile] = []
        try forEachCustomer(filter) { all.append($0) }
        return all
    }

    /// Streams customers matching `filter` in id order from one consistent snapshot, a page at a time.
    public func forEachCustomer(_ filter: CustomerFilter = CustomerFilter(), _ body: (CustomerProfile) throws -> Void) throws {
        var conditions: [String] = ["c.id > ?"]
        var extra: [any DatabaseValueConvertible] = []
        if let channel = filter.channel {
            if let enabled = filter.enabled {
                conditions.append("EXISTS (SELECT 1 FROM channel_preference p WHERE p.customer_id = c.id AND p.channel = ? AND p.enabled = ?)")
                extra += [channel.rawValue, enabled ? 1 : 0]
            } else {
                conditions.append("EXISTS (SELECT 1 FROM channel_preference p WHERE p.customer_id = c.id AND p.channel = ?)")
                extra.append(channel.rawValue)
            }
        } else if let enabled = filter.enabled {
            conditions.append((enabled ? "" : "NOT ") + "EXISTS (SELECT 1 FROM channel_preference p WHERE p.customer_id = c.id AND p.enabled = 1)")
        }
        if let account = filter.account {
            conditions.append("EXISTS (SELECT 1 FROM customer_account a WHERE a.customer_id = c.id AND a.account = ?)")
            extra.append(account.rawValue)
        }
        let sql = "SELECT c.id FROM customer c WHERE \(conditions.joined(separator: " AND ")) ORDER BY c.id LIMIT 1000"
        try read("list customers in") { db in
            var after = ""
            while true {
                let ids = try String.fetchAll(db, sql: sql, arguments: StatementArguments([after] + extra))
                guard let last = ids.last else { return }
                let profiles = try ProfileReader.load(ids, db)
                for id in ids { if let p = profiles[id] { try body(p) } }
                after = last
            }
        }
    }

    // MARK: writes

    /// Adds a new customer.
    /// - Throws: `exists` when the id is taken, `invalid` when the profile fails ``validate(_:)``.
    public func add(_ profile: CustomerProfile) throws {
        do { try CustomerStore.validate(profile) } catch { throw CustomerStoreError(error) }
        try write("add customer \(profile.id) to") { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM customer WHERE id = ?", arguments: [profile.id.rawValue]) == true {
                throw CustomerStoreError(.exists, "customer \(profile.id) already exists; change it with 'chapar customers set', or remove it first")
            }
            try ProfileWriter(db).insert(profile)
        }
    }

    /// Adds the customer, or replaces everything stored about it (accounts and channels included).
    public func save(_ profile: CustomerProfile) throws {
        do { try CustomerStore.validate(profile) } catch { throw CustomerStoreError(error) }
        try write("save customer \(profile.id) in") { db in
            let writer = try ProfileWriter(db)
            try writer.delete(profile.id)
            try writer.insert(profile)
        }
    }

    /// Removes a customer with its account links and channel preferences.
    /// - Throws: `notFound` when there is no such customer.
    public func remove(_ id: CustomerID) throws {
        try write("remove customer \(id) from") { db in
            guard try ProfileWriter(db).delete(id) else { throw CustomerStore.notFound(id) }
        }
    }

    /// Reads a customer, lets `change` edit it, validates and stores the result, all in one write
    /// transaction (so concurrent edits from other processes are never lost). Returns the new profile.
    /// - Throws: `notFound`, `invalid` (from `change` throwing ``InvalidValue`` or from validation).
    @discardableResult
    public func update(_ id: CustomerID, _ change: (inout CustomerProfile) throws -> Void) throws -> CustomerProfile {
        try write("update customer \(id) in") { db in
            guard var profile = try ProfileReader.load([id.rawValue], db)[id.rawValue] else { throw CustomerStore.notFound(id) }
            try change(&profile)
            guard profile.id == id else { throw CustomerStoreError(.invalid, "a customer's id cannot change; add a new customer and remove this one") }
            profile.channels.sort { $0.channel < $1.channel }
            try CustomerStore.validate(profile)
            let writer = try ProfileWriter(db)
            try writer.delete(id)
            try writer.insert(profile)
            return profile
        }
    }

    /// Turns channels on or off. Every channel must have an address.
    @discardableResult
    public func setEnabled(_ enabled: Bool, customer id: CustomerID, channels: [Channel]) throws -> CustomerProfile {
        try update(id) { profile in
            for channel in channels {
                guard let i = profile.channels.firstIndex(where: { $0.channel == channel }) else {
                    throw CustomerStoreError(.notFound, "customer \(id) has no \(channel) address; add one with 'chapar customers set \(id) --channel \(channel) --address …'")
                }
                profile.channels[i].enabled = enabled
            }
        }
    }

    /// Links an account to a customer (a joint account is linked to each holder).
    @discardableResult
    public func link(_ id: CustomerID, account: AccountID) throws -> CustomerProfile {
        try update(id) { profile in
            guard !profile.accounts.contains(account) else {
                throw CustomerStoreError(.exists, "account \(account.masked) is already linked to customer \(id)")
            }
            profile.accounts.append(account)
        }
    }

    /// Unlinks an account from a customer.
    @discardableResult
    public func unlink(_ id: CustomerID, account: AccountID) throws -> CustomerProfile {
        try update(id) { profile in
            guard let i = profile.accounts.firstIndex(of: account) else {
                throw CustomerStoreError(.notFound, "account \(account.masked) is not linked to customer \(id); see 'chapar customers show \(id)'")
            }
            profile.accounts.remove(at: i)
        }
    }

    static func notFound(_ id: CustomerID) -> CustomerStoreError {
        CustomerStoreError(.notFound, "there is no customer \(id); see 'chapar customers list', or add it with 'chapar customers add \(id) …'")
    }
}

extension String {
    var trimmingSpaces: String {
        // Fast path: most values have no surrounding white space; checking the two ends is cheap.
        guard let f = unicodeScalars.first, let l = unicodeScalars.last else { return self }
        if !f.properties.isWhitespace && !l.properties.isWhitespace { return self }
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
