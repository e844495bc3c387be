import Foundation

/// What a verified CMS signature says about how it was made, for the MIC and the audit journal.
public struct SignatureInfo: Sendable {
    /// The signer's digest algorithm (the MIC algorithm to fall back on when the partner did not
    /// ask for one).
    public var digest: DigestAlgorithm
    /// `rsa-pkcs1-v1_5`, `rsassa-pss`, `ecdsa`, `ed25519`, ... (OpenSSL's short name, lowercased,
    /// for anything else).
    public var signatureAlgorithm: String
    /// The certificate from the trusted list that the signature verified against: the signer's own
    /// certificate when it is pinned, else the trust anchor its chain ends at.
    public var signer: Certificate
    /// The content's `digest` as the signer signed it (its messageDigest attribute), which the
    /// verification found equal to the digest of the content: a MIC over the same bytes with the
    /// same algorithm need not hash them again. Nil for a signature without signed attributes.
    public var contentDigest: Data?

    /// Creates a result (public so that callers can build one in their own tests).
    public init(digest: DigestAlgorithm, signatureAlgorithm: String, signer: Certificate, contentDigest: Data? = nil) {
        self.digest = digest
        self.signatureAlgorithm = signatureAlgorithm
        self.signer = signer
        self.contentDigest = contentDigest
    }
}
