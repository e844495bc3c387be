/// An error from FluxCrypto: a stable, machine-readable `code` plus a message for humans that
/// carries OpenSSL's own reasons.
///
/// Codes in use: `"key-load"`, `"key-export"`, `"keygen"`, `"cert-load"`, `"cert-export"`,
/// `"cert-create"`, `"cms-sign"`, `"cms-verify"`, `"cms-verify-format"`, `"cms-verify-signer"`,
/// `"cms-verify-digest"`, `"cms-encrypt"`, `"cms-decrypt"`, `"cms-decrypt-format"`,
/// `"cms-decrypt-recipient"`, `"cms-compress"`, `"cms-decompress"`, `"cms-decompress-limit"`,
/// `"file-write"`. Callers switch on the code; the message wording may change between releases.
public struct CryptoError: Error, Sendable, CustomStringConvertible {
    /// Stable identifier of what failed, such as `"cms-verify"`.
    public var code: String
    /// What failed and why, including the drained OpenSSL error queue when there was one.
    public var message: String

    /// Creates an error with the given code and message.
    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    /// `code: message`.
    public var description: String { "\(code): \(message)" }
}

extension CryptoError {
    /// Builds an error from `context` plus everything on this thread's OpenSSL error queue, and
    /// empties the queue so a later, unrelated failure does not report these stale reasons.
    static func openSSL(_ code: String, _ context: String) -> CryptoError {
        let reasons = OpenSSLErrorQueue.drain()
        let message = reasons.isEmpty ? context : "\(context): \(reasons.joined(separator: "; "))"
        return CryptoError(code: code, message: message)
    }
}
