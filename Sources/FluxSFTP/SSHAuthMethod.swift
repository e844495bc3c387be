/// How a client authenticated or tried to.
public enum SSHAuthMethod: String, Sendable {
    /// Public key (probe or signed request).
    case publicKey = "publickey"
    /// Password.
    case password
}
