import Foundation
import Synchronization
import Testing
@testable import FluxSFTP

/// Real OpenSSH clients against the server on 127.0.0.1, through an echo subsystem handler.
@Suite("SSH transport with OpenSSH")
struct SSHServerTests {
    static let user = "acme"

    static func authenticator(_ keys: [String]) -> SSHTestAuthenticator {
        SSHTestAuthenticator(keys: [user: keys.map(SSHTestKeys.publicKey)])
    }

    @Test("Ed25519, RSA and ECDSA user keys: bytes round-trip through the sftp subsystem", arguments: ["ed25519", "rsa", "ecdsa"])
    func echoRoundTrip(keyType: String) throws {
        let key = SSHTestKeys.userKey(keyType, type: keyType)
        let test = try SSHTestServer.start(authenticator: Self.authenticator([key]))
        defer { test.server.stop() }

        let input = Data((0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let (result, output) = SSHProcess.sshSubsystem(port: test.port, user: Self.user, key: key, input: input)
        #expect(result.status == 0, "ssh: \(result.stderr)")
        #expect(output == input)
        #expect(test.recorder.wait { test.recorder.closedAborted == [false] })
        #expect(test.recorder.wait { test.server.activeSessions == 0 })

        let logins = test.recorder.events.compactMap { event -> String? in
            if case .loginSucceeded(let user, let partner, let address, let method, let fingerprint) = event {
                #expect(user == Self.user && partner == Self.user && address == "127.0.0.1" && method == .publicKey)
                return fingerprint
            }
            return nil
        }
        #expect(logins == [SSHTestKeys.fingerprint(key + ".pub")])
        #expect(test.recorder.events.contains { $0.closedAborted == false })
    }

    @Test("Algorithm choices: ciphers, MACs, host key algorithms, key exchange", arguments: [
        ["-c", "chacha20-poly1305@openssh.com"],
        ["-c", "aes128-ctr"],
        ["-c", "aes256-gcm@openssh.com"],
        ["-c", "aes256-ctr", "-m", "hmac-sha2-256-etm@openssh.com"],
        ["-c", "aes192-ctr", "-m", "hmac-sha2-512"],
        ["-o", "HostKeyAlgorithms=rsa-sha2-512"],
        ["-o", "HostKeyAlgorithms=rsa-sha2-256"],
        ["-o", "KexAlgorithms=ecdh-sha2-nistp256"],
        ["-o", "KexAlgorithms=curve25519-sha256@libssh.org"],
    ])
    func algorithms(_ options: [String]) throws {
        let key = SSHTestKeys.userKey("ed25519", type: "ed25519")
        let test = try SSHTestServer.start(authenticator: Self.authenticator([key]))
        defer { test.server.stop() }

        let input = Data("hello over \(options.joined(separator: " "))\n".utf8)
        let (result, output) = SSHProcess.sshSubsystem(port: test.port, user: Self.user, key: key, input: input, extra: options)
        #expect(result.status == 0, "ssh: \(result.stderr)")
        #expect(output == input)
    }

    @Test("16 MiB through the echo with a re-key every MiB")
    func bigTransferWithRekeys() throws {
        let key = SSHTestKeys.userKey("ed25519", type: "ed25519")
        let test = try SSHTestServer.start(authenticator: Self.authenticator([key]))
        defer { test.server.stop() }

        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: 16 << 20)
        for index in stride(from: 0, to: bytes.count, by: 8) {
            withUnsafeBytes(of: generator.next() as UInt64) { word in
                for offset in 0..<8 { bytes[index + offset] = word[offset] }
            }
        }
        let input = Data(bytes)
        let (result, output) = SSHProcess.sshSubsystem(
            port: test.port, user: Self.user, key: key, input: input,
            extra: ["-o", "RekeyLimit=1M", "-c", "aes128-gcm@openssh.com"], timeout: 60)
        #expect(result.status == 0, "ssh: \(result.stderr)")
        #expect(output.count == input.count)
        #expect(output == input)
        #expect(test.recorder.bytesReceived == input.count)
    }

    @Test("Twelve sessions at once, each with 1 MiB through the echo")
    func concurrentSessions() throws {
        let key = SSHTestKeys.userKey("ed25519", type: "ed25519")
        let test = try SSHTestServer.start(authenticator: Self.authenticator([key])) { $0.maxSessionsPerUser = 12 }
        defer { test.server.stop() }
        let inputs = (0..<12).map { index in Data((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* (index + 3)) }) }
        let outcomes = Mutex<[Bool]>([])
        DispatchQueue.concurrentPerform(iterations: inputs.count) { index in
            let (result, output) = SSHProcess.sshSubsystem(port: test.port, user: Self.user, key: key, input: inputs[index], timeout: 30)
            outcomes.withLock { $0.append(result.status == 0 && output == inputs[index]) }
        }
        #expect(outcomes.withLock { $0 } == Array(repeating: true, count: 12))
        #expect(test.recorder.wait { test.recorder.closedAborted.count == 12 })
        #expect(test.recorder.closedAborted.allSatisfy { !$0 })
        #expect(test.recorder.wait { test.server.activeSessions == 0 })
    }

