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
