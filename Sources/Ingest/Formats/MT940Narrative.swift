import Foundation

/// Turns an MT940 `:86:` narrative into a readable description, a counterparty and references.
///
/// Three styles are recognised:
/// - German/Austrian "structured 86" (`166?00SEPA-GUTSCHRIFT?20EREF+…?21SVWZ+…?32Name`): `?00` is
///   the posting text, `?20`–`?29` and `?60`–`?63` the purpose (SEPA keywords `EREF+`, `MREF+`,
///   `CRED+`, `SVWZ+`…), `?32`/`?33` the counterparty name;
/// - SWIFT code words as Dutch and many other banks write them (`/EREF/…/REMI/…/NAME/…`);
/// - free text, whose lines are joined with single spaces.
enum MT940Narrative {
    struct Reading: Equatable {
        var description: String
        var counterparty: String?
        var references: [String: String] = [:]
    }

    static func read(_ lines: [String]) -> Reading {
        let joined = lines.joined()
        if let r = structured86(joined) { return r }
        if let r = codeWords(joined) { return r }
        return Reading(description: collapse(lines.joined(separator: " ")))
    }

    /// Trims and collapses runs of white space (tabs and no-break spaces included) into one space.
    static func collapse(_ s: String) -> String { BankText.collapse(s) }

    // MARK: - ?20 structured

    private static func structured86(_ text: String) -> Reading? {
        let u = Array(text.unicodeScalars)
        // `NNN?` or `?00`/`?20` early in the text.
        guard let q = u.firstIndex(of: "?"), q <= 3, q + 2 < u.count,
              u[q + 1].properties.numericType != nil, u[q + 2].properties.numericType != nil else { return nil }
        var fields: [Int: String] = [:]
        var i = q
        while i < u.count {
            guard u[i] == "?", i + 2 < u.count, let a = Int(String(u[i + 1])), let b = Int(String(u[i + 2])) else { i += 1; continue }
            var j = i + 3
            while j < u.count {
                if u[j] == "?", j + 2 < u.count, Int(String(u[j + 1])) != nil, Int(String(u[j + 2])) != nil { break }
                j += 1
            }
            var s = String.UnicodeScalarView()
            s.append(contentsOf: u[(i + 3)..<j])
            fields[a * 10 + b, default: ""] += String(s)
            i = j
        }
        guard !fields.isEmpty else { return nil }
        var purpose = ""
        for k in Array(20...29) + Array(60...63) { if let v = fields[k] { purpose += v } }
        var reading = Reading(description: "")
        let keywords = ["EREF+", "KREF+", "MREF+", "CRED+", "DEBT+", "SVWZ+", "ABWA+", "ABWE+", "IBAN+", "BIC+", "COAM+", "OAMT+"]
        var found: [(String, String.Index)] = []
        for k in keywords {
            if let r = purpose.range(of: k) { found.append((k, r.lowerBound)) }
        }
        found.sort { $0.1 < $1.1 }
        var parts: [String: String] = [:]
        for (n, (k, start)) in found.enumerated() {
            let valueStart = purpose.index(start, offsetBy: k.count)
            let end = n + 1 < found.count ? found[n + 1].1 : purpose.endIndex
            parts[k] = collapse(String(purpose[valueStart..<end]))
        }
        if let e = parts["EREF+"], !e.isEmpty, e != "NOTPROVIDED" { reading.references["EndToEndId"] = e }
        if let m = parts["MREF+"], !m.isEmpty { reading.references["MandateId"] = m }
        if let c = parts["CRED+"], !c.isEmpty { reading.references["CreditorId"] = c }
        if let k = parts["KREF+"], !k.isEmpty { reading.references["CustomerReference"] = k }
        let text = parts["SVWZ+"] ?? (found.isEmpty ? collapse(purpose) : "")
        let posting = collapse(fields[0] ?? "")
        reading.description = text.isEmpty ? posting : text
        let name = collapse((fields[32] ?? "") + (fields[33] ?? ""))
        reading.counterparty = name.isEmpty ? (parts["ABWA+"] ?? parts["ABWE+"]) : name
        if reading.description.isEmpty { reading.description = collapse(text) }
        return reading
    }

    // MARK: - /CODE/ words

    private static let topCodes: Set<String> = [
        "EREF", "REMI", "NAME", "IBAN", "BIC", "CNTP", "TRTP", "PREF", "MARF", "CSID", "IREF", "ORDP", "BENM",
        "ULTC", "ULTD", "ULTB", "PURP", "RTRN", "ADDR", "SVCL", "ISDT", "OCMT", "CHGS", "EXCH", "ACCW", "BUSP", "INFO",
    ]

    private static func codeWords(_ text: String) -> Reading? {
        let trimmed = text.drop(while: { $0 == " " })
        guard trimmed.hasPrefix("/") else { return nil }
        let parts = trimmed.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        var values: [String: [String]] = [:]
        var current: String? = nil
        var codes = 0
        for p in parts.dropFirst() {
            if topCodes.contains(p) {
                current = p
                codes += 1
                if values[p] == nil { values[p] = [] }
            } else if let c = current {
                values[c, default: []].append(p)
            }
        }
        guard codes >= 1, values.keys.contains(where: { ["EREF", "REMI", "NAME", "CNTP", "TRTP", "ORDP", "BENM", "IBAN"].contains($0) }) else { return nil }
        func joined(_ k: String) -> String? {
            guard let v = values[k] else { return nil }
            let s = collapse(v.joined(separator: "/").trimmingSlashes())
            return s.isEmpty ? nil : s
        }
        var reading = Reading(description: "")
        if var remi = values["REMI"] {
            // /REMI/USTD//text/ or /REMI/STRD/CUR/ref/
            while let f = remi.first, f == "USTD" || f == "STRD" || f == "CUR" || f == "ISSR" || f.isEmpty { remi.removeFirst() }
            reading.description = collapse(remi.joined(separator: "/").trimmingSlashes())
        }
        if reading.description.isEmpty { reading.description = joined("TRTP") ?? collapse(text) }
        if let e = joined("EREF"), e != "NOTPROVIDED" { reading.references["EndToEndId"] = e }
        if let p = joined("PREF") { reading.references["PaymentInfoId"] = p }
        if let m = joined("MARF") { reading.references["MandateId"] = m }
        if let i = joined("IREF") { reading.references["InstructionId"] = i }
        if let c = joined("CSID") { reading.references["CreditorId"] = c }
        if let n = joined("NAME") {
            reading.counterparty = n
        } else if let cntp = values["CNTP"], cntp.count >= 3 {
            // /CNTP/account/BIC/name/city/
            let n = collapse(cntp[2])
            reading.counterparty = n.isEmpty ? nil : n
        }
        return reading
    }
}

extension String {
    fileprivate func trimmingSlashes() -> String {
        var s = Substring(self)
        while s.first == "/" || s.first == " " { s = s.dropFirst() }
        while s.last == "/" || s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
