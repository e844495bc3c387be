import Foundation
import Testing
@testable import FluxSFTP

/// What the server must refuse, and the defender's bans, with real OpenSSH clients.
@Suite("SSH refusals and defender")
struct SSHSecurityTests {
    static let user = "acme"

    static func start(_ configure: (inout SSHServerSettings) -> Void = { _ in }) throws -> (SSHTestServer, key: String) {
        let key = SSHTestKeys.userKey("ed25519", type: "ed25519")
        let test = try SSHTestServer.start(
            authenticator: SSHTestAuthenticator(keys: [user: [SSHTestKeys.publicKey(key)]]), configure: configure)
        return (test, key)
    }

    @Test("A key that is not the partner's is refused")
    func wrongKey() throws {
        let (test, _) = try Self.start()
        defer { test.server.stop() }
        let other = SSHTestKeys.userKey("other", type: "ed25519")
        let (result, output) = SSHProcess.sshSubsystem(port: test.port, user: Self.user, key: other, input: Data("x".utf8))
        #expect(result.status == 255)
        #expect(result.stderr.contains("Permission denied"))
        #expect(output.isEmpty)
        #expect(test.recorder.wait { test.recorder.events.contains { $0.isLoginFailure } })
        #expect(!test.recorder.events.contains { $0.isLoginSuccess })
        #expect(test.recorder.closedAborted.isEmpty)
        if case .loginFailed(let user, _, let method, let fingerprint, let known)? = test.recorder.events.first(where: \.isLoginFailure) {
            #expect(user == Self.user && method == .publicKey && known)
            #expect(fingerprint == SSHTestKeys.fingerprint(other + ".pub"))
        }
    }

