import CLibSSH

/// Process-wide libssh setup and small helpers shared by the SSH files.
enum SSHLibrary {
    /// `ssh_init()` result, computed once per process (Swift runs a static initializer exactly
    /// once, even when several threads race to it).
    private static let initResult: Int32 = ssh_init()

    /// Initializes libssh once; throws when its crypto backend could not start.
    static func ensureInitialized() throws {
        guard initResult == 0 else {
            throw SSHError(code: "ssh-init", message: "libssh could not initialize its crypto backend (ssh_init returned \(initResult))")
        }
    }

    /// libssh keeps its log level and log callback per thread: each thread that drives a session
    /// silences it before the first call, so nothing from libssh reaches stderr.
    static func silenceLoggingOnThisThread() {
        _ = ssh_set_log_level(Int32(SSH_LOG_NOLOG))
    }

    /// The last error libssh recorded on a session or bind (`ssh_get_error` takes either).
    static func lastError(_ object: OpaquePointer?) -> String {
        guard let object, let text = ssh_get_error(UnsafeMutableRawPointer(object)) else { return "unknown libssh error" }
        let message = String(cString: text)
        return message.isEmpty ? "unknown libssh error" : message
    }

    /// `SHA256:…` of a public or private key, as `ssh-keygen -l` prints it.
    static func fingerprint(of key: OpaquePointer) -> String? {
        var hash: UnsafeMutablePointer<UInt8>?
        var length = 0
        guard ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &length) == 0, let digest = hash else {
            return nil
        }
        defer { ssh_clean_pubkey_hash(&hash) }
        guard let text = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, digest, length) else { return nil }
        defer { ssh_string_free_char(text) }
        return String(cString: text)
    }

    /// The key's type name and base64 blob, as in an authorized_keys line.
    static func publicKey(of key: OpaquePointer) -> SSHPublicKey? {
        guard let typeName = ssh_key_type_to_char(ssh_key_type(key)) else { return nil }
        var blob: UnsafeMutablePointer<CChar>?
        guard ssh_pki_export_pubkey_base64(key, &blob) == 0, let base64 = blob else { return nil }
        defer { ssh_string_free_char(base64) }
        return SSHPublicKey(type: String(cString: typeName), base64: String(cString: base64))
    }
}
