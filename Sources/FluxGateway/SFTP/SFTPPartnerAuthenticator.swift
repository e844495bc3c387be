import FluxSFTP
import Foundation
import Synchronization

/// Who may log in over SFTP: the SSH user name is the partner id, and the key must be one of
/// the partner's `[sftp] authorized_keys` (a password only when the partner set a hash).
/// Swapped whole on SIGHUP.
public final class SFTPPartnerAuthenticator: SSHAuthenticator {
    struct Entry: Sendable {
        var keys: Set<SSHPublicKey>
        var passwordHash: String?
    }
    let partners: Mutex<[String: Entry]>

    public init(_ config: GatewayConfig) {
        partners = Mutex(Self.entries(config))
    }

    public func reload(_ config: GatewayConfig) {
        let fresh = Self.entries(config)
        partners.withLock { $0 = fresh }
    }

    static func entries(_ config: GatewayConfig) -> [String: Entry] {
        var out: [String: Entry] = [:]
        for p in config.partners {
            guard let s = p.sftp else { continue }
            out[p.id] = Entry(keys: s.keys, passwordHash: s.passwordHash)
        }
        return out
    }

    public func authorize(user: String, key: SSHPublicKey, address: String) -> String? {
        partners.withLock { $0[user]?.keys.contains(key) == true } ? user : nil
    }

    public func authorize(user: String, password: String, address: String) -> String? {
        let (own, any) = partners.withLock { p in (p[user]?.passwordHash, p.values.lazy.compactMap(\.passwordHash).first) }
        guard let hash = own else {
            // Unknown user, or a partner without a password: hash anyway (against some
            // partner's hash, so the same algorithm and cost) and refuse, so that the time taken
            // does not reveal which partner ids exist.
            if let any { _ = PasswordHash.verify(password, hash: any) }
            return nil
        }
        return PasswordHash.verify(password, hash: hash) ? user : nil
    }

    public var offersPasswords: Bool {
        partners.withLock { $0.values.contains { $0.passwordHash != nil } }
    }

    public func isKnownUser(_ user: String) -> Bool {
        partners.withLock { $0[user] != nil }
    }
}
