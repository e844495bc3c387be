import CFluxShims
import COpenSSL
import Foundation

/// Opens CMS EnvelopedData and AuthEnvelopedData (the `application/pkcs7-mime;
/// smime-type=enveloped-data` body of an encrypted AS2 message) with one of our private keys.
public enum CMSDecryptor {
    /// More RecipientInfos than this are refused: each may cost an RSA private-key operation per
    /// key, and an AS2 message has one or two (the partner often encrypts to itself as well).
    static let maxRecipientInfos = 16

    /// At most this many RSA private-key operations per message (named keys first, then the
    /// fallback), so that a message with many RecipientInfos cannot make us spend much more than
    /// an ordinary one: anyone can post to an AS2 endpoint before any signature is checked.
    static let maxPrivateKeyOperations = 16

    /// Decrypts a DER (or BER: senders such as BouncyCastle use indefinite lengths) CMS
    /// ContentInfo holding EnvelopedData or AuthEnvelopedData.
    ///
    /// Keys whose certificate matches a RecipientInfo (issuer and serial, or subject key
    /// identifier) are tried first, on the RecipientInfos they match; then, for senders that got
    /// the recipient identifier wrong, the other keys on every RecipientInfo. Only RSA key
    /// transport is supported: PKCS#1 v1.5 and OAEP, whose parameters may be an empty SEQUENCE
    /// (SHA-1 defaults), explicit (e.g. SHA-256), or absent / NULL (read as the defaults).
    ///
    /// Every attempt decrypts the content even when the key transport failed (OpenSSL then uses a
    /// random key, as its own `CMS_decrypt` does), and the error never says which step failed:
    /// telling a bad RSA padding from a bad content key would hand a Bleichenbacher-style oracle to
    /// anyone who can post messages. GCM (AuthEnvelopedData) detects any change to the
    /// ciphertext; CBC only detects a broken final padding block, so a modified CBC message can
    /// decrypt to garbage, which the signature check above this layer must catch.
    ///
    /// Throws `CryptoError` with code:
    /// - `"cms-decrypt-format"`: not CMS, not an enveloped type, no encrypted content, an
    ///   unsupported content-encryption algorithm, or more than 16 RecipientInfos;
    /// - `"cms-decrypt-recipient"`: no RecipientInfo names one of our certificates and none of our
    ///   keys opens the message anyway (the message lists the identifiers it was encrypted for);
    /// - `"cms-decrypt"`: a key whose certificate is named cannot decrypt it (wrong key,
    ///   corrupted key transport or ciphertext, GCM tag mismatch).
    public static func decrypt(der: Data, keys: [DecryptionKey]) throws -> DecryptedContent {
        OpenSSLErrorQueue.clear()
        let cms = MemoryBIO.parseCMS(der)
        guard let cms else {
            throw CryptoError.openSSL("cms-decrypt-format", "the message is not DER/BER-encoded CMS")
        }
        defer { CMS_ContentInfo_free(cms) }

        let kind: CMSEnvelopeKind
        let type = OBJ_obj2nid(CMS_get0_type(cms))
        switch type {
        case NID_pkcs7_enveloped: kind = .enveloped
        case NID_id_smime_ct_authEnvelopedData: kind = .authEnveloped
        default:
            throw CryptoError(
                code: "cms-decrypt-format",
                message: "the message is CMS \(ObjectNames.shortName(nid: type)), not EnvelopedData or AuthEnvelopedData")
        }
        let cipher = try contentCipher(der)
        let recipients = try keyTransportRecipients(cms)

        // Sort our keys: those named by a RecipientInfo first (on those RecipientInfos only).
        var named: [(key: DecryptionKey, recipients: [Recipient])] = []
        var others: [DecryptionKey] = []
        var unusable: [String] = []
        for key in keys {
            guard key.key.isRSA else {
                unusable.append("\(key.certificate.subject) (not an RSA key)")
                continue
            }
            guard key.certificate.matches(key: key.key) else {
                unusable.append("\(key.certificate.subject) (the private key does not match the certificate)")
                continue
            }
            let matching = key.certificate.withUnsafeX509 { x509 in
                recipients.filter { CMS_RecipientInfo_ktri_cert_cmp($0.info, x509) == 0 }
            }
            if matching.isEmpty {
                others.append(key)
            } else {
                named.append((key, matching))
            }
        }
        OpenSSLErrorQueue.clear()

        var budget = maxPrivateKeyOperations
        for (key, matching) in named {
            if let opened = attempt(cms, key: key, recipients: matching, ciphertextBytes: der.count, budget: &budget) {
                return DecryptedContent(content: opened.content, kind: kind, cipher: cipher,
                                        keyTransport: opened.recipient.keyTransport, recipient: key.certificate)
            }
        }
        for key in others where budget > 0 {
            if let opened = attempt(cms, key: key, recipients: recipients, ciphertextBytes: der.count, budget: &budget) {
                return DecryptedContent(content: opened.content, kind: kind, cipher: cipher,
                                        keyTransport: opened.recipient.keyTransport, recipient: key.certificate)
            }
        }

        var note = unusable.isEmpty ? "" : "; keys not used: \(unusable.joined(separator: ", "))"
        if budget <= 0 {
            note += "; stopped after \(maxPrivateKeyOperations) private-key operations"
        }
        if !named.isEmpty {
            let subjects = named.map { $0.key.certificate.subject }.joined(separator: ", ")
            throw CryptoError(
                code: "cms-decrypt",
                message: "the message is encrypted for \(subjects) but does not decrypt with that key "
                    + "(wrong key, or corrupted or tampered ciphertext)\(note)")
        }
        let listed = recipients.isEmpty ? "no RSA key-transport RecipientInfo" : recipients.map(\.identifier).joined(separator: "; ")
        throw CryptoError(
            code: "cms-decrypt-recipient",
            message: "the message is not encrypted for any of our \(keys.count) certificate(s) and none of our keys opens it; "
                + "it is encrypted for: \(listed)\(note)")
    }

