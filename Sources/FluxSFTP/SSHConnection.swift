import CLibSSH
import Foundation
import Logging

/// One accepted connection: owns its libssh session, event and channels, and lives entirely on
/// the thread that runs `run()`. libssh calls back into it (through `userdata`) only from inside
/// the libssh calls that thread makes.
final class SSHConnection {
    let server: SSHServer
    let id: UInt64
    let address: String
    private let fd: Int32
    private var logger: Logger
    private let started = ContinuousClock.now
    private var lastActivity = ContinuousClock.now

    private var session: OpaquePointer?
    private var event: OpaquePointer?
    private let serverCallbacks: UnsafeMutablePointer<ssh_server_callbacks_struct>
    private var channels: [SSHChannel] = []

    /// The user name of the first authentication request; later requests must use the same.
    private(set) var user: String?
    private(set) var partner: String?
    private var authenticated = false
    private var rejectedAttempts = 0
    /// A rejected key probe: scored once, when the connection ends without a login, so a client
    /// that offers several keys before the right one is not punished for it.
    private var rejectedProbe: (user: String, fingerprint: String?, knownUser: Bool)?
    private var scoredFailure = false
    /// Set by a callback that wants the connection dropped; acted on by the loop.
    private var closeRequest: (reason: String, aborted: Bool)?
    /// A handler saw `closed(aborted: true)`.
    var sawAbort = false

    /// Poll interval of the session loop: bounds how late timeouts and `stop()` are noticed.
    private static let pollMilliseconds: Int32 = 100
    /// Channels per connection; SFTP clients open one.
    private static let maxChannels = 4

    init(server: SSHServer, id: UInt64, fd: Int32, address: String) {
        self.server = server
        self.id = id
        self.fd = fd
        self.address = address
        var logger = server.logger
        logger[metadataKey: "address"] = "\(address)"
        logger[metadataKey: "ssh-conn"] = "\(id)"
        self.logger = logger
        serverCallbacks = .allocate(capacity: 1)
        serverCallbacks.initialize(to: ssh_server_callbacks_struct())
    }

    deinit {
        serverCallbacks.deinitialize(count: 1)
        serverCallbacks.deallocate()
    }

    // MARK: - Life cycle

    func run() {
        SSHLibrary.silenceLoggingOnThisThread()
        let (reason, aborted) = serve()
        teardown(reason: reason, aborted: aborted)
    }

