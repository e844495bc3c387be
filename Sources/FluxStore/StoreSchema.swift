import GRDB

/// Schema migrations. Append new migrations; never edit a shipped one.
enum StoreSchema {
    static func migrator() -> DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE messages (
                    id TEXT PRIMARY KEY,
                    company TEXT NOT NULL,
                    channel TEXT NOT NULL,
                    direction TEXT NOT NULL,
                    file_name TEXT NOT NULL,
                    sha256 TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    format TEXT NOT NULL,
                    received_at REAL NOT NULL,
                    status TEXT NOT NULL,
                    reasons TEXT NOT NULL DEFAULT '[]'
                );
                CREATE INDEX messages_company ON messages(company, received_at);

                CREATE TABLE invoices (
                    id TEXT PRIMARY KEY,
                    message_id TEXT NOT NULL REFERENCES messages(id),
                    company TEXT NOT NULL,
                    member_name TEXT NOT NULL,
                    sha256 TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    syntax TEXT NOT NULL,
                    number TEXT,
                    issue_date TEXT,
                    type_code TEXT,
                    currency TEXT,
                    seller_key TEXT,
                    buyer_key TEXT,
                    seller_siren TEXT,
                    buyer_siren TEXT,
                    seller_name TEXT,
                    buyer_name TEXT,
                    total_without_vat TEXT,
                    total_vat TEXT,
                    total_with_vat TEXT,
                    status TEXT NOT NULL,
                    anomalies TEXT NOT NULL DEFAULT '[]',
                    received_at REAL NOT NULL
                );
                CREATE INDEX invoices_message ON invoices(message_id);
                -- PPF uniqueness key: seller, number, issue year, among accepted invoices.
                CREATE UNIQUE INDEX invoices_unique ON invoices(seller_key, number, substr(issue_date, 1, 4))
                    WHERE status = 'accepted';

                CREATE TABLE batches (
                    id TEXT PRIMARY KEY,
                    company TEXT NOT NULL,
                    seller_key TEXT NOT NULL,
                    buyer_key TEXT NOT NULL,
                    month TEXT NOT NULL,
                    status TEXT NOT NULL,          -- open | ready | claimed | acked
                    opened_at REAL NOT NULL,
                    sealed_at REAL,
                    seal_reason TEXT,
                    invoice_count INTEGER NOT NULL DEFAULT 0,
                    bytes INTEGER NOT NULL DEFAULT 0,
                    lease_until REAL,
                    claimed_by TEXT,
                    deliveries INTEGER NOT NULL DEFAULT 0,
                    acked_at REAL,
                    manifest BLOB,
                    signature BLOB
                );
                CREATE UNIQUE INDEX batches_one_open ON batches(company, seller_key, buyer_key) WHERE status = 'open';
                CREATE INDEX batches_status ON batches(status, sealed_at);

                CREATE TABLE batch_invoices (
                    batch_id TEXT NOT NULL REFERENCES batches(id),
                    invoice_id TEXT NOT NULL UNIQUE REFERENCES invoices(id),
                    position INTEGER NOT NULL,
                    PRIMARY KEY (batch_id, position)
                );

                CREATE TABLE receipts (
                    message_id TEXT NOT NULL REFERENCES messages(id),
                    position INTEGER NOT NULL,
                    company TEXT NOT NULL,
                    file_name TEXT NOT NULL,
                    cdar BLOB NOT NULL,
                    signature BLOB NOT NULL,
                    created_at REAL NOT NULL,
                    delivered_at REAL,
                    PRIMARY KEY (message_id, position)
                );
                CREATE INDEX receipts_pending ON receipts(delivered_at) WHERE delivered_at IS NULL;

                CREATE TABLE partner_file (
                    id TEXT PRIMARY KEY,
                    name TEXT NOT NULL,
                    address TEXT NOT NULL,
                    siren TEXT,
                    roles TEXT NOT NULL,
                    first_exchange_at REAL,
                    last_exchange_at REAL,
                    exit_at REAL,
                    updated_at REAL NOT NULL
                );

                CREATE TABLE journal (
                    company TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    at TEXT NOT NULL,
                    direction TEXT NOT NULL,
                    channel TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    message_id TEXT NOT NULL,
                    file_name TEXT NOT NULL,
                    sha256 TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    invoice_number TEXT,
                    invoice_date TEXT,
                    amount_without_vat TEXT,
                    amount_with_vat TEXT,
                    currency TEXT,
                    sender_code TEXT, sender_name TEXT, sender_siren TEXT, sender_address TEXT, sender_role TEXT,
                    receiver_code TEXT, receiver_name TEXT, receiver_siren TEXT, receiver_address TEXT, receiver_role TEXT,
                    software TEXT NOT NULL,
                    status TEXT NOT NULL,
                    anomalies TEXT NOT NULL,
                    prev_hash TEXT NOT NULL,
                    hash TEXT NOT NULL,
                    PRIMARY KEY (company, seq)
                );
                CREATE TABLE journal_heads (
                    company TEXT PRIMARY KEY,
                    seq INTEGER NOT NULL,
                    hash TEXT NOT NULL
                );
                -- Append-only by construction; the hash chain catches whoever drops these.
                CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
                    BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
                CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
                    BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
                """)
        }
        m.registerMigration("v2-journal-detail") { db in
            // Free-text detail (lifecycle status, profile, container, warnings). Hashed only when
            // present, so entries written before this migration still verify.
            try db.execute(sql: "ALTER TABLE journal ADD COLUMN detail TEXT")
        }
        m.registerMigration("v3-as2") { db in
            // One row per AS2 request attributed to a partner. Only positive answers take part in
            // the (AS2-From, Message-ID) dedupe: a message that failed may be resent and processed.
            try db.execute(sql: """
                CREATE TABLE as2_messages (
                    id TEXT PRIMARY KEY,
                    company TEXT NOT NULL,
                    as2_from TEXT NOT NULL,
                    as2_to TEXT NOT NULL,
                    as2_message_id TEXT NOT NULL,
                    received_at REAL NOT NULL,
                    raw_sha256 TEXT NOT NULL,
                    raw_size INTEGER NOT NULL,
                    disposition TEXT NOT NULL,
                    positive INTEGER NOT NULL,
                    security TEXT NOT NULL,
                    mic TEXT,
                    detail TEXT,
                    mdn_message_id TEXT,
                    mdn_headers TEXT,
                    mdn_body BLOB,
                    mdn_mode TEXT NOT NULL,          -- none | sync | async
                    duplicate_of TEXT
                );
                CREATE UNIQUE INDEX as2_messages_dedupe ON as2_messages(as2_from, as2_message_id) WHERE positive = 1 AND duplicate_of IS NULL;
                CREATE INDEX as2_messages_company ON as2_messages(company, received_at);

                CREATE TABLE mdn_outbox (
                    as2_id TEXT PRIMARY KEY REFERENCES as2_messages(id),
                    url TEXT NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at REAL NOT NULL,
                    last_error TEXT,
                    delivered_at REAL,
                    given_up_at REAL
                );
                CREATE INDEX mdn_outbox_due ON mdn_outbox(next_attempt_at) WHERE delivered_at IS NULL AND given_up_at IS NULL;
                """)
        }
        return m
    }
}
