import Foundation

/// A MIME entity (RFC 2045) that keeps the exact bytes it was parsed from.
///
/// AS2 signatures and MICs are computed over exact bytes: the signed part of a multipart/signed
/// is hashed as received, headers included. Re-serialising headers (case, order, folding,
/// whitespace) is the classic cause of MIC mismatches, so this type exposes `raw`, `headerBytes`
/// and `body` as the original bytes and offers parsed headers only for lookups.
///
/// All `Data` values handed out are zero-based copies (never slices of a parent buffer), so
/// indexing them from 0 is safe. A parse therefore costs roughly one copy of the entity.
public struct MIMEEntity: Sendable {
    /// The whole entity exactly as received: header block, blank line, body. For a part of a
    /// multipart: exactly the bytes between the line break ending the boundary delimiter line
    /// and the line break preceding the next delimiter (RFC 2046: that line break belongs to
    /// the delimiter). This is what a multipart/signed signature covers.
    public let raw: Data
    /// The header block as received, including the line break ending the last field and
    /// excluding the blank line. Empty when the entity has no headers.
    public let headerBytes: Data
    /// Header fields for lookups (unfolded, trimmed).
    public let headers: MIMEHeaders
    /// The body as received, still transfer-encoded.
    public let body: Data
    /// The parsed Content-Type; nil when absent or unparseable.
    public let contentType: ContentType?
    /// Lowercased, trimmed Content-Transfer-Encoding; nil when absent. RFC 4130 §5.2.1: in AS2 an
    /// absent CTE MUST be treated as binary (no canonicalisation, no failure).
    public let transferEncoding: String?

    init(raw: Data, headerBytes: Data, headers: MIMEHeaders, body: Data) {
        self.raw = raw
        self.headerBytes = headerBytes
        self.headers = headers
        self.body = body
        self.contentType = headers["Content-Type"].flatMap { ContentType($0) }
        if let cte = headers["Content-Transfer-Encoding"] {
            let v = asciiLowercased(trimWSP(cte))
            self.transferEncoding = v.isEmpty ? nil : v
        } else {
            self.transferEncoding = nil
        }
    }

    /// Parses an entity: the header block ends at the first empty line (CRLF CRLF, or LF LF from
    /// sloppy senders). Data that starts with a blank line has no headers; data without a blank
    /// line is all headers and has an empty body.
    ///
    /// Throws `mime-header` for a malformed header block and `mime-limit` when it exceeds
    /// `limits`. The body is not inspected.
    public static func parse(_ data: Data, limits: MIMELimits = .default) throws -> MIMEEntity {
        let data = data.rebased
        let block = try data.withUnsafeBytes { try HeaderBlockParser.parse($0, limits: limits) }
        return MIMEEntity(
            raw: data,
            headerBytes: data.prefix(block.headerEnd).rebased,
            headers: MIMEHeaders(block.fields),
            body: block.bodyStart >= data.count ? Data() : data.suffix(from: block.bodyStart).rebased
        )
    }

    /// The MIME header fields that are taken from HTTP headers by `fromHTTP`, in lowercase.
    ///
    /// RFC 2045/2183 MIME fields plus Content-Language (RFC 3282). Deliberately *not* kept:
    /// Content-Length, Content-Encoding, Content-Range, Content-Location, which describe the
    /// HTTP message, not the MIME entity; AS2 and transport headers (AS2-From, Message-ID...).
    public static let mimeHeaderNamesFromHTTP: Set<String> = [
        "content-type", "content-transfer-encoding", "content-disposition",
        "content-id", "content-description", "content-language", "mime-version",
    ]

