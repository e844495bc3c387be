import FluxAS2
import FluxCore
import FluxCrypto
import Foundation
import Logging

/// Everything the AS2 layer needs from the configuration, loaded once (certificates parsed,
/// keys read) and swapped as a whole on SIGHUP.
public struct AS2Context: Sendable {
    public var settings: AS2Settings
    public var identity: AS2LocalIdentity
    /// By AS2 id.
    public var partners: [String: AS2PartnerProfile]

    /// Loads keys and certificates. The signing key is the newest currently valid one among
    /// the decryption keys (rollover: the new key signs as soon as it is valid, the old one
    /// still decrypts what partners encrypted to it).
    public static func load(_ config: GatewayConfig, settings: AS2Settings, identity: GatewayIdentity) throws -> AS2Context {
        var keys: [DecryptionKey] = []
        for pair in settings.decryptionKeys {
            let key = try PrivateKey(pemFile: pair.key)
            let cert = try Certificate(pemFile: pair.cert)
            guard cert.matches(key: key) else { throw FluxError("as2-key", "the certificate \(pair.cert) does not belong to the key \(pair.key)") }
            keys.append(DecryptionKey(key: key, certificate: cert))
        }
        if keys.isEmpty { keys = [DecryptionKey(key: identity.key, certificate: identity.certificate)] }
        let now = Date()
        let valid = keys.filter { $0.certificate.notBefore <= now && $0.certificate.notAfter > now }
        let newest = (valid.isEmpty ? keys : valid).max { $0.certificate.notBefore < $1.certificate.notBefore }!
        var partners: [String: AS2PartnerProfile] = [:]
        for p in config.partners {
            guard let a = p.as2 else { continue }
            let certs = try a.certificates.flatMap { try Certificate.loadAll(pemFile: $0) }
            let tls = try a.tlsClientCertificates.flatMap { try Certificate.loadAll(pemFile: $0) }.map(\.fingerprintSHA256)
            partners[a.as2ID] = AS2PartnerProfile(
                partnerID: p.id, as2ID: a.as2ID, certificates: certs, requireSignature: a.requireSignature,
                requireEncryption: a.requireEncryption,
                allowedCiphers: a.allowedCiphers.isEmpty ? AS2PartnerProfile.defaultCiphers : a.allowedCiphers,
                allowedDigests: a.allowedDigests.isEmpty ? AS2PartnerProfile.defaultDigests : a.allowedDigests,
                asyncMDNURLs: a.asyncMDNURLs, tlsClientFingerprints: tls)
        }
        return AS2Context(settings: settings, identity: AS2LocalIdentity(
            as2IDs: settings.as2IDs, decryptionKeys: keys, signer: CMSSigner(key: newest.key, certificate: newest.certificate),
            reportingUA: "flux-gateway/\(FluxVersion.string)"), partners: partners)
    }
}
