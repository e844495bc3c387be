import Foundation

/// The CMS content type that carried an encrypted message.
public enum CMSEnvelopeKind: String, Sendable {
    /// EnvelopedData (RFC 5652 §6): CBC ciphers, no integrity of its own.
    case enveloped
    /// AuthEnvelopedData (RFC 5083): AES-GCM, the ciphertext is authenticated.
    case authEnveloped
}

/// What `CMSDecryptor.decrypt(der:keys:)` recovered, and how the message was protected (for the
/// MDN, the audit journal and partner-policy checks).
public struct DecryptedContent: Sendable {
    /// The decrypted bytes (for AS2, a MIME entity).
    public var content: Data
    /// EnvelopedData or AuthEnvelopedData.
    public var kind: CMSEnvelopeKind
    /// Content-encryption algorithm as OpenSSL names it, lowercased: `aes-128-cbc`, `aes-192-cbc`,
    /// `aes-256-cbc`, `des-ede3-cbc`, `aes-128-gcm`, `aes-256-gcm`, ...
    public var cipher: String
    /// Key transport of the RecipientInfo that opened the message: `rsaes-pkcs1-v1_5` or `rsaes-oaep`.
    public var keyTransport: String
    /// The certificate of the key that opened the message.
    public var recipient: Certificate

    /// Creates a result (public so that callers can build one in their own tests).
    public init(content: Data, kind: CMSEnvelopeKind, cipher: String, keyTransport: String, recipient: Certificate) {
        self.content = content
        self.kind = kind
        self.cipher = cipher
        self.keyTransport = keyTransport
        self.recipient = recipient
    }
}
