import FluxCore
import FluxCrypto
import Foundation
import Logging

/// The gateway's signing key and certificate (receipts, manifests, later MDNs).
public struct GatewayIdentity: Sendable {
    public let key: PrivateKey
    public let certificate: Certificate
    public var signer: CMSSigner { CMSSigner(key: key, certificate: certificate) }

    /// Loads the identity, generating an evaluation key pair first when the files are missing
    /// and the configuration allows it.
    public static func loadOrGenerate(_ config: GatewayConfig, logger: Logger) throws -> GatewayIdentity {
        let fm = FileManager.default
        let haveKey = fm.fileExists(atPath: config.identityKey)
        let haveCert = fm.fileExists(atPath: config.identityCert)
        if !haveKey || !haveCert {
            guard config.generateIdentity else {
                throw FluxError("identity-missing", "the identity key \(config.identityKey) or certificate \(config.identityCert) is missing")
            }
            guard !haveKey || !haveCert else {
                throw FluxError("identity-half", "only one of \(config.identityKey) and \(config.identityCert) exists: remove it or provide both")
            }
            try fm.createDirectory(atPath: (config.identityKey as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
                                   attributes: [.posixPermissions: 0o700])
            try fm.createDirectory(atPath: (config.identityCert as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let key = try PrivateKey.generateRSA(bits: 2048)
            let cert = try Certificate.selfSigned(key: key, commonName: "\(config.gatewayName) (evaluation)", organization: config.gatewayName, days: 825)
            try KeyFiles.writePEM(try key.pemData(), to: config.identityKey, mode: 0o600)
            try KeyFiles.writePEM(try cert.pemData(), to: config.identityCert, mode: 0o644)
            logger.warning("generated a self-signed gateway identity: evaluation only, replace it with a certificate your partners trust",
                           metadata: ["key": "\(config.identityKey)", "cert": "\(config.identityCert)", "fingerprint": "\(cert.fingerprintSHA256)"])
        }
        let key = try PrivateKey(pemFile: config.identityKey)
        let cert = try Certificate(pemFile: config.identityCert)
        guard cert.matches(key: key) else {
            throw FluxError("identity-mismatch", "the certificate \(config.identityCert) does not belong to the key \(config.identityKey)")
        }
        if cert.notAfter < Date() {
            logger.error("the gateway certificate has expired", metadata: ["notAfter": "\(cert.notAfter)"])
        }
        return GatewayIdentity(key: key, certificate: cert)
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
