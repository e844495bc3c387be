import Foundation

/// One HTTP header line as stored with an MDN (order and spelling kept).
public struct HeaderField: Sendable, Codable, Equatable {
    public var name: String
    public var value: String
    public init(_ name: String, _ value: String) { self.name = name; self.value = value }
}

/// An MDN as it went (or goes) out: its AS2/HTTP headers and body, kept for non-repudiation and
/// to answer a resend of the same message with the very same receipt.
public struct StoredMDN: Sendable, Equatable {
    public var messageID: String
    public var headers: [HeaderField]
    public var body: Data
    public init(messageID: String, headers: [HeaderField], body: Data) {
        self.messageID = messageID; self.headers = headers; self.body = body
    }
}

/// How the sender asked for its MDN.
public enum MDNMode: String, Sendable, Codable {
    case none, sync, async
}

/// Everything the store keeps about one AS2 request attributed to a partner.
public struct AS2Exchange: Sendable {
    /// Our id for the message; also the deposit's message id when a payload was taken in.
    public var id: String
    public var partner: PartnerIdentity
    public var as2From: String
    public var as2To: String
    public var as2MessageID: String
    public var receivedAt: Date
    /// The request as received (header block and body) in the spool.
    public var raw: SpoolEntry
    /// The payload name the journal shows.
    public var fileName: String
    /// The MDN disposition, e.g. `processed` or `processed/error: decryption-failed`.
    public var disposition: String
    /// True for `processed` and `processed/warning`: only those are deduplicated.
    public var positive: Bool
    /// Plain-language security summary: signature, encryption, compression, algorithms.
    public var security: String
    /// `base64, alg` as put in Received-Content-MIC.
    public var mic: String?
    /// Anomalies for the journal (the error behind a negative disposition).
    public var anomalies: [String]
    public var mdn: StoredMDN?
    public var mdnMode: MDNMode
    public var asyncURL: String?

    public init(id: String, partner: PartnerIdentity, as2From: String, as2To: String, as2MessageID: String, receivedAt: Date,
                raw: SpoolEntry, fileName: String, disposition: String, positive: Bool, security: String, mic: String?,
                anomalies: [String], mdn: StoredMDN?, mdnMode: MDNMode, asyncURL: String?) {
        self.id = id; self.partner = partner; self.as2From = as2From; self.as2To = as2To; self.as2MessageID = as2MessageID
        self.receivedAt = receivedAt; self.raw = raw; self.fileName = fileName; self.disposition = disposition
        self.positive = positive; self.security = security; self.mic = mic; self.anomalies = anomalies; self.mdn = mdn
        self.mdnMode = mdnMode; self.asyncURL = asyncURL
    }
}

/// An earlier positive exchange with the same (AS2-From, Message-ID).
public struct AS2Previous: Sendable {
    public var id: String
    public var mdn: StoredMDN?
    public var mdnMode: MDNMode
    public var asyncURL: String?
}

/// What `recordAS2` did.
public enum AS2RecordResult: Sendable {
    /// Written; the deposit outcome when a payload was taken in.
    case recorded(DepositOutcome?, [JournalEntry])
    /// A resend of a message already answered positively: nothing enqueued, the stored MDN is
    /// to be returned again.
    case duplicate(AS2Previous, [JournalEntry])
}

/// An async MDN waiting in the outbox.
public struct PendingAsyncMDN: Sendable {
    public var as2ID: String
    public var company: String
    public var url: String
    public var attempts: Int
    public var mdn: StoredMDN
    public var as2From: String
    public var as2To: String
}
