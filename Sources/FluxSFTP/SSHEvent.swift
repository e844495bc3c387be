import Foundation

/// What happened on the SSH server, for logs, metrics and the journal.
public enum SSHEvent: Sendable {
    /// A login succeeded.
    case loginSucceeded(user: String, partner: String, address: String, method: SSHAuthMethod, keyFingerprint: String?)
    /// A login failed. Rejected key probes count once per connection (when it ends without a
    /// login), passwords and bad signatures once per attempt.
    case loginFailed(user: String, address: String, method: SSHAuthMethod, keyFingerprint: String?, knownUser: Bool)
    /// The defender banned an address.
    case banned(address: String, until: Date)
    /// A connection that passed accept ended. `aborted` when it died, timed out or was cut
    /// rather than closed cleanly by the client.
    case sessionClosed(user: String?, partner: String?, address: String, aborted: Bool, reason: String)
    /// Something was refused; `detail` says what (a command, a subsystem name, …).
    case refused(address: String, user: String?, reason: SSHRefusalReason, detail: String?)
}
