import CFluxShims
import COpenSSL
import Foundation

/// Verifies detached CMS (PKCS#7) SignedData signatures against certificates configured as
/// trusted (a partner's certificates, or our own for self-checks).
public enum CMSVerifier {
    /// More SignerInfos than this are refused: each costs a chain check and a public-key
    /// operation, and AS2 messages and MDNs have exactly one.
    static let maxSignerInfos = 16

    /// Checks that DER (or BER) `der` is a valid signature over `content` (binary mode, bytes as
    /// given) by a signer whose certificate is one of `trusted`, or chains to one of them, and is
    /// currently valid; returns how it was signed.
    ///
    /// Every certificate in `trusted` is a trust anchor, CA or not (a partner's pinned leaf
    /// certificate needs no chain up to a root). The trusted certificates are also offered as
    /// signer candidates, so signatures that omit the signer certificate still verify. The signer
    /// certificate must allow S/MIME signing (OpenSSL's `smime_sign` purpose: no keyUsage or one
    /// with digitalSignature or nonRepudiation, no extendedKeyUsage or one with emailProtection),
    /// as `CMS_verify` has always checked. Accepts RSA PKCS#1 v1.5, RSASSA-PSS and ECDSA
    /// signatures with SHA-1 to SHA-512, with or without signed attributes; every SignerInfo must
    /// verify. A PSS signatureAlgorithm without its (mandatory) parameters, as pyas2lib writes it,
    /// is read as hash = MGF1 hash = the SignerInfo's digest, with a salt as long as the digest or,
    /// failing that, the longest possible salt.
    ///
    /// Throws `CryptoError` with code:
    /// - `"cms-verify-format"`: not CMS SignedData (garbage, another CMS type, no SignerInfo or
    ///   more than 16);
    /// - `"cms-verify-signer"`: the signer certificate is neither embedded nor among `trusted`, or
    ///   does not chain to `trusted`, or is expired, not yet valid or not for signing (the message
    ///   carries OpenSSL's verify error, e.g. "self-signed certificate", "certificate has expired");
    /// - `"cms-verify-digest"`: the content does not match (tampered payload, wrong MIME
    ///   canonicalisation; without signed attributes also a broken signature value);
    /// - `"cms-verify"`: anything else (no trusted certificate given, a digest algorithm other
    ///   than SHA-1...SHA-512, a bad signature over the signed attributes).
    @discardableResult
    public static func verifyDetached(signature der: Data, content: Data, trusted: [Certificate]) throws -> SignatureInfo {
        guard !trusted.isEmpty else {
            throw CryptoError(code: "cms-verify", message: "no trusted certificate to verify the signature against")
        }
        // Most partners sign with the certificate pinned here, which makes the certificates the
        // signature embeds (costly to parse in OpenSSL 3.0) useless: try without them first. Any
        // failure there is decided by the full check, so the answer is the same either way.
        if let bare = SignedDataCertificates.removing(from: der),
           let info = try? verify(bare, content: content, trusted: trusted, signersMustBeTrusted: true) {
            return info
        }
        guard let info = try verify(der, content: content, trusted: trusted, signersMustBeTrusted: false) else {
            throw CryptoError(code: "cms-verify-signer", message: "the signer certificate is not among the trusted certificates")
        }
        return info
    }

