import COpenSSL
import Foundation

/// Writes a detached CMS SignedData (RFC 5652 §5) itself and asks OpenSSL only for the signature.
///
/// Going through `CMS_sign`/`CMS_final` cost 17.5% of the intake's CPU for two receipt signatures
/// per deposit, of which the ECDSA operation was a quarter: the rest was building and encoding
/// the ASN.1 object graph, fetching algorithms and re-checking the key against the certificate on
/// every call. The certificate and the signer's issuer and serial are encoded once here; each
/// signature adds a few fixed identifiers and the three signed attributes.
///
/// The output is what OpenSSL writes with `CMS_DETACHED | CMS_BINARY | CMS_NOSMIMECAP`, byte
/// for byte for an RSA key (PKCS#1 v1.5 signatures are deterministic; `SignedDataEncoderTests`
/// compares the two). Only RSA (PKCS#1 v1.5) and EC keys are handled; `CMSSigner` uses OpenSSL's
/// CMS API for any other key.
struct SignedDataEncoder: @unchecked Sendable {
    // @unchecked Sendable: the key is immutable and shared read-only (see PrivateKey).
    private let key: PrivateKey
    private let isRSA: Bool
    private let certificateDER: [UInt8]
    private let issuerAndSerialDER: [UInt8]

    /// Nil when the key is neither RSA nor EC, or does not match `certificate`: OpenSSL's CMS
    /// API then signs, and reports the mismatch.
    init?(certificate: Certificate, key: PrivateKey) {
        let kind = key.withUnsafeEVPPKEY { EVP_PKEY_get_base_id($0) }
        guard kind == EVP_PKEY_RSA || kind == EVP_PKEY_EC, certificate.matches(key: key) else { return nil }
        let parts: ([UInt8], [UInt8], [UInt8])? = certificate.withUnsafeX509 { x509 in
            guard let cert = Self.i2d({ i2d_X509(x509, $0) }),
                let issuer = Self.i2d({ i2d_X509_NAME(X509_get_issuer_name(x509), $0) }),
                let serial = Self.i2d({ i2d_ASN1_INTEGER(X509_get0_serialNumber(x509), $0) })
            else { return nil }
            return (cert, issuer, serial)
        }
        guard let (cert, issuer, serial) = parts else { return nil }
        self.key = key
        self.isRSA = kind == EVP_PKEY_RSA
        self.certificateDER = cert
        self.issuerAndSerialDER = DER.tlv(0x30, issuer + serial)
    }

    /// The DER SignedData for content whose `digest` (by `algorithm`) is given, signed at `time`.
    func encode(contentDigest: [UInt8], algorithm: DigestAlgorithm, signingTime time: Date) throws -> [UInt8] {
        let digestAlgorithm = DER.tlv(0x30, DER.oid(Self.digestOID(algorithm)))
        // DER orders a SET OF by its encodings: contentType (30 18) < signingTime (30 1C or
        // 30 1E) < messageDigest (30 2F and up), so this fixed order is already sorted.
        let attributes =
            Self.attribute(OID.contentType, DER.oid(OID.data))
            + Self.attribute(OID.signingTime, DER.time(time))
            + Self.attribute(OID.messageDigest, DER.tlv(0x04, contentDigest))
        // The signature covers the attributes as a SET (tag 31); they are stored as [0] IMPLICIT.
        let signature = try sign(DER.tlv(0x31, attributes), algorithm: algorithm)
        let signatureAlgorithm =
            isRSA
            ? DER.tlv(0x30, DER.oid(OID.rsaEncryption) + [0x05, 0x00])
            : DER.tlv(0x30, DER.oid(Self.ecdsaOID(algorithm)))
        let signerInfo = DER.tlv(
            0x30,
            [0x02, 0x01, 0x01] + issuerAndSerialDER + digestAlgorithm + DER.tlv(0xA0, attributes)
                + signatureAlgorithm + DER.tlv(0x04, signature))
        let signedData = DER.tlv(
            0x30,
            [0x02, 0x01, 0x01] + DER.tlv(0x31, digestAlgorithm) + DER.tlv(0x30, DER.oid(OID.data))
                + DER.tlv(0xA0, certificateDER) + DER.tlv(0x31, signerInfo))
        return DER.tlv(0x30, DER.oid(OID.signedData) + DER.tlv(0xA0, signedData))
    }

    private func sign(_ message: [UInt8], algorithm: DigestAlgorithm) throws -> [UInt8] {
        guard let ctx = EVP_MD_CTX_new() else { throw CryptoError.openSSL("cms-sign", "cannot allocate a digest context") }
        defer { EVP_MD_CTX_free(ctx) }
        return try key.withUnsafeEVPPKEY { pkey in
            guard EVP_DigestSignInit(ctx, nil, algorithm.fetchedMD, nil, pkey) == 1 else {
                throw CryptoError.openSSL("cms-sign", "cannot start a \(algorithm.micalgName) signature")
            }
            var length = 0
            guard EVP_DigestSign(ctx, nil, &length, message, message.count) == 1 else {
                throw CryptoError.openSSL("cms-sign", "cannot size the signature")
            }
            var signature = [UInt8](repeating: 0, count: length)
            guard EVP_DigestSign(ctx, &signature, &length, message, message.count) == 1 else {
                throw CryptoError.openSSL("cms-sign", "cannot sign the content")
            }
            return Array(signature.prefix(length))
        }
    }

    private static func attribute(_ type: [UInt8], _ value: [UInt8]) -> [UInt8] {
        DER.tlv(0x30, DER.oid(type) + DER.tlv(0x31, value))
    }

    /// The DER of an OpenSSL object through its `i2d_` function (nil on failure).
    private static func i2d(_ encode: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?) -> Int32) -> [UInt8]? {
        let length = encode(nil)
        guard length > 0 else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(length))
        let written = bytes.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            return encode(&cursor)
        }
        return written == length ? bytes : nil
    }

    private static func digestOID(_ algorithm: DigestAlgorithm) -> [UInt8] {
        switch algorithm {
        case .sha1: [0x2B, 0x0E, 0x03, 0x02, 0x1A]
        case .sha224: OID.nistHash + [0x04]
        case .sha256: OID.nistHash + [0x01]
        case .sha384: OID.nistHash + [0x02]
        case .sha512: OID.nistHash + [0x03]
        }
    }

    private static func ecdsaOID(_ algorithm: DigestAlgorithm) -> [UInt8] {
        switch algorithm {
        case .sha1: OID.ecdsa + [0x01]
        case .sha224: OID.ecdsa + [0x03, 0x01]
        case .sha256: OID.ecdsa + [0x03, 0x02]
        case .sha384: OID.ecdsa + [0x03, 0x03]
        case .sha512: OID.ecdsa + [0x03, 0x04]
        }
    }

    /// Object identifier contents (without tag and length).
    private enum OID {
        static let pkcs: [UInt8] = [0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01]
        static let data = pkcs + [0x07, 0x01]
        static let signedData = pkcs + [0x07, 0x02]
        static let contentType = pkcs + [0x09, 0x03]
        static let messageDigest = pkcs + [0x09, 0x04]
        static let signingTime = pkcs + [0x09, 0x05]
        static let rsaEncryption = pkcs + [0x01, 0x01]
        static let nistHash: [UInt8] = [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02]
        static let ecdsa: [UInt8] = [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04]
    }
}
