import FluxCore
import FluxCrypto
import Foundation
import Logging

/// The gateway's signing key and certificate (AS2 MDNs, journal seals, batch manifests) and
/// the receipts' signing key, which is the same one unless `receipt_key` names another.
public struct GatewayIdentity: Sendable {
    public let key: PrivateKey
    public let certificate: Certificate
    /// Signs the CDAR receipts: two signatures per deposit, so an ECDSA key here takes the
    /// RSA cost off the intake without touching what AS2 partners have pinned.
    public let receiptSigner: CMSSigner
    public var signer: CMSSigner { CMSSigner(key: key, certificate: certificate) }

    /// Loads the identity (and the receipt key pair), generating evaluation key pairs first
    /// when the files are missing and the configuration allows it.
    public static func loadOrGenerate(_ config: GatewayConfig, logger: Logger) throws -> GatewayIdentity {
        let (key, cert) = try loadPair(keyPath: config.identityKey, certPath: config.identityCert, generate: config.generateIdentity,
                                       what: "gateway identity", commonName: "\(config.gatewayName) (evaluation)",
                                       organization: config.gatewayName, logger: logger) { try PrivateKey.generateRSA(bits: 2048) }
        guard let receiptKeyPath = config.receiptKey, let receiptCertPath = config.receiptCert else {
            return GatewayIdentity(key: key, certificate: cert, receiptSigner: CMSSigner(key: key, certificate: cert))
        }
        let (rKey, rCert) = try loadPair(keyPath: receiptKeyPath, certPath: receiptCertPath, generate: config.generateIdentity,
                                         what: "receipt signing key", commonName: "\(config.gatewayName) receipts (evaluation)",
                                         organization: config.gatewayName, logger: logger) { try PrivateKey.generateECP256() }
        return GatewayIdentity(key: key, certificate: cert, receiptSigner: CMSSigner(key: rKey, certificate: rCert))
    }

    private static func loadPair(keyPath: String, certPath: String, generate: Bool, what: String, commonName: String,
                                 organization: String, logger: Logger,
                                 newKey: () throws -> PrivateKey) throws -> (PrivateKey, Certificate) {
        let fm = FileManager.default
        let haveKey = fm.fileExists(atPath: keyPath)
        let haveCert = fm.fileExists(atPath: certPath)
        if !haveKey || !haveCert {
            guard generate else {
                throw FluxError("identity-missing", "the \(what) key \(keyPath) or certificate \(certPath) is missing")
            }
            guard !haveKey || !haveCert else {
                throw FluxError("identity-half", "only one of \(keyPath) and \(certPath) exists: remove it or provide both")
            }
            try fm.createDirectory(atPath: (keyPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
                                   attributes: [.posixPermissions: 0o700])
            try fm.createDirectory(atPath: (certPath as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let key = try newKey()
            let cert = try Certificate.selfSigned(key: key, commonName: commonName, organization: organization, days: 825)
            try KeyFiles.writePEM(try key.pemData(), to: keyPath, mode: 0o600)
            try KeyFiles.writePEM(try cert.pemData(), to: certPath, mode: 0o644)
            logger.warning("generated a self-signed \(what): evaluation only, replace it with a certificate your partners trust",
                           metadata: ["key": "\(keyPath)", "cert": "\(certPath)", "fingerprint": "\(cert.fingerprintSHA256)"])
        }
        let key = try PrivateKey(pemFile: keyPath)
        let cert = try Certificate(pemFile: certPath)
        guard cert.matches(key: key) else {
            throw FluxError("identity-mismatch", "the certificate \(certPath) does not belong to the key \(keyPath)")
        }
        if cert.notAfter < Date() {
            logger.error("the \(what) certificate has expired", metadata: ["cert": "\(certPath)", "notAfter": "\(cert.notAfter)"])
        }
        return (key, cert)
    }

    /// The admin bearer token, generated (random, 0600) when its file is missing.
    public static func adminToken(_ config: GatewayConfig, logger: Logger) throws -> String {
        if let s = try? String(contentsOfFile: config.adminTokenFile, encoding: .utf8) {
            var st = stat()
            if stat(config.adminTokenFile, &st) == 0, st.st_mode & 0o077 != 0 {
                // Readable by others: whoever reads it can claim and acknowledge batches.
                logger.warning("the admin token file is readable by other users; chmod 600 it",
                               metadata: ["file": "\(config.adminTokenFile)", "mode": "\(String(st.st_mode & 0o777, radix: 8))"])
            }
            let t = s.trimmingCharacters(in: .whitespacesAndNewlines)
            if t.count >= 16 { return t }
            throw FluxError("admin-token", "the admin token in \(config.adminTokenFile) is shorter than 16 characters")
        }
        var bytes = [UInt8](repeating: 0, count: 32)
        let fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
        guard fd >= 0, read(fd, &bytes, bytes.count) == bytes.count else { throw FluxError("admin-token", "cannot read /dev/urandom") }
        close(fd)
        let token = bytes.map { String(format: "%02x", $0) }.joined()
        try FileManager.default.createDirectory(atPath: (config.adminTokenFile as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try KeyFiles.writePEM(Data((token + "\n").utf8), to: config.adminTokenFile, mode: 0o600)
        logger.notice("generated the admin API token", metadata: ["file": "\(config.adminTokenFile)"])
        return token
    }
}