    /// Key exchange, authentication and channel traffic; returns why the connection ends.
    private func serve() -> (reason: String, aborted: Bool) {
        guard let session = ssh_new() else { return ("out of memory", true) }
        self.session = session
        // The session gets its own descriptor for the socket. libssh closes it by itself (when
        // the client sends DISCONNECT or the socket fails), at a moment we do not see; our `fd`
        // stays open until teardown, so its number cannot be reused by a newer connection while
        // `stop()` may still shut it down or teardown close it.
        let sessionFD = fcntl(fd, F_DUPFD_CLOEXEC, 0)
        guard sessionFD >= 0 else { return ("cannot duplicate the socket: \(SSHSocket.errnoText())", true) }
        // nil: the server stopped; otherwise libssh's error, empty on success.
        let acceptError = server.withBind { bind -> String? in
            guard let bind else { return nil }
            return ssh_bind_accept_fd(bind, session, sessionFD) == SSH_OK ? "" : SSHLibrary.lastError(bind)
        }
        if ssh_get_fd(session) != sessionFD {
            close(sessionFD)  // not taken over (failure before libssh stored it)
        }
        guard let acceptError else { return ("server stopping", true) }
        guard acceptError.isEmpty else {
            logger.error("SSH session setup failed", metadata: ["error": "\(acceptError)"])
            return ("session setup failed: \(acceptError)", true)
        }

        // libssh's blocking key exchange waits at most the session timeout.
        let timeout = max(0.001, server.settings.preAuthTimeout)
        var seconds = Int(timeout.rounded(.down))
        var microseconds = Int((timeout - Double(seconds)) * 1_000_000)
        ssh_options_set(session, SSH_OPTIONS_TIMEOUT, &seconds)
        ssh_options_set(session, SSH_OPTIONS_TIMEOUT_USEC, &microseconds)

        installServerCallbacks(session)
        ssh_set_auth_methods(session, Int32(server.authenticator.offersPasswords ? SSH_AUTH_METHOD_PUBLICKEY | SSH_AUTH_METHOD_PASSWORD : SSH_AUTH_METHOD_PUBLICKEY))

        guard ssh_handle_key_exchange(session) == SSH_OK else {
            let error = SSHLibrary.lastError(session)
            if server.stopping.load(ordering: .acquiring) { return ("server stopping", true) }
            if elapsed(since: started) >= server.settings.preAuthTimeout {
                server.onEvent(.refused(address: address, user: nil, reason: .preAuthTimeout, detail: "key exchange"))
                return ("pre-auth timeout during key exchange", true)
            }
            logger.debug("SSH key exchange failed", metadata: ["error": "\(error)"])
            server.onEvent(.refused(address: address, user: nil, reason: .keyExchangeFailed, detail: error))
            return ("key exchange failed: \(error)", true)
        }
        // From here on nothing may block: channel writes stay within the peer's window and a
        // write during a re-key returns 0 instead of waiting.
        ssh_set_blocking(session, 0)

        guard let event = ssh_event_new() else { return ("out of memory", true) }
        self.event = event
        guard ssh_event_add_session(event, session) == SSH_OK else { return ("cannot poll the session", true) }

        var consecutiveErrors = 0
        while true {
            let timeout = channels.contains(where: \.isWaitingToWrite) ? 5 : Self.pollMilliseconds
            let rc = ssh_event_dopoll(event, timeout)
            consecutiveErrors = rc == SSH_ERROR ? consecutiveErrors + 1 : 0

            for channel in channels {
                channel.pump()
            }
            channels.removeAll { $0.isFinished }

            if let request = closeRequest {
                return request
            }
            if server.stopping.load(ordering: .acquiring) {
                server.onEvent(.refused(address: address, user: user, reason: .serverStopping, detail: nil))
                return ("server stopping", true)
            }
            let status = ssh_get_status(session)
            if status & Int32(SSH_CLOSED | SSH_CLOSED_ERROR) != 0 || ssh_is_connected(session) == 0 || consecutiveErrors >= 3 {
                if !authenticated { return ("client left before login", true) }
                // A client that closed its channels first (EOF + close) left cleanly.
                return ("closed by client", channels.contains(where: \.hasOpenHandler))
            }
            if !authenticated {
                if elapsed(since: started) >= server.settings.preAuthTimeout {
                    logger.notice("SSH pre-auth timeout")
                    server.onEvent(.refused(address: address, user: user, reason: .preAuthTimeout, detail: nil))
                    return ("pre-auth timeout", true)
                }
            } else if elapsed(since: lastActivity) >= server.settings.idleTimeout {
                logger.notice("SSH session idle timeout", metadata: ["partner": "\(partner ?? "")"])
                return ("idle timeout", true)
            }
        }
    }

    /// Closes channels, the event, the session (which closes its descriptor) and our descriptor,
    /// in that order, each exactly once.
    private func teardown(reason: String, aborted: Bool) {
        for channel in channels {
            channel.abort()
        }
        channels.removeAll()
        if let event {
            if let session { ssh_event_remove_session(event, session) }
            ssh_event_free(event)
            self.event = nil
        }
        server.release(id)
        if let session {
            ssh_disconnect(session)
            ssh_free(session)
            self.session = nil
        }
        let pause = server.teardownPauseForTesting.load(ordering: .relaxed)
        if pause > 0 { usleep(UInt32(pause) * 1000) }
        close(fd)

        if !authenticated, !scoredFailure, let probe = rejectedProbe {
            reportFailure(user: probe.user, method: .publicKey, fingerprint: probe.fingerprint, knownUser: probe.knownUser)
        }
        let wasAborted = aborted || sawAbort
        if authenticated {
            logger.info("SSH session closed", metadata: [
                "partner": "\(partner ?? "")", "aborted": "\(wasAborted)", "reason": "\(reason)",
                "duration": "\(elapsed(since: started))",
            ])
        } else {
            logger.debug("SSH connection closed before login", metadata: ["reason": "\(reason)"])
        }
        server.onEvent(.sessionClosed(user: user, partner: partner, address: address, aborted: wasAborted, reason: reason))
    }

    /// Data moved on a channel: the idle clock restarts.
    func touch() {
        lastActivity = .now
    }

