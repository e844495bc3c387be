import CLibSSH
import Foundation
import Logging
import Synchronization

/// The embedded SSH server that carries partners' SFTP sessions.
///
/// One listening socket served by an accept thread; every accepted connection gets its own
/// thread, which owns the libssh session from accept to close (libssh sessions never cross
/// threads). Connections are capped in total, per partner and (before login) per address;
/// addresses that keep failing are banned by the defender.
///
/// Call `stop()` before dropping the last reference: the threads keep the server alive.
public final class SSHServer: Sendable {
    /// What the server was started with.
    public let settings: SSHServerSettings
    /// The defender that scores failed logins and bans addresses.
    public let defender: SSHDefender
    let authenticator: any SSHAuthenticator
    let logger: Logger
    let makeHandler: @Sendable (_ partner: String, _ user: String, _ address: String) -> (any SSHChannelHandler)?
    let onEvent: @Sendable (SSHEvent) -> Void

    /// Set once by `stop()`; connection threads check it on every turn of their loop.
    let stopping = Atomic<Bool>(false)
    /// Tests only: milliseconds a connection thread waits after freeing its session, to widen
    /// the window in which a descriptor number freed by libssh is reused by a new connection.
    let teardownPauseForTesting = Atomic<Int>(0)
    private let state = Mutex(State())
    /// The libssh bind holding host keys and algorithm options. ssh_bind_accept_fd reads and
    /// duplicates them, so it runs under this lock; nil once stopped.
    private let bind = Mutex<BindHandle?>(nil)

    /// An ssh_bind pointer. @unchecked: only ever used under the `bind` lock.
    private struct BindHandle: @unchecked Sendable {
        let pointer: OpaquePointer
    }

    private enum Phase { case idle, running, stopping, stopped }

    private struct Connection {
        let fd: Int32
        let address: String
        var partner: String?
    }

    private struct State {
        var phase = Phase.idle
        var boundPort = 0
        var wakeRead: Int32 = -1
        var wakeWrite: Int32 = -1
        var acceptThreadDone = false
        var nextID: UInt64 = 1
        var connections: [UInt64: Connection] = [:]
        var unauthenticatedByAddress: [String: Int] = [:]
        var sessionsByPartner: [String: Int] = [:]
    }

    /// Creates a stopped server.
    /// - Parameters:
    ///   - defender: shared defender (e.g. with other listeners); nil = a new one from `settings.defender`.
    ///   - makeHandler: called on the connection's thread when a client opens the sftp subsystem;
    ///     nil refuses the subsystem.
    ///   - onEvent: called on connection and accept threads; must be quick and thread-safe.
    public init(
        settings: SSHServerSettings,
        authenticator: any SSHAuthenticator,
        logger: Logger,
        defender: SSHDefender? = nil,
        makeHandler: @escaping @Sendable (_ partner: String, _ user: String, _ address: String) -> (any SSHChannelHandler)?,
        onEvent: @escaping @Sendable (SSHEvent) -> Void = { _ in }
    ) {
        self.settings = settings
        self.authenticator = authenticator
        self.logger = logger
        self.defender = defender ?? SSHDefender(settings: settings.defender)
        self.makeHandler = makeHandler
        self.onEvent = onEvent
    }

    deinit {
        bind.withLock { bind in
            if let handle = bind { ssh_bind_free(handle.pointer) }
            bind = nil
        }
    }

    /// Loads the host keys, binds (SO_REUSEADDR) and starts the accept thread.
    public func start() throws {
        try SSHLibrary.ensureInitialized()
        let canStart = state.withLock { state -> Bool in
            guard state.phase == .idle else { return false }
            state.phase = .running
            return true
        }
        guard canStart else {
            throw SSHError(code: "already-started", message: "this SSH server was already started; create a new one")
        }
        do {
            let handle = try makeBind()
            let boxed = BindHandle(pointer: handle)
            bind.withLock { $0 = boxed }
            let (listenFD, port) = try SSHSocket.listen(host: settings.host, port: settings.port)
            var pipeFDs: [Int32] = [-1, -1]
            guard pipe(&pipeFDs) == 0 else {
                close(listenFD)
                throw SSHError(code: "listen", message: "cannot create the wake-up pipe: \(SSHSocket.errnoText())")
            }
            for fd in pipeFDs {
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            }
            state.withLock { state in
                state.boundPort = port
                state.wakeRead = pipeFDs[0]
                state.wakeWrite = pipeFDs[1]
            }
            let wakeRead = pipeFDs[0]
            guard SSHThread.start({ [self] in acceptLoop(listenFD: listenFD, wakeFD: wakeRead) }) else {
                close(listenFD)
                close(pipeFDs[0])
                close(pipeFDs[1])
                throw SSHError(code: "thread", message: "cannot start the SSH accept thread")
            }
            logger.info("SSH server listening", metadata: ["host": "\(settings.host)", "port": "\(port)"])
        } catch {
            bind.withLock { bind in
                if let handle = bind { ssh_bind_free(handle.pointer) }
                bind = nil
            }
            state.withLock { $0.phase = .stopped }
            throw error
        }
    }

