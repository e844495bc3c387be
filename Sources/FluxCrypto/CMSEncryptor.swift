import COpenSSL
import Foundation

/// Makes CMS EnvelopedData / AuthEnvelopedData for a partner's certificate: outbound encrypted
/// AS2 messages, and test messages for `CMSDecryptor`.
public enum CMSEncryptor {
    /// The content-encryption algorithms offered, by the names `DecryptedContent.cipher` reports.
    /// The GCM ones give AuthEnvelopedData (RFC 5083), which some older AS2 products cannot read.
    public static let supportedCiphers: [String] = [
        "des-ede3-cbc", "aes-128-cbc", "aes-192-cbc", "aes-256-cbc", "aes-128-gcm", "aes-192-gcm", "aes-256-gcm",
    ]

    /// Encrypts `content` (bytes as given, binary mode) for `recipient`, whose certificate must
    /// hold an RSA key, and returns the DER ContentInfo.
    ///
    /// `cipher` is one of `supportedCiphers`. `oaep` selects RSAES-OAEP key transport with the
    /// RFC 4055 default parameters (SHA-1, MGF1-SHA-1, written as an empty SEQUENCE: the variant
    /// every OAEP-capable AS2 product reads; OAEP's security does not rest on SHA-1's collision
    /// resistance), otherwise RSA PKCS#1 v1.5. The recipient is identified by issuer and serial.
    /// Throws `CryptoError` code `"cms-encrypt"`.
    public static func encrypt(_ content: Data, for recipient: Certificate, cipher: String, oaep: Bool) throws -> Data {
        guard supportedCiphers.contains(cipher) else {
            throw CryptoError(
                code: "cms-encrypt",
                message: "unsupported cipher \"\(cipher)\" (supported: \(supportedCiphers.joined(separator: ", ")))")
        }
        OpenSSLErrorQueue.clear()
        guard let evpCipher = EVP_CIPHER_fetch(nil, cipher, nil) else {
            throw CryptoError.openSSL("cms-encrypt", "cipher \(cipher) is not available in this OpenSSL")
        }
        // The CMS structure keeps a pointer to the cipher until CMS_final: free it after that.
        defer { EVP_CIPHER_free(evpCipher) }

        return try recipient.withUnsafeX509 { x509 in
            guard let publicKey = X509_get0_pubkey(x509), EVP_PKEY_get_base_id(publicKey) == EVP_PKEY_RSA else {
                throw CryptoError.openSSL("cms-encrypt", "the certificate \(recipient.subject) has no RSA public key")
            }
            let flags = UInt32(CMS_BINARY)
            // CMS_PARTIAL: recipients are added below, with their own key-transport parameters.
            // OpenSSL 3 makes AuthEnvelopedData for AEAD ciphers (GCM) and EnvelopedData otherwise.
            guard let cms = CMS_encrypt(nil, nil, evpCipher, flags | UInt32(CMS_PARTIAL)) else {
                throw CryptoError.openSSL("cms-encrypt", "cannot create CMS EnvelopedData with \(cipher)")
            }
            defer { CMS_ContentInfo_free(cms) }

            // CMS_KEY_PARAM gives the RecipientInfo its own EVP_PKEY_CTX, on which the padding is set.
            let recipientFlags = oaep ? UInt32(CMS_KEY_PARAM) : 0
            guard let info = CMS_add1_recipient_cert(cms, x509, recipientFlags) else {
                throw CryptoError.openSSL("cms-encrypt", "cannot add the recipient \(recipient.subject)")
            }
            if oaep {
                guard let context = CMS_RecipientInfo_get0_pkey_ctx(info),
                      EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_OAEP_PADDING) > 0 else {
                    throw CryptoError.openSSL("cms-encrypt", "cannot select RSA-OAEP key transport")
                }
            }
            try MemoryBIO.withReadOnly(content, code: "cms-encrypt") { input in
                guard CMS_final(cms, input, nil, flags) == 1 else {
                    throw CryptoError.openSSL("cms-encrypt", "cannot encrypt the content")
                }
            }
            return try MemoryBIO.collect(code: "cms-encrypt", failure: "cannot encode the message as DER") { out in
                i2d_CMS_bio(out, cms) == 1
            }
        }
    }
}
