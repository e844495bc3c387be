/// An error from FluxMIME: a stable `code` that callers and tests switch on, and a message for
/// humans (which may be reworded between releases).
///
/// Codes in use:
/// - `"mime-header"`: a malformed header block (a line without `:`, a continuation line with no
///   field before it, an empty field name).
/// - `"mime-limit"`: a `MIMELimits` bound was exceeded (header bytes, header count, parts).
/// - `"mime-boundary"`: a multipart entity without a usable boundary, with no delimiter, or
///   without its close delimiter (a truncated upload).
/// - `"mime-encoding"`: a body that does not decode under its Content-Transfer-Encoding, or an
///   unknown Content-Transfer-Encoding.
/// - `"mime-content-type"`: a missing or unparseable Content-Type where one is needed, or the
///   wrong media type (for example `parts()` on a non-multipart entity).
/// - `"mdn-format"`: an MDN whose disposition-notification part lacks a required field.
public struct MIMEError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stable identifier of what failed, such as `"mime-boundary"`.
    public var code: String
    /// What failed and where.
    public var message: String

    /// Creates an error with the given code and message.
    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    /// `code: message`.
    public var description: String { "\(code): \(message)" }
}

extension MIMEError {
    /// The codes as constants, so callers need not repeat string literals.
    public enum Code {
        public static let header = "mime-header"
        public static let limit = "mime-limit"
        public static let boundary = "mime-boundary"
        public static let encoding = "mime-encoding"
        public static let contentType = "mime-content-type"
        public static let mdnFormat = "mdn-format"
    }

    static func header(_ message: String) -> MIMEError { MIMEError(code: Code.header, message: message) }
    static func limit(_ message: String) -> MIMEError { MIMEError(code: Code.limit, message: message) }
    static func boundary(_ message: String) -> MIMEError { MIMEError(code: Code.boundary, message: message) }
    static func encoding(_ message: String) -> MIMEError { MIMEError(code: Code.encoding, message: message) }
    static func contentType(_ message: String) -> MIMEError { MIMEError(code: Code.contentType, message: message) }
    static func mdnFormat(_ message: String) -> MIMEError { MIMEError(code: Code.mdnFormat, message: message) }
}
