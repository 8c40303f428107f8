import ChaparModels

/// Reads SWIFT MT940 customer statements and MT942 interim transaction reports, streaming: one
/// event per `:61:` statement line, with the following `:86:` narrative.
///
/// Several statements per file, SWIFT block headers (`{1:…}{2:…}{4:`, `-}`), bank header lines
/// before `:20:` and SOH/ETX framing are tolerated. The text is decoded in the encoding the
/// operator names (UTF-8, ISO-8859-1 or Windows-1256). When a statement has an opening balance,
/// its entries are held (at most ``maxHeldEntries``) until the closing balance confirms them, so
/// `balanceAfter` is given only when the statement reconciles. Problems with a statement that
/// reject none of its entries (balances that do not reconcile, a missing or malformed balance,
/// MT942 totals that disagree) are warnings; the entries are appended. See
/// `docs/formats-camt054-mt940.md`.
public struct MT940Parser: EntryParser {
    /// Entries of one statement held back while waiting for its closing balance; beyond this the
    /// statement's events go out without `balanceAfter`, which keeps memory bounded.
    public static let maxHeldEntries = 10_000
    /// Longer lines are cut (the entry they belong to is rejected), so a broken file cannot make
    /// the parser hold a multi-megabyte line.
    static let maxLineLength = 64 * 1024
    /// A field spanning more lines than this is rejected (an `:86:` has at most 6 by the standard).
    static let maxFieldLines = 200

    private var reader: BankFileReader
    private let displayName: String
    private let encoding: ParserOptions.Encoding
    private var zone: BankLocalZone
    private let defaultCurrency: CurrencyCode?

    private var lineNumber = 0
    private var lineBuffer: [UInt8] = []
    private var eof = false
    private var sawAnyTag = false

    // The field being collected.
    private var fieldTag: String?
    private var fieldLine = 0
    private var fieldLines: [String] = []
    private var fieldProblem: String?

    // The statement (message) being read.
    private var statement = Statement()
    private var counterKey = ""
    private var occurrences: [UInt64: UInt32] = [:]
    private var pending: PendingEntry?

    private var queue: [ParsedEntry] = []
    private var queueHead = 0
    private var finished = false

    /// Whether `firstBytes` look like MT940/MT942: after an optional BOM, blanks and SOH, the text
    /// starts with `:20:` or a `{1:` block, or a bank header is followed by `:20:` and `:25:` lines.
    public static func sniff(_ firstBytes: ArraySlice<UInt8>) -> Bool {
        var bytes = firstBytes
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        bytes = bytes.drop(while: { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 || $0 == 0x01 })
        if bytes.starts(with: Array(":20:".utf8)) || bytes.starts(with: Array("{1:".utf8)) { return true }
        func contains(_ needle: [UInt8]) -> Bool {
            guard bytes.count >= needle.count else { return false }
            var i = bytes.startIndex
            while i <= bytes.endIndex - needle.count {
                if bytes[i] == needle[0] && bytes[i..<(i + needle.count)].elementsEqual(needle) { return true }
                i += 1
            }
            return false
        }
        return contains(Array("\n:20:".utf8)) && (contains(Array("\n:25:".utf8)) || contains(Array("\n:61:".utf8)))
    }

    /// Opens `path`; `displayName` is used in every error (`FILE:LINE: …`). Throws `.notFound`
    /// when the file cannot be opened and `.usage` for an unknown time zone.
    public init(path: String, displayName: String, options: ParserOptions) throws(IngestError) {
        self.displayName = displayName
        encoding = options.encoding
        zone = try BankLocalZone(identifier: options.timeZone)
        defaultCurrency = options.defaultCurrency
        reader = try BankFileReader(path: path, displayName: displayName)
        lineBuffer.reserveCapacity(256)
    }

    /// The next entry or rejection; nil at the end. Throws `.invalidFormat` when the file holds no
    /// MT940/MT942 statement at all, `.storage` on a read error.
    public mutating func next() throws(IngestError) -> ParsedEntry? {
        while true {
            if queueHead < queue.count {
                let e = queue[queueHead]
                queueHead += 1
                if queueHead == queue.count { queue.removeAll(keepingCapacity: true); queueHead = 0 }
                return e
            }
            if finished { return nil }
            try step()
        }
    }

    // MARK: - Lines

