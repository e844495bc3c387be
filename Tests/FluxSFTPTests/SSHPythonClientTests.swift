import Foundation
import Testing
@testable import FluxSFTP

/// paramiko and asyncssh as clients: other SSH implementations, timeouts, backpressure, stop().
@Suite("SSH transport with Python clients")
struct SSHPythonClientTests {
    static let user = "acme"

    static func start(_ configure: (inout SSHServerSettings) -> Void = { _ in }) throws -> (SSHTestServer, key: String) {
        let key = SSHTestKeys.userKey("ed25519", type: "ed25519")
        let test = try SSHTestServer.start(
            authenticator: SSHTestAuthenticator(keys: [user: [SSHTestKeys.publicKey(key)]], passwords: ["pw-partner": "s3cret"]),
            configure: configure)
        return (test, key)
    }

    /// Connects with paramiko and opens the sftp subsystem: `chan` in the script.
    static let paramikoPrelude = """
        import sys, time, hashlib, threading, os, paramiko
        port, key, user = int(sys.argv[1]), sys.argv[2], sys.argv[3]
        t = paramiko.Transport(("127.0.0.1", port))
        t.connect(username=user, pkey=paramiko.Ed25519Key.from_private_key_file(key))
        chan = t.open_session()
        chan.invoke_subsystem("sftp")
        def recv_exact(n):
            data = bytearray()
            while len(data) < n:
                chunk = chan.recv(min(65536, n - len(data)))
                if not chunk:
                    break
                data += chunk
            return bytes(data)

        """

    @Test("paramiko: raw sftp subsystem echo, EOF, exit status 0")
    func paramikoEcho() throws {
        let (test, key) = try Self.start()
        defer { test.server.stop() }
        let script = Self.paramikoPrelude + """
            payload = os.urandom(300_000)
            chan.sendall(payload)
            echoed = recv_exact(len(payload))
            print("echo ok" if echoed == payload else "echo mismatch %d" % len(echoed))
            chan.shutdown_write()
            print("exit status", chan.recv_exit_status())
            print("eof", chan.recv(10) == b"")
            t.close()
            """
        let result = SSHProcess.python(script, arguments: ["\(test.port)", key, Self.user])
        #expect(result.stdout.contains("echo ok"), "\(result.stdout) \(result.stderr)")
        #expect(result.stdout.contains("exit status 0"))
        #expect(result.stdout.contains("eof True"))
        #expect(test.recorder.wait { test.recorder.closedAborted == [false] })
    }

    @Test("paramiko: a slow reader gets every byte back in order (output backpressure pauses input)")
    func slowReader() throws {
        let (test, key) = try Self.start()
        defer { test.server.stop() }
        let script = Self.paramikoPrelude + """
            payload = os.urandom(6 << 20)
            sender = threading.Thread(target=lambda: chan.sendall(payload))
            sender.start()
            time.sleep(0.5)  # let the server's output queue fill while nobody reads
            h = hashlib.sha256()
            total = 0
            while total < len(payload):
                chunk = chan.recv(32768)
                if not chunk:
                    break
                h.update(chunk)
                time.sleep(0.002)
                total += len(chunk)
            sender.join()
            print("match" if h.digest() == hashlib.sha256(payload).digest() else "mismatch %d" % total)
            t.close()
            """
        let result = SSHProcess.python(script, arguments: ["\(test.port)", key, Self.user], timeout: 60)
        #expect(result.stdout.contains("match") && !result.stdout.contains("mismatch"), "\(result.stdout) \(result.stderr)")
    }

    @Test("asyncssh: subsystem echo")
    func asyncsshEcho() throws {
        let (test, key) = try Self.start()
        defer { test.server.stop() }
        let script = """
            import sys, asyncio, os, asyncssh
            port, key, user = int(sys.argv[1]), sys.argv[2], sys.argv[3]
            async def main():
                async with asyncssh.connect("127.0.0.1", port, username=user, client_keys=[key], known_hosts=None, agent_path=None) as conn:
                    writer, reader, _ = await conn.open_session(subsystem="sftp", encoding=None)
                    payload = os.urandom(100_000)
                    writer.write(payload)
                    echoed = await reader.readexactly(len(payload))
                    print("echo ok" if echoed == payload else "mismatch")
                    writer.write_eof()
            asyncio.run(main())
            """
        let result = SSHProcess.python(script, arguments: ["\(test.port)", key, Self.user])
        #expect(result.stdout.contains("echo ok"), "\(result.stdout) \(result.stderr)")
    }

