import ChaparModels

/// The columns of a CSV file and the fields of a JSON Lines object (see `docs/ingest.md`).
enum EntryField: Int, CaseIterable, Sendable {
    case type, id, account, direction, amount, currency, balance, bookedAt, valueDate, description,
         counterparty, originChannel, kind, customer, template, vars, createdAt, expiresAt

    /// The name in the header row / JSON object.
    var name: String {
        switch self {
        case .type: "type"
        case .id: "id"
        case .account: "account"
        case .direction: "direction"
        case .amount: "amount"
        case .currency: "currency"
        case .balance: "balance"
        case .bookedAt: "booked_at"
        case .valueDate: "value_date"
        case .description: "description"
        case .counterparty: "counterparty"
        case .originChannel: "origin_channel"
        case .kind: "kind"
        case .customer: "customer"
        case .template: "template"
        case .vars: "vars"
        case .createdAt: "created_at"
        case .expiresAt: "expires_at"
        }
    }

    static let byName: [String: EntryField] = Dictionary(uniqueKeysWithValues: allCases.map { ($0.name, $0) })

    /// Every accepted name, for error messages.
    static let allNames: String = allCases.map(\.name).joined(separator: ", ")

    /// Required for a transaction (currency too, unless `--currency` gives a default).
    static let transactionRequired: [EntryField] = [.account, .direction, .amount, .bookedAt]
    /// Required for a direct message.
    static let messageRequired: [EntryField] = [.customer, .kind, .template]
}

/// The raw text values of one entry, by field, before validation.
struct RawEntry {
    var values: [String?] = Array(repeating: nil, count: EntryField.allCases.count)
    /// Template variables already split (JSON object); CSV gives `vars` as text in ``values``.
    var variables: [String: String]? = nil

    subscript(_ field: EntryField) -> String? {
        get { values[field.rawValue] }
        set { values[field.rawValue] = newValue }
    }

    /// The value, or nil when absent or empty (an empty CSV cell means "not given").
    func nonEmpty(_ field: EntryField) -> String? {
        guard let v = values[field.rawValue], !v.isEmpty else { return nil }
        return v
    }

    mutating func reset() {
        for i in values.indices { values[i] = nil }
        variables = nil
    }
}

/// Turns ``RawEntry`` values into a validated ``Event``: shared by the CSV and JSON Lines parsers,
/// so both formats accept exactly the same values and compute the same ids.
struct EntryBuilder {
    let options: ParserOptions
    private var times: TimestampParser
    private var occurrences = OccurrenceCounter()
    private var currencies: [String: CurrencyCode] = [:]

    init(options: ParserOptions) throws(IngestError) {
        self.options = options
        times = try TimestampParser(timeZone: options.timeZone)
    }

    /// A validated event, or the first problem found, phrased as `field: what is wrong`.
    mutating func build(_ raw: RawEntry, location: EntryLocation) -> ParsedEntry {
        do throws(InvalidValue) {
            let given = raw.nonEmpty(.type)
            let type = given == nil || given == "transaction" ? "transaction" : given!.lowercased()  // checked
            switch type {
            case "transaction": return .event(.transaction(try transaction(raw, location)))
            case "message": return .event(.message(try message(raw, location)))
            default: throw InvalidValue("type", "'\(type)' is not an entry type; use transaction or message")
            }
        } catch {
            return .rejected(EntryError(location, error.description))
        }
    }

    static let messageOnly: [EntryField] = [.customer, .template, .vars, .expiresAt, .createdAt]
    static let transactionOnly: [EntryField] = [.account, .direction, .amount, .balance, .valueDate, .counterparty]

    private func require(_ raw: RawEntry, _ field: EntryField, for what: String) throws(InvalidValue) -> String {
        guard let v = raw.nonEmpty(field) else { throw InvalidValue(field.name, "missing; every \(what) needs \(field.name)") }
        return v
    }

    /// `AccountID.init` has a fast path for already-normalised text (what bank files carry), which
    /// is cheaper than hashing the text into a cache.
    private func account(_ text: String) throws(InvalidValue) -> AccountID {
        try AccountID(text)
    }