    @Test("An unknown user is refused, even with a partner's key")
    func unknownUser() throws {
        let (test, key) = try Self.start()
        defer { test.server.stop() }
        let (result, _) = SSHProcess.sshSubsystem(port: test.port, user: "mallory", key: key, input: Data("x".utf8))
        #expect(result.status == 255)
        #expect(result.stderr.contains("Permission denied"))
        #expect(test.recorder.wait {
            test.recorder.events.contains { if case .loginFailed("mallory", _, _, _, false) = $0 { true } else { false } }
        })
    }

    @Test("Legacy algorithms are not offered: CBC ciphers, SHA-1 MACs, finite-field DH", arguments: [
        ["-c", "aes128-cbc"],
        ["-c", "aes128-ctr", "-m", "hmac-sha1"],
        ["-o", "KexAlgorithms=diffie-hellman-group14-sha1"],
    ])
    func legacyAlgorithms(_ options: [String]) throws {
        let (test, key) = try Self.start()
        defer { test.server.stop() }
        let (result, output) = SSHProcess.sshSubsystem(port: test.port, user: Self.user, key: key, input: Data("x".utf8), extra: options)
        #expect(result.status == 255)
        #expect(output.isEmpty)
        #expect(test.recorder.wait { test.recorder.events.contains { $0.refusalReason == .keyExchangeFailed } })
    }

    @Test("exec, shell and another subsystem are refused")
    func execShellSubsystem() throws {
        let (test, key) = try Self.start()
        defer { test.server.stop() }
        let args = SSHProcess.sshArguments(port: test.port, key: key)

        let exec = SSHProcess.run("/usr/bin/ssh", args + ["\(Self.user)@127.0.0.1", "ls", "/"], timeout: 15)
        #expect(exec.status != 0)
        #expect(exec.stdout.isEmpty)

        let shell = SSHProcess.run("/usr/bin/ssh", args + ["\(Self.user)@127.0.0.1"], timeout: 15)
        #expect(shell.status != 0)

        let pty = SSHProcess.run("/usr/bin/ssh", args + ["-tt", "\(Self.user)@127.0.0.1"], timeout: 15)
        #expect(pty.status != 0)

        let other = SSHProcess.run("/usr/bin/ssh", args + ["-s", "\(Self.user)@127.0.0.1", "netconf"], timeout: 15)
        #expect(other.status != 0)

        let refused = test.recorder.events.compactMap { event -> String? in
            if case .refused(_, _, .channelRequest, let detail) = event { return detail }
            return nil
        }
        #expect(refused.contains("exec ls /"))
        #expect(refused.contains("shell"))
        #expect(refused.contains("pty"))
        #expect(refused.contains("subsystem netconf"))
        #expect(test.recorder.closedAborted.isEmpty, "no handler was created")
    }

    @Test("Port forwarding (-W, -L, -R) is refused")
    func forwarding() throws {
        let (test, key) = try Self.start()
        defer { test.server.stop() }
        let args = SSHProcess.sshArguments(port: test.port, key: key)

        // -W opens a direct-tcpip channel right away (what -L does per connection).
        let stdio = SSHProcess.run("/usr/bin/ssh", args + ["-W", "127.0.0.1:\(test.port)", "\(Self.user)@127.0.0.1"], timeout: 15)
        #expect(stdio.status == 255)
        #expect(stdio.stderr.contains("open failed") || stdio.stderr.contains("forwarding failed"), "\(stdio.stderr)")

        // -L: each connection to the local port asks for a direct-tcpip channel, which is refused.
        let localPort = SSHSecurityTests.freePort()
        let options = args.map { "'\($0)'" }.joined(separator: " ")
        let local = SSHProcess.run("/bin/bash", ["-c", """
            ssh -o LogLevel=INFO \(options) -N -L 127.0.0.1:\(localPort):127.0.0.1:\(test.port) \(Self.user)@127.0.0.1 2>&1 &
            pid=$!
            for i in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/\(localPort)) 2>/dev/null && break; sleep 0.05; done
            exec 3<>/dev/tcp/127.0.0.1/\(localPort) && echo "forwarded bytes: $(timeout 5 cat <&3 | wc -c)"
            sleep 0.3; kill -KILL $pid; wait $pid 2>/dev/null
            """], timeout: 20)
        #expect(local.stdout.contains("forwarded bytes: 0"), "\(local.stdout)")
        #expect(local.stdout.contains("administratively prohibited"), "\(local.stdout)")

        let remote = SSHProcess.run("/usr/bin/ssh", args + ["-o", "ExitOnForwardFailure=yes", "-N", "-R", "127.0.0.1:0:127.0.0.1:22", "\(Self.user)@127.0.0.1"], timeout: 15)
        #expect(remote.status == 255)
        #expect(remote.stderr.contains("forwarding failed"), "\(remote.stderr)")
    }

    @Test("After failed logins the defender bans the address: the next connection is dropped before key exchange")
    func defenderBans() throws {
        let (test, key) = try Self.start { settings in
            settings.defender.threshold = 3
            settings.defender.scoreFailedAuth = 1
        }
        defer { test.server.stop() }
        let other = SSHTestKeys.userKey("other", type: "ed25519")
        for _ in 0..<3 {
            let (result, _) = SSHProcess.sshSubsystem(port: test.port, user: Self.user, key: other, input: Data())
            #expect(result.status == 255)
        }
        #expect(test.recorder.wait { test.server.defender.isBanned("127.0.0.1") })
        #expect(test.recorder.events.contains { $0.isBan })

        // Even the right key: the connection is closed before the server's banner.
        let fd = SSHRawTCP.connect(port: test.port)
        let (banner, closed) = SSHRawTCP.readUntilClosed(fd)
        close(fd)
        #expect(closed)
        #expect(banner.isEmpty)
        let (result, output) = SSHProcess.sshSubsystem(port: test.port, user: Self.user, key: key, input: Data("x".utf8))
        #expect(result.status == 255)
        #expect(output.isEmpty)
        #expect(test.recorder.wait { test.recorder.events.contains { $0.refusalReason == .banned } })
    }

    @Test("Unknown users score more: two attempts reach a threshold of 4")
    func invalidUserScoresMore() throws {
        let (test, key) = try Self.start { settings in
            settings.defender.threshold = 4
        }
        defer { test.server.stop() }
        for _ in 0..<2 {
            _ = SSHProcess.sshSubsystem(port: test.port, user: "nobody", key: key, input: Data())
        }
        #expect(test.recorder.wait { test.server.defender.isBanned("127.0.0.1") })
    }

    @Test("Too many unauthenticated connections from one address: the extra one is closed at once and scored")
    func unauthenticatedLimit() throws {
        let (test, _) = try Self.start { settings in
            settings.maxUnauthenticatedPerAddress = 2
        }
        defer { test.server.stop() }
        let first = SSHRawTCP.connect(port: test.port)
        let second = SSHRawTCP.connect(port: test.port)
        defer { close(first); close(second) }
        // Both get the server's banner: they are being served.
        for fd in [first, second] {
            var buffer = [UInt8](repeating: 0, count: 256)
            #expect(read(fd, &buffer, buffer.count) > 0)
        }
        let third = SSHRawTCP.connect(port: test.port)
        let (banner, closed) = SSHRawTCP.readUntilClosed(third)
        close(third)
        #expect(closed && banner.isEmpty)
        #expect(test.recorder.wait { test.recorder.events.contains { $0.refusalReason == .tooManyUnauthenticated } })
        #expect(test.server.activeSessions == 2)
    }

    @Test("maxSessions caps all connections; maxSessionsPerUser refuses the partner's extra login")
    func sessionLimits() throws {
        let (test, key) = try Self.start { settings in
            settings.maxSessions = 3
            settings.maxSessionsPerUser = 1
            settings.defender.enabled = false
        }
        defer { test.server.stop() }

        let sockets = (0..<3).map { _ in SSHRawTCP.connect(port: test.port) }
        #expect(test.recorder.wait { test.server.activeSessions == 3 })
        let extra = SSHRawTCP.connect(port: test.port)
        let (banner, closed) = SSHRawTCP.readUntilClosed(extra)
        close(extra)
        #expect(closed && banner.isEmpty)
        #expect(test.recorder.wait { test.recorder.events.contains { $0.refusalReason == .tooManySessions } })
        sockets.forEach { close($0) }
        #expect(test.recorder.wait { test.server.activeSessions == 0 })

        guard SSHProcess.python != nil else { return }
        // One partner session held open by paramiko, then a second login of the same partner.
        let script = """
            import sys, time, paramiko
            port, key, user = int(sys.argv[1]), sys.argv[2], sys.argv[3]
            def login():
                t = paramiko.Transport(("127.0.0.1", port))
                t.connect(username=user, pkey=paramiko.Ed25519Key.from_private_key_file(key))
                return t
            first = login()
            try:
                login()
                print("second login accepted")
            except paramiko.SSHException as e:
                print("second login refused")
            first.close()
            """
        let result = SSHProcess.python(script, arguments: ["\(test.port)", key, Self.user])
        #expect(result.stdout.contains("second login refused"), "\(result.stdout) \(result.stderr)")
        #expect(test.recorder.wait { test.recorder.events.contains { $0.refusalReason == .tooManySessionsForUser } })
    }

    /// A port nobody listens on right now (bound to 0, read back, released).
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                _ = bind(fd, pointer, length)
                return getsockname(fd, pointer, &length)
            }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