    /// Reads one line into `lineBuffer` (without CR/LF); false at the end of the file.
    private mutating func readLine() throws(IngestError) -> (ok: Bool, overlong: Bool) {
        lineBuffer.removeAll(keepingCapacity: true)
        var overlong = false
        var any = false
        while let b = try reader.next() {
            any = true
            if b == 0x0A { break }
            if lineBuffer.count < Self.maxLineLength { lineBuffer.append(b) } else { overlong = true }
        }
        if !any { return (false, false) }
        lineNumber += 1
        if lineNumber == 1 && lineBuffer.starts(with: [0xEF, 0xBB, 0xBF]) { lineBuffer.removeFirst(3) }
        // SOH/ETX framing and CR.
        while let l = lineBuffer.last, l == 0x0D || l == 0x03 || l == 0x01 || l == 0x20 { lineBuffer.removeLast() }
        while let f = lineBuffer.first, f == 0x01 || f == 0x03 { lineBuffer.removeFirst() }
        return (true, overlong)
    }

    private mutating func step() throws(IngestError) {
        let (ok, overlong) = try readLine()
        guard ok else {
            closeField()
            endMessage(atLine: lineNumber, reason: .endOfFile)
            finished = true
            if !sawAnyTag {
                throw IngestError(.invalidFormat, lineNumber == 0
                    ? "\(displayName):1: the file is empty; expected an MT940/MT942 statement starting with :20:"
                    : "\(displayName):1: no MT940/MT942 field (:20:, :25:, :61:…) found; this is not an MT940 or MT942 file")
            }
            finished = true
            return
        }
        var bytes = lineBuffer[...]
        if bytes.isEmpty { return }
        // SWIFT envelope: {1:…}{2:…}{4: then the text block; `-}` ends it.
        if bytes.first == 0x7B {  // {
            guard let r = Self.find(Array("{4:".utf8), in: bytes) else { return }
            bytes = bytes[r...]
            if bytes.isEmpty { return }
        }
        if Self.isEndMarker(bytes) {
            closeField()
            endMessage(atLine: lineNumber, reason: .endMarker)
            return
        }
        if let tagEnd = Self.tagEnd(bytes) {
            closeField()
            sawAnyTag = true
            fieldTag = String(decoding: bytes[(bytes.startIndex + 1)..<(tagEnd - 1)], as: UTF8.self)
            fieldLine = lineNumber
            fieldLines.removeAll(keepingCapacity: true)
            fieldProblem = nil
            appendLine(bytes[tagEnd...], overlong: overlong)
            return
        }
        // Continuation of the open field; lines outside any field (bank headers) are ignored.
        if fieldTag != nil { appendLine(bytes, overlong: overlong) }
    }

    private mutating func appendLine(_ bytes: ArraySlice<UInt8>, overlong: Bool) {
        if overlong && fieldProblem == nil {
            fieldProblem = "line \(lineNumber) is longer than \(Self.maxLineLength) bytes; MT940 lines have at most 65 characters"
        }
        if fieldLines.count >= Self.maxFieldLines {
            if fieldProblem == nil { fieldProblem = "field :\(fieldTag ?? ""): has more than \(Self.maxFieldLines) lines (a line starting with ':' and a tag may be missing)" }
            return
        }
        do {
            fieldLines.append(try MT940TextDecoder.decode(bytes, as: encoding))
        } catch {
            if fieldProblem == nil {
                fieldProblem = "line \(lineNumber) is not valid \(encoding.rawValue) (byte \(error.offset + 1)); if the bank writes another encoding, pass it with --encoding (iso-8859-1 or windows-1256)"
            }
            fieldLines.append(String(decoding: bytes, as: UTF8.self))
        }
    }

    /// `:NN:` or `:NNa:` at the start of the line: the index after the second colon.
    static func tagEnd(_ b: ArraySlice<UInt8>) -> Int? {
        let s = b.startIndex
        guard b.count >= 4, b[s] == 0x3A, isDigit(b[s + 1]), isDigit(b[s + 2]) else { return nil }
        if b[s + 3] == 0x3A { return s + 4 }
        if b.count >= 5, b[s + 3] >= 0x41, b[s + 3] <= 0x5A, b[s + 4] == 0x3A { return s + 5 }
        return nil
    }

    static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    /// `-`, `-}`, `-}{5:…}` or ING's `-XXX`.
    static func isEndMarker(_ b: ArraySlice<UInt8>) -> Bool {
        guard b.first == 0x2D else { return false }
        let rest = b.dropFirst()
        return rest.isEmpty || rest.first == 0x7D || rest.elementsEqual("XXX".utf8)
    }

