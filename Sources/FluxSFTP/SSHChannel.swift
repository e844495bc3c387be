import CLibSSH

/// One session channel of a connection: refuses everything but the sftp subsystem, feeds the
/// client's bytes to the handler and sends its replies back within the client's window.
///
/// Lives on its connection's thread. libssh's callbacks only record or enqueue; writes, frees and
/// closes happen in `pump()`, called by the connection loop outside any callback.
final class SSHChannel {
    private unowned let connection: SSHConnection
    private let channel: OpaquePointer
    private let callbacks: UnsafeMutablePointer<ssh_channel_callbacks_struct>

    private var handler: (any SSHChannelHandler)?
    private var subsystemStarted = false
    private var handlerClosed = false

    /// Replies not yet written, oldest first from `outputHead`; small replies are merged so a
    /// burst of status packets goes out in few SSH packets. `output[outputHead]` is written up
    /// to `outputOffset`.
    private var output: [[UInt8]] = []
    private var outputHead = 0
    private var outputOffset = 0
    private var outputCount = 0
    /// The data callback declined bytes because too much output was queued; libssh keeps them
    /// (and stops widening the client's window) until we read them.
    private var inputPaused = false

    private var eofReceived = false
    private var remoteClosed = false
    private var localClosed = false
    private var closeStatus: Int32?
    private(set) var isFinished = false

    /// Output queued beyond which we stop taking input (backpressure for clients that send
    /// requests but do not read replies), and the level at which we resume.
    private static let outputHighWater = 1 << 20
    private static let outputLowWater = 256 << 10
    private static let writeChunk = 128 << 10
    private static let mergeLimit = 64 << 10

    init(connection: SSHConnection, channel: OpaquePointer) {
        self.connection = connection
        self.channel = channel
        callbacks = .allocate(capacity: 1)
        callbacks.initialize(to: ssh_channel_callbacks_struct())
        install()
    }

    deinit {
        callbacks.deinitialize(count: 1)
        callbacks.deallocate()
    }

    /// A subsystem is running and its handler has not been told the channel closed.
    var hasOpenHandler: Bool { handler != nil && !handlerClosed }

    /// Output is queued and the client's window has room, so only a re-key holds it back.
    var isWaitingToWrite: Bool {
        outputCount > 0 && !localClosed && !remoteClosed && ssh_channel_window_size(channel) > 0
    }

    // MARK: - Callbacks

    private func install() {
        let cb = callbacks
        flux_ssh_channel_callbacks_init(cb)
        cb.pointee.userdata = Unmanaged.passUnretained(self).toOpaque()
        cb.pointee.channel_data_function = { _, _, data, length, isStderr, userdata in
            guard let userdata else { return Int32(clamping: length) }
            return Unmanaged<SSHChannel>.fromOpaque(userdata).takeUnretainedValue().received(data, Int(length), isStderr: isStderr != 0)
        }
        cb.pointee.channel_eof_function = { _, _, userdata in
            guard let userdata else { return }
            Unmanaged<SSHChannel>.fromOpaque(userdata).takeUnretainedValue().eofReceived = true
        }
        cb.pointee.channel_close_function = { _, _, userdata in
            guard let userdata else { return }
            Unmanaged<SSHChannel>.fromOpaque(userdata).takeUnretainedValue().remoteClosed = true
        }
        cb.pointee.channel_subsystem_request_function = { _, _, name, userdata in
            guard let userdata else { return 1 }
            let subsystem = name.map { String(cString: $0) } ?? ""
            return Unmanaged<SSHChannel>.fromOpaque(userdata).takeUnretainedValue().startSubsystem(subsystem)
        }
        cb.pointee.channel_exec_request_function = { _, _, command, userdata in
            guard let userdata else { return 1 }
            let text = command.map { String(String(cString: $0).prefix(80)) } ?? ""
            Unmanaged<SSHChannel>.fromOpaque(userdata).takeUnretainedValue().connection.channelRefused("exec \(text)")
            return 1
        }
        cb.pointee.channel_shell_request_function = { _, _, userdata in
            guard let userdata else { return 1 }
            Unmanaged<SSHChannel>.fromOpaque(userdata).takeUnretainedValue().connection.channelRefused("shell")
            return 1
        }
        cb.pointee.channel_pty_request_function = { _, _, _, _, _, _, _, userdata in
            guard let userdata else { return -1 }
            Unmanaged<SSHChannel>.fromOpaque(userdata).takeUnretainedValue().connection.channelRefused("pty")
            return -1
        }
        // OpenSSH sends LANG/LC_* by default: refused quietly.
        cb.pointee.channel_env_request_function = { _, _, _, _, _ in 1 }
        // No x11 or auth-agent callbacks: with one set libssh answers x11 requests with success.
        ssh_set_channel_callbacks(channel, cb)
    }

    private func received(_ data: UnsafeMutableRawPointer?, _ length: Int, isStderr: Bool) -> Int32 {
        guard !isStderr, let data, hasOpenHandler, closeStatus == nil, !localClosed else {
            return Int32(clamping: length)  // nothing to feed: consume and drop
        }
        if inputPaused || outputCount >= Self.outputHighWater {
            if !inputPaused { connection.trace("SSH channel input paused", outputCount) }
            inputPaused = true
            return 0
        }
        deliver(UnsafeRawBufferPointer(start: data, count: length))
        return Int32(clamping: length)
    }

