import Foundation

/// How a client authenticated or tried to.
public enum SSHAuthMethod: String, Sendable {
    /// Public key (probe or signed request).
    case publicKey = "publickey"
    /// Password.
    case password
}

/// Why the server turned something down.
public enum SSHRefusalReason: String, Sendable {
    /// The address is banned by the defender; dropped right after accept.
    case banned
    /// `maxSessions` connections were already open.
    case tooManySessions
    /// `maxUnauthenticatedPerAddress` connections from this address had not logged in yet.
    case tooManyUnauthenticated
    /// The partner already had `maxSessionsPerUser` sessions.
    case tooManySessionsForUser
    /// More than `maxAuthTries` rejected attempts.
    case tooManyAuthAttempts
    /// The client changed the user name between attempts.
    case userChanged
    /// Key exchange failed (no common algorithm, bad packet, timeout, client left).
    case keyExchangeFailed
    /// No successful login within `preAuthTimeout`.
    case preAuthTimeout
    /// A channel request for something other than the sftp subsystem (exec, shell, pty, env, another subsystem).
    case channelRequest
    /// The handler factory returned no handler for this partner.
    case noHandler
    /// The server is stopping.
    case serverStopping
}

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
