import FluxCore
import Foundation
import GRDB

extension SQLiteStore {
    /// Appends to a company's chain inside the caller's transaction. The sequence number and the
    /// previous hash come from `journal_heads` under SQLite's single-writer lock (a row lock in
    /// PostgreSQL), so concurrent deposits can never fork a chain.
    @discardableResult
    func appendJournal(_ db: Database, company: String, draft: JournalDraft) throws -> JournalEntry {
        var journal = JournalAppender(company: company)
        let e = try journal.append(db, draft)
        try journal.finish(db)
        return e
    }

    /// Appends one entry in its own transaction (events outside a deposit, e.g. an abort).
    @discardableResult
    public func appendJournal(company: String, draft: JournalDraft) throws -> JournalEntry {
        try pool.write { db in try appendJournal(db, company: company, draft: draft) }
    }

    /// The companies that have a journal.
    public func journalCompanies() throws -> [String] {
        try pool.read { db in try String.fetchAll(db, sql: "SELECT DISTINCT company FROM journal_heads ORDER BY company") }
    }

    /// Entries in sequence order, optionally for one company, after a given sequence number
    /// (per company) or only the last `last` ones.
    public func journalEntries(company: String? = nil, afterSeq: [String: Int64] = [:], from: String? = nil, to: String? = nil,
                               last: Int? = nil) throws -> [JournalEntry] {
        try pool.read { db in
            var sql = "SELECT * FROM journal WHERE 1=1"
            var args: [any DatabaseValueConvertible] = []
            if let company { sql += " AND company = ?"; args.append(company) }
            if let from { sql += " AND at >= ?"; args.append(from) }
            if let to { sql += " AND at < ?"; args.append(to) }
            var rows = try Row.fetchAll(db, sql: sql + " ORDER BY rowid", arguments: StatementArguments(args)).map(JournalEntry.init(row:))
            if !afterSeq.isEmpty { rows = rows.filter { $0.seq > (afterSeq[$0.company] ?? 0) } }
            if let last, rows.count > last { rows = Array(rows.suffix(last)) }
            return rows
        }
    }

    /// Walks each chain and returns the first entry that does not match, per company: an
    /// altered field (hash), a removed or reordered row (sequence / previous hash), or rows
    /// missing at the end (the head names a later entry than the last one found).
    public func verifyJournal(company: String? = nil) throws -> (checked: Int, breaks: [JournalBreak]) {
        try pool.read { db in
            var companies = try String.fetchAll(db, sql: "SELECT company FROM journal_heads UNION SELECT DISTINCT company FROM journal ORDER BY 1")
            if let company { companies = companies.filter { $0 == company } }
            var breaks: [JournalBreak] = []
            var checked = 0
            for c in companies {
                var expectedSeq: Int64 = 1
                var prev = JournalEntry.genesis(company: c)
                var broken: JournalBreak?
                let cursor = try Row.fetchCursor(db, sql: "SELECT * FROM journal WHERE company = ? ORDER BY seq", arguments: [c])
                while let row = try cursor.next() {
                    let e = JournalEntry(row: row)
                    checked += 1
                    if e.seq != expectedSeq {
                        broken = JournalBreak(company: c, seq: expectedSeq, reason: e.seq > expectedSeq
                            ? "entry is missing (next found is #\(e.seq))" : "sequence number repeats")
                        break
                    }
                    if e.prevHash != prev {
                        broken = JournalBreak(company: c, seq: e.seq, reason: "previous-hash link does not match entry #\(e.seq - 1) (row removed, replaced or reordered)")
                        break
                    }
                    if e.computeHash() != e.hash {
                        broken = JournalBreak(company: c, seq: e.seq, reason: "content does not match its hash (row altered)")
                        break
                    }
                    prev = e.hash
                    expectedSeq += 1
                }
                if broken == nil, let head = try Row.fetchOne(try db.cachedStatement(sql: "SELECT seq, hash FROM journal_heads WHERE company = ?"), arguments: [c]) {
                    let headSeq: Int64 = head["seq"]
                    let headHash: String = head["hash"]
                    if headSeq != expectedSeq - 1 || headHash != prev {
                        broken = JournalBreak(company: c, seq: expectedSeq, reason: "entries up to #\(headSeq) were written but the chain ends at #\(expectedSeq - 1) (rows removed at the end)")
                    }
                }
                if let broken { breaks.append(broken) }
            }
            return (checked, breaks)
        }
    }
}

extension SQLiteStore {
    /// Appends one entry on its own (an aborted upload, a refused login attempt worth keeping),
    /// in its own transaction.
    @discardableResult
    public func recordEvent(company: String, draft: JournalDraft) throws -> JournalEntry {
        try pool.write { db in try appendJournal(db, company: company, draft: draft) }
    }

    /// The gateway as the journal names it.
    public var gatewayParty: JournalParty { gateway }
}
