import CFluxShims
import COpenSSL
import Foundation

/// Verifies detached CMS (PKCS#7) SignedData signatures against certificates configured as
/// trusted (a partner's certificates, or our own for self-checks).
public enum CMSVerifier {
    /// Checks that DER `der` is a valid signature over `content` (binary mode, bytes as given) by a
    /// signer whose certificate chains to one of `trusted` and is currently valid.
    ///
    /// The trusted certificates are also offered as signer candidates, so signatures that omit the
    /// signer certificate still verify. Throws `CryptoError` code `"cms-verify"` whose message
    /// holds OpenSSL's reason (e.g. "content verify error" for tampered content, "Verify
    /// error:self-signed certificate" for a self-signed signer not in `trusted`).
    public static func verifyDetached(signature der: Data, content: Data, trusted: [Certificate]) throws {
        guard !trusted.isEmpty else {
            throw CryptoError(code: "cms-verify", message: "no trusted certificate to verify the signature against")
        }
        OpenSSLErrorQueue.clear()
        let cms = try MemoryBIO.withReadOnly(der, code: "cms-verify") { d2i_CMS_bio($0, nil) }
        guard let cms else {
            throw CryptoError.openSSL("cms-verify", "the signature is not DER-encoded CMS")
        }
        defer { CMS_ContentInfo_free(cms) }

        guard let store = X509_STORE_new() else {
            throw CryptoError.openSSL("cms-verify", "cannot allocate a certificate store")
        }
        defer { X509_STORE_free(store) }
        guard let candidates = flux_sk_X509_new_null() else {
            throw CryptoError.openSSL("cms-verify", "cannot allocate a certificate list")
        }
        // The stack only borrows: the Certificates stay alive until the end of this function.
        defer { flux_sk_X509_free(candidates) }

        try withExtendedLifetime(trusted) {
            for certificate in trusted {
                try certificate.withUnsafeX509 { x509 in
                    // X509_STORE_add_cert takes its own reference; the store frees it.
                    guard X509_STORE_add_cert(store, x509) == 1, flux_sk_X509_push(candidates, x509) > 0 else {
                        throw CryptoError.openSSL("cms-verify", "cannot add trusted certificate \(certificate.subject)")
                    }
                }
            }
            try MemoryBIO.withReadOnly(content, code: "cms-verify") { input in
                guard CMS_verify(cms, candidates, store, input, nil, UInt32(CMS_BINARY)) == 1 else {
                    throw CryptoError.openSSL("cms-verify", "signature verification failed")
                }
            }
        }
    }
}