    /// The outer AS2 entity. HTTP carries the outer MIME headers as HTTP headers and does not
    /// keep their bytes, so this builds `headerBytes` as `Name: value\r\n` for each header in
    /// `mimeHeaderNamesFromHTTP`, in the given order, with the given spelling of names; `raw`
    /// is that header block, CRLF, and `body`.
    ///
    /// The outer headers rarely matter for the MIC: a signed message's MIC covers the first part
    /// of the multipart/signed (inside the body, byte-exact); an encrypted message's MIC covers
    /// the decrypted entity; a plain message's MIC covers the content only.
    public static func fromHTTP(headers: [(name: String, value: String)], body: Data) -> MIMEEntity {
        var fields: [MIMEHeader] = []
        var block = Data()
        for (name, value) in headers where mimeHeaderNamesFromHTTP.contains(asciiLowercased(trimWSP(name))) {
            // Line breaks inside a value would forge extra header lines: flatten them.
            // (Scalars, not Characters: "\r\n" is one Character and would slip through.)
            var flat = String.UnicodeScalarView()
            for u in value.unicodeScalars { flat.append(u == "\r" || u == "\n" ? " " : u) }
            let clean = trimWSP(String(flat))
            let cleanName = trimWSP(name)
            fields.append(MIMEHeader(name: cleanName, value: clean))
            block.append(contentsOf: Array("\(cleanName): \(clean)\r\n".utf8))
        }
        let body = body.rebased
        var raw = Data(capacity: block.count + 2 + body.count)
        raw.append(block)
        raw.append(contentsOf: [Byte.cr, Byte.lf])
        raw.append(body)
        return MIMEEntity(raw: raw, headerBytes: block, headers: MIMEHeaders(fields), body: body)
    }

    /// The body decoded per Content-Transfer-Encoding: base64 (whitespace ignored, any other
    /// stray character rejected), quoted-printable, and 7bit/8bit/binary/absent as is.
    /// Throws `mime-encoding` for undecodable data or an unknown encoding.
    public func decodedBody() throws -> Data {
        switch transferEncoding {
        case nil, "7bit", "8bit", "binary":
            return body
        case "base64":
            return try MIMETransferCoding.decodeBase64(body)
        case "quoted-printable":
            return try MIMETransferCoding.decodeQuotedPrintable(body)
        case let other?:
            throw MIMEError.encoding("unsupported Content-Transfer-Encoding '\(other)'")
        }
    }

    /// The parsed Content-Disposition, nil when absent.
    public var contentDisposition: ContentDisposition? {
        headers["Content-Disposition"].map { ContentDisposition($0) }
    }

    /// File name from Content-Disposition `filename` (or a simple RFC 2231 `filename*`), else
    /// the Content-Type `name` parameter; nil otherwise. Not sanitised: callers must not use it
    /// as a path.
    public var fileName: String? {
        if let cd = contentDisposition {
            if let f = cd[parameter: "filename"], !f.isEmpty { return f }
            if let f = cd[parameter: "filename*"], let decoded = Self.decodeRFC2231(f), !decoded.isEmpty { return decoded }
        }
        if let n = contentType?[parameter: "name"], !n.isEmpty { return n }
        return nil
    }

    /// `charset'language'percent-encoded` (RFC 2231 §4), UTF-8 or Latin-1 charset.
    static func decodeRFC2231(_ value: String) -> String? {
        let pieces = value.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
        guard pieces.count == 3 else { return value }
        var bytes: [UInt8] = []
        var u = Array(pieces[2].utf8)[...]
        while let c = u.popFirst() {
            if c == UInt8(ascii: "%"), u.count >= 2,
               let h = hexValue(u[u.startIndex]), let l = hexValue(u[u.startIndex + 1]) {
                bytes.append(h << 4 | l)
                u = u.dropFirst(2)
            } else {
                bytes.append(c)
            }
        }
        return headerText(bytes)
    }
}

@inline(__always) func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case 0x30...0x39: return c - 0x30
    case 0x41...0x46: return c - 0x41 + 10
    case 0x61...0x66: return c - 0x61 + 10
    default: return nil
    }
}

extension MIMEEntity {
    /// Whether the body travels unencoded as raw octets: CTE `binary`, or no CTE at all, which
    /// RFC 4130 §5.2.1 says an AS2 receiver must treat as binary (IBM Sterling, OpenText send
    /// none).
    public var isBinaryTransfer: Bool { transferEncoding == nil || transferEncoding == "binary" }

    /// The bytes to hash for a MIC or to verify a signature over (AS2.md §0.1, §2): `raw`
    /// unchanged for a binary transfer, otherwise `raw` with bare LFs turned into CRLF (a no-op,
    /// without a copy, for the usual CRLF sender). Verifiers that want to be lenient with
    /// senders who canonicalise differently can try `raw` and this in turn.
    public var micBytes: Data { isBinaryTransfer ? raw : MIMECanonical.crlf(raw) }
}