    /// The check itself. Nil, with `signersMustBeTrusted`, when a SignerInfo's certificate is not
    /// one of `trusted` (it may still chain to them through the embedded certificates).
    static func verify(_ der: Data, content: Data, trusted: [Certificate], signersMustBeTrusted: Bool) throws -> SignatureInfo? {
        OpenSSLErrorQueue.clear()
        let cms = MemoryBIO.parseCMS(der)
        guard let cms else {
            throw CryptoError.openSSL("cms-verify-format", "the signature is not DER/BER-encoded CMS")
        }
        defer { CMS_ContentInfo_free(cms) }
        let type = OBJ_obj2nid(CMS_get0_type(cms))
        guard type == NID_pkcs7_signed else {
            throw CryptoError(code: "cms-verify-format", message: "the signature is CMS \(ObjectNames.shortName(nid: type)), not SignedData")
        }
        let signerInfos = CMS_get0_SignerInfos(cms)
        let signerCount = Int(flux_sk_CMS_SignerInfo_num(signerInfos))
        guard (1...maxSignerInfos).contains(signerCount) else {
            throw CryptoError(code: "cms-verify-format", message: "the signature has \(signerCount) SignerInfos (1 to \(maxSignerInfos) accepted)")
        }

        guard let store = X509_STORE_new() else {
            throw CryptoError.openSSL("cms-verify", "cannot allocate a certificate store")
        }
        defer { X509_STORE_free(store) }
        // Pinning: a trusted certificate ends the chain even when it is not a self-signed root.
        X509_STORE_set_flags(store, UInt(X509_V_FLAG_PARTIAL_CHAIN))
        guard let candidates = flux_sk_X509_new_null() else {
            throw CryptoError.openSSL("cms-verify", "cannot allocate a certificate list")
        }
        // The stack only borrows: the Certificates stay alive until the end of this function.
        defer { flux_sk_X509_free(candidates) }
        // Certificates embedded in the signature: candidates for intermediate CAs, never anchors.
        let embedded = CMS_get1_certs(cms)
        defer { if let embedded { flux_sk_X509_pop_free(embedded) } }

        return try withExtendedLifetime(trusted) { () throws -> SignatureInfo? in
            for certificate in trusted {
                try certificate.withUnsafeX509 { x509 in
                    // X509_STORE_add_cert takes its own reference; the store frees it.
                    guard X509_STORE_add_cert(store, x509) == 1, flux_sk_X509_push(candidates, x509) > 0 else {
                        throw CryptoError.openSSL("cms-verify", "cannot add trusted certificate \(certificate.subject)")
                    }
                }
            }
            // Finds each SignerInfo's certificate among `trusted`, then among the embedded ones.
            _ = CMS_set1_signers_certs(cms, candidates, 0)
            OpenSSLErrorQueue.clear()

            var infos: [SignatureInfo] = []
            // PSS SignerInfos written without parameters, with the salt length to try second.
            var pssRetries: [(algorithm: UnsafeMutablePointer<X509_ALGOR>, parameters: [UInt8])] = []
            for index in 0..<signerCount {
                guard let signerInfo = flux_sk_CMS_SignerInfo_value(signerInfos, Int32(index)) else {
                    throw CryptoError(code: "cms-verify-format", message: "SignerInfo #\(index + 1) is missing")
                }
                var signer: OpaquePointer?
                var digestAlgorithm: UnsafeMutablePointer<X509_ALGOR>?
                var signatureAlgorithm: UnsafeMutablePointer<X509_ALGOR>?
                CMS_SignerInfo_get0_algs(signerInfo, nil, &signer, &digestAlgorithm, &signatureAlgorithm)
                guard let signer else {
                    if signersMustBeTrusted { return nil }
                    throw CryptoError(
                        code: "cms-verify-signer",
                        message: "the signer certificate is neither in the signature nor among the \(trusted.count) trusted certificate(s)")
                }
                let anchor = try verifyChain(of: signer, store: store, untrusted: embedded, trusted: trusted)
                let digestNID = algorithmNID(digestAlgorithm)
                guard let digest = DigestAlgorithm(nid: digestNID) else {
                    throw CryptoError(
                        code: "cms-verify",
                        message: "unsupported signature digest algorithm \(ObjectNames.shortName(nid: digestNID)) (SHA-1 to SHA-512 accepted)")
                }
                if let signatureAlgorithm, algorithmNID(signatureAlgorithm) == NID_rsassaPss,
                   AlgorithmParameters.areMissing(signatureAlgorithm) {
                    // RFC 4055 makes the parameters mandatory here; pyas2lib leaves them out and
                    // signs with a salt as long as the digest (OpenSSL 1.1, other platforms) or
                    // the longest possible salt (OpenSSL 3). Try both, in that order.
                    let keyBits = Int(EVP_PKEY_get_bits(X509_get0_pubkey(signer)))
                    let longest = AlgorithmParameters.maxPSSSaltLength(keyBits: keyBits, digest: digest)
                    guard AlgorithmParameters.set(signatureAlgorithm, nid: NID_rsassaPss,
                                                  sequence: AlgorithmParameters.pss(digest, saltLength: digest.byteCount)) else {
                        throw CryptoError.openSSL("cms-verify", "cannot set RSASSA-PSS parameters")
                    }
                    if longest > digest.byteCount {
                        pssRetries.append((signatureAlgorithm, AlgorithmParameters.pss(digest, saltLength: longest)))
                    }
                }
                infos.append(SignatureInfo(digest: digest, signatureAlgorithm: signatureName(signatureAlgorithm), signer: anchor,
                                           contentDigest: messageDigest(signerInfo)))
            }

            // Signer certificates are checked above; CMS_verify checks the signatures and digests.
            var failure = verifySignatures(cms, candidates: candidates, store: store, content: content)
            if let first = failure, !pssRetries.isEmpty {
                for retry in pssRetries {
                    guard AlgorithmParameters.set(retry.algorithm, nid: NID_rsassaPss, sequence: retry.parameters) else {
                        throw CryptoError.openSSL("cms-verify", "cannot set RSASSA-PSS parameters")
                    }
                }
                OpenSSLErrorQueue.clear()
                if let second = verifySignatures(cms, candidates: candidates, store: store, content: content) {
                    // A digest mismatch under either salt length means the signature itself
                    // checked out with it (or covers the content directly): report that one.
                    failure = [first, second].first { $0.code == "cms-verify-digest" } ?? second
                } else {
                    failure = nil
                }
            }
            if let failure { throw failure }
            return infos[0]
        }
    }

