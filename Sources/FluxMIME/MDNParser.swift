import Foundation

/// An MDN as parsed by `MDNParser`.
public struct ParsedMDN: Sendable, Equatable {
    public var fields: MDNFields
    /// For a signed MDN: the exact bytes of the signed entity (first part of the
    /// multipart/signed), to verify `signatureDER` over. Nil when unsigned.
    public var signedEntity: Data?
    /// For a signed MDN: the detached PKCS #7 signature, transfer-decoded.
    public var signatureDER: Data?
    /// For a signed MDN: the `micalg` parameter as spelled.
    public var micalg: String?

    public init(fields: MDNFields, signedEntity: Data? = nil, signatureDER: Data? = nil, micalg: String? = nil) {
        self.fields = fields
        self.signedEntity = signedEntity
        self.signatureDER = signatureDER
        self.micalg = micalg
    }
}

/// Parses AS2 receipts (for tests, and for our own outbound AS2): multipart/signed around a
/// multipart/report, or a bare multipart/report. Lenient in what peers get wrong (field name
/// case, a bare message/disposition-notification body as sent by some servers, django-pyas2#48),
/// strict where it matters: the signed bytes are returned exactly as received, and a report
/// without Disposition or recipient is an error (`mdn-format`).
public enum MDNParser {
    public static func parse(contentType: String, body: Data, limits: MIMELimits = .default) throws -> ParsedMDN {
        guard let ct = ContentType(contentType) else {
            throw MIMEError.contentType("unparseable MDN Content-Type '\(contentType)'")
        }
        let outer = MIMEEntity.fromHTTP(headers: [(name: "Content-Type", value: contentType)], body: body)
        if ct.mediaType == "multipart/signed" {
            let parts = try outer.parts(limits: limits)
            guard parts.count >= 2 else {
                throw MIMEError.contentType("multipart/signed MDN with \(parts.count) part(s), expected 2")
            }
            let signature = try parts[1].decodedBody()
            let fields = try parseReport(parts[0], limits: limits)
            return ParsedMDN(fields: fields, signedEntity: parts[0].raw, signatureDER: signature, micalg: ct[parameter: "micalg"])
        }
        return ParsedMDN(fields: try parseReport(outer, limits: limits))
    }

    /// The fields of a multipart/report (or a bare message/disposition-notification) entity.
    public static func parseReport(_ entity: MIMEEntity, limits: MIMELimits = .default) throws -> MDNFields {
        guard let ct = entity.contentType else {
            throw MIMEError.contentType("MDN entity without a parseable Content-Type")
        }
        if ct.mediaType == "message/disposition-notification" {
            return try fields(notification: entity.decodedBody(), humanText: "", limits: limits)
        }
        guard ct.isMultipart else {
            throw MIMEError.contentType("\(ct.mediaType) is not an MDN (expected multipart/report)")
        }
        let parts = try entity.parts(limits: limits)
        guard let index = parts.firstIndex(where: { $0.contentType?.mediaType == "message/disposition-notification" }) else {
            throw MIMEError.mdnFormat("multipart/report without a message/disposition-notification part")
        }
        var human = ""
        if let text = parts[..<index].first(where: { $0.contentType == nil || $0.contentType?.type == "text" }) {
            let bytes = try text.decodedBody()
            human = bytes.withUnsafeBytes { headerText($0) }
            while let last = human.unicodeScalars.last, last == "\r" || last == "\n" {
                human.unicodeScalars.removeLast()
            }
        }
        return try fields(notification: parts[index].decodedBody(), humanText: human, limits: limits)
    }

    private static func fields(notification: Data, humanText: String, limits: MIMELimits) throws -> MDNFields {
        let block = try notification.withUnsafeBytes {
            try HeaderBlockParser.parse($0, limits: limits, lenientFieldBlock: true)
        }
        let headers = MIMEHeaders(block.fields)
        guard let dispositionValue = headers["Disposition"] else {
            throw MIMEError.mdnFormat("disposition-notification without a Disposition field")
        }
        let originalRecipient = headers["Original-Recipient"]
        guard let finalRecipient = headers["Final-Recipient"] ?? originalRecipient else {
            throw MIMEError.mdnFormat("disposition-notification without Final-Recipient or Original-Recipient")
        }
        var mode = ""
        var disposition = dispositionValue
        if let semi = dispositionValue.firstIndex(of: ";") {
            mode = trimWSP(dispositionValue[..<semi])
            disposition = trimWSP(dispositionValue[dispositionValue.index(after: semi)...])
        }
        var mic: MDNMIC?
        if let micValue = headers["Received-Content-MIC"] {
            if let comma = micValue.lastIndex(of: ",") {
                mic = MDNMIC(base64: trimWSP(micValue[..<comma]), algorithm: trimWSP(micValue[micValue.index(after: comma)...]))
            } else {
                mic = MDNMIC(base64: trimWSP(micValue), algorithm: "")
            }
        }
        let known: Set<String> = ["reporting-ua", "original-recipient", "final-recipient", "original-message-id", "disposition", "received-content-mic"]
        return MDNFields(
            reportingUA: headers["Reporting-UA"] ?? "",
            originalRecipient: originalRecipient,
            finalRecipient: finalRecipient,
            originalMessageID: headers["Original-Message-ID"] ?? "",
            dispositionMode: mode,
            disposition: disposition,
            mic: mic,
            humanText: humanText,
            extraFields: block.fields.filter { !known.contains(asciiLowercased($0.name)) })
    }
}
