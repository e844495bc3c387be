import FluxCore
@testable import FluxStore
import Foundation
import GRDB
import Testing

/// The journal is append-only by trigger and hash-chained; these tests play someone with write
/// access to the SQLite file who drops the triggers, and check that `verifyJournal` names the
/// first entry that no longer matches.
@Suite("Journal tamper detection")
struct JournalTamperTests {
    /// Three deposits for ACME (9 entries) and one for BETA (3 entries).
    static func populate(_ fx: StoreFixture) throws {
        for n in 1...3 {
            try fx.record(try fx.deposit("A\(n)", [ciiInvoice(number: "T-A-\(n)")]), now: baseTime.addingTimeInterval(Double(n)))
        }
        try fx.record(try fx.deposit("B1", [ciiInvoice(number: "T-B-1")], partner: StoreFixture.otherPartner))
        let v = try fx.store.verifyJournal()
        #expect(v.checked == 12)
        #expect(v.breaks.isEmpty)
    }

    /// Opens the database file directly, as an outsider would, and drops the append-only triggers.
    static func attacker(_ fx: StoreFixture) throws -> DatabaseQueue {
        let q = try DatabaseQueue(path: fx.dbPath)
        try q.write { db in
            try db.execute(sql: "DROP TRIGGER journal_no_update")
            try db.execute(sql: "DROP TRIGGER journal_no_delete")
        }
        return q
    }

