import COpenSSL
import Foundation

/// Makes detached CMS (PKCS#7) SignedData signatures: AS2 `application/pkcs7-signature` parts,
/// MDN signatures, `.p7s` files beside receipts and manifests.
public struct CMSSigner: Sendable {
    /// The signing key.
    public let key: PrivateKey
    /// The certificate for `key`, embedded in every signature so the verifier can find it.
    public let certificate: Certificate
    /// Nil for keys other than RSA and EC (and for a key that does not match): OpenSSL's CMS
    /// API signs those.
    private let encoder: SignedDataEncoder?

    /// A signer using `key` and its `certificate` (see `Certificate.matches(key:)`; a mismatch is
    /// reported by `signDetached(_:)`).
    public init(key: PrivateKey, certificate: Certificate) {
        self.key = key
        self.certificate = certificate
        self.encoder = SignedDataEncoder(certificate: certificate, key: key)
    }

    /// Signs `content` exactly as given (binary mode: no CRLF conversion, so the caller passes the
    /// canonical bytes) with SHA-256 and returns the DER-encoded SignedData without the content.
    ///
    /// Signed attributes: content type, signing time and message digest (no S/MIME
    /// capabilities: they advertise what the signer can decrypt, which nobody reads from a
    /// receipt or an MDN); the signer certificate is included.
    public func signDetached(_ content: Data) throws -> Data {
        try signDetached(content, digest: .sha256)
    }

    /// Like `signDetached(_:)` with the digest algorithm `digest`: an MDN is signed with the
    /// `signed-receipt-micalg` the partner asked for (RSA PKCS#1 v1.5 for an RSA key).
    public func signDetached(_ content: Data, digest: DigestAlgorithm) throws -> Data {
        OpenSSLErrorQueue.clear()
        if let encoder {
            return Data(try encoder.encode(contentDigest: [UInt8](digest.hash(content)), algorithm: digest, signingTime: Date()))
        }
        return try signWithOpenSSL(content, digest: digest)
    }

    /// The same signature through OpenSSL's CMS API: for keys `SignedDataEncoder` does not
    /// handle, and as the tests' oracle (with `signingTime` fixed, an RSA signature must come out
    /// byte for byte as the encoder's).
    func signWithOpenSSL(_ content: Data, digest: DigestAlgorithm, signingTime: Date? = nil) throws -> Data {
        let flags = UInt32(CMS_DETACHED | CMS_BINARY | CMS_NOSMIMECAP)
        return try certificate.withUnsafeX509 { x509 in
            try key.withUnsafeEVPPKEY { pkey in
                // CMS_PARTIAL gives an empty SignedData so the digest can be chosen explicitly,
                // instead of relying on the key type's default.
                guard let cms = CMS_sign(nil, nil, nil, nil, flags | UInt32(CMS_PARTIAL)) else {
                    throw CryptoError.openSSL("cms-sign", "cannot create CMS SignedData")
                }
                defer { CMS_ContentInfo_free(cms) }
                guard let signer = CMS_add1_signer(cms, x509, pkey, digest.evpMD, UInt32(CMS_NOSMIMECAP)) else {
                    throw CryptoError.openSSL(
                        "cms-sign", "cannot add the signer with \(digest.micalgName) (does the key match the certificate?)")
                }
                if let signingTime {
                    // Present already, so CMS_final does not add the current time.
                    guard let time = ASN1_TIME_set(nil, time_t(signingTime.timeIntervalSince1970)) else {
                        throw CryptoError.openSSL("cms-sign", "cannot encode the signing time")
                    }
                    defer { ASN1_TIME_free(time) }
                    guard CMS_signed_add1_attr_by_NID(signer, NID_pkcs9_signingTime, ASN1_STRING_type(time), time, -1) == 1 else {
                        throw CryptoError.openSSL("cms-sign", "cannot add the signing time")
                    }
                }
                try MemoryBIO.withReadOnly(content, code: "cms-sign") { input in
                    guard CMS_final(cms, input, nil, flags) == 1 else {
                        throw CryptoError.openSSL("cms-sign", "cannot sign the content")
                    }
                }
                return try MemoryBIO.collect(code: "cms-sign", failure: "cannot encode the signature as DER") { out in
                    i2d_CMS_bio(out, cms) == 1
                }
            }
        }
    }
}
