/// International Bank Account Numbers (ISO 13616): check digits and validation.
public enum IBAN {
    /// Builds an IBAN from a country code and BBAN by computing the two check digits (mod 97).
    /// Demo data uses `IBAN.make(country: "IR", bban: "0170" + 18-digit account number)`.
    public static func make(country: String, bban: String) -> String {
        let check = 98 - mod97(bban + country + "00")
        return country + (check < 10 ? "0" : "") + String(check) + bban
    }

    /// Whether `text` (spaces allowed) is an IBAN with valid check digits.
    public static func isValid(_ text: String) -> Bool {
        let s = String(text.filter { $0 != " " }).uppercased()
        guard s.count >= 15, s.count <= 34, s.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }),
              s.prefix(2).allSatisfy(\.isLetter), s.dropFirst(2).prefix(2).allSatisfy(\.isNumber) else { return false }
        return mod97(String(s.dropFirst(4)) + String(s.prefix(4))) == 1
    }

    /// Why `text` is not a valid IBAN although it looks like one (two letters, two digits, then
    /// letters and digits, 15 to 34 in all); nil when it is valid or does not look like an IBAN
    /// at all (a bank's internal account number is fine as an account id). Checks the country's
    /// IBAN length from the SWIFT IBAN registry (countries not in it: the check digits only).
    public static func problem(_ text: String) -> String? {
        let s = text.uppercased()
        let bytes = Array(s.utf8)
        func isLetter(_ b: UInt8) -> Bool { b >= 65 && b <= 90 }
        func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
        guard bytes.count >= 15, bytes.count <= 34, isLetter(bytes[0]), isLetter(bytes[1]), isDigit(bytes[2]), isDigit(bytes[3]),
              bytes.allSatisfy({ isLetter($0) || isDigit($0) }) else { return nil }
        let country = String(s.prefix(2))
        if let length = lengths[country], length != bytes.count {
            return "'\(text)' looks like an IBAN of \(country), which has \(length) characters, not \(bytes.count); check for a missing or extra digit"
        }
        guard isValid(s) else {
            return "'\(text)' looks like an IBAN but its check digits (\(s.dropFirst(2).prefix(2))) do not match (ISO 13616 mod 97); check for a mistyped character"
        }
        return nil
    }

    /// IBAN lengths by country, from the SWIFT IBAN registry.
    static let lengths: [String: Int] = [
        "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27, "BR": 29, "BY": 28,
        "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
        "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28,
        "IE": 22, "IL": 23, "IQ": 23, "IR": 26, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21,
        "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30,
        "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33,
        "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
        "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
    ]

    /// The remainder mod 97 of the number formed by replacing letters with 10…35.
    static func mod97(_ text: String) -> Int {
        var r = 0
        for ch in text.unicodeScalars {
            let v = Int(ch.value)
            if v >= 48 && v <= 57 {
                r = (r * 10 + (v - 48)) % 97
            } else if v >= 65 && v <= 90 {
                r = (r * 100 + (v - 55)) % 97
            }
        }
        return r
    }
}
