/// An ISO 4217 alphabetic currency code (`IRR`, `EUR`, `USD`), with its number of minor-unit digits.
public struct CurrencyCode: StringValue, Hashable, Comparable, Sendable {
    public let rawValue: String

    /// Three upper-case ASCII letters; lower case is accepted and upper-cased.
    public init(_ raw: String) throws(InvalidValue) {
        let code = raw.uppercased()
        guard code.utf8.count == 3, code.utf8.allSatisfy({ $0 >= 0x41 && $0 <= 0x5A }) else {
            throw InvalidValue("currency", "'\(raw)' is not an ISO 4217 currency code (three letters such as IRR, EUR, USD)")
        }
        rawValue = code
    }

    /// Digits after the decimal point, from ISO 4217 current and historic codes (``ISO4217``; IRR
    /// has 2 by the standard, though rial amounts are usually whole; ITL and ESP 0, DEM 2). Codes
    /// ISO gives no minor unit (XAU…) and codes it never assigned use 2, the most common exponent.
    public var minorUnitDigits: Int { (ISO4217.minorUnits[rawValue] ?? nil) ?? 2 }

    public static let irr = try! CurrencyCode("IRR")  // literal: cannot fail
    public static let eur = try! CurrencyCode("EUR")  // literal: cannot fail
    public static let usd = try! CurrencyCode("USD")  // literal: cannot fail
}

/// An amount of money: an integer count of minor units and a currency. Never floating point.
public struct Money: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The amount in the currency's minor units (cents, dinars…), e.g. 1250 for EUR 12.50.
    public var minorUnits: Int64
    public var currency: CurrencyCode

    public init(minorUnits: Int64, currency: CurrencyCode) {
        self.minorUnits = minorUnits
        self.currency = currency
    }

    /// Parses a decimal amount such as `12500000`, `1250.5`, `1,250.50` (grouping commas are
    /// accepted only in groups of three) or the SWIFT style `1250,50` when `decimalComma` is true.
    /// More fraction digits than the currency has, signs, exponents and blanks are rejected.
    public init(parsing text: Substring, currency: CurrencyCode, decimalComma: Bool = false) throws(InvalidValue) {
        let digits = currency.minorUnitDigits
        var integer: Int64 = 0
        var fraction: Int64 = 0
        var fractionDigits = 0
        var seenPoint = false
        var sawDigit = false
        var groupDigits = -1  // digits since the last grouping comma; -1 = no grouping seen
        let point: UInt8 = decimalComma ? 0x2C : 0x2E
        func bad(_ why: String) -> InvalidValue { InvalidValue("amount", "'\(text)' is not a valid amount: \(why)") }
        for byte in text.utf8 {
            switch byte {
            case 0x30...0x39:
                sawDigit = true
                let d = Int64(byte - 0x30)
                if seenPoint {
                    fractionDigits += 1
                    if fractionDigits > digits {
                        if d != 0 { throw bad("\(currency) has \(digits) decimal places") }
                        continue
                    }
                    fraction = fraction * 10 + d
                } else {
                    if groupDigits >= 0 { groupDigits += 1 }
                    let (m, o1) = integer.multipliedReportingOverflow(by: 10)
                    let (s, o2) = m.addingReportingOverflow(d)
                    if o1 || o2 { throw bad("it is too large") }
                    integer = s
                }
            case point:
                if seenPoint { throw bad("more than one decimal point") }
                if groupDigits >= 0 && groupDigits != 3 { throw bad("digit groups must have three digits") }
                seenPoint = true
            case 0x2C where !decimalComma:
                if seenPoint || !sawDigit || (groupDigits >= 0 && groupDigits != 3) { throw bad("misplaced grouping comma") }
                groupDigits = 0
            default:
                throw bad("only digits and one decimal point are allowed")
            }
        }
        if !sawDigit { throw bad("there are no digits") }
        if !seenPoint && groupDigits >= 0 && groupDigits != 3 { throw bad("digit groups must have three digits") }
        let usedFraction = min(fractionDigits, digits)
        var scale: Int64 = 1
        for _ in 0..<digits { scale *= 10 }
        for _ in usedFraction..<digits { fraction *= 10 }
        let (m, o1) = integer.multipliedReportingOverflow(by: scale)
        let (s, o2) = m.addingReportingOverflow(fraction)
        if o1 || o2 { throw bad("it is too large") }
        minorUnits = s
        self.currency = currency
    }

    /// `12500000.00 IRR`: the plain decimal form with the currency's digits, used in files and logs.
    public var decimalString: String {
        let digits = currency.minorUnitDigits
        let negative = minorUnits < 0
        let magnitude = minorUnits.magnitude
        var scale: UInt64 = 1
        for _ in 0..<digits { scale *= 10 }
        let whole = magnitude / scale, frac = magnitude % scale
        var text = (negative ? "-" : "") + String(whole)
        if digits > 0 {
            let f = String(frac)
            text += "." + String(repeating: "0", count: digits - f.count) + f
        }
        return text
    }

    public var description: String { "\(decimalString) \(currency)" }
}