    private mutating func currency(_ text: String) throws(InvalidValue) -> CurrencyCode {
        if let c = currencies[text] { return c }
        let c = try KnownCurrencies.parse(text)
        if currencies.count < 1000 { currencies[text] = c }
        return c
    }

    private mutating func transaction(_ raw: RawEntry, _ location: EntryLocation) throws(InvalidValue) -> TransactionEvent {
        for field in Self.messageOnly where raw.nonEmpty(field) != nil {
            throw InvalidValue(field.name, "only messages have \(field.name); set type to message or leave it empty")
        }
        let account = try self.account(try require(raw, .account, for: "transaction"))
        let directionText = try require(raw, .direction, for: "transaction")
        let direction: Direction = switch directionText {
        case "debit", "D": .debit
        case "credit", "C": .credit
        default: try Direction(parsing: directionText)
        }
        let currency: CurrencyCode
        if let c = raw.nonEmpty(.currency) {
            currency = try self.currency(c)
        } else if let d = options.defaultCurrency {
            currency = d
        } else {
            throw InvalidValue("currency", "missing; give a currency column or a default with --currency IRR")
        }
        let amountText = try require(raw, .amount, for: "transaction")
        let amount = try Money(parsing: Substring(amountText), currency: currency)
        guard amount.minorUnits > 0 else {
            throw InvalidValue("amount", "'\(amountText)' must be greater than zero; the direction column says which way money moved")
        }
        var balance: Money? = nil
        if let b = raw.nonEmpty(.balance) {
            let negative = b.hasPrefix("-")
            do {
                let m = try Money(parsing: negative ? Substring(b.dropFirst()) : Substring(b), currency: currency)
                balance = Money(minorUnits: negative ? -m.minorUnits : m.minorUnits, currency: currency)
            } catch {
                throw InvalidValue("balance", error.reason)
            }
        }
        let bookedText = try require(raw, .bookedAt, for: "transaction")
        let bookedAt = try times.parse(bookedText, field: "booked_at")
        var valueDate: CalendarDate? = nil
        if let v = raw.nonEmpty(.valueDate) {
            do { valueDate = try CalendarDate(iso: v) } catch { throw InvalidValue("value_date", error.reason) }
        }
        let kind: EventKind?
        do { kind = try raw.nonEmpty(.kind).map { (k: String) throws(InvalidValue) in try EventKind(k) } } catch { throw InvalidValue("kind", error.reason) }
        let description = raw.nonEmpty(.description) ?? ""
        let id: EventID
        if let given = raw.nonEmpty(.id) {
            // The bank's reference is the id itself; `references` stays empty for text formats
            // (no per-entry dictionary to allocate and encode).
            id = try EventID(given)
        } else {
            // docs/ingest.md, "Event ids": account, direction, amount, currency, booked_at as written,
            // value date, reference (none in text formats), description, occurrence.
            var fields = [account.rawValue, direction.rawValue, amount.decimalString, currency.rawValue, bookedText,
                          valueDate?.description ?? "", "", description]
            fields.append(String(occurrences.next(fields)))
            id = EventIDs.contentHash(fields)
        }
        return TransactionEvent(id: id, account: account, direction: direction, kind: kind, amount: amount,
                                balanceAfter: balance, bookedAt: bookedAt, valueDate: valueDate, description: description,
                                counterparty: raw.nonEmpty(.counterparty), originChannel: raw.nonEmpty(.originChannel)?.lowercased(),
                                source: location)
    }

