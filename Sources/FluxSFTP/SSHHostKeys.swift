import CLibSSH
import Foundation

/// The server's host keys: created on first start, then loaded.
public enum SSHHostKeys {
    /// Generates every missing key (a path containing "ed25519" gets an Ed25519 key, "ecdsa" an
    /// ECDSA P-256 key, anything else RSA 3072) with mode 0600, then returns the `SHA256:…`
    /// fingerprint of each path's key, in order.
    ///
    /// libssh 0.10 writes Ed25519 keys in OpenSSH format and RSA/ECDSA keys as PKCS#8 PEM (only
    /// libssh 0.11 can write OpenSSH format for those); OpenSSH and libssh read both.
    public static func ensure(paths: [String]) throws -> [String] {
        try SSHLibrary.ensureInitialized()
        var fingerprints: [String] = []
        for path in paths {
            if !FileManager.default.fileExists(atPath: path) {
                try generate(at: path)
            }
            let key = try load(path)
            defer { ssh_key_free(key) }
            guard let fingerprint = SSHLibrary.fingerprint(of: key) else {
                throw SSHError(code: "host-key", message: "could not compute the fingerprint of host key \(path)")
            }
            fingerprints.append(fingerprint)
        }
        return fingerprints
    }

    /// Imports a private key file; the caller owns (frees or hands over) the returned key.
    static func load(_ path: String) throws -> OpaquePointer {
        var key: OpaquePointer?
        let rc = ssh_pki_import_privkey_file(path, nil, nil, nil, &key)
        guard rc == SSH_OK, let key else {
            throw SSHError(code: "host-key", message: "could not read SSH host key \(path): unreadable, encrypted or not a private key (run ssh-keygen -l -f \(path) to check it)")
        }
        return key
    }

    private static func generate(at path: String) throws {
        let name = (path as NSString).lastPathComponent.lowercased()
        let type: ssh_keytypes_e
        let bits: Int32
        if name.contains("ed25519") {
            (type, bits) = (SSH_KEYTYPE_ED25519, 0)
        } else if name.contains("ecdsa") {
            (type, bits) = (SSH_KEYTYPE_ECDSA_P256, 256)
        } else {
            (type, bits) = (SSH_KEYTYPE_RSA, 3072)
        }
        var generated: OpaquePointer?
        guard ssh_pki_generate(type, bits, &generated) == SSH_OK, let key = generated else {
            throw SSHError(code: "host-key-generate", message: "libssh could not generate a host key for \(path)")
        }
        defer { ssh_key_free(key) }

        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        // libssh writes with fopen("wb"), which would leave the umask's mode (often 0644) on a
        // private key: create the file 0600 first, let libssh fill it, then rename into place so
        // a crash never leaves a truncated key under the real name.
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw SSHError(code: "host-key-generate", message: "could not create \(temporary): \(String(cString: strerror(errno)))")
        }
        close(fd)
        guard ssh_pki_export_privkey_file(key, nil, nil, nil, temporary) == SSH_OK else {
            unlink(temporary)
            throw SSHError(code: "host-key-generate", message: "libssh could not write the host key to \(temporary)")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw SSHError(code: "host-key-generate", message: "could not move the new host key to \(path): \(reason)")
        }
    }
}