    @Test("without dropping the triggers, UPDATE and DELETE on the journal fail")
    func appendOnly() throws {
        try withStore { fx in
            try Self.populate(fx)
            let q = try DatabaseQueue(path: fx.dbPath)
            for sql in [
                "UPDATE journal SET invoice_number = 'X' WHERE company = 'ACME' AND seq = 2",
                "DELETE FROM journal WHERE company = 'ACME' AND seq = 9",
                "DELETE FROM journal",
            ] {
                do {
                    try q.write { db in try db.execute(sql: sql) }
                    Issue.record("allowed: \(sql)")
                } catch let e as DatabaseError {
                    #expect(e.message?.contains("append-only") == true, "\(e)")
                }
            }
            // Through the store's own pool too.
            #expect(throws: DatabaseError.self) {
                try fx.store.pool.write { db in try db.execute(sql: "UPDATE journal SET status = 'accepted' WHERE seq = 1") }
            }
            #expect(try fx.store.journalEntries().count == 12)
            #expect(try fx.store.verifyJournal().breaks.isEmpty)
        }
    }

    @Test("(a) an altered field: that company and that entry, 'altered'")
    func alteredRow() throws {
        try withStore { fx in
            try Self.populate(fx)
            let q = try Self.attacker(fx)
            try q.write { db in
                try db.execute(sql: "UPDATE journal SET invoice_number = 'T-A-9' WHERE company = 'ACME' AND seq = 5")
            }
            let v = try fx.store.verifyJournal()
            #expect(v.breaks.count == 1)
            let b = try #require(v.breaks.first)
            #expect(b.company == "ACME")
            #expect(b.seq == 5)
            #expect(b.reason.contains("altered"), "\(b.reason)")
            #expect(b.description.hasPrefix("ACME entry #5"))
            #expect(try fx.store.verifyJournal(company: "BETA").breaks.isEmpty)
            #expect(try fx.store.verifyJournal(company: "ACME").breaks == [b])
        }
    }

    @Test("(a') an altered amount, status or anomaly list is caught as well", arguments: [
        "amount_with_vat = '1.00'", "status = 'rejected'", "anomalies = '[\"x\"]'", "at = '2020-01-01T00:00:00.000Z'",
        "sender_siren = '356000000'", "hash = '00'",
    ])
    func alteredColumns(assignment: String) throws {
        try withStore { fx in
            try Self.populate(fx)
            let q = try Self.attacker(fx)
            try q.write { db in try db.execute(sql: "UPDATE journal SET \(assignment) WHERE company = 'ACME' AND seq = 2") }
            let v = try fx.store.verifyJournal()
            #expect(v.breaks.map(\.company) == ["ACME"], "\(assignment)")
            #expect(v.breaks.map(\.seq) == [2], "\(assignment)")
        }
    }

    @Test("(b) a deleted middle entry: reported as missing at its sequence number")
    func deletedMiddleRow() throws {
        try withStore { fx in
            try Self.populate(fx)
            let q = try Self.attacker(fx)
            try q.write { db in try db.execute(sql: "DELETE FROM journal WHERE company = 'ACME' AND seq = 4") }
            let v = try fx.store.verifyJournal()
            #expect(v.breaks.count == 1)
            let b = try #require(v.breaks.first)
            #expect(b.company == "ACME")
            #expect(b.seq == 4)
            #expect(b.reason.contains("missing"), "\(b.reason)")
        }
    }

    @Test("(b') a deleted middle entry with the later ones renumbered: the chain link breaks")
    func deletedAndRenumbered() throws {
        try withStore { fx in
            try Self.populate(fx)
            let q = try Self.attacker(fx)
            try q.write { db in
                try db.execute(sql: "DELETE FROM journal WHERE company = 'ACME' AND seq = 4")
                for seq in 5...9 {
                    try db.execute(sql: "UPDATE journal SET seq = seq - 1 WHERE company = 'ACME' AND seq = ?", arguments: [seq])
                }
                try db.execute(sql: "UPDATE journal_heads SET seq = 8 WHERE company = 'ACME'")
            }
            let b = try #require(try fx.store.verifyJournal().breaks.first)
            #expect(b.company == "ACME")
            #expect(b.seq == 4)
        }
    }

    @Test("(c) two entries' contents swapped: a break at the first swapped entry")
    func swappedRows() throws {
        try withStore { fx in
            try Self.populate(fx)
            let q = try Self.attacker(fx)
            try q.write { db in
                let columns = try String.fetchAll(db, sql: "SELECT name FROM pragma_table_info('journal') WHERE name NOT IN ('company', 'seq')")
                #expect(columns.count == 29)  // v2 added `detail`
                let list = columns.joined(separator: ", ")
                try db.execute(sql: "CREATE TEMP TABLE saved AS SELECT * FROM journal WHERE company = 'ACME' AND seq IN (3, 7)")
                try db.execute(sql: """
                    UPDATE journal SET (\(list)) = (SELECT \(list) FROM saved WHERE saved.seq = 10 - journal.seq)
                    WHERE company = 'ACME' AND seq IN (3, 7)
                    """)
                try db.execute(sql: "DROP TABLE saved")
            }
            // The swap really happened.
            let entries = try fx.store.journalEntries(company: "ACME")
            #expect(entries.first { $0.seq == 3 }?.messageID == "A3")
            let v = try fx.store.verifyJournal()
            #expect(v.breaks.count == 1)
            let b = try #require(v.breaks.first)
            #expect(b.company == "ACME")
            #expect(b.seq == 3)
        }
    }

    @Test("(c') adjacent entries swapped: a break at the first of the two")
    func swappedAdjacentRows() throws {
        try withStore { fx in
            try Self.populate(fx)
            let q = try Self.attacker(fx)
            try q.write { db in
                let columns = try String.fetchAll(db, sql: "SELECT name FROM pragma_table_info('journal') WHERE name NOT IN ('company', 'seq')")
                let list = columns.joined(separator: ", ")
                try db.execute(sql: "CREATE TEMP TABLE saved AS SELECT * FROM journal WHERE company = 'ACME' AND seq IN (5, 6)")
                try db.execute(sql: """
                    UPDATE journal SET (\(list)) = (SELECT \(list) FROM saved WHERE saved.seq = 11 - journal.seq)
                    WHERE company = 'ACME' AND seq IN (5, 6)
                    """)
            }
            let b = try #require(try fx.store.verifyJournal().breaks.first)
            #expect(b.company == "ACME")
            #expect(b.seq == 5)
        }
    }

    @Test("(d) the last entry deleted: the head names a later entry")
    func deletedLastRow() throws {
        try withStore { fx in
            try Self.populate(fx)
            let q = try Self.attacker(fx)
            try q.write { db in try db.execute(sql: "DELETE FROM journal WHERE company = 'ACME' AND seq = 9") }
            let v = try fx.store.verifyJournal()
            #expect(v.breaks.count == 1)
            let b = try #require(v.breaks.first)
            #expect(b.company == "ACME")
            #expect(b.seq == 9)
            #expect(b.reason.contains("removed at the end"), "\(b.reason)")
            #expect(v.checked == 11)
        }
    }

    @Test("(d') a whole company's journal deleted: still reported from its head")
    func deletedWholeJournal() throws {
        try withStore { fx in
            try Self.populate(fx)
            let q = try Self.attacker(fx)
            try q.write { db in try db.execute(sql: "DELETE FROM journal WHERE company = 'BETA'") }
            let v = try fx.store.verifyJournal()
            #expect(v.breaks.map(\.company) == ["BETA"])
            #expect(v.breaks.map(\.seq) == [1])
        }
    }

    @Test("(e) a forged entry appended with a correct hash but without updating the head")
    func forgedAppend() throws {
        try withStore { fx in
            try Self.populate(fx)
            let last = try #require(try fx.store.journalEntries(company: "ACME").last)
            var forged = last
            forged.seq = last.seq + 1
            forged.messageID = "FORGED"
            forged.prevHash = last.hash
            forged.hash = forged.computeHash()
            let q = try DatabaseQueue(path: fx.dbPath)   // INSERT is allowed: append-only
            try q.write { db in try forged.insert(db) }
            let b = try #require(try fx.store.verifyJournal().breaks.first)
            #expect(b.company == "ACME")
        }
    }

    @Test("the hash covers every field: changing any one changes it")
    func hashCoversFields() throws {
        try withStore { fx in
            try fx.record(try fx.deposit("H1", [ciiInvoice()]))
            let e = try #require(try fx.store.journalEntries(company: "ACME").dropFirst().first)
            let mutations: [(String, (inout JournalEntry) -> Void)] = [
                ("company", { $0.company = "X" }), ("seq", { $0.seq += 1 }), ("at", { $0.at = "x" }),
                ("direction", { $0.direction = "sent" }), ("channel", { $0.channel = "as2" }), ("kind", { $0.kind = "flux" }),
                ("messageID", { $0.messageID = "x" }), ("fileName", { $0.fileName = "x" }), ("sha256", { $0.sha256 = "x" }),
                ("size", { $0.size += 1 }), ("invoiceNumber", { $0.invoiceNumber = nil }), ("invoiceDate", { $0.invoiceDate = "x" }),
                ("amountWithoutVAT", { $0.amountWithoutVAT = "1" }), ("amountWithVAT", { $0.amountWithVAT = "1" }),
                ("currency", { $0.currency = "USD" }), ("sender.code", { $0.sender.code = "x" }), ("sender.name", { $0.sender.name = "x" }),
                ("sender.siren", { $0.sender.siren = "x" }), ("sender.address", { $0.sender.address = "x" }),
                ("sender.role", { $0.sender.role = "x" }), ("receiver.code", { $0.receiver.code = "x" }),
                ("receiver.name", { $0.receiver.name = "x" }), ("receiver.siren", { $0.receiver.siren = "x" }),
                ("receiver.address", { $0.receiver.address = "x" }), ("receiver.role", { $0.receiver.role = "x" }),
                ("software", { $0.software = "x" }), ("status", { $0.status = "rejected" }), ("anomalies", { $0.anomalies = ["x"] }),
                ("prevHash", { $0.prevHash = "x" }),
            ]
            for (field, mutate) in mutations {
                var m = e
                mutate(&m)
                #expect(m.computeHash() != e.hash, "\(field)")
            }
        }
    }

    @Test("the canonical encoding is injective: no value can be shifted across a field boundary")
    func canonicalEncodingInjective() {
        let p = JournalParty()
        let a = JournalEntry(company: "C", seq: 1, at: "t", direction: "received", channel: "dropzone", kind: "invoice",
                             messageID: "M", fileName: "a\u{1F}b", sha256: "h", size: 1, invoiceNumber: nil, invoiceDate: nil,
                             amountWithoutVAT: nil, amountWithVAT: nil, currency: nil, sender: p, receiver: p, software: "s",
                             status: "accepted", anomalies: [], prevHash: "0", hash: "")
        var b = a
        b.fileName = "a"
        b.sha256 = "b\u{1F}h"
        var c = a
        c.anomalies = ["x\u{1E}y"]
        var d = a
        d.anomalies = ["x", "y"]
        #expect(a.computeHash() != b.computeHash())
        #expect(c.computeHash() != d.computeHash())
    }

    @Test("the store keeps appending a consistent chain after a clean reopen")
    func reopen() throws {
        try withTemporaryDirectory { dir in
            do {
                let fx = try StoreFixture(dir: dir)
                try fx.record(try fx.deposit("R1", [ciiInvoice(number: "R-1")]))
            }
            let fx = try StoreFixture(dir: dir)
            let (_, _, entries) = try fx.record(try fx.deposit("R2", [ciiInvoice(number: "R-2")]))
            #expect(entries.map(\.seq) == [4, 5, 6])
            #expect(try fx.store.verifyJournal().breaks.isEmpty)
        }
    }
}

