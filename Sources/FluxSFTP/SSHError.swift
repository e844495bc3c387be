/// An error from the SSH transport: a stable, machine-readable `code` plus a message for humans.
///
/// Codes in use: `"ssh-init"`, `"host-key"`, `"host-key-generate"`, `"bind-options"`, `"listen"`,
/// `"thread"`, `"already-started"`. Callers switch on the code; the wording may change.
public struct SSHError: Error, Sendable, CustomStringConvertible {
    /// Stable identifier of what failed, such as `"listen"`.
    public var code: String
    /// What failed and why, including libssh's or the system's own reason when there was one.
    public var message: String

    /// Creates an error with the given code and message.
    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    /// `code: message`.
    public var description: String { "\(code): \(message)" }
}
