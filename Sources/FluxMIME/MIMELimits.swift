/// Bounds that keep a hostile or broken peer from making the parser do unbounded work.
///
/// An AS2 message is attacker-controlled until its signature is checked, and the parser runs
/// before that, so every loop that depends on input size is capped here. Body size is not
/// limited here: the HTTP layer caps the request size before FluxMIME sees it.
public struct MIMELimits: Sendable, Equatable {
    /// Largest header block (bytes up to, not including, the blank line) of one entity.
    public var maxHeaderBytes: Int
    /// Most header fields in one entity (a folded field counts once).
    public var maxHeaderCount: Int
    /// Most body parts in one multipart entity (AS2 needs 2; MDNs 2 or 3).
    public var maxParts: Int

    public init(maxHeaderBytes: Int = 64 * 1024, maxHeaderCount: Int = 256, maxParts: Int = 64) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxParts = maxParts
    }

    /// 64 KiB of headers, 256 fields, 64 parts.
    public static let `default` = MIMELimits()
}
