import FluxAS2
import FluxCrypto
import Foundation
import TOMLKit

/// A partner's `[as2]` table.
public struct PartnerAS2Config: Sendable, Equatable {
    public var as2ID: String
    /// PEM files of the certificates that sign this partner's messages (several during a
    /// rollover), absolute.
    public var certificates: [String]
    public var requireSignature: Bool
    public var requireEncryption: Bool
    /// Ciphers and digests this partner may use; empty = the defaults.
    public var allowedCiphers: Set<String>
    public var allowedDigests: Set<DigestAlgorithm>
    public var asyncMDNURLs: [String]
    /// PEM files of TLS client certificates the partner must present (empty = not checked).
    public var tlsClientCertificates: [String]

    static let knownKeys: Set<String> = [
        "as2_id", "certificates", "require_signature", "require_encryption", "async_mdn_urls", "allowed_algorithms", "tls_client_certificates",
    ]

    static func load(_ t: TOMLTable, reader r: TOMLReader, partnersDir: String) -> PartnerAS2Config? {
        r.checkKnown(t, prefix: "as2", known: knownKeys)
        guard let id = r.string(t, "as2_id", prefix: "as2", required: true) else { return nil }
        if id.isEmpty || id.utf8.count > 128 || id.contains(where: { $0.isNewline }) { r.issue("as2.as2_id", "must be 1 to 128 characters on one line") }
        var c = PartnerAS2Config(as2ID: id, certificates: [], requireSignature: true, requireEncryption: true, allowedCiphers: [],
                                 allowedDigests: [], asyncMDNURLs: [], tlsClientCertificates: [])
        func certs(_ key: String) -> [String] {
            var out: [String] = []
            for (i, p) in (r.strings(t, key, prefix: "as2") ?? []).enumerated() {
                let path = GatewayConfig.absolute(p, relativeTo: partnersDir)
                do {
                    let cert = try Certificate(pemFile: path)
                    if cert.notAfter < Date() { r.issue("as2.\(key)[\(i)]", "\(path) expired on \(cert.notAfter)") }
                    out.append(path)
                } catch {
                    r.issue("as2.\(key)[\(i)]", "\(path): \(error)")
                }
            }
            return out
        }
        c.certificates = certs("certificates")
        c.tlsClientCertificates = certs("tls_client_certificates")
        c.requireSignature = r.bool(t, "require_signature", prefix: "as2") ?? true
        c.requireEncryption = r.bool(t, "require_encryption", prefix: "as2") ?? true
        if c.requireSignature && c.certificates.isEmpty && t["certificates"] == nil {
            r.issue("as2.certificates", "require_signature is true but no certificate is given to verify the partner's signatures")
        }
        for a in r.strings(t, "allowed_algorithms", prefix: "as2") ?? [] {
            let n = a.lowercased()
            if AS2PartnerProfile.defaultCiphers.contains(n) {
                c.allowedCiphers.insert(n)
            } else if let d = DigestAlgorithm(as2Name: n) {
                c.allowedDigests.insert(d)
            } else {
                r.issue("as2.allowed_algorithms", "unknown algorithm '\(a)' (ciphers: \(AS2PartnerProfile.defaultCiphers.sorted().joined(separator: ", ")); digests: sha1, sha224, sha256, sha384, sha512)")
            }
        }
        for (i, u) in (r.strings(t, "async_mdn_urls", prefix: "as2") ?? []).enumerated() {
            guard let url = URL(string: u), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme), url.host != nil else {
                r.issue("as2.async_mdn_urls[\(i)]", "'\(u)' is not an http(s) URL"); continue
            }
            c.asyncMDNURLs.append(u)
        }
        return c
    }
}
