import FluxMIME
import Foundation

/// The AS2 headers of a request (RFC 4130 §6), read from the HTTP head.
public struct AS2Request: Sendable {
    public var as2From: String
    public var as2To: String
    /// As received, angle brackets included (it is echoed in Original-Message-ID).
    public var messageID: String
    public var subject: String?
    public var as2Version: String?
    /// Disposition-Notification-To: present means an MDN is requested.
    public var notificationTo: String?
    public var options: DispositionNotificationOptions?
    /// Receipt-Delivery-Option: an async MDN URL.
    public var receiptDeliveryOption: String?
    /// The MIME headers the HTTP head carries (Content-Type, Content-Transfer-Encoding, ...).
    public var mimeHeaders: [(name: String, value: String)]

    /// Reads the AS2 headers; a request without AS2-From, AS2-To or Message-ID cannot be
    /// attributed and gets a 400.
    public init(head: HTTPRequestHead) throws {
        func required(_ name: String) throws -> String {
            guard let v = head.header(name), !v.isEmpty else { throw HTTPParseError(400, "missing \(name) header: not an AS2 message") }
            return v
        }
        as2From = Self.unquoteID(try required("AS2-From"))
        as2To = Self.unquoteID(try required("AS2-To"))
        messageID = try required("Message-ID")
        guard messageID.utf8.count <= 998, as2From.utf8.count <= 128, as2To.utf8.count <= 128 else {
            throw HTTPParseError(400, "AS2-From, AS2-To (128 characters at most) or Message-ID (998) too long")
        }
        subject = head.header("Subject")
        as2Version = head.header("AS2-Version")
        notificationTo = head.header("Disposition-Notification-To")
        options = head.header("Disposition-Notification-Options").map { DispositionNotificationOptions($0) }
        receiptDeliveryOption = head.header("Receipt-Delivery-Option").map { $0.trimmingCharacters(in: .whitespaces) }
        mimeHeaders = head.headers.filter { h in
            let n = h.name.lowercased()
            // Content-Length and Content-Encoding belong to HTTP, not to the MIME entity.
            return (n.hasPrefix("content-") && n != "content-length" && n != "content-encoding") || n == "mime-version"
        }
        if !mimeHeaders.contains(where: { $0.name.caseInsensitiveEquals("content-type") }) {
            throw HTTPParseError(400, "missing Content-Type")
        }
    }

    /// RFC 4130 §6.2: an AS2 name may be a quoted-string; compare it unquoted.
    static func unquoteID(_ s: String) -> String {
        let t = s.trimmingCharacters(in: .whitespaces)
        guard t.count >= 2, t.hasPrefix("\""), t.hasSuffix("\"") else { return t }
        var out = ""
        var escape = false
        for c in t.dropFirst().dropLast() {
            if escape { out.append(c); escape = false } else if c == "\\" { escape = true } else { out.append(c) }
        }
        return out
    }

    /// How the sender wants its MDN.
    public var wantsMDN: Bool { notificationTo != nil }
    public var wantsAsyncMDN: Bool { wantsMDN && receiptDeliveryOption.map { !$0.isEmpty } == true }
}
