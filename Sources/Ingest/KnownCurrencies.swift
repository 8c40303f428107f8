import ChaparModels

/// The ISO 4217 codes, current and historic (``ISO4217``: list one and list three), so that a typo
/// such as `IRT` or `EUE` is rejected at ingest instead of reaching a customer, while an old
/// statement in `DEM` is read with the minor units the Deutsche Mark had.
enum KnownCurrencies {
    /// The code, validated as three letters and as an ISO 4217 currency (current or historic).
    static func parse(_ text: String) throws(InvalidValue) -> CurrencyCode {
        let code = try CurrencyCode(text)
        guard ISO4217.isAssigned(code.rawValue) else {
            throw InvalidValue("currency", "'\(text)' is not an ISO 4217 currency, current or historic (IRR, EUR, USD, DEM…); Iranian toman amounts must be given in IRR")
        }
        return code
    }
}
