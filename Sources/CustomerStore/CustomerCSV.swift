public import ChaparModels

/// The CSV layout of `chapar customers import/export` (documented in `docs/customers.md`).
///
/// One row per customer. The header names the columns; on import they may come in any order and
/// only `id`, `name` and `language` are required. Per channel (`sms`, `email`, `fax`, `im`) there
/// are five columns: the address, `<channel>_enabled`, `<channel>_events`, `<channel>_min_amount`
/// and `<channel>_quiet_hours`; an empty address means the customer has no such channel.
public enum CustomerCSV {
    /// Every column, in export order.
    public static let columns: [String] = ["id", "name", "language", "timezone", "birthday", "active", "accounts"]
        + Channel.allCases.flatMap { c in [c.rawValue, "\(c)_enabled", "\(c)_events", "\(c)_min_amount", "\(c)_quiet_hours"] }

    /// The columns an import must have.
    public static let required: Set<String> = ["id", "name", "language"]

    /// The fields of one exported row, in ``columns`` order.
    public static func row(_ p: CustomerProfile) -> [String] {
        var fields = [p.id.rawValue, p.name, p.language.rawValue, p.timeZone, p.birthday?.description ?? "", p.active ? "true" : "false",
                      p.accounts.map(\.rawValue).joined(separator: ";")]
        fields.reserveCapacity(columns.count)
        for channel in Channel.allCases {
            if let pref = p.preference(for: channel) {
                fields.append(pref.address.value)
                fields.append(pref.enabled ? "true" : "false")
                fields.append(pref.eventKinds.isEmpty ? "none" : ProfileCodec.eventKindsText(pref.eventKinds))
                fields.append(minimumsText(pref.minimumAmounts))
                fields.append(pref.quietHours?.description ?? "")
            } else {
                fields.append(contentsOf: ["", "", "", "", ""])
            }
        }
        return fields
    }

    /// `IRR:5000000.00;EUR:10.00`, currencies in order, amounts in the currency's decimal form.
    public static func minimumsText(_ minimums: [CurrencyCode: Int64]) -> String {
        minimums.sorted { $0.key < $1.key }.map { "\($0.key):\(Money(minorUnits: $0.value, currency: $0.key).decimalString)" }.joined(separator: ";")
    }

    /// Parses `CUR:AMOUNT;CUR:AMOUNT` (amounts in major units, e.g. `IRR:5000000;EUR:10.50`).
    public static func parseMinimums(_ text: String) throws(InvalidValue) -> [CurrencyCode: Int64] {
        var result: [CurrencyCode: Int64] = [:]
        for part in text.split(separator: ";", omittingEmptySubsequences: false) {
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            guard pieces.count == 2 else {
                throw InvalidValue("min-amount", "'\(part)' is not CURRENCY:AMOUNT; write e.g. IRR:5000000 or IRR:5000000;EUR:10")
            }
            let currency = try CurrencyCode(String(pieces[0]))
            guard result[currency] == nil else { throw InvalidValue("min-amount", "\(currency) is given twice") }
            result[currency] = try Money(parsing: pieces[1], currency: currency).minorUnits
        }
        return result
    }

    /// Parses `true/false`, `yes/no`, `1/0` (case-insensitive).
    public static func parseBool(_ text: String, field: String) throws(InvalidValue) -> Bool {
        switch text.lowercased() {
        case "true", "yes", "1", "y": return true
        case "false", "no", "0", "n": return false
        default: throw InvalidValue(field, "'\(text)' is not true or false")
        }
    }

    /// Parses `debit;credit;security`, or `none` for no kinds at all.
    public static func parseEvents(_ text: String) throws(InvalidValue) -> Set<EventKind> {
        if text == ProfileCodec.defaultKindsText { return EventKind.defaultSubscription }
        if text.lowercased() == "none" { return [] }
        var kinds: Set<EventKind> = []
        for part in text.split(separator: ";", omittingEmptySubsequences: false) {
            kinds.insert(try EventKind(String(part).trimmingSpaces))
        }
        return kinds
    }

    /// Maps header names to column positions, or reports what is wrong with the header.
    struct Header {
        var index: [String: Int] = [:]
        let channelIndex: [(address: Int?, enabled: Int?, events: Int?, minimum: Int?, quiet: Int?)]
        private(set) var id: Int?, name: Int?, language: Int?, timezone: Int?, birthday: Int?, active: Int?, accounts: Int?

        init(_ fields: [String]) throws(InvalidValue) {
            for (i, raw) in fields.enumerated() {
                let name = raw.trimmingSpaces.lowercased()
                guard CustomerCSV.columns.contains(name) else {
                    throw InvalidValue(raw, "unknown column; the columns are \(CustomerCSV.columns.joined(separator: ","))")
                }
                guard index[name] == nil else { throw InvalidValue(raw, "the column appears twice") }
                index[name] = i
            }
            for name in CustomerCSV.required.sorted() where index[name] == nil {
                throw InvalidValue(name, "the header has no '\(name)' column; the first line must name the columns, e.g. \(CustomerCSV.columns.prefix(7).joined(separator: ","))")
            }
            let idx = index
            (id, name, language, timezone, birthday, active, accounts) =
                (idx["id"], idx["name"], idx["language"], idx["timezone"], idx["birthday"], idx["active"], idx["accounts"])
            channelIndex = Channel.allCases.map { c in
                (idx[c.rawValue], idx["\(c)_enabled"], idx["\(c)_events"], idx["\(c)_min_amount"], idx["\(c)_quiet_hours"])
            }
        }
    }