    private func startSubsystem(_ name: String) -> Int32 {
        guard name == "sftp", !subsystemStarted else {
            connection.channelRefused("subsystem \(name)")
            return 1
        }
        subsystemStarted = true
        guard let handler = connection.makeHandler() else { return 1 }
        self.handler = handler
        connection.touch()
        return 0
    }

    // MARK: - Driven by the connection loop

    /// Feeds held-back input, writes queued output and carries out closes.
    func pump() {
        guard !isFinished else { return }
        if remoteClosed {
            // Nothing can be sent any more; a client that closes without EOF is still a clean close.
            closeHandler(aborted: false)
            finish()
            return
        }
        if inputPaused, outputCount < Self.outputLowWater {
            connection.trace("SSH channel input resumed", outputCount)
            inputPaused = false
            drainHeldInput()
        }
        flush()
        if eofReceived, !inputPaused, closeStatus == nil, !localClosed {
            closeHandler(aborted: false)
            closeStatus = 0
        }
        if let status = closeStatus, outputCount == 0, !localClosed {
            if subsystemStarted, handler != nil || handlerClosed {
                ssh_channel_request_send_exit_status(channel, status)
            }
            ssh_channel_send_eof(channel)
            ssh_channel_close(channel)
            localClosed = true
        }
    }

    /// The connection is going away: the handler (if still open) learns it was aborted.
    func abort() {
        closeHandler(aborted: true)
        finish()
    }

    private func deliver(_ bytes: UnsafeRawBufferPointer) {
        guard let handler, !handlerClosed else { return }
        connection.touch()
        do {
            let reply = try handler.received(bytes)
            if !reply.isEmpty { enqueue(reply) }
        } catch {
            connection.handlerFailed(error)
            closeHandler(aborted: true)
            if closeStatus == nil { closeStatus = 1 }
        }
    }

    /// Reads what the data callback declined (libssh buffered it) now that output has drained.
    private func drainHeldInput() {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while hasOpenHandler, outputCount < Self.outputHighWater {
            let count = buffer.withUnsafeMutableBytes {
                ssh_channel_read_nonblocking(channel, $0.baseAddress, UInt32($0.count), 0)
            }
            guard count > 0 else { return }
            buffer.withUnsafeBytes { deliver(UnsafeRawBufferPointer(rebasing: $0[0..<Int(count)])) }
        }
        if hasOpenHandler { inputPaused = true }
    }

    /// Writes queued output, never more than the client's window: such a write does not block.
    ///
    /// Property accesses stay instantaneous around `ssh_channel_write`: a callback run inside
    /// it (during a re-key) may enqueue more output.
    private func flush() {
        while outputCount > 0 {
            if localClosed || remoteClosed {
                dropOutput()
                return
            }
            let window = Int(ssh_channel_window_size(channel))
            guard window > 0 else { return }
            let chunk = output[outputHead]
            let offset = outputOffset
            let count = min(chunk.count - offset, window, Self.writeChunk)
            let written = chunk.withUnsafeBytes { raw in
                ssh_channel_write(channel, raw.baseAddress! + offset, UInt32(count))
            }
            if written == SSH_ERROR {
                dropOutput()
                closeHandler(aborted: true)
                if closeStatus == nil { closeStatus = 1 }
                return
            }
            guard written > 0 else { return }  // re-key in progress: retry on the next turn
            connection.touch()
            outputOffset += Int(written)
            outputCount -= Int(written)
            // Re-read the count: a merge may have grown this chunk meanwhile.
            if outputOffset >= output[outputHead].count {
                output[outputHead] = []
                outputHead += 1
                outputOffset = 0
                compactOutput()
            }
            if Int(written) < count { return }
        }
    }

    private func enqueue(_ reply: [UInt8]) {
        let last = output.count - 1
        if last >= outputHead, output[last].count + reply.count <= Self.mergeLimit {
            output[last].append(contentsOf: reply)
        } else {
            output.append(reply)
        }
        outputCount += reply.count
    }

    /// Drops written chunks from the front, amortized O(1) per chunk.
    private func compactOutput() {
        if outputHead == output.count {
            output.removeAll(keepingCapacity: true)
            outputHead = 0
        } else if outputHead >= 64, outputHead * 2 >= output.count {
            output.removeFirst(outputHead)
            outputHead = 0
        }
    }

    private func dropOutput() {
        output.removeAll()
        outputHead = 0
        outputOffset = 0
        outputCount = 0
    }

    private func closeHandler(aborted: Bool) {
        guard let handler, !handlerClosed else { return }
        handlerClosed = true
        if aborted { connection.sawAbort = true }
        handler.closed(aborted: aborted)
        self.handler = nil
    }

    /// Detaches our callbacks and hands the channel back to libssh. ssh_channel_free sends a
    /// close if we had not, and libssh frees the memory once the client's close arrives; our
    /// callback struct must be gone from its list before that.
    private func finish() {
        guard !isFinished else { return }
        isFinished = true
        ssh_remove_channel_callbacks(channel, callbacks)
        ssh_channel_free(channel)
    }
}
