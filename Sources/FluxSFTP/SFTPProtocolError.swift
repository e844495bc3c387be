/// The byte stream is unusable: the caller must close the channel (and then call
/// `SFTPSession.close()`). Failures of single requests never throw; they are answered with
/// SSH_FXP_STATUS.
public struct SFTPProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Stable machine-readable code, one of the static constants below.
    public var code: String
    /// What happened, for logs.
    public var message: String

    /// Builds an error; prefer the factory methods below.
    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    /// A length field that cannot start a packet (zero).
    public static let framingCode = "sftp-framing"
    /// A length field above `SFTPLimits.maxPacket`.
    public static let tooLargeCode = "sftp-too-large"
    /// A packet other than SSH_FXP_INIT arrived first.
    public static let expectedInitCode = "sftp-expected-init"
    /// A second SSH_FXP_INIT arrived.
    public static let unexpectedInitCode = "sftp-unexpected-init"
    /// The client speaks a version below 3.
    public static let versionCode = "sftp-version"
    /// `receive` was called after `close()`.
    public static let closedCode = "sftp-closed"

    /// "code: message".
    public var description: String { "\(code): \(message)" }
}
