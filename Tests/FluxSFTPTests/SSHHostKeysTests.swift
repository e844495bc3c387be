import Foundation
import Testing
@testable import FluxSFTP

@Suite("SSH host keys")
struct SSHHostKeysTests {
    @Test("Missing keys are generated 0600, fingerprints match ssh-keygen, existing keys are kept")
    func generateThenLoad() throws {
        let directory = SSHTestKeys.directory + "/hostkeys-\(UUID().uuidString)"
        let paths = [directory + "/nested/ssh_host_ed25519_key", directory + "/nested/ssh_host_rsa_key"]
        let fingerprints = try SSHHostKeys.ensure(paths: paths)
        #expect(fingerprints.count == 2)
        for (path, fingerprint) in zip(paths, fingerprints) {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
            #expect(fingerprint.hasPrefix("SHA256:"))
            #expect(fingerprint == SSHTestKeys.fingerprint(path))
        }
        let keygen = SSHProcess.run("/usr/bin/ssh-keygen", ["-l", "-f", paths[1]], timeout: 10).stdout
        #expect(keygen.hasPrefix("3072 ") && keygen.contains("(RSA)"))
        #expect(try String(contentsOfFile: paths[0], encoding: .utf8).hasPrefix("-----BEGIN OPENSSH PRIVATE KEY-----"))

        #expect(try SSHHostKeys.ensure(paths: paths) == fingerprints)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory + "/nested").filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty)
    }

    @Test("A file that is not a private key is an error with code host-key")
    func badKey() throws {
        let path = SSHTestKeys.directory + "/not-a-key-\(UUID().uuidString)"
        try "hello".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: SSHError.self) { try SSHHostKeys.ensure(paths: [path]) }
        do {
            _ = try SSHHostKeys.ensure(paths: [path])
        } catch let error as SSHError {
            #expect(error.code == "host-key")
        }
    }

    @Test("A server with an unusable algorithm list fails to start with bind-options")
    func badAlgorithms() throws {
        var settings = SSHServerSettings(host: "127.0.0.1", port: 0, hostKeyPaths: SSHTestKeys.hostKeyPaths)
        settings.ciphers = "rot13"
        let server = SSHServer(settings: settings, authenticator: SSHTestAuthenticator(), logger: .init(label: "t"), makeHandler: { _, _, _ in nil })
        do {
            try server.start()
            Issue.record("started with cipher rot13")
            server.stop()
        } catch let error as SSHError {
            #expect(error.code == "bind-options")
        }
    }
}