    /// Column names per channel, built once: (address, enabled, events, min_amount, quiet_hours).
    static let channelColumns: [(String, String, String, String, String)] = Channel.allCases.map { c in
        (c.rawValue, "\(c)_enabled", "\(c)_events", "\(c)_min_amount", "\(c)_quiet_hours")
    }

    /// Builds a profile from one record, appending one `column: what is wrong` per bad field to
    /// `problems`; returns nil when any field was bad.
    static func profile(_ fields: [String], header: Header, problems: inout [(column: String, reason: String)]) -> CustomerProfile? {
        let before = problems.count
        func field(_ i: Int?) -> String { i.flatMap { $0 < fields.count ? fields[$0] : nil } ?? "" }
        func check<T>(_ column: String, _ body: () throws(InvalidValue) -> T) -> T? {
            do { return try body() } catch { problems.append((column, error.reason)); return nil }
        }
        if fields.count != header.index.count {
            problems.append(("row", "it has \(fields.count) fields but the header has \(header.index.count); quote fields that contain commas"))
            return nil
        }
        let id = check("id") { () throws(InvalidValue) in try CustomerID(field(header.id)) }
        let name = field(header.name)
        _ = check("name") { () throws(InvalidValue) in try CustomerStore.validateName(name) }
        let language = check("language") { () throws(InvalidValue) in try Language(parsing: field(header.language)) }
        var timeZone = field(header.timezone)
        if timeZone.isEmpty { timeZone = "Asia/Tehran" }
        _ = check("timezone") { () throws(InvalidValue) in try CustomerStore.validateTimeZone(timeZone) }
        let birthdayText = field(header.birthday)
        let birthday = birthdayText.isEmpty ? nil : check("birthday") { () throws(InvalidValue) in try CalendarDate(iso: birthdayText) }
        let activeText = field(header.active)
        let active = activeText.isEmpty ? true : check("active") { () throws(InvalidValue) in try parseBool(activeText, field: "active") }
        var accounts: [AccountID] = []
        let accountsText = field(header.accounts)
        if !accountsText.isEmpty {
            for part in accountsText.split(separator: ";", omittingEmptySubsequences: false) {
                if let a = check("accounts", { () throws(InvalidValue) in try AccountID(String(part)) }) {
                    if accounts.contains(a) { problems.append(("accounts", "\(a.masked) is listed twice")) } else { accounts.append(a) }
                }
            }
        }
        var channels: [ChannelPreference] = []
        for (c, channel) in Channel.allCases.enumerated() {
            let cols = header.channelIndex[c], names = channelColumns[c]
            let addressText = field(cols.address)
            let enabledText = field(cols.enabled), eventsText = field(cols.events), minText = field(cols.minimum), quietText = field(cols.quiet)
            if addressText.isEmpty {
                for (column, text) in [(names.1, enabledText), (names.2, eventsText), (names.3, minText), (names.4, quietText)] where !text.isEmpty {
                    problems.append((column, "set, but the \(channel) column is empty; give an address or leave this empty"))
                }
                continue
            }
            let address = check(names.0) { () throws(InvalidValue) in try ContactAddress(channel, addressText) }
            let enabled = enabledText.isEmpty ? true : check(names.1) { () throws(InvalidValue) in try parseBool(enabledText, field: "enabled") }
            let events = eventsText.isEmpty ? EventKind.defaultSubscription : check(names.2) { () throws(InvalidValue) in try parseEvents(eventsText) }
            let minimums = minText.isEmpty ? [:] : check(names.3) { () throws(InvalidValue) in try parseMinimums(minText) }
            let quiet = quietText.isEmpty ? nil : check(names.4) { () throws(InvalidValue) in try QuietHours(parsing: quietText) }
            if let address, let enabled, let events, let minimums, quietText.isEmpty || quiet != nil {
                channels.append(ChannelPreference(channel: channel, address: address, enabled: enabled, minimumAmounts: minimums, eventKinds: events, quietHours: quiet))
            }
        }
        guard problems.count == before, let id, let language, let active else { return nil }
        return CustomerProfile(id: id, name: name, language: language, timeZone: timeZone, birthday: birthday, active: active, accounts: accounts, channels: channels)
    }
}

extension CustomerCSV {
    /// Writes customers as an importable CSV file (header first, RFC 4180, CRLF, UTF-8).
    public struct Writer {
        private var csv: CSVWriter

        /// Creates (or replaces) `path`, or writes to stdout when nil, and writes the header.
        public init(path: String?) throws(CustomerStoreError) {
            csv = try CSVWriter(path: path)
            try csv.write(CustomerCSV.columns)
        }

        /// Appends one customer.
        public mutating func write(_ profile: CustomerProfile) throws(CustomerStoreError) {
            try csv.write(CustomerCSV.row(profile))
        }

        /// Flushes and closes (a file is fsynced first).
        public mutating func finish() throws(CustomerStoreError) {
            try csv.finish()
        }
    }
}