    /// The messageDigest signed attribute (nil without signed attributes). Only returned to
    /// callers once CMS_verify has checked it against the content.
    private static func messageDigest(_ signerInfo: OpaquePointer) -> Data? {
        guard let raw = CMS_signed_get0_data_by_OBJ(signerInfo, OBJ_nid2obj(NID_pkcs9_messageDigest), -3, V_ASN1_OCTET_STRING) else {
            return nil
        }
        let octets = raw.assumingMemoryBound(to: ASN1_OCTET_STRING.self)
        let length = Int(ASN1_STRING_length(octets))
        guard length > 0, let bytes = ASN1_STRING_get0_data(octets) else { return nil }
        return Data(bytes: bytes, count: length)
    }

    /// Runs CMS_verify without its signer-certificate check (done by `verifyChain`): the
    /// signatures over the signed attributes, and the content digests. Nil when all verify.
    private static func verifySignatures(
        _ cms: OpaquePointer,
        candidates: OpaquePointer,
        store: OpaquePointer,
        content: Data
    ) -> CryptoError? {
        do {
            try MemoryBIO.withReadOnly(content, code: "cms-verify") { input in
                let flags = UInt32(CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY)
                guard CMS_verify(cms, candidates, store, input, nil, flags) == 1 else {
                    if flux_ERR_last_is(ERR_LIB_CMS, CMS_R_CONTENT_VERIFY_ERROR) == 1 {
                        throw CryptoError.openSSL("cms-verify-digest", "the content does not match the signature")
                    }
                    throw CryptoError.openSSL("cms-verify", "signature verification failed")
                }
            }
            return nil
        } catch let error as CryptoError {
            return error
        } catch {
            return CryptoError(code: "cms-verify", message: "\(error)")
        }
    }

    /// Builds and checks the chain from `signer` to a trusted certificate (as CMS_verify would,
    /// with the S/MIME signing purpose) and returns the trusted certificate it ends at.
    private static func verifyChain(
        of signer: OpaquePointer,
        store: OpaquePointer,
        untrusted: OpaquePointer?,
        trusted: [Certificate]
    ) throws -> Certificate {
        guard let context = X509_STORE_CTX_new() else {
            throw CryptoError.openSSL("cms-verify", "cannot allocate a verification context")
        }
        defer { X509_STORE_CTX_free(context) }
        guard X509_STORE_CTX_init(context, store, signer, untrusted) == 1,
              X509_STORE_CTX_set_default(context, "smime_sign") == 1 else {
            throw CryptoError.openSSL("cms-verify", "cannot set up certificate verification")
        }
        guard X509_verify_cert(context) == 1 else {
            let reason = String(cString: X509_verify_cert_error_string(Int(X509_STORE_CTX_get_error(context))))
            OpenSSLErrorQueue.clear()
            throw CryptoError(
                code: "cms-verify-signer",
                message: "certificate verify error for signer \(subjectLine(signer)): \(reason)")
        }
        // The trusted certificate nearest the signer: with a pinned leaf OpenSSL keeps the
        // issuers the sender embedded above it in the chain, untrusted, so the top is not it.
        let chain = X509_STORE_CTX_get0_chain(context)
        for index in 0..<max(0, flux_sk_X509_num(chain)) {
            guard let link = flux_sk_X509_value(chain, index) else { continue }
            for certificate in trusted where certificate.withUnsafeX509({ X509_cmp($0, link) == 0 }) {
                return certificate
            }
        }
        // Unreachable while the store holds only `trusted`: a verified chain ends at one of them.
        throw CryptoError(code: "cms-verify-signer", message: "the signer \(subjectLine(signer)) verified, but not up to a trusted certificate")
    }

    private static func algorithmNID(_ algorithm: UnsafeMutablePointer<X509_ALGOR>?) -> Int32 {
        guard let algorithm else { return NID_undef }
        var object: OpaquePointer?
        X509_ALGOR_get0(&object, nil, nil, algorithm)
        return OBJ_obj2nid(object)
    }

    /// The public-key part of a SignerInfo signatureAlgorithm, which senders write either as the
    /// key algorithm (rsaEncryption) or as a combined one (sha256WithRSAEncryption).
    private static func signatureName(_ algorithm: UnsafeMutablePointer<X509_ALGOR>?) -> String {
        var nid = algorithmNID(algorithm)
        var digestNID: Int32 = NID_undef
        var keyNID: Int32 = NID_undef
        if OBJ_find_sigid_algs(nid, &digestNID, &keyNID) == 1, keyNID != NID_undef {
            nid = keyNID
        }
        switch nid {
        case NID_rsaEncryption: return "rsa-pkcs1-v1_5"
        case NID_rsassaPss: return "rsassa-pss"
        case NID_X9_62_id_ecPublicKey: return "ecdsa"
        case NID_ED25519: return "ed25519"
        case NID_ED448: return "ed448"
        case NID_dsa: return "dsa"
        case NID_undef: return "unknown"
        default: return ObjectNames.shortName(nid: nid).lowercased()
        }
    }

    private static func subjectLine(_ x509: OpaquePointer) -> String {
        let text = try? MemoryBIO.collect(code: "cms-verify", failure: "") { bio in
            flux_X509_NAME_print_rfc2253(bio, X509_get_subject_name(x509)) >= 0
        }
        return text.map { String(decoding: $0, as: UTF8.self) } ?? "?"
    }
}
