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
