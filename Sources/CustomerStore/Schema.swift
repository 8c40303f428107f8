/// The SQL of each frozen migration. Documented in `docs/customers.md`.
///
/// The schema checks what the database can check cheaply (enumerations, lengths, address shapes);
/// the full rules (E.164, email syntax, identifier alphabets) are applied in Swift before any write.
/// Tables are `WITHOUT ROWID` so each is one B-tree keyed by its natural key: a lookup by account
/// is one index probe, and a bulk import in id order appends to the customer tree.
enum Schema {
    /// Lookup by account: one probe; the index carries the primary key, so it covers the query.
    /// A bulk import into an empty store drops it and builds it again at the end (sorting once is
    /// far cheaper than two million inserts at random places).
    static let accountIndex = "CREATE INDEX customer_account_by_account ON customer_account(account)"

    static let v1 = """
        CREATE TABLE customer (
            id TEXT NOT NULL PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
            name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
            language TEXT NOT NULL CHECK (language IN ('fa', 'en')),
            time_zone TEXT NOT NULL CHECK (length(time_zone) BETWEEN 1 AND 64),
            birthday TEXT CHECK (birthday IS NULL OR birthday GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]'),
            active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1))
        ) WITHOUT ROWID;

        CREATE TABLE customer_account (
            customer_id TEXT NOT NULL REFERENCES customer(id) ON DELETE CASCADE,
            account TEXT NOT NULL CHECK (length(account) BETWEEN 1 AND 64),
            position INTEGER NOT NULL CHECK (position >= 0),
            PRIMARY KEY (customer_id, account)
        ) WITHOUT ROWID;
        \(accountIndex);

        CREATE TABLE channel_preference (
            customer_id TEXT NOT NULL REFERENCES customer(id) ON DELETE CASCADE,
            channel TEXT NOT NULL CHECK (channel IN ('sms', 'email', 'fax', 'im')),
            address TEXT NOT NULL CHECK (CASE channel
                WHEN 'sms' THEN address GLOB '+[1-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]*' AND length(address) <= 16
                WHEN 'fax' THEN address GLOB '+[1-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]*' AND length(address) <= 16
                WHEN 'email' THEN instr(address, '@') > 1 AND length(address) <= 254
                ELSE address GLOB 'telegram:?*' OR address GLOB 'matrix:@?*' OR address GLOB 'webhook:?*'
            END),
            enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
            -- NULL: the default subscription (credit, debit, security); '' : no kinds at all.
            event_kinds TEXT CHECK (event_kinds IS NULL OR length(event_kinds) <= 1000),
            quiet_start INTEGER CHECK (quiet_start BETWEEN 0 AND 1439),
            quiet_end INTEGER CHECK (quiet_end BETWEEN 0 AND 1439),
            CHECK ((quiet_start IS NULL) = (quiet_end IS NULL)),
            CHECK (quiet_start IS NULL OR quiet_start <> quiet_end),
            PRIMARY KEY (customer_id, channel)
        ) WITHOUT ROWID;

        CREATE TABLE channel_minimum (
            customer_id TEXT NOT NULL,
            channel TEXT NOT NULL,
            currency TEXT NOT NULL CHECK (length(currency) = 3 AND currency NOT GLOB '*[^A-Z]*'),
            minor_units INTEGER NOT NULL CHECK (minor_units >= 0),
            PRIMARY KEY (customer_id, channel, currency),
            FOREIGN KEY (customer_id, channel) REFERENCES channel_preference(customer_id, channel) ON DELETE CASCADE
        ) WITHOUT ROWID;
        """
}
