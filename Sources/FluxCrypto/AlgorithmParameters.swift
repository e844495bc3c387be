import COpenSSL

/// Explicit RFC 4055 parameters for RSA AlgorithmIdentifiers whose sender left them out.
///
/// RSAES-OAEP and RSASSA-PSS identifiers must carry a parameters SEQUENCE (empty meaning the
/// SHA-1 defaults), but some AS2 products omit it or write NULL: pyas2lib (django-pyas2) does
/// both for OAEP key transport and for PSS signatures. OpenSSL 3.0 then refuses the message
/// ("invalid oaep parameters" / "invalid pss parameters"). These helpers write, into the parsed
/// structure, the parameters such senders use, before OpenSSL reads them.
enum AlgorithmParameters {
    /// Whether an X509_ALGOR's parameters are absent or NULL.
    static func areMissing(_ algorithm: UnsafeMutablePointer<X509_ALGOR>) -> Bool {
        var parameterType: Int32 = V_ASN1_UNDEF
        X509_ALGOR_get0(nil, &parameterType, nil, algorithm)
        return parameterType == V_ASN1_UNDEF || parameterType == V_ASN1_NULL
    }

    /// Replaces the parameters of `algorithm` (object `nid`) by the DER SEQUENCE `encoding`.
    static func set(_ algorithm: UnsafeMutablePointer<X509_ALGOR>, nid: Int32, sequence encoding: [UInt8]) -> Bool {
        guard let string = ASN1_STRING_type_new(V_ASN1_SEQUENCE) else { return false }
        // X509_ALGOR_set0 takes ownership of the string (and of the object, a static one here).
        guard ASN1_STRING_set(string, encoding, Int32(encoding.count)) == 1,
              X509_ALGOR_set0(algorithm, OBJ_nid2obj(nid), V_ASN1_SEQUENCE, UnsafeMutableRawPointer(string)) == 1
        else {
            ASN1_STRING_free(string)
            return false
        }
        return true
    }

    /// RSAES-OAEP-params with every field at its default (SHA-1, MGF1-SHA-1, empty label): the
    /// empty SEQUENCE, which is what a sender omitting the parameters means.
    static let defaultOAEP: [UInt8] = [0x30, 0x00]

    /// RSASSA-PSS-params for `digest`: hash `digest`, MGF1 with `digest` (what every signer we
    /// know uses), salt of `saltLength` bytes, trailer 1. DEFAULT fields (SHA-1, salt 20) are
    /// left out, as DER requires.
    static func pss(_ digest: DigestAlgorithm, saltLength: Int) -> [UInt8] {
        var fields: [UInt8] = []
        if digest != .sha1 {
            let hash = sequence(digest.objectIdentifierDER)
            let mgf1OID: [UInt8] = [0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x08]
            fields += element(0xA0, hash) + element(0xA1, sequence(mgf1OID + hash))
        }
        if saltLength != 20 {
            fields += element(0xA2, integer(saltLength))
        }
        return sequence(fields)
    }

    /// The largest PSS salt for a `keyBits`-bit RSA key and `digest` (RFC 8017 §9.1.1:
    /// emLen - hLen - 2, emLen = ceil((modBits - 1) / 8)), which OpenSSL 3 signers use by default.
    static func maxPSSSaltLength(keyBits: Int, digest: DigestAlgorithm) -> Int {
        (keyBits - 1 + 7) / 8 - digest.byteCount - 2
    }

    /// DER INTEGER for a small non-negative value.
    private static func integer(_ value: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        var remaining = value
        repeat {
            bytes.insert(UInt8(remaining & 0xFF), at: 0)
            remaining >>= 8
        } while remaining > 0
        if bytes[0] & 0x80 != 0 { bytes.insert(0, at: 0) }
        return element(0x02, bytes)
    }

    private static func sequence(_ contents: [UInt8]) -> [UInt8] {
        element(0x30, contents)
    }

    /// Short-form DER element (all contents here are under 128 bytes).
    private static func element(_ tag: UInt8, _ contents: [UInt8]) -> [UInt8] {
        precondition(contents.count < 0x80)
        return [tag, UInt8(contents.count)] + contents
    }
}

extension DigestAlgorithm {
    /// DER of the digest's OBJECT IDENTIFIER (tag and length included).
    var objectIdentifierDER: [UInt8] {
        let nistHash: [UInt8] = [0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02]
        switch self {
        case .sha1: return [0x06, 0x05, 0x2B, 0x0E, 0x03, 0x02, 0x1A]
        case .sha224: return nistHash + [0x04]
        case .sha256: return nistHash + [0x01]
        case .sha384: return nistHash + [0x02]
        case .sha512: return nistHash + [0x03]
        }
    }
}