    @Test("Password login works only where the authenticator allows it")
    func passwords() throws {
        let (test, _) = try Self.start()
        defer { test.server.stop() }
        let script = """
            import sys, paramiko
            port = int(sys.argv[1])
            for user, password in [("pw-partner", "s3cret"), ("pw-partner", "wrong"), ("acme", "s3cret")]:
                t = paramiko.Transport(("127.0.0.1", port))
                try:
                    t.connect(username=user, password=password)
                    print(user, password, "accepted")
                except paramiko.AuthenticationException:
                    print(user, password, "refused")
                t.close()
            """
        let result = SSHProcess.python(script, arguments: ["\(test.port)"])
        #expect(result.stdout.contains("pw-partner s3cret accepted"), "\(result.stdout) \(result.stderr)")
        #expect(result.stdout.contains("pw-partner wrong refused"))
        #expect(result.stdout.contains("acme s3cret refused"))
        #expect(test.recorder.events.contains {
            if case .loginSucceeded("pw-partner", _, _, .password, nil) = $0 { true } else { false }
        })
    }

    @Test("none is refused with the method list; a user change or too many attempts end the connection")
    func authenticationRules() throws {
        let (test, _) = try Self.start { $0.defender.enabled = false }
        defer { test.server.stop() }
        let script = """
            import sys, time, paramiko
            port = int(sys.argv[1])
            def closes(t):
                deadline = time.time() + 3
                while t.is_active() and time.time() < deadline:
                    time.sleep(0.02)
                return not t.is_active()
            t = paramiko.Transport(("127.0.0.1", port))
            t.start_client(timeout=5)
            try:
                t.auth_none("pw-partner")
            except paramiko.BadAuthenticationType as e:
                print("none refused, allowed:", ",".join(e.allowed_types))
            attempts = 0
            try:
                for i in range(10):
                    attempts += 1
                    try:
                        t.auth_password("pw-partner", "wrong-%d" % i)
                    except paramiko.AuthenticationException:
                        pass
            except Exception as e:
                pass
            print("dropped:", closes(t), "attempts:", attempts)
            t.close()

            t = paramiko.Transport(("127.0.0.1", port))
            t.start_client(timeout=5)
            try:
                t.auth_password("pw-partner", "wrong")
            except paramiko.AuthenticationException:
                pass
            try:
                t.auth_password("acme", "s3cret")
                print("user change accepted")
            except Exception as e:
                print("user change refused, dropped:", closes(t))
            t.close()
            """
        let result = SSHProcess.python(script, arguments: ["\(test.port)"])
        #expect(result.stdout.contains("none refused, allowed: publickey,password"), "\(result.stdout) \(result.stderr)")
        // The 7th rejection (maxAuthTries 6) is answered, then the connection is dropped.
        #expect(result.stdout.contains("dropped: True attempts: 7") || result.stdout.contains("dropped: True attempts: 8")
                || result.stdout.contains("dropped: True attempts: 9"), "\(result.stdout)")
        #expect(result.stdout.contains("user change refused, dropped: True"), "\(result.stdout)")
        #expect(test.recorder.wait { test.recorder.events.contains { $0.refusalReason == .tooManyAuthAttempts } })
        #expect(test.recorder.events.contains { $0.refusalReason == .userChanged })
        let failures = test.recorder.events.filter(\.isLoginFailure).count
        #expect(failures == 8, "7 passwords + 1 before the user change")
    }

    @Test("Pre-auth timeout: a TCP client that sends nothing is cut after the timeout")
    func preAuthTimeoutSilentClient() throws {
        let (test, _) = try Self.start { $0.preAuthTimeout = 1 }
        defer { test.server.stop() }
        let started = Date()
        let fd = SSHRawTCP.connect(port: test.port)
        let (banner, closed) = SSHRawTCP.readUntilClosed(fd)
        close(fd)
        let elapsed = Date().timeIntervalSince(started)
        #expect(closed)
        #expect(String(decoding: banner, as: UTF8.self).hasPrefix("SSH-2.0-"))
        #expect(elapsed >= 0.9 && elapsed < 3, "closed after \(elapsed) s")
        #expect(test.recorder.wait { test.recorder.events.contains { $0.refusalReason == .preAuthTimeout } })
        #expect(test.recorder.wait { test.server.activeSessions == 0 })
    }

    @Test("Pre-auth timeout: a client that finishes key exchange but never authenticates is cut")
    func preAuthTimeoutAfterKex() throws {
        let (test, _) = try Self.start { $0.preAuthTimeout = 1 }
        defer { test.server.stop() }
        let script = """
            import sys, time, paramiko
            t = paramiko.Transport(("127.0.0.1", int(sys.argv[1])))
            t.start_client(timeout=5)
            start = time.time()
            while t.is_active() and time.time() - start < 5:
                time.sleep(0.05)
            print("active" if t.is_active() else "closed after %.1f" % (time.time() - start))
            """
        let result = SSHProcess.python(script, arguments: ["\(test.port)"])
        #expect(result.stdout.contains("closed after"), "\(result.stdout) \(result.stderr)")
        #expect(test.recorder.wait { test.recorder.events.contains { $0.refusalReason == .preAuthTimeout } })
    }

    @Test("Idle timeout: an open sftp channel without traffic is closed, the handler sees an abort")
    func idleTimeout() throws {
        let (test, key) = try Self.start { $0.idleTimeout = 1 }
        defer { test.server.stop() }
        let script = Self.paramikoPrelude + """
            chan.sendall(b"ping")
            print("echo", recv_exact(4))
            start = time.time()
            chan.settimeout(6)
            data = chan.recv(10)
            print("server closed after %.1f" % (time.time() - start) if data == b"" else "got data")
            """
        let result = SSHProcess.python(script, arguments: ["\(test.port)", key, Self.user])
        #expect(result.stdout.contains("echo b'ping'"), "\(result.stdout) \(result.stderr)")
        #expect(result.stdout.contains("server closed after"))
        #expect(test.recorder.wait { test.recorder.closedAborted == [true] })
        #expect(test.recorder.wait { test.recorder.events.contains { $0.closedAborted == true } })
    }

    @Test("Connection dropped mid-session: the handler sees an abort")
    func clientVanishes() throws {
        let (test, key) = try Self.start()
        defer { test.server.stop() }
        let script = Self.paramikoPrelude + """
            chan.sendall(b"half a packet")
            recv_exact(13)
            t.sock.close()   # no EOF, no channel close, no disconnect message
            print("dropped")
            """
        let result = SSHProcess.python(script, arguments: ["\(test.port)", key, Self.user])
        #expect(result.stdout.contains("dropped"), "\(result.stdout) \(result.stderr)")
        #expect(test.recorder.wait { test.recorder.closedAborted == [true] })
        #expect(test.recorder.wait { test.server.activeSessions == 0 })
    }

    @Test("100 sessions from 4 threads whose clients just drop TCP: every one is served, none lingers")
    func backToBackDrops() throws {
        let (test, key) = try Self.start { $0.defender.enabled = false; $0.maxSessionsPerUser = 32 }
        defer { test.server.stop() }
        let script = """
            import sys, threading, paramiko
            port, key = int(sys.argv[1]), sys.argv[2]
            pk = paramiko.Ed25519Key.from_private_key_file(key)
            failures = []
            def client():
                for i in range(25):
                    try:
                        t = paramiko.Transport(("127.0.0.1", port))
                        t.connect(username="acme", pkey=pk)
                        c = t.open_session()
                        c.invoke_subsystem("sftp")
                        c.sendall(b"x" * 50000)
                        n = 0
                        while n < 50000:
                            n += len(c.recv(65536))
                    except Exception as e:
                        failures.append(repr(e))
                    t.close()  # TCP close without EOF, channel close or disconnect message
            threads = [threading.Thread(target=client) for _ in range(4)]
            for th in threads: th.start()
            for th in threads: th.join()
            for f in failures[:3]: print("failure", f)
            failures = len(failures)
            print("failures:", failures)
            """
        let result = SSHProcess.python(script, arguments: ["\(test.port)", key], timeout: 60)
        #expect(result.stdout.contains("failures: 0"), "\(result.stdout) \(result.stderr.suffix(500))")
        #expect(test.recorder.wait { test.server.activeSessions == 0 })
    }

    @Test("stop() closes live sessions (handlers see an abort) within a bounded time")
    func stopClosesSessions() throws {
        let (test, key) = try Self.start()
        let client = try SSHBackgroundPython(Self.paramikoPrelude + """
            chan.sendall(b"hello")
            print("echo", recv_exact(5))
            chan.settimeout(10)
            try:
                print("closed by server" if chan.recv(10) == b"" else "data")
            except Exception as e:
                print("error", e)
            """, arguments: ["\(test.port)", key, Self.user])
        #expect(client.waitFor("echo b'hello'"), "\(client.output)")
        // A second connection stuck in (blocking) key exchange: stop() shuts its socket down.
        let silent = SSHRawTCP.connect(port: test.port)
        defer { close(silent) }
        #expect(test.recorder.wait { test.server.activeSessions == 2 })
        let started = Date()
        test.server.stop()
        let elapsed = Date().timeIntervalSince(started)
        #expect(elapsed < 2.5, "stop took \(elapsed) s")
        #expect(test.server.activeSessions == 0)
        #expect(test.recorder.closedAborted == [true])
        #expect(client.finish().contains("closed by server"))
        #expect(test.recorder.events.contains { $0.refusalReason == .serverStopping })
    }
}
