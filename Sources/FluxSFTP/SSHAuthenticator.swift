/// Decides who may log in. Called on connection threads, concurrently: implementations must be
/// quick (no network calls) and thread-safe.
public protocol SSHAuthenticator: Sendable {
    /// The partner id for (user, key), or nil. `user` is the SSH user name (= the partner id in our config).
    func authorize(user: String, key: SSHPublicKey, address: String) -> String?
    /// Passwords: nil (refused) unless a partner enabled them.
    func authorize(user: String, password: String, address: String) -> String?
    /// Whether `user` names a configured partner. Only used to score attempts on unknown users
    /// higher in the defender; the default says every user is known.
    func isKnownUser(_ user: String) -> Bool
    /// Whether any user may log in with a password: when none may, the server offers only
    /// `publickey`, so clients do not prompt and scanners see nothing to guess.
    var offersPasswords: Bool { get }
}

extension SSHAuthenticator {
    /// Every user counts as known: failed logins all score as failed authentication.
    public func isKnownUser(_ user: String) -> Bool { true }
    /// Passwords are offered (and refused per user by `authorize(user:password:address:)`).
    public var offersPasswords: Bool { true }
}
