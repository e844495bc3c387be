/// One of our decryption identities: a private key and the certificate partners encrypt to.
///
/// During a certificate rollover a receiver holds several, and `CMSDecryptor` picks the right one
/// from the message's RecipientInfos.
public struct DecryptionKey: Sendable {
    /// The RSA private key.
    public let key: PrivateKey
    /// The certificate for `key`, as published to partners.
    public let certificate: Certificate

    /// Pairs `key` with its `certificate`. A key that does not match its certificate is never
    /// used (`CMSDecryptor` checks, and says so in its error).
    public init(key: PrivateKey, certificate: Certificate) {
        self.key = key
        self.certificate = certificate
    }
}
