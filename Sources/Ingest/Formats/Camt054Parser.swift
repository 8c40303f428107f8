import ChaparModels

/// Reads ISO 20022 camt.054 (`BkToCstmrDbtCdtNtfctn`, bank-to-customer debit/credit
/// notification) versions 01 to 13, streaming: one event per booked `Ntry`, or one per
/// `NtryDtls/TxDtls` when a batch entry itemises its transactions with their own amounts.
///
/// The mapping, the event-id rules and the handling of statuses are in
/// `docs/formats-camt054-mt940.md`. Memory stays constant whatever the file size: the XML is read
/// through a fixed buffer by ``XMLPullParser`` and only the current entry is held.
public struct Camt054Parser: EntryParser {
    private var xml: XMLPullParser
    private let displayName: String
    private var zone: BankLocalZone
    private let defaultCurrency: CurrencyCode?

    private var names: [String] = []
    private var version = ""
    private var ntfctnIndex = 0
    private var ntryIndex = 0
    private var account: Account = .missing
    /// `GrpHdr/CreDtTm` and the current `Ntfctn/CreDtTm`: an entry with neither a booking nor a
    /// value date (instant-payment notifications) is booked at the notification's creation time.
    private var messageCreated: String?
    private var notificationCreated: String?
    private var occurrences: [UInt64: UInt32] = [:]
    private var ntry: NtryDraft?
    private var tx: TxDraft?
    private var pendingCcy: String?

    private var queue: [ParsedEntry] = []
    private var queueHead = 0
    private var pendingError: IngestError?
    private var finished = false

    /// Whether `firstBytes` look like a camt.054 message: XML (after an optional BOM and blanks)
    /// mentioning the camt.054 namespace `urn:iso:std:iso:20022:tech:xsd:camt.054.001.NN`.
    public static func sniff(_ firstBytes: ArraySlice<UInt8>) -> Bool {
        var bytes = firstBytes
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        bytes = bytes.drop(while: { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 })
        guard bytes.first == 0x3C else { return false }
        let needle = Array("urn:iso:std:iso:20022:tech:xsd:camt.054.".utf8)
        guard bytes.count >= needle.count else { return false }
        var i = bytes.startIndex
        while i <= bytes.endIndex - needle.count {
            if bytes[i] == needle[0] && bytes[i..<(i + needle.count)].elementsEqual(needle) { return true }
            i += 1
        }
        return false
    }

    /// Opens `path`; `displayName` is used in every error (`FILE:LINE (PATH): …`).
    /// Throws `.notFound` when the file cannot be opened, `.usage` for an unknown time zone,
    /// `.invalidFormat` when it is not XML or not camt.054.
    public init(path: String, displayName: String, options: ParserOptions) throws(IngestError) {
        self.displayName = displayName
        zone = try BankLocalZone(identifier: options.timeZone)
        defaultCurrency = options.defaultCurrency
        let reader = try BankFileReader(path: path, displayName: displayName)
        do {
            xml = try XMLPullParser(reader: reader)
        } catch {
            throw Self.convert(error, displayName: displayName, path: nil)
        }
    }

    /// The next booked entry or rejection; nil at the end. Throws `.invalidFormat` (after every
    /// complete entry before the break has been returned) when the XML stops being well-formed or
    /// the message is not camt.054, `.storage` on a read error.
    public mutating func next() throws(IngestError) -> ParsedEntry? {
        while true {
            if queueHead < queue.count {
                let e = queue[queueHead]
                queueHead += 1
                if queueHead == queue.count { queue.removeAll(keepingCapacity: true); queueHead = 0 }
                return e
            }
            if let error = pendingError {
                pendingError = nil
                finished = true
                throw error
            }
            if finished { return nil }
            do {
                try step()
            } catch {
                pendingError = error
            }
        }
    }

    // MARK: - Tokens

    private static func convert(_ failure: XMLPullParser.Failure, displayName: String, path: String?) -> IngestError {
        switch failure {
        case .io(let e): return e
        case .syntax(let line, let message):
            let location = path.map { "\(displayName):\(line) (\($0))" } ?? "\(displayName):\(line)"
            return IngestError(.invalidFormat, "\(location): not well-formed XML: \(message)")
        }
    }

