import FluxCore
import FluxCrypto
import FluxMIME
import Foundation

/// An MDN ready to go out: the HTTP/AS2 headers and the body.
public struct AS2MDN: Sendable {
    public var messageID: String
    public var headers: [(name: String, value: String)]
    public var body: Data
    public var signed: Bool
    /// `base64, alg` as written in Received-Content-MIC.
    public var mic: String?
}

/// What the sender asked of its receipt, and whether we can give it.
public struct AS2MDNPlan: Sendable {
    public var sign: Bool
    public var micAlgorithm: DigestAlgorithm
    /// The algorithm as the sender spelled it (echoed back).
    public var micSpelling: String
    /// Set when a `required` option cannot be met (RFC 3798 §2.2): the answer is this
    /// `failed/failure` disposition, whatever happened to the message.
    public var failure: AS2Disposition?

    /// The MIC's digest of `content`: the verified `signature`'s own digest of it when that
    /// signature used the MIC's algorithm (`content` must be what it signed), else hashed here.
    /// For a 1 MB payload the second SHA-256 pass was about 5% of the message's CPU.
    public func digest(of content: Data, signedAs signature: SignatureInfo?) -> Data {
        if let s = signature, s.digest == micAlgorithm, let d = s.contentDigest, d.count == micAlgorithm.byteCount { return d }
        return micAlgorithm.hash(content)
    }
}

/// Builds MDNs (RFC 4130 §7.4, RFC 8098): always multipart/report, signed with the
/// gateway's newest key when the sender asked, with the MIC it asked for.
public enum AS2MDNFactory {
    /// Reads Disposition-Notification-Options. The MIC algorithm is the first one offered that
    /// we support; without options it is the message's own signing digest, else SHA-256.
    public static func plan(for request: AS2Request, signature: SignatureInfo?) -> AS2MDNPlan {
        var plan = AS2MDNPlan(sign: false, micAlgorithm: signature?.digest ?? .sha256,
                              micSpelling: (signature?.digest ?? .sha256).micalgName, failure: nil)
        guard let options = request.options else { return plan }
        if let p = options.signedReceiptProtocol {
            if p.values.contains(where: { $0.lowercased() == "pkcs7-signature" }) {
                plan.sign = true
            } else if p.importance == "required" {
                plan.failure = .failure("unsupported format")
            }
        }
        if let m = options.signedReceiptMICAlg {
            if let (alg, spelling) = m.values.lazy.compactMap({ v in DigestAlgorithm(as2Name: v).map { ($0, v) } }).first {
                plan.micAlgorithm = alg
                plan.micSpelling = spelling
            } else if m.importance == "required" {
                plan.failure = .failure("unsupported MIC-algorithms")
            }
        }
        return plan
    }

    /// The MDN for `request`. `micContent` nil leaves Received-Content-MIC out (nothing could
    /// be read to hash, e.g. decryption failed). `signature`: the verified signature over
    /// `micContent`, whose digest is the MIC when the algorithms agree.
    public static func build(request: AS2Request, disposition: AS2Disposition, micContent: Data?, signature: SignatureInfo? = nil,
                             plan: AS2MDNPlan, identity: AS2LocalIdentity, detail: String?, now: Date = Date()) throws -> AS2MDN {
        let ourID = request.as2To
        var mic: MDNMIC?
        if let content = micContent {
            mic = MDNMIC(base64: plan.digest(of: content, signedAs: signature).base64EncodedString(), algorithm: plan.micSpelling)
        }
        var text = "The AS2 message \(request.messageID) sent by \(request.as2From) to \(ourID) "
        text += disposition.isPositive ? "was received and " : "could not be processed: "
        text += disposition.description
        if let d = detail, !d.isEmpty { text += ".\r\n\r\n" + d }
        text += "\r\n"
        let fields = MDNFields(reportingUA: identity.reportingUA, originalRecipient: "rfc822; \(ourID)",
                               finalRecipient: "rfc822; \(ourID)", originalMessageID: request.messageID,
                               disposition: disposition.description, mic: mic, humanText: text)
        let report = MDNBuilder.report(fields, boundary: MDNBuilder.makeBoundary())
        let contentType: String
        let body: Data
        if plan.sign {
            let sig = try identity.signer.signDetached(report.raw, digest: plan.micAlgorithm)
            (contentType, body) = MDNBuilder.signed(report: report, signatureDER: sig, micalg: plan.micSpelling, boundary: MDNBuilder.makeBoundary())
        } else {
            (contentType, body) = MDNBuilder.unsigned(report: report)
        }
        let messageID = "<\(RandomID.uuid())@\(sanitize(ourID))>"
        let headers: [(name: String, value: String)] = [
            ("AS2-Version", "1.2"),
            ("AS2-From", quoteID(ourID)),
            ("AS2-To", quoteID(request.as2From)),
            ("Message-ID", messageID),
            ("Date", httpDate(now)),
            ("Subject", "Message Disposition Notification"),
            ("MIME-Version", "1.0"),
            ("Content-Type", contentType),
        ]
        return AS2MDN(messageID: messageID, headers: headers, body: body, signed: plan.sign,
                      mic: mic.map { "\($0.base64), \($0.algorithm)" })
    }

    /// RFC 4130 §6.2: names with spaces or specials travel as quoted-strings.
    static func quoteID(_ id: String) -> String {
        let plain = id.utf8.allSatisfy { c in c > 0x20 && c < 0x7F && c != UInt8(ascii: "\"") && c != UInt8(ascii: "\\") }
        if plain { return id }
        return "\"" + id.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    static func sanitize(_ id: String) -> String {
        let s = String(id.unicodeScalars.filter { CharacterSet.alphanumerics.contains($0) || $0 == "-" || $0 == "." }.prefix(64))
        return s.isEmpty ? "flux-gateway" : s
    }

    /// IMF-fixdate (RFC 9110 §5.6.7).
    public static func httpDate(_ d: Date) -> String {
        var t = time_t(d.timeIntervalSince1970)
        var tmv = tm()
        gmtime_r(&t, &tmv)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(days[Int(tmv.tm_wday)]), \(two(tmv.tm_mday)) \(months[Int(tmv.tm_mon)]) \(tmv.tm_year + 1900) \(two(tmv.tm_hour)):\(two(tmv.tm_min)):\(two(tmv.tm_sec)) GMT"
    }
}
