import FluxInvoice
import Foundation

/// A company (partner account) as the store needs it for the journal and the partner file.
public struct PartnerIdentity: Sendable, Codable, Equatable {
    public var id: String
    public var name: String
    public var address: String
    public var siren: String?
    public var roles: [String]

    public init(id: String, name: String, address: String, siren: String?, roles: [String]) {
        self.id = id; self.name = name; self.address = address; self.siren = siren; self.roles = roles
    }

    /// The sender of what this partner deposits, as the journal names it.
    public var journalParty: JournalParty {
        JournalParty(code: id, name: name, siren: siren, address: address, role: roles.joined(separator: "+"))
    }
}

/// One understood file of a deposit, its bytes already durable in the spool.
public struct DepositItem: Sendable {
    public var name: String
    public var spool: SpoolEntry
    public var facts: InvoiceFacts
    public var anomalies: [Anomaly]
    public var warnings: [Anomaly]

    public init(name: String, spool: SpoolEntry, facts: InvoiceFacts, anomalies: [Anomaly], warnings: [Anomaly] = []) {
        self.name = name; self.spool = spool; self.facts = facts; self.anomalies = anomalies; self.warnings = warnings
    }
}

/// Everything one deposit's transaction writes.
public struct Deposit: Sendable {
    public var messageID: String
    public var partner: PartnerIdentity
    public var channel: String
    public var fileName: String
    public var spool: SpoolEntry
    public var format: String
    public var receivedAt: Date
    public var fluxAnomalies: [Anomaly]
    public var items: [DepositItem]

    public init(messageID: String, partner: PartnerIdentity, channel: String, fileName: String, spool: SpoolEntry,
                format: String, receivedAt: Date, fluxAnomalies: [Anomaly], items: [DepositItem]) {
        self.messageID = messageID; self.partner = partner; self.channel = channel; self.fileName = fileName
        self.spool = spool; self.format = format; self.receivedAt = receivedAt; self.fluxAnomalies = fluxAnomalies; self.items = items
    }
}

/// The verdict on one item after the store's own checks (duplicates).
public struct ItemOutcome: Sendable {
    public var invoiceID: String
    public var name: String
    public var facts: InvoiceFacts
    public var anomalies: [Anomaly]
    public var accepted: Bool { anomalies.isEmpty }
}

/// What a recorded deposit came to.
public struct DepositOutcome: Sendable {
    public var messageID: String
    public var fluxAccepted: Bool
    public var fluxAnomalies: [Anomaly]
    public var items: [ItemOutcome]
    public var sealedBatches: [String]
    /// True when the message was already recorded (a replay after a crash): nothing was written.
    public var alreadyRecorded: Bool
}

/// One signed CDAR document of a receipt (`fileName` and `fileName.p7s` in the outbox).
public struct ReceiptDocument: Sendable, Equatable {
    public var fileName: String
    public var cdar: Data
    public var signature: Data

    public init(fileName: String, cdar: Data, signature: Data) {
        self.fileName = fileName; self.cdar = cdar; self.signature = signature
    }
}

/// The signed receipt of a deposit (one flux-status document, then one per invoice), stored
/// with the deposit so that it can be (re)delivered after a crash.
public struct ReceiptFiles: Sendable {
    public var messageID: String
    public var company: String
    public var documents: [ReceiptDocument]

    public init(messageID: String, company: String, documents: [ReceiptDocument]) {
        self.messageID = messageID; self.company = company; self.documents = documents
    }
}

/// Batch policy: a batch seals at `maxInvoices`, `maxBytes`, `maxAge` or a month change.
public struct BatchPolicy: Sendable, Equatable {
    public var maxInvoices: Int
    public var maxBytes: Int64
    public var maxAge: TimeInterval

    public init(maxInvoices: Int = 500, maxBytes: Int64 = 64 << 20, maxAge: TimeInterval = 300) {
        self.maxInvoices = maxInvoices; self.maxBytes = maxBytes; self.maxAge = maxAge
    }
}

/// A batch as the queue shows it.
public struct BatchSummary: Sendable, Codable, Equatable {
    public var id: String
    public var company: String
    public var seller: String
    public var buyer: String
    public var month: String
    public var status: String
    public var invoiceCount: Int
    public var bytes: Int64
    public var openedAt: String
    public var sealedAt: String?
    public var sealReason: String?
    public var leaseUntil: String?
    public var deliveries: Int
}

/// One invoice of a batch manifest.
public struct ManifestInvoice: Sendable, Codable, Equatable {
    public var id: String
    public var file: String
    public var number: String?
    public var issueDate: String?
    public var typeCode: String?
    public var currency: String?
    public var totalWithoutVAT: String?
    public var totalVAT: String?
    public var totalWithVAT: String?
    public var sha256: String
    public var size: Int64
}

/// The signed description of a sealed batch (`manifest.json`).
public struct BatchManifest: Sendable, Codable, Equatable {
    public var batchID: String
    public var company: String
    public var seller: String
    public var buyer: String
    public var month: String
    public var sealedAt: String
    public var sealReason: String
    public var software: String
    public var invoices: [ManifestInvoice]
}

/// What `queue fetch` packs: the manifest, its signature and the invoices' originals.
public struct BatchContent: Sendable {
    public var summary: BatchSummary
    public var manifest: Data
    public var signature: Data
    /// (name inside the archive, spool sha256)
    public var files: [(name: String, sha256: String)]
}

/// A stored invoice, for `invoice show`.
public struct InvoiceRecord: Sendable, Codable {
    public var id: String
    public var messageID: String
    public var company: String
    public var memberName: String
    public var sha256: String
    public var size: Int64
    public var syntax: String
    public var number: String?
    public var issueDate: String?
    public var typeCode: String?
    public var currency: String?
    public var seller: String?
    public var buyer: String?
    public var sellerName: String?
    public var buyerName: String?
    public var totalWithoutVAT: String?
    public var totalVAT: String?
    public var totalWithVAT: String?
    public var status: String
    public var anomalies: [String]
    public var batchID: String?
}

/// The partner file ("fichier des partenaires"), fed by the system itself.
public struct PartnerFileEntry: Sendable, Codable {
    public var id: String
    public var name: String
    public var address: String
    public var siren: String?
    public var roles: String
    public var firstExchangeAt: String?
    public var lastExchangeAt: String?
    public var exitAt: String?
}

/// What recording a deposit gave: the final verdicts, the signed receipt, the journal entries.
struct RecordedDeposit: Sendable {
    var outcome: DepositOutcome
    var receipt: ReceiptFiles
    var journal: [JournalEntry]
}
