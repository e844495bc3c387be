import Foundation

extension MIMEEntity {
    /// The body parts of a multipart entity, split on the boundary from Content-Type.
    ///
    /// Each part's `raw` is exactly the bytes between the line break ending one delimiter line
    /// and the line break before the next delimiter (RFC 2046 §5.1.1: that line break belongs to
    /// the delimiter), i.e. what a multipart/signed signature covers. Preamble and epilogue are
    /// ignored; transport padding (SP/HT after the boundary) is tolerated; delimiter lines may
    /// end in CRLF or a bare LF. Nested multiparts are not expanded: call `parts()` on a part.
    ///
    /// Throws `mime-content-type` when the entity is not multipart, `mime-boundary` when the
    /// boundary parameter is missing or unusable, no delimiter is found or the close delimiter
    /// is missing (a truncated upload), `mime-limit` for more than `limits.maxParts` parts, and
    /// whatever `parse` throws for a part's header block.
    public func parts(limits: MIMELimits = .default) throws -> [MIMEEntity] {
        guard let ct = contentType else {
            throw MIMEError.contentType("no parseable Content-Type; cannot split into parts")
        }
        guard ct.isMultipart else {
            throw MIMEError.contentType("\(ct.mediaType) is not multipart")
        }
        guard let boundary = ct[parameter: "boundary"] else {
            throw MIMEError.boundary("\(ct.mediaType) without a boundary parameter")
        }
        let ranges = try MultipartSplitter.split(body, boundary: boundary, maxParts: limits.maxParts)
        return try ranges.map { range in
            try MIMEEntity.parse(body.subdata(in: range), limits: limits)
        }
    }
}