    /// A key-transport RecipientInfo, owned by the CMS_ContentInfo it came from.
    private struct Recipient {
        let info: OpaquePointer
        let keyTransport: String
        /// Issuer and serial, or subject key identifier, for error messages.
        let identifier: String
    }

    /// Tries `key` on `recipients` in order (each try spends one unit of `budget`), then decrypts
    /// the content with whatever content key that gave (or, if none, with a random key OpenSSL
    /// picks, so that both paths do the same work). Nil when the content did not come out;
    /// OpenSSL's reasons are discarded on purpose (see `decrypt`).
    ///
    /// This relies on a failed RSA unwrap being reported as such, as OpenSSL 3.0 does. OpenSSL
    /// 3.2 and later use "implicit rejection" for PKCS#1 v1.5 (a wrong key yields a pseudo-random
    /// content key instead of an error); with CBC, 1 in 256 of those passes the padding check, so
    /// after such an upgrade a fallback attempt with a wrong key could return garbage.
    private static func attempt(
        _ cms: OpaquePointer,
        key: DecryptionKey,
        recipients: [Recipient],
        ciphertextBytes: Int,
        budget: inout Int
    ) -> (content: Data, recipient: Recipient)? {
        let opened: Recipient? = key.key.withUnsafeEVPPKEY { pkey in
            for recipient in recipients {
                guard budget > 0 else { return nil }
                budget -= 1
                // set0 takes ownership of one reference, released again by set0(nil) below.
                guard EVP_PKEY_up_ref(pkey) == 1 else { continue }
                guard CMS_RecipientInfo_set0_pkey(recipient.info, pkey) == 1 else {
                    EVP_PKEY_free(pkey)
                    continue
                }
                let unwrapped = CMS_RecipientInfo_decrypt(cms, recipient.info) > 0
                CMS_RecipientInfo_set0_pkey(recipient.info, nil)
                if unwrapped { return recipient }
            }
            return nil
        }
        OpenSSLErrorQueue.clear()
        // No key and no certificate: CMS_decrypt only decrypts the content, with the content key
        // the RecipientInfo gave (and then wipes it from the structure, so the next attempt
        // starts clean) or a random one.
        let content = try? MemoryBIO.collect(code: "cms-decrypt", failure: "", capacity: ciphertextBytes) { out in
            CMS_decrypt(cms, nil, nil, nil, out, UInt32(CMS_BINARY)) == 1
        }
        OpenSSLErrorQueue.clear()
        guard let opened, let content else { return nil }
        return (content, opened)
    }

