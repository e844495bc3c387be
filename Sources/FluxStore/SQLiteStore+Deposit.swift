import FluxCore
import FluxCrypto
import FluxInvoice
import Foundation
import GRDB

extension SQLiteStore {
    /// Records one deposit in a single transaction: message, invoices, anomalies, journal
    /// entries, batch membership (sealing batches that fill up) and the signed receipt, built by
    /// `makeReceipt` from the final verdicts. Replaying a committed message id writes nothing and
    /// returns the stored receipt with `alreadyRecorded` set (the outcome then carries no items),
    /// which makes crash recovery idempotent.
    ///
    /// `presigned` is a receipt made (and signed) before the write lock from `predictOutcome`:
    /// used when the verdicts reached in the transaction are the same, which is the rule (RSA
    /// then runs on every core instead of one at a time under the lock); otherwise
    /// `makeReceipt` signs the real ones here.
    ///
    /// Concurrent calls share one transaction (`GroupCommitter`): it returns once the group
    /// holding this deposit has committed. `syncing` names a directory whose entries must be
    /// durable before the deposit is (the drop zone's claim directory): the group fsyncs it
    /// once for all its deposits.
    public func recordDeposit(_ d: Deposit, now: Date = Date(), presigned: (DepositOutcome, ReceiptFiles)? = nil,
                              syncing directory: String? = nil,
                              makeReceipt: @escaping @Sendable (DepositOutcome) throws -> ReceiptFiles) throws -> (DepositOutcome, ReceiptFiles, [JournalEntry]) {
        let r = try committer.write(syncing: directory) { db -> RecordedDeposit in
            if let existing = try Self.receipt(db, messageID: d.messageID) {
                let outcome = DepositOutcome(messageID: d.messageID, fluxAccepted: true, fluxAnomalies: [], items: [], sealedBatches: [], alreadyRecorded: true)
                return RecordedDeposit(outcome: outcome, receipt: existing, journal: [])
            }
            let (o, rc, j) = try self.writeDeposit(db, d, now: now) { outcome in
                if let (predicted, receipt) = presigned, Self.sameVerdicts(predicted, outcome) { return receipt }
                return try makeReceipt(outcome)
            }
            return RecordedDeposit(outcome: o, receipt: rc, journal: j)
        }
        return (r.outcome, r.receipt, r.journal)
    }

    /// The verdicts `recordDeposit` reaches for a deposit none of whose invoices was accepted
    /// before, which is the rule: the duplicates within the deposit are found here, a duplicate
    /// of an earlier deposit only under the write lock (its receipt is then signed there).
    /// Reading the accepted invoices here too cost a read transaction per deposit, 5.7% of the
    /// intake's CPU (GRDB's pool and queue hops for one indexed lookup), to spare the rare
    /// duplicate a re-signature.
    public func predictOutcome(_ d: Deposit) -> DepositOutcome {
        var seen: Set<String> = []
        var items: [ItemOutcome] = []
        items.reserveCapacity(d.items.count)
        for item in d.items {
            var anomalies = item.anomalies
            let f = item.facts
            if f.syntax.isInvoice, anomalies.isEmpty, let seller = f.seller, let number = f.number, let year = f.issueYear {
                let key = "\(seller.description)\u{0}\(number)\u{0}\(year)"
                if seen.contains(key) { anomalies.append(Self.duplicateAnomaly(number: number, year: year, seller: seller.description, message: d.messageID)) }
                else { seen.insert(key) }
            }
            items.append(ItemOutcome(invoiceID: "", name: item.name, facts: f, anomalies: anomalies))
        }
        return DepositOutcome(messageID: d.messageID, fluxAccepted: d.fluxAnomalies.isEmpty, fluxAnomalies: d.fluxAnomalies,
                              items: items, sealedBatches: [], alreadyRecorded: false)
    }

    static func sameVerdicts(_ a: DepositOutcome, _ b: DepositOutcome) -> Bool {
        a.fluxAccepted == b.fluxAccepted && a.items.count == b.items.count
            && zip(a.items, b.items).allSatisfy { $0.anomalies.map(\.description) == $1.anomalies.map(\.description) }
    }