    static func find(_ needle: [UInt8], in hay: ArraySlice<UInt8>) -> Int? {
        guard hay.count >= needle.count else { return nil }
        var i = hay.startIndex
        while i <= hay.endIndex - needle.count {
            if hay[i..<(i + needle.count)].elementsEqual(needle) { return i + needle.count }
            i += 1
        }
        return nil
    }

    // MARK: - Fields

    private func location(_ line: Int) -> EntryLocation { EntryLocation(file: displayName, line: line) }

    private mutating func reject(_ line: Int, _ message: String) {
        output(.rejected(EntryError(location(line), message)))
    }

    /// A problem with the statement that rejects none of its entries.
    private mutating func warn(_ line: Int, _ message: String) {
        output(.warning(EntryError(location(line), message)))
    }

    /// Sends an entry out, or holds it while the statement's balance is still to be confirmed.
    private mutating func output(_ entry: ParsedEntry) {
        if statement.holding {
            statement.held.append(entry)
            if statement.held.count >= Self.maxHeldEntries { release(withBalances: false); statement.holding = false }
        } else {
            queue.append(entry)
        }
    }

    private mutating func release(withBalances: Bool) {
        for entry in statement.held {
            if !withBalances, case .event(.transaction(var t)) = entry {
                t.balanceAfter = nil
                queue.append(.event(.transaction(t)))
            } else {
                queue.append(entry)
            }
        }
        statement.held.removeAll(keepingCapacity: true)
    }

    private mutating func closeField() {
        guard let tag = fieldTag else { return }
        fieldTag = nil
        let line = fieldLine
        let lines = fieldLines
        let problem = fieldProblem
        if tag == "86" {
            if var p = pending {
                if p.narrative.count + lines.count <= Self.maxFieldLines { p.narrative += lines }
                if p.problem == nil { p.problem = problem }
                pending = p
            }
            // An :86: after the closing balance is statement information: not an entry.
            return
        }
        flushPending()
        if let problem {
            reject(line, "field :\(tag): \(problem)")
            if tag == "61" { statement.rejected += 1 }
            return
        }
        let first = lines.first ?? ""
        switch tag {
        case "20":
            endMessage(atLine: line, reason: .newMessage)
            statement = Statement()
            statement.reference = first
        case "25":
            statement.accountText = first.mt940TrimmingBlanks()
        case "28", "28C":
            statement.number = first
            let key = "\(statement.accountText)|\(first.split(separator: "/").first.map(String.init) ?? first)"
            if key != counterKey { counterKey = key; occurrences.removeAll(keepingCapacity: true) }
        case "60F", "60M", "60":
            guard let b = Self.balance(first) else {
                warn(line, "opening balance :\(tag):\(first) is not D|C + YYMMDD + currency + amount (e.g. C240321IRR1250000,); the statement's balances are not reported")
                statement.holding = false
                return
            }
            statement.currency = b.currency
            statement.opening = b.signed
            statement.running = b.signed
            statement.openingLine = line
            statement.holding = true
        case "34F":
            if statement.currency == nil, let c = Self.floorCurrency(first) { statement.currency = c }
        case "13D", "13":
            statement.dateTime = first
        case "61":
            pending = PendingEntry(line: line, lines: lines)
        case "62F", "62M", "62":
            guard let b = Self.balance(first) else {
                warn(line, "closing balance :\(tag):\(first) is not D|C + YYMMDD + currency + amount; the statement's balances are not reported")
                release(withBalances: false)
                statement.holding = false
                statement.opening = nil
                return
            }
            reconcile(closing: b, line: line, tag: tag)
        case "90D", "90C":
            checkSum(tag, first, line: line)
        default:
            break  // :21:, :64:, :65: and bank-specific fields carry nothing an event needs
        }
    }

    private enum EndReason { case endMarker, newMessage, endOfFile }

    /// The message ended: emit the last entry and settle balances still held.
    private mutating func endMessage(atLine line: Int, reason: EndReason) {
        flushPending()
        if statement.opening != nil && !statement.closed {
            let why = reason == .endOfFile ? "the file ends" : "the statement ends"
            statement.holding = false
            release(withBalances: false)
            warn(statement.openingLine, "\(why) without a closing balance (:62F:/:62M:) for the statement opened here; it may be truncated, so its balances are not reported")
        }
        statement.opening = nil
    }

