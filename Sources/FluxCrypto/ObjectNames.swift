import COpenSSL

/// OpenSSL's names for object identifiers, for results and error messages.
enum ObjectNames {
    /// Short name of an OpenSSL NID, e.g. "pkcs7-signedData"; "an unknown type" for NID_undef.
    static func shortName(nid: Int32) -> String {
        guard nid != NID_undef, let name = OBJ_nid2sn(nid) else { return "of an unknown type" }
        return String(cString: name)
    }

    /// OpenSSL's name for the cipher with dotted object identifier `oid` (the provider's first
    /// name, e.g. "AES-128-GCM", "DES-EDE3-CBC"), lowercased; nil when this OpenSSL, with its
    /// default providers, cannot decrypt with it (e.g. RC2, single DES: legacy provider only).
    static func cipher(oid: String) -> String? {
        guard let cipher = EVP_CIPHER_fetch(nil, oid, nil) else {
            OpenSSLErrorQueue.clear()
            return nil
        }
        defer { EVP_CIPHER_free(cipher) }
        guard let name = EVP_CIPHER_get0_name(cipher) else { return nil }
        return String(cString: name).lowercased()
    }
}