    @Test("No handler for the partner: the subsystem is refused")
    func noHandler() throws {
        let key = SSHTestKeys.userKey("ed25519", type: "ed25519")
        let test = try SSHTestServer.start(authenticator: Self.authenticator([key]), handler: { _, _ in nil })
        defer { test.server.stop() }
        let (result, output) = SSHProcess.sshSubsystem(port: test.port, user: Self.user, key: key, input: Data("x".utf8))
        #expect(result.status != 0)
        #expect(output.isEmpty)
        #expect(test.recorder.wait { test.recorder.events.contains { $0.refusalReason == .noHandler } })
    }

    @Test("A handler that throws closes the channel (exit status 1) and sees an abort")
    func handlerThrows() throws {
        let key = SSHTestKeys.userKey("ed25519", type: "ed25519")
        let test = try SSHTestServer.start(authenticator: Self.authenticator([key]), handler: { _, recorder in SSHExplodingHandler(recorder: recorder) })
        defer { test.server.stop() }
        let (result, _) = SSHProcess.sshSubsystem(port: test.port, user: Self.user, key: key, input: Data("fine\nboom\n".utf8))
        #expect(result.status == 1, "\(result.stderr)")
        #expect(test.recorder.wait { test.recorder.closedAborted == [true] })
    }

    @Test("A client's disconnect makes libssh close the socket itself; teardown must not close that number again")
    func noStaleDescriptorClose() throws {
        // Regression: teardown asked ssh_get_fd whether the session still owned the socket.
        // After SSH_MSG_DISCONNECT libssh has closed it (ssh_get_fd = -1), so teardown closed
        // the number again, by then often a newer connection's socket. Now the session works on
        // a dup and the connection closes its own descriptor exactly once.
        let key = SSHTestKeys.userKey("ed25519", type: "ed25519")
        let test = try SSHTestServer.start(authenticator: Self.authenticator([key]))
        defer { test.server.stop() }
        test.server.teardownPauseForTesting.store(400, ordering: .relaxed)

        for _ in 0..<2 {
            // OpenSSH sends SSH_MSG_DISCONNECT when it exits.
            let (result, _) = SSHProcess.sshSubsystem(port: test.port, user: Self.user, key: key, input: Data("x".utf8))
            #expect(result.status == 0, "\(result.stderr)")
            // While that connection's thread pauses in teardown, new sockets take the freed numbers.
            let sockets = (0..<4).map { _ in SSHRawTCP.connect(port: test.port) }
            usleep(500_000)
            for fd in sockets {
                var buffer = [UInt8](repeating: 0, count: 64)
                var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                let banner = read(fd, &buffer, buffer.count)
                #expect(banner > 0, "no banner: the socket was closed under us (errno \(errno))")
                let more = read(fd, &buffer, buffer.count)
                #expect(more < 0 && errno == EAGAIN, "the server side of a fresh connection was closed")
                close(fd)
            }
        }
    }
}
