import FluxCore
import Foundation
import GRDB

/// Appends several entries to one company's journal inside the caller's transaction, reading
/// the chain's head once and writing it back once (`finish`), where each entry used to read and
/// rewrite it: a deposit appends four or more, in the group commit's serial section.
///
/// `finish` must run before anything else in the transaction appends to the same company's
/// journal (the deposit's writer does so before it returns), and the caller's transaction or
/// savepoint makes the entries and the head one unit.
struct JournalAppender {
    let company: String
    private var head: (seq: Int64, hash: String)?
    private var dirty = false

    init(company: String) { self.company = company }

    mutating func append(_ db: Database, _ draft: JournalDraft) throws -> JournalEntry {
        let (lastSeq, prev) = try current(db)
        var e = JournalEntry(
            company: company, seq: lastSeq + 1, at: JournalTime.format(draft.at), direction: draft.direction, channel: draft.channel,
            kind: draft.kind, messageID: draft.messageID, fileName: draft.fileName, sha256: draft.sha256, size: draft.size,
            invoiceNumber: draft.invoiceNumber, invoiceDate: draft.invoiceDate, amountWithoutVAT: draft.amountWithoutVAT,
            amountWithVAT: draft.amountWithVAT, currency: draft.currency, sender: draft.sender, receiver: draft.receiver,
            software: FluxVersion.full, status: draft.status, anomalies: draft.anomalies, prevHash: prev, hash: "", detail: draft.detail)
        e.hash = e.computeHash()
        try e.insert(db)
        head = (e.seq, e.hash)
        dirty = true
        return e
    }

    /// Writes the chain's new head.
    mutating func finish(_ db: Database) throws {
        guard dirty, let head else { return }
        try db.cachedStatement(sql: """
            INSERT INTO journal_heads (company, seq, hash) VALUES (?,?,?)
            ON CONFLICT(company) DO UPDATE SET seq = excluded.seq, hash = excluded.hash
            """).execute(arguments: [company, head.seq, head.hash])
        dirty = false
    }

    private mutating func current(_ db: Database) throws -> (Int64, String) {
        if let head { return head }
        let row = try Row.fetchOne(try db.cachedStatement(sql: "SELECT seq, hash FROM journal_heads WHERE company = ?"), arguments: [company])
        let h = (seq: (row?["seq"] as Int64?) ?? 0, hash: (row?["hash"] as String?) ?? JournalEntry.genesis(company: company))
        head = h
        return h
    }
}
