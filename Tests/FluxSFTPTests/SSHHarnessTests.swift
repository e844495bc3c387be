import Foundation
import Logging
import Synchronization
@testable import FluxSFTP

// Shared helpers of the SSH transport tests: keys, a real server on 127.0.0.1, an echo
// handler, and runners for OpenSSH and Python clients.

/// Keys made once per test process: host keys by SSHHostKeys, user keys by ssh-keygen.
enum SSHTestKeys {
    static let directory: String = {
        let path = NSTemporaryDirectory() + "flux-ssh-tests-\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        // Removed when the test process exits (they were left in /tmp, one directory per run).
        atexit { try? FileManager.default.removeItem(atPath: SSHTestKeys.directory) }
        return path
    }()

    static let hostKeyPaths: [String] = {
        let paths = [directory + "/host/ssh_host_ed25519_key", directory + "/host/ssh_host_rsa_key"]
        _ = try! SSHHostKeys.ensure(paths: paths)
        return paths
    }()

    /// Private key path of a user key of `type` ("ed25519", "rsa", "ecdsa"), made once per name.
    static func userKey(_ name: String, type: String) -> String {
        let path = directory + "/user-\(name)"
        userKeyLock.withLock { _ in
            if !FileManager.default.fileExists(atPath: path) {
                var args = ["-q", "-t", type, "-N", "", "-C", name, "-f", path]
                if type == "rsa" { args += ["-b", "3072"] }
                let result = SSHProcess.run("/usr/bin/ssh-keygen", args, timeout: 30)
                precondition(result.status == 0, "ssh-keygen failed: \(result.stderr)")
            }
        }
        return path
    }

    private static let userKeyLock = Mutex(())

    static func publicKey(_ privateKeyPath: String) -> SSHPublicKey {
        let line = try! String(contentsOfFile: privateKeyPath + ".pub", encoding: .utf8)
        return SSHPublicKey(authorizedKeysLine: line)!
    }

    /// `SHA256:…` as ssh-keygen prints it.
    static func fingerprint(_ path: String) -> String {
        let out = SSHProcess.run("/usr/bin/ssh-keygen", ["-l", "-E", "sha256", "-f", path], timeout: 10).stdout
        return String(out.split(separator: " ")[1])
    }
}

/// Partners and their keys/passwords.
struct SSHTestAuthenticator: SSHAuthenticator {
    var keys: [String: [SSHPublicKey]] = [:]
    var passwords: [String: String] = [:]

    func authorize(user: String, key: SSHPublicKey, address: String) -> String? {
        keys[user]?.contains(key) == true ? user : nil
    }

    func authorize(user: String, password: String, address: String) -> String? {
        passwords[user] == password ? user : nil
    }

    func isKnownUser(_ user: String) -> Bool {
        keys[user] != nil || passwords[user] != nil
    }
}

/// What handlers and the server reported, readable from the test.
final class SSHTestRecorder: Sendable {
    private let closes = Mutex<[Bool]>([])
    private let received = Mutex(0)
    private let eventList = Mutex<[SSHEvent]>([])

    var closedAborted: [Bool] { closes.withLock { $0 } }
    var bytesReceived: Int { received.withLock { $0 } }
    var events: [SSHEvent] { eventList.withLock { $0 } }

    func recordClose(aborted: Bool) { closes.withLock { $0.append(aborted) } }
    func recordReceived(_ count: Int) { received.withLock { $0 += count } }
    func record(_ event: SSHEvent) { eventList.withLock { $0.append(event) } }

    /// Waits (bounded) until `condition` holds.
    func wait(seconds: Double = 5, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }
}

/// Sends back every byte it receives.
final class SSHEchoHandler: SSHChannelHandler {
    let recorder: SSHTestRecorder
    init(recorder: SSHTestRecorder) { self.recorder = recorder }