    private func elapsed(since instant: ContinuousClock.Instant) -> Double {
        let duration = ContinuousClock.now - instant
        return Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    // MARK: - libssh server callbacks

    private func installServerCallbacks(_ session: OpaquePointer) {
        let callbacks = serverCallbacks
        flux_ssh_server_callbacks_init(callbacks)
        callbacks.pointee.userdata = Unmanaged.passUnretained(self).toOpaque()
        callbacks.pointee.auth_pubkey_function = { _, user, key, signatureState, userdata in
            guard let userdata else { return SSH_AUTH_DENIED.rawValue }
            let connection = Unmanaged<SSHConnection>.fromOpaque(userdata).takeUnretainedValue()
            return connection.authenticate(user: user.map { String(cString: $0) } ?? "", key: key, signatureState: signatureState)
        }
        callbacks.pointee.auth_password_function = { _, user, password, userdata in
            guard let userdata else { return SSH_AUTH_DENIED.rawValue }
            let connection = Unmanaged<SSHConnection>.fromOpaque(userdata).takeUnretainedValue()
            return connection.authenticate(user: user.map { String(cString: $0) } ?? "", password: password.map { String(cString: $0) } ?? "")
        }
        // "none" is what every client tries first to learn the methods: refused, not counted.
        callbacks.pointee.auth_none_function = { _, _, _ in SSH_AUTH_DENIED.rawValue }
        callbacks.pointee.channel_open_request_session_function = { _, userdata in
            guard let userdata else { return nil }
            return Unmanaged<SSHConnection>.fromOpaque(userdata).takeUnretainedValue().openSessionChannel()
        }
        // Other channel types (direct-tcpip for -L/-W, x11, auth-agent) and global requests
        // (tcpip-forward for -R) have no callback here: libssh refuses them by default.
        ssh_set_server_callbacks(session, callbacks)
    }

    private func authenticate(user: String, key: OpaquePointer?, signatureState: CChar) -> Int32 {
        guard !authenticated, closeRequest == nil, acceptUserName(user) else { return SSH_AUTH_DENIED.rawValue }
        guard let key, let publicKey = SSHLibrary.publicKey(of: key) else {
            rejectAttempt()
            return SSH_AUTH_DENIED.rawValue
        }
        let fingerprint = SSHLibrary.fingerprint(of: key)
        let knownUser = server.authenticator.isKnownUser(user)
        let authorizedPartner = knownUser ? server.authenticator.authorize(user: user, key: publicKey, address: address) : nil

        switch Int32(signatureState) {
        case SSH_PUBLICKEY_STATE_NONE.rawValue:
            // A probe ("would you accept this key?"): SUCCESS makes libssh answer PK_OK and the
            // client then signs; nothing is authenticated yet.
            if authorizedPartner != nil { return SSH_AUTH_SUCCESS.rawValue }
            logger.debug("SSH key probe rejected", metadata: ["user": "\(user)", "key": "\(fingerprint ?? "?")"])
            rejectedProbe = (user, fingerprint, knownUser)
            rejectAttempt()
            return SSH_AUTH_DENIED.rawValue
        case SSH_PUBLICKEY_STATE_VALID.rawValue:
            // libssh verified the signature over this session's id with this key.
            guard let partner = authorizedPartner else {
                reportFailure(user: user, method: .publicKey, fingerprint: fingerprint, knownUser: knownUser)
                rejectAttempt()
                return SSH_AUTH_DENIED.rawValue
            }
            return loginSucceeded(user: user, partner: partner, method: .publicKey, fingerprint: fingerprint)
        default:
            // SSH_PUBLICKEY_STATE_WRONG / ERROR: a bad signature.
            reportFailure(user: user, method: .publicKey, fingerprint: fingerprint, knownUser: knownUser)
            rejectAttempt()
            return SSH_AUTH_DENIED.rawValue
        }
    }

    private func authenticate(user: String, password: String) -> Int32 {
        guard !authenticated, closeRequest == nil, acceptUserName(user) else { return SSH_AUTH_DENIED.rawValue }
        let knownUser = server.authenticator.isKnownUser(user)
        // Asked even for an unknown user: the authenticator spends the same hashing time either
        // way, so the answer's delay does not tell which partner ids exist.
        if let partner = server.authenticator.authorize(user: user, password: password, address: address), knownUser {
            return loginSucceeded(user: user, partner: partner, method: .password, fingerprint: nil)
        }
        reportFailure(user: user, method: .password, fingerprint: nil, knownUser: knownUser)
        rejectAttempt()
        return SSH_AUTH_DENIED.rawValue
    }

    /// SSH lets a client change the user between attempts; like OpenSSH we do not.
    private func acceptUserName(_ name: String) -> Bool {
        if let user, user != name {
            requestClose(reason: "user name changed during authentication", aborted: true)
            server.onEvent(.refused(address: address, user: user, reason: .userChanged, detail: name))
            return false
        }
        user = name
        return true
    }

    private func loginSucceeded(user: String, partner: String, method: SSHAuthMethod, fingerprint: String?) -> Int32 {
        guard server.admitLogin(id, partner: partner) else {
            logger.notice("SSH login refused: too many sessions for partner", metadata: ["partner": "\(partner)"])
            server.onEvent(.refused(address: address, user: user, reason: .tooManySessionsForUser, detail: partner))
            requestClose(reason: "too many sessions for partner", aborted: true)
            return SSH_AUTH_DENIED.rawValue
        }
        authenticated = true
        self.partner = partner
        logger[metadataKey: "partner"] = "\(partner)"
        touch()
        var metadata: Logger.Metadata = ["user": "\(user)", "method": "\(method.rawValue)"]
        if let fingerprint { metadata["key"] = "\(fingerprint)" }
        logger.info("SSH login", metadata: metadata)
        server.onEvent(.loginSucceeded(user: user, partner: partner, address: address, method: method, keyFingerprint: fingerprint))
        return SSH_AUTH_SUCCESS.rawValue
    }

    /// A definite failed login: logged, reported and scored at once.
    private func reportFailure(user: String, method: SSHAuthMethod, fingerprint: String?, knownUser: Bool) {
        var metadata: Logger.Metadata = ["user": "\(user)", "method": "\(method.rawValue)", "known-user": "\(knownUser)"]
        if let fingerprint { metadata["key"] = "\(fingerprint)" }
        logger.notice("SSH login failed", metadata: metadata)
        server.onEvent(.loginFailed(user: user, address: address, method: method, keyFingerprint: fingerprint, knownUser: knownUser))
        scoredFailure = true
        server.score(address, knownUser ? .failedAuth : .invalidUser)
    }

    private func rejectAttempt() {
        rejectedAttempts += 1
        guard rejectedAttempts > server.settings.maxAuthTries, closeRequest == nil else { return }
        logger.notice("SSH too many authentication attempts", metadata: ["attempts": "\(rejectedAttempts)"])
        server.onEvent(.refused(address: address, user: user, reason: .tooManyAuthAttempts, detail: nil))
        if !scoredFailure, let probe = rejectedProbe {
            reportFailure(user: probe.user, method: .publicKey, fingerprint: probe.fingerprint, knownUser: probe.knownUser)
        }
        requestClose(reason: "too many authentication attempts", aborted: true)
    }

    private func requestClose(reason: String, aborted: Bool) {
        if closeRequest == nil { closeRequest = (reason, aborted) }
    }

    private func openSessionChannel() -> OpaquePointer? {
        guard authenticated, closeRequest == nil, let session, channels.count < Self.maxChannels else { return nil }
        guard let handle = ssh_channel_new(session) else { return nil }
        // Callbacks go on before libssh confirms the channel: the client's first request may be
        // in the same read.
        channels.append(SSHChannel(connection: self, channel: handle))
        return handle
    }

    // MARK: - Used by channels

    func channelRefused(_ what: String) {
        logger.notice("SSH channel request refused", metadata: ["request": "\(what)"])
        server.onEvent(.refused(address: address, user: user, reason: .channelRequest, detail: what))
    }

    func makeHandler() -> (any SSHChannelHandler)? {
        guard let partner, let user else { return nil }
        guard let handler = server.makeHandler(partner, user, address) else {
            logger.notice("SSH sftp subsystem refused: no handler for partner")
            server.onEvent(.refused(address: address, user: user, reason: .noHandler, detail: partner))
            return nil
        }
        logger.debug("SSH sftp subsystem started")
        return handler
    }

    /// Flow-control details, for debugging a stuck transfer.
    func trace(_ message: Logger.Message, _ queuedOutput: Int) {
        logger.trace(message, metadata: ["queued-output": "\(queuedOutput)"])
    }

    func handlerFailed(_ error: any Error) {
        logger.notice("SSH channel closed: handler failed", metadata: ["error": "\(error)"])
    }
}
