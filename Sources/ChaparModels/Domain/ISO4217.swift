/// The ISO 4217 alphabetic currency codes and their minor units (digits after the decimal point):
/// every code in list one (current) and list three (historic), so that a bank's old statement in
/// Deutsche Mark or lire is read with the right number of decimals, and a typo (`IRT`, `EUE`) is
/// still refused.
///
/// Source: ISO 4217 list one (current currency and funds codes) and list three (historic
/// denominations), as published by the maintenance agency (SIX Group) up to amendment 179
/// (2025: `XCG` replaces `ANG`); written down for Chapar in December 2026. List three gives no
/// minor unit: for a historic code the value is the one list one gave while the code was current
/// (ISO 4217:2001 and its amendments for the codes withdrawn since), else the currency's
/// subdivision when it was withdrawn. Where ISO and CLDR disagree, ISO is followed (IRR 2, MGA 2,
/// RSD 2, MRO 2, STD 2, TMM 2, ZWD 2). `nil`: ISO gives no minor unit (precious metals, units of
/// account, testing codes); amounts in them are read with two decimals.
public enum ISO4217 {
    /// Whether ISO 4217 assigns (or assigned) `code`, an upper-case three-letter code.
    public static func isAssigned(_ code: String) -> Bool { minorUnits.index(forKey: code) != nil }

    /// Every code, current and historic, with its minor units (see the type's comment).
    public static let minorUnits: [String: Int?] = current.merging(historic) { current, _ in current }

    /// List one, current currencies and funds.
    public static let current: [String: Int?] = [
        "AED": 2, "AFN": 2, "ALL": 2, "AMD": 2, "ANG": 2, "AOA": 2, "ARS": 2, "AUD": 2, "AWG": 2, "AZN": 2,
        "BAM": 2, "BBD": 2, "BDT": 2, "BGN": 2, "BHD": 3, "BIF": 0, "BMD": 2, "BND": 2, "BOB": 2, "BOV": 2,
        "BRL": 2, "BSD": 2, "BTN": 2, "BWP": 2, "BYN": 2, "BZD": 2, "CAD": 2, "CDF": 2, "CHE": 2, "CHF": 2,
        "CHW": 2, "CLF": 4, "CLP": 0, "CNY": 2, "COP": 2, "COU": 2, "CRC": 2, "CUC": 2, "CUP": 2, "CVE": 2,
        "CZK": 2, "DJF": 0, "DKK": 2, "DOP": 2, "DZD": 2, "EGP": 2, "ERN": 2, "ETB": 2, "EUR": 2, "FJD": 2,
        "FKP": 2, "GBP": 2, "GEL": 2, "GHS": 2, "GIP": 2, "GMD": 2, "GNF": 0, "GTQ": 2, "GYD": 2, "HKD": 2,
        "HNL": 2, "HTG": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2, "IQD": 3, "IRR": 2, "ISK": 0, "JMD": 2,
        "JOD": 3, "JPY": 0, "KES": 2, "KGS": 2, "KHR": 2, "KMF": 0, "KPW": 2, "KRW": 0, "KWD": 3, "KYD": 2,
        "KZT": 2, "LAK": 2, "LBP": 2, "LKR": 2, "LRD": 2, "LSL": 2, "LYD": 3, "MAD": 2, "MDL": 2, "MGA": 2,
        "MKD": 2, "MMK": 2, "MNT": 2, "MOP": 2, "MRU": 2, "MUR": 2, "MVR": 2, "MWK": 2, "MXN": 2, "MXV": 2,
        "MYR": 2, "MZN": 2, "NAD": 2, "NGN": 2, "NIO": 2, "NOK": 2, "NPR": 2, "NZD": 2, "OMR": 3, "PAB": 2,
        "PEN": 2, "PGK": 2, "PHP": 2, "PKR": 2, "PLN": 2, "PYG": 0, "QAR": 2, "RON": 2, "RSD": 2, "RUB": 2,
        "RWF": 0, "SAR": 2, "SBD": 2, "SCR": 2, "SDG": 2, "SEK": 2, "SGD": 2, "SHP": 2, "SLE": 2, "SLL": 2,
        "SOS": 2, "SRD": 2, "SSP": 2, "STN": 2, "SVC": 2, "SYP": 2, "SZL": 2, "THB": 2, "TJS": 2, "TMT": 2,
        "TND": 3, "TOP": 2, "TRY": 2, "TTD": 2, "TWD": 2, "TZS": 2, "UAH": 2, "UGX": 0, "USD": 2, "USN": 2,
        "UYI": 0, "UYU": 2, "UYW": 4, "UZS": 2, "VED": 2, "VES": 2, "VND": 0, "VUV": 0, "WST": 2, "XAF": 0,
        "XCD": 2, "XCG": 2, "XOF": 0, "XPF": 0, "YER": 2, "ZAR": 2, "ZMW": 2, "ZWG": 2,
        // No minor unit in ISO 4217: gold, silver, palladium, platinum, the bond-market units, SDR,
        // SUCRE, ADB unit of account, testing and "no currency".
        "XAG": nil, "XAU": nil, "XBA": nil, "XBB": nil, "XBC": nil, "XBD": nil, "XDR": nil, "XPD": nil,
        "XPT": nil, "XSU": nil, "XTS": nil, "XUA": nil, "XXX": nil,
    ]

