import CFluxShims
import COpenSSL
import Foundation

extension Certificate {
    /// Issues a self-signed X.509 v3 certificate for `key`, signed with SHA-256, with a random
    /// 128-bit serial, valid from one hour ago (tolerating partners' clock skew) for `days` days.
    ///
    /// Extensions: `basicConstraints=critical,CA:FALSE`,
    /// `keyUsage=critical,digitalSignature,nonRepudiation,keyEncipherment`,
    /// `extendedKeyUsage=emailProtection`, subject and authority key identifiers. A partner can
    /// pin it as the trust anchor (`openssl cms -verify -CAfile cert.pem` accepts signatures made
    /// with `key`): OpenSSL checks the S/MIME signing purpose, which an `extendedKeyUsage` without
    /// `emailProtection` would fail. `keyEncipherment` lets partners encrypt to the same pair.
    public static func selfSigned(
        key: PrivateKey,
        commonName: String,
        organization: String?,
        days: Int
    ) throws -> Certificate {
        guard (1...36_500).contains(days) else {
            throw CryptoError(code: "cert-create", message: "validity of \(days) days is outside 1...36500")
        }
        guard !commonName.isEmpty else {
            throw CryptoError(code: "cert-create", message: "the common name must not be empty")
        }
        OpenSSLErrorQueue.clear()
        guard let x509 = X509_new() else {
            throw CryptoError.openSSL("cert-create", "cannot allocate a certificate")
        }
        do {
            try key.withUnsafeEVPPKEY { pkey in
                try fill(x509, key: pkey, commonName: commonName, organization: organization, days: days)
            }
        } catch {
            X509_free(x509)
            throw error
        }
        return try Certificate(owning: x509)
    }

    private static func fill(
        _ x509: OpaquePointer,
        key: OpaquePointer,
        commonName: String,
        organization: String?,
        days: Int
    ) throws {
        func check(_ ok: Bool, _ what: @autoclosure () -> String) throws {
            if !ok { throw CryptoError.openSSL("cert-create", what()) }
        }
        try check(X509_set_version(x509, Int(X509_VERSION_3)) == 1, "cannot set version 3")
        try check(flux_X509_set_random_serial(x509, 128) == 1, "cannot set a random serial number")
        try check(X509_gmtime_adj(X509_getm_notBefore(x509), -3600) != nil, "cannot set notBefore")
        try check(X509_time_adj_ex(X509_getm_notAfter(x509), Int32(days), 0, nil) != nil, "cannot set notAfter")

        let name = X509_get_subject_name(x509)
        // Most general first in the DER, so RFC 2253 shows "CN=...,O=...".
        if let organization, !organization.isEmpty {
            try check(flux_X509_NAME_add_utf8(name, "O", organization) == 1, "invalid organization \"\(organization)\" (1 to 64 characters)")
        }
        try check(flux_X509_NAME_add_utf8(name, "CN", commonName) == 1, "invalid common name \"\(commonName)\" (1 to 64 characters)")
        try check(X509_set_issuer_name(x509, name) == 1, "cannot set the issuer name")
        try check(X509_set_pubkey(x509, key) == 1, "cannot set the public key")

        // The subject key identifier goes first: the authority key identifier is copied from it.
        // keyEncipherment only for RSA: an EC key cannot transport a content key.
        let isRSA = EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA
        let extensions: [(Int32, String)] = [
            (NID_basic_constraints, "critical,CA:FALSE"),
            (NID_key_usage, isRSA ? "critical,digitalSignature,nonRepudiation,keyEncipherment" : "critical,digitalSignature,nonRepudiation"),
            (NID_ext_key_usage, "emailProtection"),
            (NID_subject_key_identifier, "hash"),
            (NID_authority_key_identifier, "keyid:always"),
        ]
        for (nid, value) in extensions {
            try check(flux_X509_add_ext_text(x509, x509, nid, value) == 1, "cannot add extension \(value)")
        }
        try check(X509_sign(x509, key, EVP_sha256()) > 0, "cannot sign the certificate")
    }
}