    func received(_ bytes: UnsafeRawBufferPointer) throws -> [UInt8] {
        recorder.recordReceived(bytes.count)
        return Array(bytes)
    }

    func closed(aborted: Bool) {
        recorder.recordClose(aborted: aborted)
    }
}

/// Echoes until it sees "boom", then throws.
final class SSHExplodingHandler: SSHChannelHandler {
    struct Boom: Error {}
    let recorder: SSHTestRecorder
    init(recorder: SSHTestRecorder) { self.recorder = recorder }

    func received(_ bytes: UnsafeRawBufferPointer) throws -> [UInt8] {
        if String(decoding: bytes, as: UTF8.self).contains("boom") { throw Boom() }
        return Array(bytes)
    }

    func closed(aborted: Bool) {
        recorder.recordClose(aborted: aborted)
    }
}

/// A started server with an echo handler and its recorder; `stop()` it at the end.
struct SSHTestServer {
    let server: SSHServer
    let recorder: SSHTestRecorder
    var port: Int { server.boundPort }

    static func start(
        authenticator: SSHTestAuthenticator,
        configure: (inout SSHServerSettings) -> Void = { _ in },
        defender: SSHDefender? = nil,
        handler: (@Sendable (_ partner: String, _ recorder: SSHTestRecorder) -> (any SSHChannelHandler)?)? = nil
    ) throws -> SSHTestServer {
        var settings = SSHServerSettings(host: "127.0.0.1", port: 0, hostKeyPaths: SSHTestKeys.hostKeyPaths)
        configure(&settings)
        let recorder = SSHTestRecorder()
        var logger = Logger(label: "ssh-test")
        logger.logLevel = ProcessInfo.processInfo.environment["SSH_TEST_LOG"] != nil ? .trace : .critical
        let server = SSHServer(
            settings: settings, authenticator: authenticator, logger: logger, defender: defender,
            makeHandler: { partner, _, _ in handler.map { $0(partner, recorder) } ?? SSHEchoHandler(recorder: recorder) },
            onEvent: { recorder.record($0) })
        try server.start()
        return SSHTestServer(server: server, recorder: recorder)
    }
}