    /// List three, historic denominations (withdrawn codes), with the minor units they had.
    public static let historic: [String: Int?] = [
        // The euro's predecessors and the peg currencies that went with them.
        "ADF": 2, "ADP": 0, "ATS": 2, "BEC": 0, "BEF": 0, "BEL": 0, "CYP": 2, "DEM": 2, "EEK": 2, "ESA": 0,
        "ESB": 0, "ESP": 0, "FIM": 2, "FRF": 2, "GRD": 0, "HRK": 2, "IEP": 2, "ITL": 0, "LTL": 2, "LUC": 0,
        "LUF": 0, "LUL": 0, "LVL": 2, "MAF": 2, "MCF": 2, "MTL": 2, "NLG": 2, "PTE": 0, "SIT": 2, "SKK": 2,
        "VAL": 0, "XEU": 2, "XFO": nil, "XFU": nil, "XRE": nil,
        // Central and eastern Europe, the former Soviet Union and Yugoslavia.
        "ALK": 2, "AYM": 2, "AZM": 2, "BAD": 2, "BGJ": 2, "BGK": 2, "BGL": 2, "BYB": 2, "BYR": 0, "CSD": 2,
        "CSJ": 2, "CSK": 2, "DDM": 2, "GEK": 0, "HRD": 2, "LTT": 2, "LVR": 2, "PLZ": 2, "ROK": 2, "ROL": 2,
        "RUR": 2, "SUR": 2, "TJR": 0, "TMM": 2, "UAK": 2, "YDD": 3, "YUD": 2, "YUM": 2, "YUN": 2,
        // Africa.
        "AOK": 2, "AON": 2, "AOR": 2, "GHC": 2, "GHP": 2, "GNE": 2, "GNS": 2, "GQE": 2, "GWE": 2, "GWP": 2,
        "LSM": 2, "MGF": 0, "MLF": 0, "MRO": 2, "MZE": 2, "MZM": 2, "RHD": 2, "SDD": 2, "SDP": 2, "STD": 2,
        "TPE": 0, "UGS": 2, "UGW": 2, "ZAL": 2, "ZMK": 2, "ZRN": 2, "ZRZ": 2, "ZWC": 2, "ZWD": 2, "ZWL": 2,
        "ZWN": 2, "ZWR": 2,
        // The Americas.
        "ARA": 2, "ARP": 2, "ARY": 2, "BOP": 2, "BRB": 2, "BRC": 2, "BRE": 2, "BRN": 2, "BRR": 2, "ECS": 2,
        "ECV": 2, "MXP": 2, "NIC": 2, "PEH": 2, "PEI": 2, "PES": 2, "SRG": 2, "USS": 2, "UYN": 2, "UYP": 2,
        "VEB": 2, "VEF": 2,
        // Asia and the Middle East.
        "AFA": 2, "BUK": 2, "CHC": 2, "CNX": 2, "ILP": 2, "ILR": 2, "ISJ": 2, "KRH": 2, "LAJ": 2, "MVQ": 2,
        "TRL": 0, "VNC": 2,
    ]
}
