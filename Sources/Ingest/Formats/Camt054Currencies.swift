import ChaparModels

/// Currency codes in bank files. ``CurrencyCode`` accepts any three letters; the bank-format
/// parsers additionally reject codes ISO 4217 never assigned (``ISO4217``: the current list and
/// the historic one, so that an old statement in `DEM` or `ITL` is read, with its minor units), so
/// a typo such as `ERU` is a located error instead of an event in a currency nobody can format.
enum BankCurrencies {
    /// Parses a currency code from a bank file: three upper-case letters that ISO 4217 assigns or assigned.
    static func parse(_ text: String) -> CurrencyCode? {
        guard text.utf8.count == 3, text.utf8.allSatisfy({ $0 >= 0x41 && $0 <= 0x5A }), ISO4217.isAssigned(text) else { return nil }
        return try? CurrencyCode(text)
    }
}
