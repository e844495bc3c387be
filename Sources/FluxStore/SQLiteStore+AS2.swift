import FluxCore
import FluxCrypto
import Foundation
import GRDB

extension SQLiteStore {
    /// The earlier positive answer to (AS2-From, Message-ID), if any.
    public func previousAS2(from: String, messageID: String) throws -> AS2Previous? {
        try pool.read { db in try Self.previousAS2(db, from: from, messageID: messageID) }
    }

    /// Records one AS2 exchange and, when a payload was taken in, its deposit, in ONE
    /// transaction with their journal entries (and the async MDN in the outbox), so a positive
    /// MDN never goes out for something that is not durable. A positive exchange whose
    /// (AS2-From, Message-ID) was already answered positively is recorded as a resend only: the
    /// deposit is not written again and the earlier MDN is returned.
    /// Concurrent calls share one transaction (`GroupCommitter`).
    public func recordAS2(_ x: AS2Exchange, deposit: Deposit?, now: Date = Date()) throws -> AS2RecordResult {
        try committer.write { [self] db in
            let gatewayParty = JournalParty(code: x.as2To, name: gateway.name, siren: gateway.siren, address: gateway.address, role: gateway.role)
            let partnerParty = JournalParty(code: x.as2From, name: x.partner.name, siren: x.partner.siren, address: x.partner.address,
                                            role: x.partner.roles.joined(separator: "+"))
            let ids = "AS2-From \(x.as2From), AS2-To \(x.as2To), Message-ID \(x.as2MessageID)"
            if x.positive, let prev = try Self.previousAS2(db, from: x.as2From, messageID: x.as2MessageID) {
                try insertExchange(db, x, duplicateOf: prev.id, mdn: prev.mdn)
                let entry = try appendJournal(db, company: x.partner.id, draft: JournalDraft(
                    at: x.receivedAt, direction: "received", channel: "as2", kind: "as2-message", messageID: x.id,
                    fileName: x.fileName, sha256: x.raw.sha256, size: x.raw.size, sender: partnerParty, receiver: gatewayParty,
                    status: "duplicate", anomalies: [],
                    detail: "\(ids); resend of message \(prev.id), not enqueued again; its MDN is returned"))
                return .duplicate(prev, [entry])
            }
            var entries: [JournalEntry] = []
            var outcome: DepositOutcome?
            var summary = "\(ids); \(x.security)"
            if let mic = x.mic { summary += "; MIC \(mic)" }
            entries.append(try appendJournal(db, company: x.partner.id, draft: JournalDraft(
                at: x.receivedAt, direction: "received", channel: "as2", kind: "as2-message", messageID: x.id,
                fileName: x.fileName, sha256: x.raw.sha256, size: x.raw.size, sender: partnerParty, receiver: gatewayParty,
                status: x.disposition, anomalies: x.anomalies,
                detail: summary)))
            if let d = deposit {
                // The MDN is the AS2 partner's acknowledgement; the CDAR lifecycle answer goes
                // back through the outbound AS2 connector, so no receipt files are made here.
                let (o, _, e) = try writeDeposit(db, d, now: now) { _ in ReceiptFiles(messageID: d.messageID, company: d.partner.id, documents: []) }
                outcome = o
                entries += e
            }
            try insertExchange(db, x, duplicateOf: nil, mdn: x.mdn)
            if let mdn = x.mdn, x.mdnMode == .sync {
                entries.append(try appendJournal(db, company: x.partner.id, draft: mdnDraft(x, mdn, status: "sent", at: now,
                                                                                             detail: "sync MDN, \(x.disposition)")))
            }
            if x.mdnMode == .async, let url = x.asyncURL, x.mdn != nil {
                try db.execute(sql: "INSERT INTO mdn_outbox (as2_id, url, next_attempt_at) VALUES (?,?,?)",
                               arguments: [x.id, url, now.timeIntervalSince1970])
            }
            return .recorded(outcome, entries)
        }
    }

