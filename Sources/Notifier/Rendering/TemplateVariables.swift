/// The variables a template may use, by what the template is for. `docs/templates.md` lists them
/// with examples; a template naming anything else is rejected when the catalog loads.
public enum TemplateVariables {
    /// Available to every template.
    public static let common: Set<String> = ["customer_name", "bank_name", "date", "date_numeric", "time"]

    /// Available to transaction templates (`debit`, `credit`, `transaction` and declared bank kinds).
    public static let transaction: Set<String> = common.union([
        "account", "direction", "kind", "amount", "balance", "currency", "description", "counterparty", "origin",
        "value_date",
    ])

    /// Available to every direct-message template, besides the message's own variables.
    public static let message: Set<String> = common.union(["expiry_time", "expiry_date"])

    /// Template names that are transaction templates without a declaration.
    public static let transactionTemplates: Set<String> = ["debit", "credit", "transaction"]

    /// The direct-message templates Chapar knows, with the variables their messages carry.
    public static let knownMessages: [String: Set<String>] = [
        "otp": ["code"],
        "login-alert": ["device", "location"],
        "card-blocked": ["card", "reason"],
        "birthday": [],
        "campaign": ["title", "offer", "link"],
    ]
}

/// What a template renders: a transaction, or a direct message carrying the named variables.
enum TemplatePurpose: Hashable, Sendable {
    case transaction
    case message(variables: Set<String>)

    var allowedVariables: Set<String> {
        switch self {
        case .transaction: TemplateVariables.transaction
        case .message(let own): TemplateVariables.message.union(own)
        }
    }

    var isTransaction: Bool { if case .transaction = self { true } else { false } }
}
