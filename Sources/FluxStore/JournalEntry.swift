import FluxCrypto
import Foundation
import GRDB

/// One party as the journal names it (BOI-TVA-DECLA-30-20-30 §440: code, name, SIREN/SIRET,
/// address, supplier or client role).
public struct JournalParty: Sendable, Codable, Equatable {
    public var code: String?
    public var name: String?
    public var siren: String?
    public var address: String?
    public var role: String?

    public init(code: String? = nil, name: String? = nil, siren: String? = nil, address: String? = nil, role: String? = nil) {
        self.code = code; self.name = name; self.siren = siren; self.address = address; self.role = role
    }
}

/// One entry of a company's sequential journal ("liste récapitulative séquentielle").
/// Entries are hash-chained: `hash = SHA-256(prev_hash ‖ canonical fields)`.
public struct JournalEntry: Sendable, Codable, Equatable {
    public var company: String
    public var seq: Int64
    /// Date and time of reception or emission, UTC, ISO 8601 with milliseconds.
    public var at: String
    /// "received" or "sent".
    public var direction: String
    /// "dropzone", "sftp", "as2".
    public var channel: String
    /// "flux" (a deposit), "invoice", "lifecycle", "receipt", "mdn".
    public var kind: String
    public var messageID: String
    public var fileName: String
    public var sha256: String
    public var size: Int64
    public var invoiceNumber: String?
    public var invoiceDate: String?
    public var amountWithoutVAT: String?
    public var amountWithVAT: String?
    public var currency: String?
    public var sender: JournalParty
    public var receiver: JournalParty
    public var software: String
    /// "accepted", "rejected", "refused", "sent".
    public var status: String
    /// Anomalies in plain language, "RULE [CODE] message", one per element.
    public var anomalies: [String]
    public var prevHash: String
    public var hash: String
    /// Plain-language detail: a lifecycle status, the Factur-X profile, warnings.
    public var detail: String? = nil

    /// The bytes the hash covers: every field in a fixed order, each prefixed with its UTF-8
    /// length (anomalies as a counted list), so that no text can move from one field to the
    /// next without changing the hash, whatever characters the fields hold.
    public func canonicalBytes() -> Data {
        let fields: [String] = [
            company, String(seq), at, direction, channel, kind, messageID, fileName, sha256, String(size),
            invoiceNumber ?? "", invoiceDate ?? "", amountWithoutVAT ?? "", amountWithVAT ?? "", currency ?? "",
            sender.code ?? "", sender.name ?? "", sender.siren ?? "", sender.address ?? "", sender.role ?? "",
            receiver.code ?? "", receiver.name ?? "", receiver.siren ?? "", receiver.address ?? "", receiver.role ?? "",
            software, status, String(anomalies.count),
        ] + anomalies + [prevHash] + (detail.map { ["detail", $0] } ?? [])
        // One buffer, no per-field temporaries: this runs for every entry written and verified.
        var out: [UInt8] = []
        out.reserveCapacity(fields.reduce(0) { $0 + $1.utf8.count + 8 })
        for f in fields {
            out.append(contentsOf: String(f.utf8.count).utf8)
            out.append(UInt8(ascii: ":"))
            out.append(contentsOf: f.utf8)
        }
        return Data(out)
    }

    public func computeHash() -> String { Digest.sha256Hex(canonicalBytes()) }

    /// The chain's first `prev_hash`: a fixed genesis value per company.
    public static func genesis(company: String) -> String {
        Digest.sha256Hex(Data("flux-gateway journal genesis \(company)".utf8))
    }
}

extension JournalEntry {
    init(row: Row) {
        let anomaliesJSON: String = row["anomalies"]
        self.init(
            company: row["company"], seq: row["seq"], at: row["at"], direction: row["direction"], channel: row["channel"],
            kind: row["kind"], messageID: row["message_id"], fileName: row["file_name"], sha256: row["sha256"], size: row["size"],
            invoiceNumber: row["invoice_number"], invoiceDate: row["invoice_date"],
            amountWithoutVAT: row["amount_without_vat"], amountWithVAT: row["amount_with_vat"], currency: row["currency"],
            sender: JournalParty(code: row["sender_code"], name: row["sender_name"], siren: row["sender_siren"], address: row["sender_address"], role: row["sender_role"]),
            receiver: JournalParty(code: row["receiver_code"], name: row["receiver_name"], siren: row["receiver_siren"], address: row["receiver_address"], role: row["receiver_role"]),
            software: row["software"], status: row["status"],
            anomalies: (try? JSONDecoder().decode([String].self, from: Data(anomaliesJSON.utf8))) ?? [anomaliesJSON],
            prevHash: row["prev_hash"], hash: row["hash"], detail: row["detail"])
    }

