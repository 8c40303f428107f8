public import ChaparModels

/// Settings for rendering messages, with documented defaults.
public struct RenderConfiguration: Sendable {
    /// The most SMS parts one message may take (default 4). A longer SMS is cut at a word boundary
    /// and ends with an ellipsis, and ``RenderOutcome/notes`` says so; never sent as 20 parts.
    public var smsMaxSegments: Int
    /// The bank's name per language, the `bank_name` variable (default `بانک چاپار` / `Chapar Bank`).
    public var bankName: [Language: String]
    /// The `format` of IM messages (default `markdown`; variables are escaped for it).
    public var imFormat: String
    /// Display names of event kinds per language, the `kind` variable (defaults in
    /// ``defaultKindNames``). A kind without a name shows as its identifier (isolated in `fa`).
    public var kindNames: [String: [Language: String]]

    /// Names for the kinds banks commonly send.
    public static let defaultKindNames: [String: [Language: String]] = [
        "debit": [.fa: "برداشت", .en: "debit"],
        "credit": [.fa: "واریز", .en: "credit"],
        "salary": [.fa: "حقوق", .en: "salary"],
        "fee": [.fa: "کارمزد", .en: "fee"],
        "transfer": [.fa: "انتقال", .en: "transfer"],
        "interest": [.fa: "سود", .en: "interest"],
        "loan": [.fa: "قسط وام", .en: "loan instalment"],
    ]

    /// The default bank names.
    public static let defaultBankName: [Language: String] = [.fa: "بانک چاپار", .en: "Chapar Bank"]

    /// Settings with the documented defaults: 4 SMS segments, the default bank and kind names,
    /// markdown IM.
    public init(smsMaxSegments: Int = 4, bankName: [Language: String] = RenderConfiguration.defaultBankName,
                imFormat: String = "markdown", kindNames: [String: [Language: String]] = RenderConfiguration.defaultKindNames) {
        self.smsMaxSegments = smsMaxSegments
        self.bankName = bankName
        self.imFormat = imFormat
        self.kindNames = kindNames
    }

    /// Checks the settings; call it where configuration is read, to fail at startup.
    public func validate() throws(NotifierError) {
        guard (1...255).contains(smsMaxSegments) else {
            throw NotifierError(.configuration, "SMS limit \(smsMaxSegments) segments is out of range; use 1 to 255 (default 4)")
        }
        for language in Language.allCases where (bankName[language] ?? "").isEmpty {
            throw NotifierError(.configuration, "no bank name for language \(language); set one (default '\(Self.defaultBankName[language] ?? "")')")
        }
        guard imFormat == "markdown" else {
            throw NotifierError(.configuration, "IM format '\(imFormat)' is not supported; use markdown")
        }
    }
}