    private mutating func reconcile(closing b: Balance, line: Int, tag: String) {
        statement.closed = true
        guard let opening = statement.opening else {
            release(withBalances: false)
            return
        }
        _ = opening
        if let c = statement.currency, c != b.currency {
            statement.holding = false
            release(withBalances: false)
            statement.opening = nil
            warn(line, "closing balance currency \(b.currency) differs from the opening balance currency \(c); the statement's balances are not reported")
            return
        }
        let expected = statement.running
        let verified = statement.holding
        statement.holding = false
        if expected == b.signed {
            release(withBalances: verified)
        } else {
            release(withBalances: false)
            if statement.rejected == 0 {
                let cur = b.currency
                warn(line, "closing balance :\(tag): \(Self.format(b.signed, cur)) does not equal the opening balance plus the entries (\(Self.format(expected, cur))); the statement is incomplete or inconsistent: its entries are appended without balances, check the statement with the bank")
            }
        }
        statement.holding = false
        statement.opening = nil
    }

    private static func format(_ minor: Int64, _ c: CurrencyCode) -> String { Money(minorUnits: minor, currency: c).description }

    private mutating func checkSum(_ tag: String, _ text: String, line: Int) {
        // :90D:/:90C: number of entries, currency, amount (MT942).
        let u = Array(text.utf8)
        var i = 0
        while i < u.count && Self.isDigit(u[i]) { i += 1 }
        guard i > 0, i + 3 <= u.count, let count = Int(String(decoding: u[0..<i], as: UTF8.self)),
              let cur = BankCurrencies.parse(String(decoding: u[i..<(i + 3)], as: UTF8.self)),
              let sum = try? Money(parsing: Substring(String(decoding: u[(i + 3)...], as: UTF8.self)), currency: cur, decimalComma: true) else {
            warn(line, ":\(tag): '\(text)' is not a count, currency and amount (e.g. 3PLN0,03); the report's totals are not checked")
            return
        }
        let (n, total) = tag == "90D" ? (statement.debitCount, statement.debitSum) : (statement.creditCount, statement.creditSum)
        if statement.rejected == 0 && (n != count || total != sum.minorUnits) {
            let what = tag == "90D" ? "debit" : "credit"
            warn(line, ":\(tag): says \(count) \(what) entries totalling \(sum), but the report has \(n) totalling \(Self.format(total, cur)); entries may be missing from the file (those in it are appended)")
        }
    }

    // MARK: - Entries

    private mutating func flushPending() {
        guard let p = pending else { return }
        pending = nil
        switch makeEvent(p) {
        case .success(let e):
            output(.event(.transaction(e)))
        case .failure(let error):
            statement.rejected += 1
            output(.rejected(error))
        }
    }

