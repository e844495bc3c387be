import Foundation

/// Builds AS2 receipts (RFC 4130 §7.4): a multipart/report, optionally wrapped in a
/// multipart/signed with a detached PKCS #7 signature.
///
/// The report is built once as bytes, with CRLF line ends throughout, and those exact bytes are
/// what gets signed and what appears as the first part of the multipart/signed, so the signature
/// covers what the peer will hash. Values that came from the peer (Message-ID) are flattened to
/// one ASCII line, so a hostile value cannot inject fields.
public enum MDNBuilder {
    /// The multipart/report entity: `Content-Type: multipart/report;
    /// report-type=disposition-notification; boundary="..."` CRLF CRLF body. Its `raw` is
    /// exactly the bytes to sign. Body: a text/plain part (us-ascii, 7bit) with `humanText`, then
    /// a message/disposition-notification part with Reporting-UA, Original-Recipient (when set),
    /// Final-Recipient, Original-Message-ID, Disposition, Received-Content-MIC (when set) and
    /// `extraFields`.
    public static func report(_ fields: MDNFields, boundary: String) -> MIMEEntity {
        let b = legalBoundary(boundary)
        let contentType = "multipart/report; report-type=disposition-notification; boundary=\"\(b)\""
        let headerLine = "Content-Type: \(contentType)\r\n"

        var notification = ""
        func field(_ name: String, _ value: String) {
            notification += "\(name): \(oneLine(value))\r\n"
        }
        field("Reporting-UA", fields.reportingUA)
        if let o = fields.originalRecipient { field("Original-Recipient", o) }
        field("Final-Recipient", fields.finalRecipient)
        field("Original-Message-ID", fields.originalMessageID)
        field("Disposition", "\(oneLine(fields.dispositionMode)); \(oneLine(fields.disposition))")
        if let mic = fields.mic { field("Received-Content-MIC", mic.fieldValue) }
        for f in fields.extraFields { field(oneLine(f.name).filter { $0 != ":" && $0 != " " }, f.value) }

        var body = ""
        body += "--\(b)\r\n"
        body += "Content-Type: text/plain; charset=us-ascii\r\n"
        body += "Content-Transfer-Encoding: 7bit\r\n\r\n"
        body += asciiText(fields.humanText)
        body += "\r\n--\(b)\r\n"
        body += "Content-Type: message/disposition-notification\r\n"
        body += "Content-Transfer-Encoding: 7bit\r\n\r\n"
        body += notification
        body += "\r\n--\(b)--\r\n"

        let headerBytes = Data(headerLine.utf8)
        let bodyBytes = Data(body.utf8)
        var raw = Data(capacity: headerBytes.count + 2 + bodyBytes.count)
        raw.append(headerBytes)
        raw.append(contentsOf: [Byte.cr, Byte.lf])
        raw.append(bodyBytes)
        return MIMEEntity(
            raw: raw, headerBytes: headerBytes,
            headers: MIMEHeaders([MIMEHeader(name: "Content-Type", value: contentType)]),
            body: bodyBytes)
    }

    /// Wraps `report` in a multipart/signed with the detached signature `signatureDER` (made by
    /// the caller over `report.raw`). Returns the HTTP Content-Type value
    /// (`multipart/signed; protocol="application/pkcs7-signature"; micalg=...; boundary="..."`)
    /// and the HTTP body. The first part of the body is byte-for-byte `report.raw`.
    public static func signed(report: MIMEEntity, signatureDER: Data, micalg: String, boundary: String) -> (contentType: String, body: Data) {
        let b = legalBoundary(boundary)
        let alg = String(micalg.filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        let contentType = "multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=\(alg.isEmpty ? "sha-256" : alg); boundary=\"\(b)\""
        let signature = MIMETransferCoding.encodeBase64(signatureDER, lineLength: 76)
        var body = Data(capacity: report.raw.count + signature.count + 4 * b.utf8.count + 256)
        body.append(contentsOf: Array("--\(b)\r\n".utf8))
        body.append(report.raw)
        body.append(contentsOf: Array("\r\n--\(b)\r\n".utf8))
        body.append(contentsOf: Array((
            "Content-Type: application/pkcs7-signature; name=smime.p7s\r\n" +
            "Content-Transfer-Encoding: base64\r\n" +
            "Content-Disposition: attachment; filename=smime.p7s\r\n\r\n").utf8))
        body.append(signature)   // ends with CRLF, which belongs to the close delimiter
        body.append(contentsOf: Array("--\(b)--\r\n".utf8))
        return (contentType, body)
    }

    /// An unsigned receipt: the report's Content-Type for the HTTP header and its body as the
    /// HTTP body.
    public static func unsigned(report: MIMEEntity) -> (contentType: String, body: Data) {
        (report.headers["Content-Type"] ?? "multipart/report; report-type=disposition-notification", report.body)
    }

    /// A random boundary, legal per RFC 2046 and unlikely to occur in any content:
    /// `----=_FLUX_` and 32 hex digits (`=_` cannot appear in base64 or quoted-printable text).
    public static func makeBoundary() -> String {
        var rng = SystemRandomNumberGenerator()
        let hex = Array("0123456789abcdef")
        var s = "----=_FLUX_"
        for _ in 0..<2 {
            var v = rng.next() as UInt64
            for _ in 0..<16 { s.append(hex[Int(v & 0xF)]); v >>= 4 }
        }
        return s
    }

    /// The boundary restricted to RFC 2046 bchars, at most 70 characters, not ending in a
    /// space; a fresh random one when nothing legal is left.
    static func legalBoundary(_ boundary: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'()+_,-./:=? ")
        var b = String(boundary.filter { allowed.contains($0) }.prefix(70))
        while b.hasSuffix(" ") { b.removeLast() }
        return b.isEmpty ? makeBoundary() : b
    }

    /// A field value as one printable-ASCII line: line breaks and controls become spaces,
    /// non-ASCII becomes `?`.
    static func oneLine(_ s: String) -> String {
        var out = ""
        out.unicodeScalars.reserveCapacity(s.unicodeScalars.count)
        for u in s.unicodeScalars {
            if u.value < 0x20 || u.value == 0x7F { out.unicodeScalars.append(" ") }
            else if u.value >= 0x80 { out.unicodeScalars.append("?") }
            else { out.unicodeScalars.append(u) }
        }
        return trimWSP(out)
    }

    /// Text for a us-ascii 7bit part: CRLF line ends (from LF, CR or CRLF), non-ASCII as `?`,
    /// other controls except HT as spaces, ending with CRLF.
    static func asciiText(_ s: String) -> String {
        var out = ""
        var lastWasCR = false
        for u in s.unicodeScalars {
            switch u.value {
            case 0x0D:
                out += "\r\n"
                lastWasCR = true
                continue
            case 0x0A:
                if !lastWasCR { out += "\r\n" }
            case 0x09, 0x20..<0x7F:
                out.unicodeScalars.append(u)
            case 0x80...:
                out += "?"
            default:
                out += " "
            }
            lastWasCR = false
        }
        if !out.hasSuffix("\r\n") { out += "\r\n" }
        return out
    }
}
