import FluxCrypto
import Foundation

/// What the AS2 layer knows of a partner: its certificates (several at once during a
/// rollover) and its security policy.
public struct AS2PartnerProfile: Sendable {
    public var partnerID: String
    public var as2ID: String
    /// Certificates that may sign this partner's messages (and whose holder it is).
    public var certificates: [Certificate]
    public var requireSignature: Bool
    public var requireEncryption: Bool
    /// Content-encryption ciphers accepted (OpenSSL short names, e.g. `aes-256-cbc`).
    public var allowedCiphers: Set<String>
    /// Digests accepted for signatures and MICs.
    public var allowedDigests: Set<DigestAlgorithm>
    /// Async MDN URLs this partner may ask for (exact match, after trimming); anything else is
    /// refused: the URL is attacker-chosen input (SSRF).
    public var asyncMDNURLs: [String]
    /// SHA-256 fingerprints (lowercase hex) of TLS client certificates this partner must
    /// present; empty = no TLS client-certificate check.
    public var tlsClientFingerprints: [String]

    public static let defaultCiphers: Set<String> = [
        "des-ede3-cbc", "aes-128-cbc", "aes-192-cbc", "aes-256-cbc", "aes-128-gcm", "aes-192-gcm", "aes-256-gcm",
    ]
    public static let defaultDigests: Set<DigestAlgorithm> = [.sha1, .sha224, .sha256, .sha384, .sha512]

    public init(partnerID: String, as2ID: String, certificates: [Certificate], requireSignature: Bool = true,
                requireEncryption: Bool = true, allowedCiphers: Set<String> = AS2PartnerProfile.defaultCiphers,
                allowedDigests: Set<DigestAlgorithm> = AS2PartnerProfile.defaultDigests, asyncMDNURLs: [String] = [],
                tlsClientFingerprints: [String] = []) {
        self.partnerID = partnerID; self.as2ID = as2ID; self.certificates = certificates
        self.requireSignature = requireSignature; self.requireEncryption = requireEncryption
        self.allowedCiphers = allowedCiphers; self.allowedDigests = allowedDigests; self.asyncMDNURLs = asyncMDNURLs
        self.tlsClientFingerprints = tlsClientFingerprints
    }

    /// Whether `url` is on the allow-list.
    public func allowsAsyncURL(_ url: String) -> Bool {
        let u = url.trimmingCharacters(in: .whitespaces)
        return asyncMDNURLs.contains(u)
    }
}

/// Our side: the AS2 names we answer to, the keys that may decrypt (several during a
/// rollover) and the signer for MDNs (the newest valid key).
public struct AS2LocalIdentity: Sendable {
    public var as2IDs: [String]
    public var decryptionKeys: [DecryptionKey]
    public var signer: CMSSigner
    public var reportingUA: String

    public init(as2IDs: [String], decryptionKeys: [DecryptionKey], signer: CMSSigner, reportingUA: String) {
        self.as2IDs = as2IDs; self.decryptionKeys = decryptionKeys; self.signer = signer; self.reportingUA = reportingUA
    }
}