    private mutating func makeEvent(_ p: PendingEntry) -> Result<TransactionEvent, EntryError> {
        let loc = location(p.line)
        func bad(_ m: String) -> Result<TransactionEvent, EntryError> { .failure(EntryError(loc, m)) }
        if let problem = p.problem { return bad(problem) }
        guard !statement.accountText.isEmpty else { return bad("the statement has no account (:25:) before this entry") }
        guard let currency = statement.currency ?? defaultCurrency else {
            return bad("the statement gives no currency (no :60F: opening balance or :34F: floor limit) and no default currency was given (--currency)")
        }
        let account: AccountID
        do { account = try AccountID(Self.normalizeAccount(statement.accountText, currency: currency)) } catch { return bad(error.reason) }
        let line = Array((p.lines.first ?? "").utf8)
        let parsed: StatementLine
        switch StatementLine.parse(line) {
        case .failure(let m): return bad(":61: \(m)")
        case .success(let s): parsed = s
        }
        guard let valueDate = BankDates.swiftDate(parsed.valueDate[...]) else {
            return bad(":61: value date '\(String(decoding: parsed.valueDate, as: UTF8.self))' is not a valid YYMMDD date")
        }
        var booking = valueDate
        if let e = parsed.entryDate {
            guard let m = BankDates.digits(e, 0, 2), let d = BankDates.digits(e, 2, 2) else { return bad(":61: entry date is not MMDD") }
            var year = valueDate.year
            if m - valueDate.month > 6 { year -= 1 } else if valueDate.month - m > 6 { year += 1 }
            guard let date = try? CalendarDate(year: year, month: m, day: d) else {
                return bad(":61: entry date '\(String(decoding: e, as: UTF8.self))' is not a valid MMDD date")
            }
            booking = date
        }
        let amount: Money
        let amountText = String(decoding: parsed.amount, as: UTF8.self)
        // SWIFT always writes the decimal comma (1250,50 or 500,); some banks' exports drop it for
        // whole amounts (500). Without a comma the digits are the whole amount.
        let written = parsed.amount.contains(0x2C) ? amountText : amountText + ","
        do { amount = try Money(parsing: Substring(written), currency: currency, decimalComma: true) } catch { return bad(":61: \(error.reason)") }
        let direction: Direction = (parsed.mark == "D" || parsed.mark == "RC") ? .debit : .credit
        let narrative = MT940Narrative.read(p.narrative)
        let supplementary = ([parsed.extraDetails] + p.lines.dropFirst()).map { MT940Narrative.collapse($0) }.filter { !$0.isEmpty }.joined(separator: " ")
        var references = narrative.references
        let customerRef = parsed.customerReference.mt940TrimmingBlanks()
        let bankRef = parsed.bankReference.mt940TrimmingBlanks()
        if !customerRef.isEmpty && customerRef != "NONREF" { references["CustomerReference"] = customerRef }
        if !bankRef.isEmpty && bankRef != "NONREF" { references["BankReference"] = bankRef }
        references["TransactionType"] = parsed.transactionType
        if parsed.mark.hasPrefix("R") { references["Reversal"] = parsed.mark }
        if !supplementary.isEmpty { references["SupplementaryDetails"] = supplementary }
        if !statement.reference.isEmpty { references["StatementReference"] = statement.reference }
        let description = narrative.description.isEmpty ? supplementary : narrative.description
        let dc = direction == .debit ? "D" : "C"
        let id: EventID
        if !bankRef.isEmpty && bankRef != "NONREF" {
            let key = "\(account.rawValue):\(dc):BREF:\(bankRef)"
            id = BankEventIDs.reference(key, occurrence: Camt054Parser.bump(&occurrences, key))
        } else {
            var fields = [account.rawValue, dc, amount.decimalString, currency.rawValue,
                          booking.description, valueDate.description, customerRef == "NONREF" ? "" : customerRef, description]
            let n = Camt054Parser.bump(&occurrences, fields.joined(separator: "\u{1F}"))
            fields.append(String(n))
            id = EventIDs.contentHash(fields)
        }
        // Running balance and MT942 totals.
        let signed = direction == .debit ? -amount.minorUnits : amount.minorUnits
        let (r, overflow) = statement.running.addingReportingOverflow(signed)
        statement.running = overflow ? statement.running : r
        if direction == .debit { statement.debitCount += 1; statement.debitSum &+= amount.minorUnits } else { statement.creditCount += 1; statement.creditSum &+= amount.minorUnits }
        let balance: Money? = statement.opening != nil && !overflow ? Money(minorUnits: statement.running, currency: currency) : nil
        let event = TransactionEvent(id: id, account: account, direction: direction, amount: amount, balanceAfter: balance,
                                     bookedAt: zone.timestamp(booking), valueDate: valueDate, description: description,
                                     counterparty: narrative.counterparty, references: references, source: loc)
        return .success(event)
    }

    /// Strips a `BIC/` prefix (`ABNANL2A/517852257`), a leading `/`, and a trailing currency code
    /// equal to the statement's (`1291.99.348EUR`), so the account matches the customer directory.
    static func normalizeAccount(_ text: String, currency: CurrencyCode) -> String {
        var s = Substring(text)
        if s.first == "/" { s = s.dropFirst() }
        if let slash = s.firstIndex(of: "/") {
            let bic = s[..<slash]
            if (bic.count == 8 || bic.count == 11) && bic.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) && bic.prefix(6).allSatisfy(\.isLetter) {
                s = s[s.index(after: slash)...]
            }
        }
        if s.count > 3 && s.hasSuffix(currency.rawValue), let before = s.dropLast(3).last, before.isNumber || before == "." {
            s = s.dropLast(3)
        }
        return String(s)
    }

    struct Balance {
        var signed: Int64
        var currency: CurrencyCode
    }

    /// `C110522EUR3236,28`.
    static func balance(_ text: String) -> Balance? {
        let u = Array(text.utf8)
        guard u.count >= 11, u[0] == 0x43 || u[0] == 0x44, BankDates.swiftDate(u[1..<7]) != nil,
              let cur = BankCurrencies.parse(String(decoding: u[7..<10], as: UTF8.self)),
              let m = try? Money(parsing: Substring(String(decoding: u[10...], as: UTF8.self) + (u[10...].contains(0x2C) ? "" : ",")),
                                 currency: cur, decimalComma: true) else { return nil }
        return Balance(signed: u[0] == 0x44 ? -m.minorUnits : m.minorUnits, currency: cur)
    }

    /// `:34F:` `PLN0` or `EURD100,`: the currency of an MT942.
    static func floorCurrency(_ text: String) -> CurrencyCode? {
        BankCurrencies.parse(String(text.prefix(3)))
    }

    private struct Statement {
        var reference = ""
        var accountText = ""
        var number = ""
        var currency: CurrencyCode?
        var opening: Int64?
        var openingLine = 0
        var running: Int64 = 0
        var closed = false
        var holding = false
        var held: [ParsedEntry] = []
        var rejected = 0
        var dateTime = ""
        var debitCount = 0
        var debitSum: Int64 = 0
        var creditCount = 0
        var creditSum: Int64 = 0
    }

    private struct PendingEntry {
        var line: Int
        var lines: [String]
        var narrative: [String] = []
        var problem: String?
    }
}

