/// A user's public key as it appears in an authorized_keys line.
public struct SSHPublicKey: Sendable, Equatable, Hashable {
    /// Key type name: `"ssh-ed25519"`, `"ssh-rsa"`, `"ecdsa-sha2-nistp256"`, …
    public var type: String
    /// The key blob in base64, as in authorized_keys.
    public var base64: String

    /// Creates a key from its type name and base64 blob.
    public init(type: String, base64: String) {
        self.type = type
        self.base64 = base64
    }

    /// Parses `type base64 [comment]` as written by `ssh-keygen` into `*.pub` files and
    /// authorized_keys (without leading options); nil when the line does not have that shape.
    public init?(authorizedKeysLine line: some StringProtocol) {
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count >= 2 else { return nil }
        let type = String(fields[0])
        let base64 = String(fields[1])
        let known = type.hasPrefix("ssh-") || type.hasPrefix("ecdsa-") || type.hasPrefix("sk-")
        guard known, !base64.isEmpty,
              base64.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "+" || $0 == "/" || $0 == "=") })
        else { return nil }
        self.init(type: type, base64: base64)
    }
}