    /// The key-transport RecipientInfos (key agreement, KEK and password recipients are not used
    /// by AS2 and are ignored), with absent or NULL OAEP parameters replaced by the explicit
    /// default that OpenSSL 3.0 needs (see `AlgorithmParameters`).
    private static func keyTransportRecipients(_ cms: OpaquePointer) throws -> [Recipient] {
        let stack = CMS_get0_RecipientInfos(cms)
        let count = Int(flux_sk_CMS_RecipientInfo_num(stack))
        guard count <= maxRecipientInfos else {
            throw CryptoError(
                code: "cms-decrypt-format",
                message: "the message has \(count) RecipientInfos; at most \(maxRecipientInfos) are accepted")
        }
        var recipients: [Recipient] = []
        for index in 0..<count {
            guard let info = flux_sk_CMS_RecipientInfo_value(stack, Int32(index)),
                  CMS_RecipientInfo_type(info) == CMS_RECIPINFO_TRANS else { continue }
            var algorithm: UnsafeMutablePointer<X509_ALGOR>?
            guard CMS_RecipientInfo_ktri_get0_algs(info, nil, nil, &algorithm) == 1, let algorithm else { continue }
            var object: OpaquePointer?
            X509_ALGOR_get0(&object, nil, nil, algorithm)
            let nid = OBJ_obj2nid(object)
            if nid == NID_rsaesOaep, AlgorithmParameters.areMissing(algorithm) {
                guard AlgorithmParameters.set(algorithm, nid: NID_rsaesOaep, sequence: AlgorithmParameters.defaultOAEP) else {
                    throw CryptoError.openSSL("cms-decrypt", "cannot set default OAEP parameters")
                }
            }
            recipients.append(Recipient(info: info, keyTransport: keyTransportName(nid: nid), identifier: identifier(of: info)))
        }
        OpenSSLErrorQueue.clear()
        return recipients
    }

    private static func keyTransportName(nid: Int32) -> String {
        switch nid {
        case NID_rsaEncryption: "rsaes-pkcs1-v1_5"
        case NID_rsaesOaep: "rsaes-oaep"
        default: nid == NID_undef ? "unknown" : ObjectNames.shortName(nid: nid).lowercased()
        }
    }

    /// "issuer=CN=...,O=... serial=1e6e..." or "subjectKeyIdentifier=...".
    private static func identifier(of info: OpaquePointer) -> String {
        var keyID: UnsafeMutablePointer<ASN1_OCTET_STRING>?
        var issuer: OpaquePointer?
        var serial: UnsafeMutablePointer<ASN1_INTEGER>?
        guard CMS_RecipientInfo_ktri_get0_signer_id(info, &keyID, &issuer, &serial) == 1 else { return "?" }
        if let keyID {
            return "subjectKeyIdentifier=\(Certificate.hex(of: keyID))"
        }
        let name = (try? MemoryBIO.collect(code: "cms-decrypt", failure: "") { bio in
            flux_X509_NAME_print_rfc2253(bio, issuer) >= 0
        }).map { String(decoding: $0, as: UTF8.self) } ?? "?"
        return "issuer=\(name) serial=\(Certificate.hex(of: serial))"
    }

    /// Reads the content-encryption algorithm from the EncryptedContentInfo (OpenSSL 3.0 has no
    /// getter for it) and checks that the encrypted content is present. Returns OpenSSL's name.
    private static func contentCipher(_ der: Data) throws -> String {
        let oid: String
        do {
            oid = try der.withUnsafeBytes { raw in
                typealias Tag = BERReader.Tag
                var reader = BERReader(raw)
                try reader.descend(Tag.sequence)                // ContentInfo
                _ = try reader.readObjectIdentifier()            // contentType
                try reader.descend(Tag.context0Constructed)     // [0] EXPLICIT content
                try reader.descend(Tag.sequence)                // EnvelopedData / AuthEnvelopedData
                _ = try reader.readPrimitive(Tag.integer)        // version
                if reader.nextTag == Tag.context0Constructed {  // originatorInfo
                    try reader.skip()
                }
                try reader.skip(Tag.set)                        // recipientInfos
                try reader.descend(Tag.sequence)                // (Auth)EncryptedContentInfo
                _ = try reader.readObjectIdentifier()            // contentType
                var algorithm = try reader.enter(Tag.sequence)  // contentEncryptionAlgorithm
                let oid = try algorithm.readObjectIdentifier()
                guard reader.nextTag == Tag.context0Primitive || reader.nextTag == Tag.context0Constructed else {
                    throw BERReader.Malformed(reason: "the encrypted content is absent (detached)")
                }
                return oid
            }
        } catch let error as BERReader.Malformed {
            throw CryptoError(code: "cms-decrypt-format", message: "cannot read the EncryptedContentInfo: \(error.reason)")
        }
        guard let name = ObjectNames.cipher(oid: oid) else {
            throw CryptoError(code: "cms-decrypt-format", message: "unsupported content-encryption algorithm \(oid)")
        }
        return name
    }
}