/// Runs external programs with stdout/stderr in files (no pipe deadlocks) and a time limit.
enum SSHProcess {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var seconds: Double
    }

    static func run(_ executable: String, _ arguments: [String], stdinPath: String? = nil, stdoutPath: String? = nil, timeout: Double) -> Result {
        let id = UUID().uuidString
        let outPath = stdoutPath ?? SSHTestKeys.directory + "/out-\(id)"
        let errPath = SSHTestKeys.directory + "/err-\(id)"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        defer {
            if stdoutPath == nil { try? FileManager.default.removeItem(atPath: outPath) }
            try? FileManager.default.removeItem(atPath: errPath)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = stdinPath.flatMap { FileHandle(forReadingAtPath: $0) } ?? FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: outPath)
        process.standardError = FileHandle(forWritingAtPath: errPath)
        let started = Date()
        do { try process.run() } catch { return Result(status: -1, stdout: "", stderr: "\(error)", seconds: 0) }
        let deadline = started.addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            // SIGKILL: children of the test process may inherit a mask that blocks SIGTERM.
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        let out = stdoutPath == nil ? ((try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "") : ""
        let err = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        return Result(status: process.terminationStatus, stdout: out, stderr: err, seconds: Date().timeIntervalSince(started))
    }

    /// OpenSSH client options that ignore the machine's config, agent and known hosts.
    static func sshArguments(port: Int, key: String?, extra: [String] = []) -> [String] {
        var args = [
            "-F", "/dev/null", "-p", "\(port)",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no",
            "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
            "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10",
        ]
        if let key { args += ["-i", key] }
        return args + extra
    }

    /// `ssh -s user@127.0.0.1 sftp` with `input` as stdin; returns the result and what came back.
    static func sshSubsystem(port: Int, user: String, key: String, input: Data, extra: [String] = [], timeout: Double = 20) -> (Result, Data) {
        let id = UUID().uuidString
        let inPath = SSHTestKeys.directory + "/in-\(id)"
        let outPath = SSHTestKeys.directory + "/echo-\(id)"
        _ = FileManager.default.createFile(atPath: inPath, contents: input)
        defer {
            try? FileManager.default.removeItem(atPath: inPath)
            try? FileManager.default.removeItem(atPath: outPath)
        }
        let result = run("/usr/bin/ssh", sshArguments(port: port, key: key, extra: extra) + ["-s", "\(user)@127.0.0.1", "sftp"],
                         stdinPath: inPath, stdoutPath: outPath, timeout: timeout)
        let output = FileManager.default.contents(atPath: outPath) ?? Data()
        return (result, output)
    }

    /// `$SSH_TEST_PYTHON`, else the package's `.venv` (`python3 -m venv .venv && .venv/bin/pip
    /// install paramiko asyncssh`); nil when it lacks paramiko or asyncssh.
    static let python: String? = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        let path = ProcessInfo.processInfo.environment["SSH_TEST_PYTHON"] ?? url.appendingPathComponent(".venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: path) else { return nil }
        return run(path, ["-c", "import paramiko, asyncssh"], timeout: 30).status == 0 ? path : nil
    }()

    /// Runs a Python script (with the venv's paramiko) and returns its result.
    static func python(_ script: String, arguments: [String], timeout: Double = 20) -> Result {
        let path = SSHTestKeys.directory + "/script-\(UUID().uuidString).py"
        _ = FileManager.default.createFile(atPath: path, contents: Data(script.utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        return run(python!, [path] + arguments, timeout: timeout)
    }
}

/// A raw TCP client for tests that must not speak SSH.
enum SSHRawTCP {
    static func connect(port: Int) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        precondition(rc == 0, "connect failed")
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    /// Reads until the peer closes (or the 10 s receive timeout); returns the bytes and whether it closed.
    static func readUntilClosed(_ fd: Int32) -> (Data, closed: Bool) {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n > 0 { data.append(contentsOf: buffer[0..<n]); continue }
            return (data, n == 0 || errno == ECONNRESET)
        }
    }
}

extension SSHEvent {
    var isLoginSuccess: Bool { if case .loginSucceeded = self { true } else { false } }
    var isLoginFailure: Bool { if case .loginFailed = self { true } else { false } }
    var isBan: Bool { if case .banned = self { true } else { false } }
    var refusalReason: SSHRefusalReason? { if case .refused(_, _, let reason, _) = self { reason } else { nil } }
    var closedAborted: Bool? { if case .sessionClosed(_, _, _, let aborted, _) = self { aborted } else { nil } }
}

/// A Python client running while the test does something else (e.g. stops the server).
final class SSHBackgroundPython {
    private let process = Process()
    private let outPath = SSHTestKeys.directory + "/bg-\(UUID().uuidString)"
    private let scriptPath = SSHTestKeys.directory + "/bg-\(UUID().uuidString).py"

    init(_ script: String, arguments: [String]) throws {
        _ = FileManager.default.createFile(atPath: scriptPath, contents: Data(script.utf8))
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: SSHProcess.python!)
        process.arguments = ["-u", scriptPath] + arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: outPath)
        process.standardError = process.standardOutput
        try process.run()
    }

    /// Everything printed so far.
    var output: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }

    /// Waits (bounded) until the output contains `text`.
    func waitFor(_ text: String, seconds: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if output.contains(text) { return true }
            if !process.isRunning { return output.contains(text) }
            usleep(10_000)
        }
        return false
    }

    /// Waits (bounded, then kills) for the exit; returns the output.
    func finish(seconds: Double = 10) -> String {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        defer {
            try? FileManager.default.removeItem(atPath: outPath)
            try? FileManager.default.removeItem(atPath: scriptPath)
        }
        return output
    }
}
