/// The Received-Content-MIC of an MDN (RFC 4130 §7.4.3): `base64, algorithm`.
public struct MDNMIC: Sendable, Equatable {
    /// The digest, base64 as written in the MDN.
    public var base64: String
    /// The algorithm as spelled (`sha-256`, `sha256`, `sha1`...): echo the peer's spelling.
    public var algorithm: String

    public init(base64: String, algorithm: String) {
        self.base64 = base64
        self.algorithm = algorithm
    }

    /// `base64, algorithm` as written in the field.
    public var fieldValue: String { "\(base64), \(algorithm)" }
}

/// The fields of an AS2 MDN (RFC 3798/8098 message/disposition-notification, as profiled by
/// RFC 4130 §7.4), plus the human-readable text part.
public struct MDNFields: Sendable, Equatable {
    /// `Reporting-UA`, e.g. `flux-gateway 1.0`.
    public var reportingUA: String
    /// `Original-Recipient`, e.g. `rfc822; GATEWAY`. Optional in RFC 3798, but pyas2lib breaks
    /// when both it and Final-Recipient are missing (django-pyas2#52).
    public var originalRecipient: String?
    /// `Final-Recipient`, e.g. `rfc822; GATEWAY`.
    public var finalRecipient: String
    /// `Original-Message-ID` as received, angle brackets included.
    public var originalMessageID: String
    /// The action/sending mode part of `Disposition`.
    public var dispositionMode: String = "automatic-action/MDN-sent-automatically"
    /// The disposition after the `;`: `processed`, `processed/warning: duplicate-document`,
    /// `processed/error: decryption-failed`, `failed/failure: unsupported MIC-algorithms`...
    public var disposition: String
    /// `Received-Content-MIC`; always present in our signed receipts (AS2.md §0.2).
    public var mic: MDNMIC?
    /// The text/plain part, for humans.
    public var humanText: String
    /// Other fields of the notification, in order (`Warning`, `Error`, `Failure`, extensions).
    /// The builder writes them after Received-Content-MIC; the parser collects them here.
    public var extraFields: [MIMEHeader] = []

    public init(
        reportingUA: String,
        originalRecipient: String? = nil,
        finalRecipient: String,
        originalMessageID: String,
        dispositionMode: String = "automatic-action/MDN-sent-automatically",
        disposition: String,
        mic: MDNMIC? = nil,
        humanText: String,
        extraFields: [MIMEHeader] = []
    ) {
        self.reportingUA = reportingUA
        self.originalRecipient = originalRecipient
        self.finalRecipient = finalRecipient
        self.originalMessageID = originalMessageID
        self.dispositionMode = dispositionMode
        self.disposition = disposition
        self.mic = mic
        self.humanText = humanText
        self.extraFields = extraFields
    }

    /// Lowercased disposition type: `processed` or `failed` (the part before any `/`).
    public var dispositionType: String {
        asciiLowercased(trimWSP(disposition.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""))
    }

    /// The modifier after the `/`, trimmed, as written (`error: decryption-failed`); nil when
    /// there is none. Peers misspell modifiers (OpenAS2 sends `decompresion-failed`), so match
    /// leniently.
    public var dispositionModifier: String? {
        guard let slash = disposition.firstIndex(of: "/") else { return nil }
        let m = trimWSP(disposition[disposition.index(after: slash)...])
        return m.isEmpty ? nil : m
    }

    /// Whether the receiver processed the message without error (`processed` or
    /// `processed/warning...`).
    public var isProcessedWithoutError: Bool {
        guard dispositionType == "processed" else { return false }
        guard let m = dispositionModifier else { return true }
        return asciiLowercased(m).hasPrefix("warning")
    }
}