    func insert(_ db: Database) throws {
        // Most entries have no anomaly: no encoder for those.
        let anomaliesJSON = anomalies.isEmpty ? "[]" : String(decoding: try JSONEncoder().encode(anomalies), as: UTF8.self)
        // Cached: parsing this 31-column INSERT for every entry was 6% of the daemon's CPU
        // under AS2 load (perf, stop 18).
        try db.cachedStatement(sql: """
            INSERT INTO journal (company, seq, at, direction, channel, kind, message_id, file_name, sha256, size,
                invoice_number, invoice_date, amount_without_vat, amount_with_vat, currency,
                sender_code, sender_name, sender_siren, sender_address, sender_role,
                receiver_code, receiver_name, receiver_siren, receiver_address, receiver_role,
                software, status, anomalies, prev_hash, hash, detail)
            VALUES (?,?,?,?,?,?,?,?,?,?, ?,?,?,?,?, ?,?,?,?,?, ?,?,?,?,?, ?,?,?,?,?,?)
            """).execute(arguments: [company, seq, at, direction, channel, kind, messageID, fileName, sha256, size,
                             invoiceNumber, invoiceDate, amountWithoutVAT, amountWithVAT, currency,
                             sender.code, sender.name, sender.siren, sender.address, sender.role,
                             receiver.code, receiver.name, receiver.siren, receiver.address, receiver.role,
                             software, status, anomaliesJSON, prevHash, hash, detail])
    }
}

/// What the caller fills in; sequence, chain and hash are the store's business.
public struct JournalDraft: Sendable {
    public var at: Date
    public var direction: String
    public var channel: String
    public var kind: String
    public var messageID: String
    public var fileName: String
    public var sha256: String
    public var size: Int64
    public var invoiceNumber: String?
    public var invoiceDate: String?
    public var amountWithoutVAT: String?
    public var amountWithVAT: String?
    public var currency: String?
    public var sender: JournalParty
    public var receiver: JournalParty
    public var status: String
    public var anomalies: [String]
    public var detail: String?

    public init(at: Date, direction: String, channel: String, kind: String, messageID: String, fileName: String,
                sha256: String, size: Int64, invoiceNumber: String? = nil, invoiceDate: String? = nil,
                amountWithoutVAT: String? = nil, amountWithVAT: String? = nil, currency: String? = nil,
                sender: JournalParty, receiver: JournalParty, status: String, anomalies: [String], detail: String? = nil) {
        self.at = at; self.direction = direction; self.channel = channel; self.kind = kind; self.messageID = messageID
        self.fileName = fileName; self.sha256 = sha256; self.size = size; self.invoiceNumber = invoiceNumber
        self.invoiceDate = invoiceDate; self.amountWithoutVAT = amountWithoutVAT; self.amountWithVAT = amountWithVAT
        self.currency = currency; self.sender = sender; self.receiver = receiver; self.status = status; self.anomalies = anomalies
        self.detail = detail
    }
}

/// The first entry of a chain that does not match, and why.
public struct JournalBreak: Sendable, Equatable, CustomStringConvertible {
    public var company: String
    public var seq: Int64
    public var reason: String
    public var description: String { "\(company) entry #\(seq): \(reason)" }
}

/// ISO 8601 UTC with milliseconds, the journal's one time format.
public enum JournalTime {
    /// `2026-11-22T14:42:36.275Z`. Hand-made: a Foundation date formatter costs an ICU set-up
    /// per call, and this runs inside the write transaction for every journal entry.
    public static func format(_ d: Date) -> String {
        let t = d.timeIntervalSince1970
        var secs = time_t(t.rounded(.down))
        var ms = Int(((t - Double(secs)) * 1000).rounded(.down))
        if ms >= 1000 { secs += 1; ms -= 1000 }
        var tmv = tm()
        gmtime_r(&secs, &tmv)
        func pad(_ v: Int32, _ w: Int) -> String {
            let s = String(v)
            return s.count >= w ? s : String(repeating: "0", count: w - s.count) + s
        }
        return "\(pad(tmv.tm_year + 1900, 4))-\(pad(tmv.tm_mon + 1, 2))-\(pad(tmv.tm_mday, 2))T\(pad(tmv.tm_hour, 2)):\(pad(tmv.tm_min, 2)):\(pad(tmv.tm_sec, 2)).\(pad(Int32(ms), 3))Z"
    }
}