    static func acceptedDuplicate(_ db: Database, seller: String, number: String, year: String) throws -> String? {
        try String.fetchOne(try db.cachedStatement(sql: """
            SELECT message_id FROM invoices WHERE seller_key = ? AND number = ? AND substr(issue_date, 1, 4) = ? AND status = 'accepted'
            """), arguments: [seller, number, year])
    }

    static func duplicateAnomaly(number: String, year: String, seller: String, message: String) -> Anomaly {
        Anomaly(rule: "FLUX-DUPLICATE", reasonCode: "DOUBLON", message: "invoice \(number) of \(year) from \(seller) was already accepted (message \(message))")
    }

    /// The body of `recordDeposit`, inside a transaction the caller holds (AS2 adds its own
    /// records to the same transaction).
    func writeDeposit(_ db: Database, _ d: Deposit, now: Date,
                      makeReceipt: (DepositOutcome) throws -> ReceiptFiles) throws -> (DepositOutcome, ReceiptFiles, [JournalEntry]) {
        do {
            // Sized up front: an archive's thousands of members would otherwise hold two copies
            // of these arrays at each doubling (4 MB of journal entries at 5,000 members).
            var entries: [JournalEntry] = []
            entries.reserveCapacity(2 + 2 * d.items.count)
            let t = now.timeIntervalSince1970
            let fluxAccepted = d.fluxAnomalies.isEmpty
            try db.cachedStatement(sql: """
                INSERT INTO messages (id, company, channel, direction, file_name, sha256, size, format, received_at, status, reasons)
                VALUES (?,?,?,?,?,?,?,?,?,?,?)
                """).execute(arguments: [d.messageID, d.partner.id, d.channel, "received", d.fileName, d.spool.sha256, d.spool.size,
                                 d.format, d.receivedAt.timeIntervalSince1970, fluxAccepted ? "accepted" : "refused",
                                 Self.json(d.fluxAnomalies.map(\.description))])
            let sender = d.partner.journalParty
            var journal = JournalAppender(company: d.partner.id)
            entries.append(try journal.append(db, JournalDraft(
                at: d.receivedAt, direction: "received", channel: d.channel, kind: "flux", messageID: d.messageID,
                fileName: d.fileName, sha256: d.spool.sha256, size: d.spool.size, sender: sender, receiver: gateway,
                status: fluxAccepted ? "accepted" : "refused", anomalies: d.fluxAnomalies.map(\.description))))

            var outcomes: [ItemOutcome] = []
            outcomes.reserveCapacity(d.items.count)
            var sealed: [String] = []
            for item in d.items {
                var anomalies = item.anomalies
                let f = item.facts
                if f.syntax.isInvoice, anomalies.isEmpty, let seller = f.seller, let number = f.number, let year = f.issueYear,
                   let dup = try Self.acceptedDuplicate(db, seller: seller.description, number: number, year: year) {
                    anomalies.append(Self.duplicateAnomaly(number: number, year: year, seller: seller.description, message: dup))
                }
                let invoiceID = RandomID.uuid()
                let accepted = anomalies.isEmpty
                try db.cachedStatement(sql: """
                    INSERT INTO invoices (id, message_id, company, member_name, sha256, size, syntax, number, issue_date, type_code,
                        currency, seller_key, buyer_key, seller_siren, buyer_siren, seller_name, buyer_name,
                        total_without_vat, total_vat, total_with_vat, status, anomalies, received_at)
                    VALUES (?,?,?,?,?,?,?,?,?,?, ?,?,?,?,?,?,?, ?,?,?,?,?,?)
                    """).execute(arguments: [invoiceID, d.messageID, d.partner.id, item.name, item.spool.sha256, item.spool.size,
                                     f.syntax.rawValue, f.number, f.issueDate, f.typeCode, f.currency,
                                     f.seller?.description, f.buyer?.description, f.sellerSIREN, f.buyerSIREN, f.sellerName, f.buyerName,
                                     f.totalWithoutVAT, f.totalVAT, f.totalWithVAT, accepted ? "accepted" : "rejected",
                                     Self.json(anomalies.map(\.description)), t])
                entries.append(try journal.append(db, JournalDraft(
                    at: d.receivedAt, direction: "received", channel: d.channel, kind: f.syntax.isInvoice ? "invoice" : "lifecycle",
                    messageID: d.messageID, fileName: item.name, sha256: item.spool.sha256, size: item.spool.size,
                    invoiceNumber: f.number, invoiceDate: f.issueDate, amountWithoutVAT: f.totalWithoutVAT,
                    amountWithVAT: f.totalWithVAT, currency: f.currency,
                    sender: JournalParty(code: f.seller?.description, name: f.sellerName, siren: f.sellerSIREN,
                                         // the address the partner file knows, when the seller is the depositing company
                                         address: f.sellerSIREN != nil && f.sellerSIREN == d.partner.siren ? d.partner.address : nil, role: "supplier"),
                    receiver: JournalParty(code: f.buyer?.description, name: f.buyerName, siren: f.buyerSIREN, address: nil, role: "client"),
                    status: accepted ? "accepted" : "rejected", anomalies: anomalies.map(\.description),
                    detail: Self.detail(item))))
                if accepted && f.syntax.isInvoice, let seller = f.seller, let buyer = f.buyer, let month = f.issueMonth {
                    sealed += try addToBatch(db, invoiceID: invoiceID, company: d.partner.id, seller: seller.description,
                                             buyer: buyer.description, month: month, size: item.spool.size, now: now)
                }
                outcomes.append(ItemOutcome(invoiceID: invoiceID, name: item.name, facts: f, anomalies: anomalies))
            }
            try db.cachedStatement(sql: """
                UPDATE partner_file SET first_exchange_at = COALESCE(first_exchange_at, ?), last_exchange_at = ? WHERE id = ?
                """).execute(arguments: [t, t, d.partner.id])

            let outcome = DepositOutcome(messageID: d.messageID, fluxAccepted: fluxAccepted, fluxAnomalies: d.fluxAnomalies,
                                         items: outcomes, sealedBatches: sealed, alreadyRecorded: false)
            let receipt = try makeReceipt(outcome)
            for (n, doc) in receipt.documents.enumerated() {
                try db.cachedStatement(sql: """
                    INSERT INTO receipts (message_id, position, company, file_name, cdar, signature, created_at) VALUES (?,?,?,?,?,?,?)
                    """).execute(arguments: [d.messageID, n, d.partner.id, doc.fileName, doc.cdar, doc.signature, t])
                entries.append(try journal.append(db, JournalDraft(
                    at: now, direction: "sent", channel: d.channel, kind: "receipt", messageID: d.messageID,
                    fileName: doc.fileName, sha256: Digest.sha256Hex(doc.cdar), size: Int64(doc.cdar.count),
                    sender: gateway, receiver: sender, status: "sent", anomalies: [])))
            }
            try journal.finish(db)
            CrashPoint.hit("store.deposit.uncommitted")
            return (outcome, receipt, entries)
        }
    }

    /// What the journal adds in plain language: lifecycle statuses, profile, container, warnings.
    static func detail(_ item: DepositItem) -> String? {
        var parts: [String] = []
        for s in item.facts.lifecycle ?? [] {
            var t = "status \(s.code ?? "?") \(s.label ?? "")".trimmingCharacters(in: .whitespaces)
            if let n = s.invoiceNumber { t += " for invoice \(n)" }
            if !s.reasons.isEmpty { t += " (reasons \(s.reasons.joined(separator: ", ")))" }
            parts.append(t)
        }
        if let p = item.facts.profile { parts.append("profile \(p)") }
        if let c = item.facts.container { parts.append(c) }
        for w in item.warnings { parts.append("warning \(w.description)") }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
    }

    static func json(_ strings: [String]) -> String {
        // Most messages and invoices have no anomaly: no encoder for those.
        if strings.isEmpty { return "[]" }
        return String(decoding: (try? JSONEncoder().encode(strings)) ?? Data("[]".utf8), as: UTF8.self)
    }
}