    /// Re-queues the async MDN of an earlier exchange (a resend asked for its receipt again).
    public func requeueAsyncMDN(as2ID: String, url: String, now: Date = Date()) throws {
        try pool.write { db in
            try db.cachedStatement(sql: """
                INSERT INTO mdn_outbox (as2_id, url, next_attempt_at) VALUES (?,?,?)
                ON CONFLICT(as2_id) DO UPDATE SET url = excluded.url, next_attempt_at = excluded.next_attempt_at,
                    delivered_at = NULL, given_up_at = NULL, attempts = 0
                """).execute(arguments: [as2ID, url, now.timeIntervalSince1970])
        }
    }

    /// Async MDNs due now, oldest first.
    public func dueAsyncMDNs(now: Date = Date(), limit: Int = 32) throws -> [PendingAsyncMDN] {
        try pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT o.as2_id, o.url, o.attempts, m.company, m.as2_from, m.as2_to, m.mdn_message_id, m.mdn_headers, m.mdn_body
                FROM mdn_outbox o JOIN as2_messages m ON m.id = o.as2_id
                WHERE o.delivered_at IS NULL AND o.given_up_at IS NULL AND o.next_attempt_at <= ?
                ORDER BY o.next_attempt_at LIMIT ?
                """, arguments: [now.timeIntervalSince1970, limit]).compactMap { r in
                guard let mdn = Self.storedMDN(r) else { return nil }
                return PendingAsyncMDN(as2ID: r["as2_id"], company: r["company"], url: r["url"], attempts: r["attempts"], mdn: mdn,
                                       as2From: r["as2_from"], as2To: r["as2_to"])
            }
        }
    }

    /// Seconds until the next async MDN is due (nil when none waits).
    public func nextAsyncMDNDue(now: Date = Date()) throws -> TimeInterval? {
        try pool.read { db in
            try Double.fetchOne(db, sql: """
                SELECT MIN(next_attempt_at) FROM mdn_outbox WHERE delivered_at IS NULL AND given_up_at IS NULL
                """).map { max(0, $0 - now.timeIntervalSince1970) }
        }
    }

    /// Records one delivery attempt of an async MDN; the journal gets an entry when it went out
    /// or when the gateway gives up.
    @discardableResult
    public func asyncMDNAttempt(_ p: PendingAsyncMDN, error: String?, retryAt: Date?, now: Date = Date()) throws -> JournalEntry? {
        try pool.write { db in
            let t = now.timeIntervalSince1970
            let attempts = p.attempts + 1
            guard let x = try Row.fetchOne(try db.cachedStatement(sql: "SELECT * FROM as2_messages WHERE id = ?"), arguments: [p.as2ID]) else { return nil }
            let partner = JournalParty(code: x["as2_from"], name: nil, siren: nil, address: nil, role: nil)
            let us = JournalParty(code: x["as2_to"], name: gateway.name, siren: gateway.siren, address: gateway.address, role: gateway.role)
            let draft = { (status: String, anomalies: [String], detail: String) in
                JournalDraft(at: now, direction: "sent", channel: "as2", kind: "mdn", messageID: p.as2ID, fileName: p.mdn.messageID,
                             sha256: Digest.sha256Hex(p.mdn.body), size: Int64(p.mdn.body.count), sender: us, receiver: partner,
                             status: status, anomalies: anomalies, detail: detail)
            }
            if let error {
                if let retryAt {
                    try db.execute(sql: "UPDATE mdn_outbox SET attempts = ?, last_error = ?, next_attempt_at = ? WHERE as2_id = ?",
                                   arguments: [attempts, error, retryAt.timeIntervalSince1970, p.as2ID])
                    return nil
                }
                try db.execute(sql: "UPDATE mdn_outbox SET attempts = ?, last_error = ?, given_up_at = ? WHERE as2_id = ?",
                               arguments: [attempts, error, t, p.as2ID])
                return try appendJournal(db, company: p.company, draft: draft(
                    "failed", ["AS2-ASYNC-MDN-UNDELIVERED: \(error)"], "async MDN to \(p.url) abandoned after \(attempts) attempts"))
            }
            try db.execute(sql: "UPDATE mdn_outbox SET attempts = ?, last_error = NULL, delivered_at = ? WHERE as2_id = ?",
                           arguments: [attempts, t, p.as2ID])
            return try appendJournal(db, company: p.company, draft: draft(
                "sent", [], "async MDN delivered to \(p.url) (attempt \(attempts)), \(x["disposition"] as String)"))
        }
    }

    /// The stored exchange, for `partners`/ops tooling and tests.
    public func as2Exchanges(company: String? = nil, limit: Int = 100) throws -> [[String: String]] {
        try pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, company, as2_from, as2_to, as2_message_id, disposition, security, mic, mdn_mode, duplicate_of, raw_sha256
                FROM as2_messages WHERE (? IS NULL OR company = ?) ORDER BY received_at DESC LIMIT ?
                """, arguments: [company, company, limit]).map { r in
                var out: [String: String] = [:]
                for (k, v) in r { if let s = String.fromDatabaseValue(v) { out[k] = s } }
                return out
            }
        }
    }

    // MARK: - internals

    func mdnDraft(_ x: AS2Exchange, _ mdn: StoredMDN, status: String, at: Date, detail: String) -> JournalDraft {
        JournalDraft(at: at, direction: "sent", channel: "as2", kind: "mdn", messageID: x.id, fileName: mdn.messageID,
                     sha256: Digest.sha256Hex(mdn.body), size: Int64(mdn.body.count),
                     sender: JournalParty(code: x.as2To, name: gateway.name, siren: gateway.siren, address: gateway.address, role: gateway.role),
                     receiver: JournalParty(code: x.as2From, name: x.partner.name, siren: x.partner.siren, address: x.partner.address,
                                            role: x.partner.roles.joined(separator: "+")),
                     status: status, anomalies: [], detail: detail)
    }

    func insertExchange(_ db: Database, _ x: AS2Exchange, duplicateOf: String?, mdn: StoredMDN?) throws {
        let headers = mdn.map { String(decoding: (try? JSONEncoder().encode($0.headers)) ?? Data("[]".utf8), as: UTF8.self) }
        try db.cachedStatement(sql: """
            INSERT INTO as2_messages (id, company, as2_from, as2_to, as2_message_id, received_at, raw_sha256, raw_size, disposition,
                positive, security, mic, detail, mdn_message_id, mdn_headers, mdn_body, mdn_mode, duplicate_of)
            VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
            """).execute(arguments: [x.id, x.partner.id, x.as2From, x.as2To, x.as2MessageID, x.receivedAt.timeIntervalSince1970,
                             x.raw.sha256, x.raw.size, x.disposition, x.positive, x.security, x.mic,
                             x.anomalies.isEmpty ? nil : x.anomalies.joined(separator: "; "),
                             mdn?.messageID, headers, mdn?.body, x.mdnMode.rawValue, duplicateOf])
    }

    static func previousAS2(_ db: Database, from: String, messageID: String) throws -> AS2Previous? {
        guard let r = try Row.fetchOne(try db.cachedStatement(sql: """
            SELECT id, mdn_message_id, mdn_headers, mdn_body, mdn_mode FROM as2_messages
            WHERE as2_from = ? AND as2_message_id = ? AND positive = 1 AND duplicate_of IS NULL
            """), arguments: [from, messageID]) else { return nil }
        let url = try String.fetchOne(try db.cachedStatement(sql: "SELECT url FROM mdn_outbox WHERE as2_id = ?"), arguments: [r["id"] as String])
        return AS2Previous(id: r["id"], mdn: storedMDN(r), mdnMode: MDNMode(rawValue: r["mdn_mode"]) ?? .none, asyncURL: url)
    }

    static func storedMDN(_ r: Row) -> StoredMDN? {
        guard let id: String = r["mdn_message_id"], let h: String = r["mdn_headers"], let body: Data = r["mdn_body"],
              let headers = try? JSONDecoder().decode([HeaderField].self, from: Data(h.utf8)) else { return nil }
        return StoredMDN(messageID: id, headers: headers, body: body)
    }
}