/// The first line of a `:61:` field, split into its subfields.
struct StatementLine {
    var valueDate: [UInt8]
    var entryDate: [UInt8]?
    /// `C`, `D`, `RC` (reversal of credit: a debit) or `RD` (reversal of debit: a credit).
    var mark: String
    var fundsCode: UInt8?
    var amount: [UInt8]
    /// `N`/`F`/`S` + three characters, e.g. `NTRF`.
    var transactionType: String
    var customerReference: String
    var bankReference: String
    /// Text after a 16-character customer reference on the first line (bank-specific).
    var extraDetails: String = ""

    /// `YYMMDD[MMDD](C|D|RC|RD)[funds]amount TYPE custref[//bankref]`.
    static func parse(_ u: [UInt8]) -> Result<StatementLine, InvalidValue> {
        func bad(_ m: String) -> Result<StatementLine, InvalidValue> { .failure(InvalidValue(":61:", m)) }
        func digit(_ i: Int) -> Bool { i < u.count && u[i] >= 0x30 && u[i] <= 0x39 }
        func upper(_ i: Int) -> Bool { i < u.count && u[i] >= 0x41 && u[i] <= 0x5A }
        guard u.count >= 6, (0..<6).allSatisfy(digit) else { return bad("the line must start with the value date YYMMDD") }
        var i = 6
        var entry: [UInt8]? = nil
        if (6..<10).allSatisfy(digit) { entry = Array(u[6..<10]); i = 10 }
        var mark = ""
        if i < u.count && u[i] == 0x52 { mark = "R"; i += 1 }  // R
        guard i < u.count, u[i] == 0x43 || u[i] == 0x44 else { return bad("expected the debit/credit mark C, D, RC or RD after the dates") }
        mark += u[i] == 0x43 ? "C" : "D"
        i += 1
        var funds: UInt8? = nil
        if upper(i) { funds = u[i]; i += 1 }
        let amountStart = i
        while i < u.count && (digit(i) || u[i] == 0x2C) && i - amountStart < 15 { i += 1 }
        guard i > amountStart else { return bad("expected the amount (digits with a decimal comma) after the debit/credit mark") }
        let amount = Array(u[amountStart..<i])
        guard i + 4 <= u.count, upper(i) else { return bad("expected the transaction type (N, F or S and three characters, e.g. NTRF) after the amount") }
        let type = String(decoding: u[i..<(i + 4)], as: UTF8.self)
        i += 4
        let rest = Array(u[i...])
        var customer = rest
        var bank: [UInt8] = []
        var extra: [UInt8] = []
        if let r = MT940Parser.find([0x2F, 0x2F], in: rest[...]) {
            customer = Array(rest[..<(r - 2)])
            bank = Array(rest[r...])
        } else if rest.count > 16 {
            // 16x is the most a customer reference holds; some banks (Rabobank) put the
            // counterparty's name right after it on the same line.
            customer = Array(rest[..<16])
            extra = Array(rest[16...])
        }
        return .success(StatementLine(valueDate: Array(u[0..<6]), entryDate: entry, mark: mark, fundsCode: funds, amount: amount,
                                      transactionType: type, customerReference: String(decoding: customer, as: UTF8.self),
                                      bankReference: String(decoding: bank, as: UTF8.self),
                                      extraDetails: String(decoding: extra, as: UTF8.self)))
    }
}

extension String {
    /// Without leading and trailing spaces and tabs.
    func mt940TrimmingBlanks() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
