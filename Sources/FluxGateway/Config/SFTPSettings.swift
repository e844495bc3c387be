import FluxCore
import FluxSFTP
import Foundation
import TOMLKit

/// `[sftp]`: the embedded SFTP server.
public struct SFTPSettings: Sendable, Equatable {
    public var listen: ListenAddress
    /// OpenSSH private host keys (absolute); missing ones are generated at start.
    public var hostKeys: [String]
    /// libssh algorithm lists (comma-separated); nil = the modern defaults.
    public var ciphers: String?
    public var kex: String?
    public var macs: String?
    public var maxSessions: Int
    public var maxSessionsPerUser: Int
    public var maxUnauthenticatedPerAddress: Int
    public var preAuthTimeout: Double
    public var idleTimeout: Double
    /// Uploads are refused while the state directory's filesystem has less free space than this.
    public var minFreeDisk: Int64
    public var defenderEnabled: Bool
    public var defenderThreshold: Int
    public var defenderBanTime: Double
    public var defenderWindow: Double

    static let knownKeys: Set<String> = [
        "listen", "host_keys", "enabled", "ciphers", "kex", "macs", "max_sessions", "max_sessions_per_user",
        "max_unauthenticated_per_address", "pre_auth_timeout", "idle_timeout", "min_free_disk", "defender", "defender_threshold",
        "defender_ban_time", "defender_window",
    ]

    static func load(_ t: TOMLTable, reader r: TOMLReader, stateDir: String) -> SFTPSettings? {
        r.checkKnown(t, prefix: "sftp", known: knownKeys)
        var s = SFTPSettings(listen: ListenAddress(host: "127.0.0.1", port: 2222),
                             hostKeys: ["keys/ssh_host_ed25519_key", "keys/ssh_host_rsa_key"], ciphers: nil, kex: nil, macs: nil,
                             maxSessions: 64, maxSessionsPerUser: 8, maxUnauthenticatedPerAddress: 8, preAuthTimeout: 30,
                             idleTimeout: 600, minFreeDisk: 1 << 30, defenderEnabled: true, defenderThreshold: 10,
                             defenderBanTime: 300, defenderWindow: 120)
        if let l = r.string(t, "listen", prefix: "sftp") {
            if let p = ListenAddress.parse(l) { s.listen = p } else { r.issue("sftp.listen", "'\(l)' is not host:port") }
        }
        if let keys = r.strings(t, "host_keys", prefix: "sftp") {
            if keys.isEmpty { r.issue("sftp.host_keys", "at least one host key is needed") } else { s.hostKeys = keys }
        }
        s.hostKeys = s.hostKeys.map { GatewayConfig.absolute($0, relativeTo: stateDir) }
        s.ciphers = r.string(t, "ciphers", prefix: "sftp")
        s.kex = r.string(t, "kex", prefix: "sftp")
        s.macs = r.string(t, "macs", prefix: "sftp")
        s.maxSessions = r.int(t, "max_sessions", prefix: "sftp", range: 1...10_000) ?? s.maxSessions
        s.maxSessionsPerUser = r.int(t, "max_sessions_per_user", prefix: "sftp", range: 1...1000) ?? s.maxSessionsPerUser
        s.maxUnauthenticatedPerAddress = r.int(t, "max_unauthenticated_per_address", prefix: "sftp", range: 1...1000) ?? s.maxUnauthenticatedPerAddress
        for (k, kp) in [("pre_auth_timeout", \SFTPSettings.preAuthTimeout), ("idle_timeout", \.idleTimeout),
                        ("defender_ban_time", \.defenderBanTime), ("defender_window", \.defenderWindow)] {
            if let v = r.seconds(t, k, prefix: "sftp") {
                if v < 0.05 || v > 7 * 86400 { r.issue("sftp.\(k)", "must be between 50ms and 7 days") } else { s[keyPath: kp] = v }
            }
        }
        s.minFreeDisk = r.bytes(t, "min_free_disk", prefix: "sftp") ?? s.minFreeDisk
        s.defenderEnabled = r.bool(t, "defender", prefix: "sftp") ?? true
        s.defenderThreshold = r.int(t, "defender_threshold", prefix: "sftp", range: 1...10_000) ?? s.defenderThreshold
        if r.bool(t, "enabled", prefix: "sftp") == false { return nil }
        return s
    }
}

/// A partner's `[sftp]` table.
public struct PartnerSFTPConfig: Sendable, Equatable {
    /// OpenSSH public key lines (`type base64 [comment]`), several for a rollover.
    public var authorizedKeys: [String]
    /// A crypt(3) hash (yescrypt `$y$`, bcrypt `$2b$`, sha512-crypt `$6$`); nil = no password login.
    public var passwordHash: String?
    /// Run the flux-level checks before answering the client's CLOSE, so a bad file fails its put.
    public var rejectOnClose: Bool
    public var maxFileSize: Int64
    public var quotaBytes: Int64
    public var quotaFiles: Int

    static func load(_ t: TOMLTable, reader r: TOMLReader) -> PartnerSFTPConfig {
        r.checkKnown(t, prefix: "sftp", known: ["authorized_keys", "password_hash", "reject_on_close", "max_file_size", "quota_bytes", "quota_files"])
        var c = PartnerSFTPConfig(authorizedKeys: r.strings(t, "authorized_keys", prefix: "sftp") ?? [], passwordHash: nil,
                                  rejectOnClose: r.bool(t, "reject_on_close", prefix: "sftp") ?? false,
                                  maxFileSize: 120_000_000, quotaBytes: 1 << 30, quotaFiles: 1000)
        for (i, k) in c.authorizedKeys.enumerated() {
            if SSHPublicKey(authorizedKeysLine: k) == nil {
                r.issue("sftp.authorized_keys[\(i)]", "is not an OpenSSH public key line (type base64 [comment]; options are not supported)")
            }
        }
        if let h = r.string(t, "password_hash", prefix: "sftp") {
            if h.hasPrefix("$y$") || h.hasPrefix("$2b$") || h.hasPrefix("$2y$") || h.hasPrefix("$6$") || h.hasPrefix("$gy$") {
                c.passwordHash = h
            } else {
                r.issue("sftp.password_hash", "must be a crypt(3) hash ($y$ yescrypt, $2b$ bcrypt or $6$ sha512-crypt), never a clear password")
            }
        }
        c.maxFileSize = r.bytes(t, "max_file_size", prefix: "sftp") ?? c.maxFileSize
        c.quotaBytes = r.bytes(t, "quota_bytes", prefix: "sftp") ?? c.quotaBytes
        c.quotaFiles = r.int(t, "quota_files", prefix: "sftp", range: 1...10_000_000) ?? c.quotaFiles
        return c
    }

    /// The authorized keys, parsed as the SSH server compares them.
    public var keys: Set<SSHPublicKey> { Set(authorizedKeys.compactMap { SSHPublicKey(authorizedKeysLine: $0) }) }
}