    private func currentPath() -> String {
        guard !names.isEmpty else { return "/" }
        var parts: [String] = []
        for (i, n) in names.enumerated() {
            switch (i, n) {
            case (2, "Ntfctn"): parts.append("Ntfctn[\(ntfctnIndex)]")
            case (3, "Ntry"): parts.append("Ntry[\(ntryIndex)]")
            default: parts.append(n)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    private func formatError(_ message: String) -> IngestError {
        IngestError(.invalidFormat, "\(displayName):\(xml.tokenLine) (\(currentPath())): \(message)")
    }

    private mutating func step() throws(IngestError) {
        let token: XMLPullParser.Token
        do {
            token = try xml.next()
        } catch {
            throw Self.convert(error, displayName: displayName, path: currentPath())
        }
        switch token {
        case .endOfDocument:
            if version.isEmpty { throw formatError("no camt.054 message found") }
            finished = true
        case .start:
            names.append(xml.name)
            try didStart(xml.name)
        case .end:
            didEnd(xml.name)
            names.removeLast()
        }
    }

    private mutating func didStart(_ name: String) throws(IngestError) {
        switch names.count {
        case 1:
            try checkNamespace(root: name)
            return
        case 2:
            try checkMessage(name)
            return
        case 3:
            if name == "Ntfctn" {
                ntfctnIndex += 1
                ntryIndex = 0
                account = .missing
                notificationCreated = nil
                occurrences.removeAll(keepingCapacity: true)
            }
            return
        case 4:
            if name == "Ntry" && names[2] == "Ntfctn" {
                ntryIndex += 1
                ntry = NtryDraft(line: xml.tokenLine, path: currentPath())
            }
            return
        default:
            break
        }
        if name == "Amt" { pendingCcy = xml.attribute("Ccy") }
        if name == "TxDtls", ntry != nil, names.count >= 2, names[names.count - 2] == "NtryDtls", names.count == 6 {
            ntry!.txCount += 1
            tx = TxDraft(line: xml.tokenLine, index: ntry!.txCount, path: ntry!.path + "/NtryDtls/TxDtls[\(ntry!.txCount)]")
        }
    }

    private mutating func checkNamespace(root: String) throws(IngestError) {
        let ns = xml.namespaceDeclared(for: xml.prefix) ?? ""
        let base = "urn:iso:std:iso:20022:tech:xsd:"
        if ns.hasPrefix(base) {
            let message = ns.dropFirst(base.count)  // camt.054.001.08
            let parts = message.split(separator: ".")
            if parts.count == 4, parts[0] == "camt", parts[1] == "054", parts[2] == "001", let v = Int(parts[3]), (1...13).contains(v) {
                version = String(parts[3])
            } else if parts.count == 4, parts[0] == "camt", parts[1] == "054" {
                throw formatError("camt.054 version '\(parts[2...].joined(separator: "."))' is not supported; versions 001.01 to 001.13 are")
            } else if parts.count >= 2, parts[0] == "camt", parts[1] == "053" {
                throw formatError("this is camt.053 (BkToCstmrStmt, an account statement), not camt.054 (debit/credit notification); Chapar ingests camt.054 only: ask the bank for camt.054 or export the statement as MT940")
            } else if parts.count >= 2, parts[0] == "camt", parts[1] == "052" {
                throw formatError("this is camt.052 (BkToCstmrAcctRpt, an intraday account report), not camt.054 (debit/credit notification); Chapar ingests camt.054 only")
            } else {
                throw formatError("this is ISO 20022 \(message), not camt.054 (BkToCstmrDbtCdtNtfctn)")
            }
        } else if !ns.isEmpty {
            throw formatError("the root element's namespace '\(ns)' is not camt.054 (urn:iso:std:iso:20022:tech:xsd:camt.054.001.NN)")
        }
        guard root == "Document" else {
            throw formatError("the root element is <\(root)>, not <Document>: this is not an ISO 20022 camt.054 message")
        }
        if ns.isEmpty { version = "?" }  // no namespace: accepted if the message element is right
    }

    private mutating func checkMessage(_ name: String) throws(IngestError) {
        switch name {
        case "BkToCstmrDbtCdtNtfctn": return
        case "BkToCstmrStmt":
            throw formatError("this is a camt.053 account statement (BkToCstmrStmt), not a camt.054 notification; Chapar ingests camt.054 only")
        case "BkToCstmrAcctRpt":
            throw formatError("this is a camt.052 account report (BkToCstmrAcctRpt), not a camt.054 notification; Chapar ingests camt.054 only")
        default:
            throw formatError("the message element is <\(name)>, not <BkToCstmrDbtCdtNtfctn>: this is not camt.054")
        }
    }

    // MARK: - Element content

    /// The trimmed text of the element that just ended, or nil (and a note on the draft) when it
    /// is not UTF-8.
    private mutating func value() -> String? {
        if xml.textOverflowed {
            let problem = "<\(names.last ?? "?")> is longer than \(XMLPullParser.maxTextLength) bytes"
            if tx != nil { tx!.problem = tx!.problem ?? problem } else if ntry != nil { ntry!.problem = ntry!.problem ?? problem }
            return nil
        }
        guard let s = BankText.collapsedUTF8(xml.text) else {
            let element = names.last ?? "?"
            if tx != nil { tx!.problem = tx!.problem ?? "<\(element)> is not valid UTF-8; camt.054 files must be UTF-8 encoded" }
            else if ntry != nil { ntry!.problem = ntry!.problem ?? "<\(element)> is not valid UTF-8; camt.054 files must be UTF-8 encoded" }
            return nil
        }
        return s
    }

    /// Trims and collapses runs of white space (pretty-printed XML wraps long texts).
    static func normalize(_ s: String) -> String { BankText.collapse(s) }

    private func path(from base: Int) -> ArraySlice<String> { names[(base + 1)...] }

    private mutating func didEnd(_ name: String) {
        let depth = names.count
        // Ntfctn/Acct/Id/IBAN | Ntfctn/Acct/Id/Othr/Id
        if depth >= 6, names[2] == "Ntfctn", names[3] == "Acct", names[4] == "Id" {
            if depth == 6 && name == "IBAN" {
                account = Self.account(value(), iban: true)
            } else if depth == 7 && names[5] == "Othr" && name == "Id", case .missing = account {
                account = Self.account(value(), iban: false)
            }
            return
        }
        if depth == 4 && name == "Ntry" && names[2] == "Ntfctn" {
            finishNtry()
            return
        }
        if depth == 4 && name == "CreDtTm" {
            if names[2] == "Ntfctn" { notificationCreated = value() } else if names[2] == "GrpHdr" { messageCreated = value() }
            return
        }
        guard ntry != nil, depth > 4 else { return }
        if tx != nil {
            if depth == 6 && name == "TxDtls" {
                finishTx()
                return
            }
            txField(name, rel: path(from: 5))
            return
        }
        ntryField(name, rel: path(from: 3))
    }

    private mutating func ntryField(_ name: String, rel: ArraySlice<String>) {
        switch rel.count {
        case 1:
            switch name {
            case "Amt": ntry!.amount = value(); ntry!.currency = pendingCcy
            case "CdtDbtInd": ntry!.creditDebit = value()
            case "Sts": if ntry!.status == nil { ntry!.status = value() }
            case "AcctSvcrRef": ntry!.acctSvcrRef = value()
            case "NtryRef": ntry!.ntryRef = value()
            case "AddtlNtryInf": ntry!.additionalInfo = value()
            case "RvslInd": ntry!.reversal = value() == "true"
            default: break
            }
        case 2:
            let parent = rel[rel.startIndex]
            if parent == "Sts" && (name == "Cd" || name == "Prtry") { ntry!.status = value() }
            else if parent == "BookgDt" && (name == "Dt" || name == "DtTm") { ntry!.booking = value(); ntry!.bookingIsDateTime = name == "DtTm" }
            else if parent == "ValDt" && (name == "Dt" || name == "DtTm") { ntry!.valueDate = value() }
        default: break
        }
    }

    private mutating func txField(_ name: String, rel: ArraySlice<String>) {
        let first = rel[rel.startIndex]
        switch rel.count {
        case 1:
            switch name {
            case "Amt": tx!.amount = value(); tx!.currency = pendingCcy
            case "CdtDbtInd": tx!.creditDebit = value()
            case "AddtlTxInf": tx!.additionalInfo = value()
            default: break
            }
        case 2:
            if first == "Refs" {
                switch name {
                case "EndToEndId", "UETR", "TxId", "MsgId", "InstrId", "PmtInfId", "AcctSvcrRef":
                    if let v = value(), !v.isEmpty, v != "NOTPROVIDED" { tx!.refs[name] = v }
                default: break
                }
            } else if first == "RmtInf" && name == "Ustrd" {
                if let v = value(), !v.isEmpty, tx!.unstructured.count < 4 { tx!.unstructured.append(v) }
            }
        case 3:
            if first == "RltdPties" && name == "Nm" {
                partyName(rel)
            } else if first == "AmtDtls" && rel[rel.startIndex + 1] == "TxAmt" && name == "Amt" && tx!.amount == nil {
                tx!.amount = value(); tx!.currency = pendingCcy
            } else if first == "RmtInf" && rel[rel.startIndex + 1] == "Strd" && name == "AddtlRmtInf" && tx!.structuredInfo == nil {
                tx!.structuredInfo = value()
            }
        case 4:
            if first == "RltdPties" && rel[rel.startIndex + 2] == "Pty" && name == "Nm" {
                partyName(rel)
            } else if first == "RmtInf" && rel[rel.startIndex + 2] == "CdtrRefInf" && name == "Ref" && tx!.refs["CreditorReference"] == nil {
                if let v = value(), !v.isEmpty { tx!.refs["CreditorReference"] = v }
            }
        default: break
        }
    }

    private mutating func partyName(_ rel: ArraySlice<String>) {
        let role = rel[rel.startIndex + 1]
        if role == "Dbtr" { tx!.debtorName = value() } else if role == "Cdtr" { tx!.creditorName = value() }
    }

    private static func account(_ text: String?, iban: Bool) -> Account {
        guard let text, !text.isEmpty else { return .invalid("the account identifier is empty") }
        if iban && !IBAN.isValid(text) {
            return .invalid("account IBAN '\(text)' has wrong check digits or length")
        }
        do {
            return .valid(try AccountID(text))
        } catch {
            return .invalid(error.reason)
        }
    }

    // MARK: - Events

    private mutating func reject(_ line: Int, _ path: String, _ message: String) {
        queue.append(.rejected(EntryError(EntryLocation(file: displayName, line: line, path: path), message)))
    }

    /// Validates the entry-level fields once; nil when the entry is not booked (skipped).
    private mutating func header() -> Result<Header, EntryError>? {
        guard let draft = ntry else { return nil }
        if let h = draft.header { return h }
        let result = Self.makeHeader(draft, account: account, created: notificationCreated ?? messageCreated, zone: &zone,
                                     defaultCurrency: defaultCurrency, displayName: displayName)
        ntry!.header = result
        return result
    }

    private static func makeHeader(_ d: NtryDraft, account: Account, created: String?, zone: inout BankLocalZone, defaultCurrency: CurrencyCode?,
                                   displayName: String) -> Result<Header, EntryError>? {
        let location = EntryLocation(file: displayName, line: d.line, path: d.path)
        func bad(_ m: String) -> Result<Header, EntryError> { .failure(EntryError(location, m)) }
        guard let status = d.status else { return bad("the entry has no status (Sts); expected BOOK") }
        if status != "BOOK" {
            // PDNG (pending), INFO, FUTR…: not a booked movement, so nobody is notified.
            return nil
        }
        if let p = d.problem { return bad(p) }
        let acct: AccountID
        switch account {
        case .missing: return bad("the notification has no account (Ntfctn/Acct/Id/IBAN or Ntfctn/Acct/Id/Othr/Id)")
        case .invalid(let why): return bad(why)
        case .valid(let a): acct = a
        }
        guard let ind = d.creditDebit else { return bad("the entry has no CdtDbtInd (CRDT or DBIT)") }
        let direction: Direction
        switch ind {
        case "CRDT": direction = .credit
        case "DBIT": direction = .debit
        default: return bad("CdtDbtInd '\(ind)' is neither CRDT nor DBIT")
        }
        let money: Money
        switch parseAmount(d.amount, d.currency, defaultCurrency: defaultCurrency, what: "Amt") {
        case .failure(let m): return bad(m.reason)
        case .success(let m): money = m
        }
        // Instant-payment notifications often carry only the notification's (or the message's)
        // creation time: the entry is booked then (docs/formats-camt054-mt940.md).
        guard let bookingText = d.booking ?? d.valueDate ?? created else {
            return bad("the entry has neither a booking date (BookgDt/Dt or DtTm) nor a value date (ValDt), and the notification no CreDtTm")
        }
        let bookedAt: Timestamp
        if let dt = BankDates.isoDateTime(Substring(bookingText)) {
            bookedAt = zone.timestamp(dt.date, secondOfDay: dt.secondOfDay, millisecond: dt.millisecond, offset: dt.offset)
        } else if let date = BankDates.isoDate(Substring(bookingText)) {
            bookedAt = zone.timestamp(date)
        } else {
            return bad("booking date '\(bookingText)' is not a date (YYYY-MM-DD) or date-time (YYYY-MM-DDThh:mm:ss[+hh:mm])")
        }
        var valueDate: CalendarDate? = nil
        if let v = d.valueDate {
            if let date = BankDates.isoDate(Substring(v)) {
                valueDate = date
            } else if let dt = BankDates.isoDateTime(Substring(v)) {
                valueDate = dt.date
            } else {
                return bad("value date '\(v)' is not a date (YYYY-MM-DD)")
            }
        }
        return .success(Header(account: acct, direction: direction, amount: money, bookedAt: bookedAt, bookingText: bookingText,
                               valueDate: valueDate, valueText: d.valueDate ?? ""))
    }

    private static func parseAmount(_ text: String?, _ ccy: String?, defaultCurrency: CurrencyCode?, what: String) -> Result<Money, InvalidValue> {
        guard let text, !text.isEmpty else { return .failure(InvalidValue("amount", "the entry has no amount (\(what))")) }
        let currency: CurrencyCode
        if let ccy {
            guard let c = BankCurrencies.parse(ccy) else {
                return .failure(InvalidValue("amount", "\(what) currency '\(ccy)' is not an ISO 4217 currency code"))
            }
            currency = c
        } else if let d = defaultCurrency {
            currency = d
        } else {
            return .failure(InvalidValue("amount", "\(what) has no Ccy attribute and no default currency was given (--currency)"))
        }
        if text.utf8.contains(0x2C) { return .failure(InvalidValue("amount", "amount '\(text)' must use '.' as decimal point and no grouping")) }
        do {
            return .success(try Money(parsing: Substring(text), currency: currency))
        } catch {
            return .failure(error)
        }
    }

    private mutating func finishTx() {
        guard let t = tx else { return }
        tx = nil
        if t.amount == nil {
            ntry!.amountless += 1
            if ntry!.firstTx == nil { ntry!.firstTx = t }
            return
        }
        ntry!.split += 1
        guard let h = header() else { return }  // not booked
        guard case .success(let head) = h else { return }  // reported once at the end of the entry
        let location = EntryLocation(file: displayName, line: t.line, path: t.path)
        if let p = t.problem {
            ntry!.splitUnchecked = true
            queue.append(.rejected(EntryError(location, p)))
            return
        }
        let money: Money
        switch Self.parseAmount(t.amount, t.currency, defaultCurrency: defaultCurrency, what: "TxDtls/Amt") {
        case .failure(let m): ntry!.splitUnchecked = true; queue.append(.rejected(EntryError(location, m.reason))); return
        case .success(let m): money = m
        }
        var direction = head.direction
        if let ind = t.creditDebit {
            switch ind {
            case "CRDT": direction = .credit
            case "DBIT": direction = .debit
            default: ntry!.splitUnchecked = true; queue.append(.rejected(EntryError(location, "TxDtls/CdtDbtInd '\(ind)' is neither CRDT nor DBIT"))); return
            }
        }
        if money.currency == head.amount.currency {
            let (sum, overflow) = ntry!.splitSum.addingReportingOverflow(direction == head.direction ? money.minorUnits : -money.minorUnits)
            ntry!.splitSum = sum
            if overflow { ntry!.splitUnchecked = true }
        } else {
            ntry!.splitUnchecked = true
        }
        var refs = t.refs
        if refs["AcctSvcrRef"] == nil, let a = ntry!.acctSvcrRef { refs["AcctSvcrRef"] = a }
        if ntry!.reversal { refs["Reversal"] = "true" }
        let bankRef: (String, String)?
        if let u = t.refs["UETR"] { bankRef = ("UETR", u) }
        else if let a = t.refs["AcctSvcrRef"] { bankRef = ("ASR", a) }
        else if let a = ntry!.acctSvcrRef { bankRef = ("ASR", "\(a)#\(t.index)") }
        else if let e = t.refs["EndToEndId"] { bankRef = ("E2E", e) }
        else { bankRef = nil }
        let description = Self.describe(t) ?? ""
        emit(head: head, amount: money, direction: direction, bankRef: bankRef, references: refs, description: description,
             counterparty: direction == .debit ? t.creditorName : t.debtorName, location: location)
    }

    private mutating func finishNtry() {
        defer { ntry = nil; tx = nil }
        guard let d = ntry else { return }
        let location = EntryLocation(file: displayName, line: d.line, path: d.path)
        guard let h = header() else { return }  // not booked: skipped
        let head: Header
        switch h {
        case .failure(let e): queue.append(.rejected(e)); return
        case .success(let x): head = x
        }
        if d.split > 0 {
            if d.amountless > 0 {
                reject(d.line, d.path, "\(d.amountless) of the entry's \(d.txCount) transaction details have no amount while the others do; the batch cannot be split: each TxDtls needs Amt or AmtDtls/TxAmt/Amt")
            } else if !d.splitUnchecked && d.splitSum != head.amount.minorUnits {
                let parts = Money(minorUnits: d.splitSum, currency: head.amount.currency)
                queue.append(.warning(EntryError(location, "the entry's \(d.split) transaction details (TxDtls) add up to \(parts), not to the entry's amount \(head.amount) (Ntry/Amt); each was appended with its own amount: check the notification with the bank")))
            }
            return
        }
        let t = d.firstTx
        if let p = t?.problem { queue.append(.rejected(EntryError(location, p))); return }
        var refs = t?.refs ?? [:]
        if let a = d.acctSvcrRef { refs["AcctSvcrRef"] = a }
        if let n = d.ntryRef { refs["NtryRef"] = n }
        let bankRef: (String, String)?
        if let u = refs["UETR"] { bankRef = ("UETR", u) }
        else if let a = d.acctSvcrRef { bankRef = ("ASR", a) }
        else if d.txCount <= 1, let e = refs["EndToEndId"] { bankRef = ("E2E", e) }
        else { bankRef = nil }
        var direction = head.direction
        if d.txCount == 1, let ind = t?.creditDebit, ind == "CRDT" || ind == "DBIT" { direction = ind == "CRDT" ? .credit : .debit }
        if d.reversal { refs["Reversal"] = "true" }
        let description = t.flatMap(Self.describe) ?? d.additionalInfo ?? ""
        emit(head: head, amount: head.amount, direction: direction, bankRef: bankRef, references: refs, description: description,
             counterparty: direction == .debit ? t?.creditorName : t?.debtorName, location: location)
    }

    /// The most specific text of a transaction: `RmtInf/Ustrd` (joined), `AddtlTxInf`,
    /// `RmtInf/Strd/AddtlRmtInf`, the creditor reference; nil when it has none of them.
    private static func describe(_ t: TxDraft) -> String? {
        if !t.unstructured.isEmpty { return t.unstructured.joined(separator: " ") }
        for candidate in [t.additionalInfo, t.structuredInfo, t.refs["CreditorReference"]] {
            if let c = candidate, !c.isEmpty { return c }
        }
        return nil
    }

    private mutating func emit(head: Header, amount: Money, direction: Direction, bankRef: (String, String)?, references: [String: String],
                               description: String, counterparty: String?, location: EntryLocation) {
        let dc = direction == .debit ? "D" : "C"
        let id: EventID
        if let (tag, ref) = bankRef {
            let key = "\(head.account.rawValue):\(dc):\(tag):\(ref)"
            let n = Self.bump(&occurrences, key)
            id = BankEventIDs.reference(key, occurrence: n)
        } else {
            var fields = [head.account.rawValue, dc, amount.decimalString, amount.currency.rawValue, head.bookingText,
                          head.valueText, references["EndToEndId"] ?? "", description]
            let n = Self.bump(&occurrences, fields.joined(separator: "\u{1F}"))
            fields.append(String(n))
            id = EventIDs.contentHash(fields)
        }
        let event = TransactionEvent(id: id, account: head.account, direction: direction, amount: amount, bookedAt: head.bookedAt,
                                     valueDate: head.valueDate, description: description,
                                     counterparty: counterparty.flatMap { $0.isEmpty ? nil : $0 },
                                     references: references, source: location)
        queue.append(.event(.transaction(event)))
    }

    /// Counts how often `key` occurred so far in this notification (1 for the first time).
    static func bump(_ table: inout [UInt64: UInt32], _ key: String) -> Int {
        let h = BankEventIDs.fnv1a(key)
        let n = (table[h] ?? 0) + 1
        table[h] = n
        return Int(n)
    }

    // MARK: - Drafts

    private enum Account {
        case missing
        case invalid(String)
        case valid(AccountID)
    }

    private struct Header {
        var account: AccountID
        var direction: Direction
        var amount: Money
        var bookedAt: Timestamp
        var bookingText: String
        var valueDate: CalendarDate?
        var valueText: String
    }

    private struct NtryDraft {
        var line: Int
        var path: String
        var amount: String?
        var currency: String?
        var creditDebit: String?
        var status: String?
        var booking: String?
        var bookingIsDateTime = false
        var valueDate: String?
        var acctSvcrRef: String?
        var ntryRef: String?
        var additionalInfo: String?
        var reversal = false
        var problem: String?
        var txCount = 0
        var split = 0
        var amountless = 0
        /// The split parts so far, in minor units, signed in the entry's direction (a part in the
        /// other direction counts negative: banks give a batch's net amount).
        var splitSum: Int64 = 0
        /// A part was rejected, had another currency, or the sum overflowed: the sum is not checked.
        var splitUnchecked = false
        var firstTx: TxDraft?
        var header: Result<Header, EntryError>??

        init(line: Int, path: String) {
            self.line = line
            self.path = path
        }
    }

    private struct TxDraft {
        var line: Int
        var index: Int
        var path: String
        var amount: String?
        var currency: String?
        var creditDebit: String?
        var refs: [String: String] = [:]
        var unstructured: [String] = []
        var additionalInfo: String?
        /// `RmtInf/Strd/AddtlRmtInf` of the first structured block.
        var structuredInfo: String?
        var debtorName: String?
        var creditorName: String?
        var problem: String?

        init(line: Int, index: Int, path: String) {
            self.line = line
            self.index = index
            self.path = path
        }
    }
}

/// Event ids built from a bank's own references (shared by the camt.054 and MT940 parsers).
enum BankEventIDs {
    /// `ACCOUNT:D|C:KIND:REF`, plus `#n` for the n-th repeat of the same key within one
    /// notification or statement; hashed to `R` + 31 hex digits when that is not a valid id
    /// (spaces, non-ASCII, longer than 128).
    static func reference(_ key: String, occurrence: Int) -> EventID {
        let raw = occurrence > 1 ? "\(key)#\(occurrence)" : key
        if let id = try? EventID(raw) { return id }
        // 32 visible ASCII characters always form a valid EventID.
        return try! EventID("R" + String(SHA256.hash(Array(raw.utf8)).hexString.prefix(31)))
    }

    /// 64-bit FNV-1a: deterministic, so occurrence counts (and the ids built from them) are the
    /// same on every run.
    static func fnv1a(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        return h
    }
}