extension JournalTamperTests {
    /// Journals already sealed must keep verifying: the canonical bytes of a known entry (every
    /// field set, non-ASCII, two anomalies, a detail) hash to the value the first encoder gave.
    @Test("the canonical encoding of a known entry is unchanged (golden hash)")
    func canonicalGolden() {
        let e = JournalEntry(company: "ACME", seq: 42, at: "2026-09-15T09:30:00.123Z", direction: "received", channel: "sftp",
                             kind: "invoice", messageID: "0b0e6c1a-6f42-4d0e-9d8a-3c1d2e4f5a6b", fileName: "facture é.xml",
                             sha256: String(repeating: "ab", count: 32), size: 123_456, invoiceNumber: "FA-2026-001",
                             invoiceDate: "2026-09-15", amountWithoutVAT: "1000.00", amountWithVAT: "1200.00", currency: "EUR",
                             sender: JournalParty(code: "S", name: "Vendeur SAS", siren: "100000009", address: "0009:100000009", role: "SE"),
                             receiver: JournalParty(code: "B", name: "Acheteur", siren: "200000008", address: nil, role: "BY"),
                             software: "flux-gateway 1.0", status: "rejected", anomalies: ["BR-01: missing", "BR-CO-10: sum ≠"],
                             prevHash: String(repeating: "0", count: 64), hash: "", detail: "d:1")
        #expect(e.computeHash() == "225d816ac95211672c97be3a99cdd7a88bf9a8107bd228e35aa5b4622a06eae7")
    }
}