    private mutating func message(_ raw: RawEntry, _ location: EntryLocation) throws(InvalidValue) -> DirectMessage {
        for field in Self.transactionOnly where raw.nonEmpty(field) != nil {
            throw InvalidValue(field.name, "messages have no \(field.name); set type to transaction or leave it empty")
        }
        let customer = try CustomerID(try require(raw, .customer, for: "message"))
        let kindText = try require(raw, .kind, for: "message").lowercased()
        guard kindText == "security" || kindText == "marketing" else {
            throw InvalidValue("kind", "'\(kindText)' is not a message kind; use security (OTP, login alert, blocked card) or marketing (greetings, campaigns)")
        }
        let kind: EventKind = kindText == "security" ? .security : .marketing
        let template = try require(raw, .template, for: "message")
        guard template.utf8.count <= 64, template.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x5F || $0 == 0x2E }) else {
            throw InvalidValue("template", "'\(template)' is not a template name; use letters, digits, '-', '_' and '.' (e.g. otp, birthday)")
        }
        var variables: [String: String] = raw.variables ?? [:]
        if let text = raw.nonEmpty(.vars) {
            variables = try Self.parseVariables(text)
        }
        let createdText = raw.nonEmpty(.createdAt) ?? raw.nonEmpty(.bookedAt)
        guard let createdText else {
            throw InvalidValue("created_at", "missing; every message needs created_at (or booked_at), e.g. 2026-11-24T09:30:00+03:30")
        }
        let createdAt = try times.parse(createdText, field: raw.nonEmpty(.createdAt) != nil ? "created_at" : "booked_at")
        var expiresAt: Timestamp? = nil
        let expiresText = raw.nonEmpty(.expiresAt)
        if let e = expiresText {
            expiresAt = try times.parse(e, field: "expires_at")
            if expiresAt! < createdAt {  // just assigned
                throw InvalidValue("expires_at", "'\(e)' is before the message was created (\(createdText))")
            }
        }
        let id: EventID
        if let given = raw.nonEmpty(.id) {
            id = try EventID(given)
        } else {
            // docs/ingest.md: customer, kind, template, variables (sorted key=value joined by ';'),
            // created_at as written, expires_at as written, occurrence.
            let vars = variables.keys.sorted().map { "\($0)=\(variables[$0]!)" }.joined(separator: ";")  // key from keys
            var fields = [customer.rawValue, kind.rawValue, template, vars, createdText, expiresText ?? ""]
            fields.append(String(occurrences.next(fields)))
            id = EventIDs.contentHash(fields)
        }
        return DirectMessage(id: id, customer: customer, kind: kind, template: template, variables: variables,
                             createdAt: createdAt, expiresAt: expiresAt, source: location)
    }

    /// `key=value;key2=value2` (CSV). Keys are letters, digits and `_`; values may contain `=` but not `;`.
    static func parseVariables(_ text: String) throws(InvalidValue) -> [String: String] {
        var result: [String: String] = [:]
        for pair in text.split(separator: ";", omittingEmptySubsequences: true) {
            guard let eq = pair.firstIndex(of: "=") else {
                throw InvalidValue("vars", "'\(pair)' is not key=value; write variables as code=123456;device=mobile")
            }
            let key = pair[..<eq].trimmingASCIISpaces, value = pair[pair.index(after: eq)...]
            try checkVariableName(String(key))
            guard result[String(key)] == nil else { throw InvalidValue("vars", "variable '\(key)' is given twice") }
            result[String(key)] = String(value)
        }
        return result
    }

    static func checkVariableName(_ key: String) throws(InvalidValue) {
        guard !key.isEmpty, key.utf8.count <= 64, key.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }) else {
            throw InvalidValue("vars", "'\(key)' is not a variable name; use letters, digits and '_'")
        }
    }
}

extension Substring {
    var trimmingASCIISpaces: Substring {
        var s = self
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return s
    }
}

/// Numbers identical entries (same hash fields) 1, 2, 3… within one file, so two identical coffees
/// on one day stay two events while a re-sent file maps to the same ids.
///
/// Bounded: after 200,000 distinct entries the table starts over (deterministically, so the same
/// file always gives the same ids); see docs/ingest.md for what this means for overlapping files.
struct OccurrenceCounter {
    private var counts: [Int: UInt32] = [:]
    static let capacity = 200_000

    mutating func next(_ fields: [String]) -> UInt32 {
        var h = Hasher()
        for f in fields {
            h.combine(f)
        }
        let key = h.finalize()
        if counts.count >= Self.capacity && counts[key] == nil { counts.removeAll(keepingCapacity: true) }
        let n = (counts[key] ?? 0) + 1
        counts[key] = n
        return n
    }
}