    /// The port actually bound (useful with port 0); 0 before `start()`.
    public var boundPort: Int {
        state.withLock { $0.boundPort }
    }

    /// Connections being served, logged in or not.
    public var activeSessions: Int {
        state.withLock { $0.connections.count }
    }

    /// Stops accepting, closes every session (their handlers see `closed(aborted: true)`) and
    /// waits a bounded time (about 5 s at most) for the threads to finish.
    public func stop() {
        let wakeWrite = state.withLock { state -> Int32? in
            guard state.phase == .running else { return nil }
            state.phase = .stopping
            return state.wakeWrite
        }
        guard let wakeWrite else { return }
        stopping.store(true, ordering: .releasing)
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)

        let acceptDone = waitUntil(seconds: 2) { $0.acceptThreadDone }
        // Sessions notice `stopping` within one poll interval and say goodbye; a thread still
        // blocked in key exchange is woken by shutting its socket down.
        if !waitUntil(seconds: 0.5, { $0.connections.isEmpty }) {
            state.withLock { state in
                for connection in state.connections.values {
                    _ = shutdown(connection.fd, Int32(SHUT_RDWR))
                }
            }
        }
        let drained = waitUntil(seconds: 2) { $0.connections.isEmpty }
        bind.withLock { bind in
            if let handle = bind { ssh_bind_free(handle.pointer) }
            bind = nil
        }
        state.withLock { state in
            if acceptDone {
                close(state.wakeRead)
                close(state.wakeWrite)
                state.wakeRead = -1
                state.wakeWrite = -1
            }
            state.phase = .stopped
        }
        if drained {
            logger.info("SSH server stopped")
        } else {
            logger.warning("SSH server stopped with sessions still finishing", metadata: ["sessions": "\(activeSessions)"])
        }
    }

    // MARK: - Accepting

    private func makeBind() throws -> OpaquePointer {
        guard let handle = ssh_bind_new() else {
            throw SSHError(code: "bind-options", message: "ssh_bind_new failed (out of memory)")
        }
        do {
            func set(_ option: ssh_bind_options_e, _ name: String, _ value: UnsafeRawPointer) throws {
                guard ssh_bind_options_set(handle, option, value) >= 0 else {
                    throw SSHError(code: "bind-options", message: "libssh rejected \(name): \(SSHLibrary.lastError(handle))")
                }
            }
            func set(_ option: ssh_bind_options_e, _ name: String, string: String) throws {
                try string.withCString { try set(option, "\(name) \"\(string)\"", $0) }
            }
            // ssh_bind_accept_fd would otherwise apply /etc/ssh/libssh_server_config and let a
            // system-wide file change our algorithms.
            var processConfig = false
            try set(SSH_BIND_OPTIONS_PROCESS_CONFIG, "process-config", &processConfig)
            var verbosity = Int32(SSH_LOG_NOLOG)
            try set(SSH_BIND_OPTIONS_LOG_VERBOSITY, "log verbosity", &verbosity)
            try set(SSH_BIND_OPTIONS_KEY_EXCHANGE, "kex", string: settings.kex ?? SSHServerSettings.defaultKex)
            let ciphers = settings.ciphers ?? SSHServerSettings.defaultCiphers
            try set(SSH_BIND_OPTIONS_CIPHERS_C_S, "ciphers", string: ciphers)
            try set(SSH_BIND_OPTIONS_CIPHERS_S_C, "ciphers", string: ciphers)
            let macs = settings.macs ?? SSHServerSettings.defaultMACs
            try set(SSH_BIND_OPTIONS_HMAC_C_S, "macs", string: macs)
            try set(SSH_BIND_OPTIONS_HMAC_S_C, "macs", string: macs)
            if let algorithms = settings.hostKeyAlgorithms {
                try set(SSH_BIND_OPTIONS_HOSTKEY_ALGORITHMS, "host key algorithms", string: algorithms)
            }
            guard !settings.hostKeyPaths.isEmpty else {
                throw SSHError(code: "host-key", message: "no SSH host key configured")
            }
            for path in settings.hostKeyPaths {
                let key = try SSHHostKeys.load(path)
                let fingerprint = SSHLibrary.fingerprint(of: key) ?? "?"
                // On success the bind owns the key and frees it in ssh_bind_free.
                guard ssh_bind_options_set(handle, SSH_BIND_OPTIONS_IMPORT_KEY, UnsafeRawPointer(key)) >= 0 else {
                    ssh_key_free(key)
                    throw SSHError(code: "host-key", message: "libssh rejected host key \(path): \(SSHLibrary.lastError(handle))")
                }
                logger.info("SSH host key loaded", metadata: ["path": "\(path)", "fingerprint": "\(fingerprint)"])
            }
            return handle
        } catch {
            ssh_bind_free(handle)
            throw error
        }
    }

    private func acceptLoop(listenFD: Int32, wakeFD: Int32) {
        defer {
            close(listenFD)
            state.withLock { $0.acceptThreadDone = true }
        }
        var fds = [
            pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0),
        ]
        while !stopping.load(ordering: .acquiring) {
            fds[0].revents = 0
            fds[1].revents = 0
            let ready = poll(&fds, 2, 1000)
            if stopping.load(ordering: .acquiring) { break }
            if ready < 0 {
                if errno != EINTR {
                    logger.error("SSH accept poll failed", metadata: ["error": "\(SSHSocket.errnoText())"])
                    usleep(100_000)
                }
                continue
            }
            guard fds[0].revents & Int16(POLLIN) != 0 else { continue }
            for _ in 0..<64 {
                guard let (fd, address) = SSHSocket.accept(listenFD) else {
                    let code = errno
                    if code == EMFILE || code == ENFILE || code == ENOBUFS || code == ENOMEM {
                        logger.error("SSH accept failed: out of file descriptors or memory", metadata: ["error": "\(String(cString: strerror(code)))"])
                        usleep(100_000)
                    }
                    break
                }
                admit(fd: fd, address: address)
            }
        }
    }

    private enum Admission {
        case admitted(UInt64)
        case refused(SSHRefusalReason)
    }

    /// Decides on a fresh connection before any SSH byte is exchanged.
    private func admit(fd: Int32, address: String) {
        if defender.isBanned(address) {
            close(fd)
            logger.debug("SSH connection from banned address dropped", metadata: ["address": "\(address)"])
            onEvent(.refused(address: address, user: nil, reason: .banned, detail: nil))
            return
        }
        let admission = state.withLock { state -> Admission in
            guard state.phase == .running else { return .refused(.serverStopping) }
            guard state.connections.count < settings.maxSessions else { return .refused(.tooManySessions) }
            guard state.unauthenticatedByAddress[address, default: 0] < settings.maxUnauthenticatedPerAddress else {
                return .refused(.tooManyUnauthenticated)
            }
            let id = state.nextID
            state.nextID += 1
            state.connections[id] = Connection(fd: fd, address: address)
            state.unauthenticatedByAddress[address, default: 0] += 1
            return .admitted(id)
        }
        switch admission {
        case .refused(let reason):
            close(fd)
            logger.notice("SSH connection refused", metadata: ["address": "\(address)", "reason": "\(reason.rawValue)"])
            onEvent(.refused(address: address, user: nil, reason: reason, detail: nil))
            if reason == .tooManyUnauthenticated {
                score(address, .tooManyConnections)
            }
        case .admitted(let id):
            if !SSHSocket.setNoDelay(fd) {
                logger.debug("TCP_NODELAY failed", metadata: ["address": "\(address)", "error": "\(SSHSocket.errnoText())"])
            }
            let started = SSHThread.start { [self] in
                SSHConnection(server: self, id: id, fd: fd, address: address).run()
            }
            if !started {
                release(id)
                close(fd)
                logger.error("SSH connection dropped: cannot start a thread", metadata: ["address": "\(address)"])
            }
        }
    }

    // MARK: - Called by connection threads

    /// Runs `body` with the bind under its lock (nil once the server stopped).
    func withBind<T>(_ body: (OpaquePointer?) -> T) -> T {
        bind.withLock { body($0?.pointer) }
    }

    /// Records a logged-in partner; false when the partner is at `maxSessionsPerUser`.
    func admitLogin(_ id: UInt64, partner: String) -> Bool {
        state.withLock { state in
            guard var connection = state.connections[id], connection.partner == nil else { return false }
            guard state.sessionsByPartner[partner, default: 0] < settings.maxSessionsPerUser else { return false }
            state.sessionsByPartner[partner, default: 0] += 1
            Self.decrement(&state.unauthenticatedByAddress, connection.address)
            connection.partner = partner
            state.connections[id] = connection
            return true
        }
    }

    /// Forgets a connection; called before its socket is closed so `stop()` never shuts down a
    /// descriptor number that was reused.
    func release(_ id: UInt64) {
        state.withLock { state in
            guard let connection = state.connections.removeValue(forKey: id) else { return }
            if let partner = connection.partner {
                Self.decrement(&state.sessionsByPartner, partner)
            } else {
                Self.decrement(&state.unauthenticatedByAddress, connection.address)
            }
        }
    }

    /// Scores `event` for `address` and reports a resulting ban.
    func score(_ address: String, _ event: SSHDefender.Event) {
        guard defender.record(address, event: event) else { return }
        let until = defender.bannedUntil(address) ?? Date()
        logger.warning("SSH address banned", metadata: [
            "address": "\(address)",
            "until": "\(until.ISO8601Format())",
            "event": "\(event)",
        ])
        onEvent(.banned(address: address, until: until))
    }

    private static func decrement(_ counts: inout [String: Int], _ key: String) {
        guard let count = counts[key] else { return }
        if count <= 1 {
            counts.removeValue(forKey: key)
        } else {
            counts[key] = count - 1
        }
    }

    private func waitUntil(seconds: Double, _ condition: (State) -> Bool) -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if state.withLock({ condition($0) }) { return true }
            usleep(5_000)
        }
        return state.withLock { condition($0) }
    }
}
