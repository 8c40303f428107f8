/// Rules shared by the string identifiers below: 1 to `maxLength` printable ASCII characters
/// without spaces, so they are safe as log keys, file names in reports and SQL values.
enum IdentifierRules {
    static func problem(_ value: String, maxLength: Int, allowed: (UInt8) -> Bool, allowedText: String) -> String? {
        if value.isEmpty { return "it is empty" }
        if value.utf8.count > maxLength { return "it is longer than \(maxLength) characters" }
        for byte in value.utf8 where !allowed(byte) {
            return "only \(allowedText) are allowed"
        }
        return nil
    }

    static func isAlphanumeric(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
    }

    /// Visible ASCII except space (0x21...0x7E).
    static func isVisible(_ b: UInt8) -> Bool { b >= 0x21 && b <= 0x7E }
}

/// A bank account: an IBAN (`IR062960000000100324200001`) or the bank's own account number.
///
/// Stored upper-cased with spaces removed, so `ir06 2960 …` and `IR062960…` are the same account.
/// It is the key of the `transactions` topic, which keeps each account's events in order.
public struct AccountID: StringValue, Hashable, Comparable, Sendable {
    public let rawValue: String

    /// Normalizes (removes spaces, upper-cases) and validates: 1 to 64 visible ASCII characters.
    public init(_ raw: String) throws(InvalidValue) {
        // Fast path: already normal (the form every record in the log has).
        let alreadyNormal = !raw.isEmpty && raw.utf8.count <= 64 && raw.utf8.allSatisfy { $0 >= 0x21 && $0 <= 0x7E && !($0 >= 0x61 && $0 <= 0x7A) }
        if alreadyNormal {
            rawValue = raw
            return
        }
        let normalized = String(raw.unicodeScalars.filter { $0 != " " }.map { Character($0) }).uppercased()
        if let problem = IdentifierRules.problem(normalized, maxLength: 64, allowed: IdentifierRules.isVisible,
                                                 allowedText: "visible ASCII characters (letters, digits, punctuation)") {
            throw InvalidValue("account", "'\(raw)' is not an account number: \(problem)")
        }
        rawValue = normalized
    }

    /// The last four characters behind asterisks (`****0001`), for messages, logs and the console.
    public var masked: String { "****" + String(rawValue.suffix(4)) }

}

/// A customer of the bank: 1 to 64 characters of letters, digits, `.`, `_` and `-`.
public struct CustomerID: StringValue, Hashable, Comparable, Sendable {
    public let rawValue: String

    public init(_ raw: String) throws(InvalidValue) {
        if let problem = IdentifierRules.problem(raw, maxLength: 64, allowed: { IdentifierRules.isAlphanumeric($0) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D },
                                                 allowedText: "letters, digits, '.', '_' and '-'") {
            throw InvalidValue("customer", "'\(raw)' is not a customer id: \(problem)")
        }
        rawValue = raw
    }

}

/// The stable identity of an event: the bank's own transaction reference where the source file has
/// one, otherwise a documented hash of its contents (see `docs/ingest.md`). Deduplication and job ids
/// are derived from it, so the same entry ingested twice has the same id.
public struct EventID: StringValue, Hashable, Comparable, Sendable {
    public let rawValue: String

    /// 1 to 128 visible ASCII characters.
    public init(_ raw: String) throws(InvalidValue) {
        if let problem = IdentifierRules.problem(raw, maxLength: 128, allowed: IdentifierRules.isVisible,
                                                 allowedText: "visible ASCII characters without spaces") {
            throw InvalidValue("id", "'\(raw)' is not an event id: \(problem)")
        }
        rawValue = raw
    }

}

/// A delivery job's id: the first 16 bytes of SHA-256 over (event id, customer id, channel), in hex.
///
/// The same event for the same customer on the same channel always gets the same id, so a job
/// produced twice after a crash is recognisably the same job to the ledger and to the gateway.
public struct JobID: StringValue, Hashable, Comparable, Sendable {
    public let rawValue: String

    /// Derives the id. Fields are length-prefixed so ("ab","c") and ("a","bc") never collide.
    public init(event: EventID, customer: CustomerID, channel: Channel) {
        // The hash input, built in one buffer: "chapar-job-v1" then each field as a 2-byte
        // big-endian length and its UTF-8 bytes.
        var input: [UInt8] = []
        input.reserveCapacity(13 + 6 + event.rawValue.utf8.count + customer.rawValue.utf8.count + 5)
        input.append(contentsOf: "chapar-job-v1".utf8)
        func add(_ field: String) {
            let count = field.utf8.count
            input.append(UInt8(truncatingIfNeeded: count >> 8))
            input.append(UInt8(truncatingIfNeeded: count))
            input.append(contentsOf: field.utf8)
        }
        add(event.rawValue)
        add(customer.rawValue)
        add(channel.rawValue)
        let digest = SHA256.hash(input)
        rawValue = String(unsafeUninitializedCapacity: 32) { out in
            let hex: StaticString = "0123456789abcdef"
            let h = hex.utf8Start
            for i in 0..<16 {
                out[2 * i] = h[Int(digest[i] >> 4)]
                out[2 * i + 1] = h[Int(digest[i] & 0x0F)]
            }
            return 32
        }
    }

    /// An id read back from a job record (32 lowercase hex digits).
    public init(_ raw: String) throws(InvalidValue) {
        guard raw.utf8.count == 32, raw.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else {
            throw InvalidValue("job", "'\(raw)' is not a job id (32 lowercase hex digits)")
        }
        rawValue = raw
    }

}

extension Sequence where Element == UInt8 {
    /// Lowercase hex, two digits per byte.
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in self {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
