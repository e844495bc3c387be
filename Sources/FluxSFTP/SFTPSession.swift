/// One SFTP version 3 session over one channel: bytes in, bytes out, no I/O of its own besides
/// the file system it serves. Not Sendable: one per channel, used from one thread.
///
/// Framing: a packet is `uint32 length, byte type, payload`. Complete packets are parsed in place
/// from the caller's buffer (a WRITE's data goes from there to `pwrite`); only the tail of a packet
/// split across calls is copied into a buffer of `maxPacket + 4` bytes allocated once.
public final class SFTPSession {
    let fs: SFTPChrootFileSystem
    let limits: SFTPLimits

    private enum State {
        case awaitingInit
        case ready
        case failed(SFTPProtocolError)
        case closed
    }

    private var state: State = .awaitingInit
    private var partial: UnsafeMutableRawPointer?
    private var partialCount = 0
    var out = SFTPWriter()
    var handles = SFTPHandleTable()

    /// A session serving `fileSystem`.
    public init(fileSystem: SFTPChrootFileSystem, limits: SFTPLimits = SFTPLimits()) {
        self.fs = fileSystem
        self.limits = limits
    }

    deinit {
        close()
        partial?.deallocate()
    }

    /// Feeds bytes read from the channel (any split: partial packets are buffered, several packets
    /// in one call are all handled). Returns the bytes to write back (possibly empty). Throws
    /// SFTPProtocolError when the stream is unusable (oversized packet, framing garbage, packet
    /// before INIT): the caller closes the channel and calls `close()`; later calls throw again.
    public func receive(_ bytes: UnsafeRawBufferPointer) throws -> [UInt8] {
        switch state {
        case .failed(let e): throw e
        case .closed: throw SFTPProtocolError(code: SFTPProtocolError.closedCode, message: "the session is closed")
        case .awaitingInit, .ready: break
        }
        out = SFTPWriter()
        do {
            try consume(bytes)
        } catch {
            state = .failed(error)
            partialCount = 0
            out = SFTPWriter()
            throw error
        }
        let reply = out.bytes
        out = SFTPWriter()
        return reply
    }

    /// `receive` for bytes held in an array.
    public func receive(_ bytes: [UInt8]) throws -> [UInt8] {
        try bytes.withUnsafeBytes { try receive($0) }
    }

    /// The channel is gone (EOF or abort): close every handle; uploads not completed (open, or
    /// temp-named and not renamed) are aborted (staging deleted, uploadAborted called).
    /// Idempotent; `receive` throws afterwards.
    public func close() {
        if case .closed = state { return }
        state = .closed
        partialCount = 0
        for handle in handles.removeAll() {
            switch handle {
            case .outboxFile(let f): f.close()
            case .directory(let d): d.close()
            case .upload: break // aborted below with the pending ones
            }
        }
        fs.abortAll()
    }

    /// Bytes of a split packet currently held (never more than `maxPacket + 4`).
    public var bufferedByteCount: Int { partialCount }

    /// Open handles (files and directories).
    public var openHandleCount: Int { handles.count }

    // MARK: - Framing

    private func partialBuffer() -> UnsafeMutableRawPointer {
        if let p = partial { return p }
        let p = UnsafeMutableRawPointer.allocate(byteCount: limits.maxPacket + 4, alignment: 16)
        partial = p
        return p
    }

    private func packetLength(_ p: UnsafeRawPointer) throws(SFTPProtocolError) -> Int {
        let len = Int(p.load(fromByteOffset: 0, as: UInt8.self)) << 24
            | Int(p.load(fromByteOffset: 1, as: UInt8.self)) << 16
            | Int(p.load(fromByteOffset: 2, as: UInt8.self)) << 8
            | Int(p.load(fromByteOffset: 3, as: UInt8.self))
        if len == 0 {
            throw SFTPProtocolError(code: SFTPProtocolError.framingCode, message: "zero-length packet")
        }
        if len > limits.maxPacket {
            throw SFTPProtocolError(
                code: SFTPProtocolError.tooLargeCode,
                message: "packet of \(len) bytes exceeds the limit of \(limits.maxPacket)")
        }
        return len
    }

    private func consume(_ input: UnsafeRawBufferPointer) throws(SFTPProtocolError) {
        guard let base = input.baseAddress, !input.isEmpty else { return }
        let n = input.count
        var offset = 0
        if partialCount > 0 {
            let buf = partialBuffer()
            if partialCount < 4 {
                let take = min(4 - partialCount, n)
                (buf + partialCount).copyMemory(from: base, byteCount: take)
                partialCount += take
                offset += take
                if partialCount < 4 { return }
            }
            let len = try packetLength(buf)
            let take = min(4 + len - partialCount, n - offset)
            (buf + partialCount).copyMemory(from: base + offset, byteCount: take)
            partialCount += take
            offset += take
            if partialCount < 4 + len { return }
            partialCount = 0
            try handlePacket(UnsafeRawBufferPointer(start: buf + 4, count: len))
        }
        while n - offset >= 4 {
            let len = try packetLength(base + offset)
            guard n - offset - 4 >= len else { break }
            try handlePacket(UnsafeRawBufferPointer(start: base + offset + 4, count: len))
            offset += 4 + len
        }
        if offset < n {
            // What is left is under 4 bytes or the start of a packet whose length was accepted.
            partialBuffer().copyMemory(from: base + offset, byteCount: n - offset)
            partialCount = n - offset
        }
    }

    private func handlePacket(_ packet: UnsafeRawBufferPointer) throws(SFTPProtocolError) {
        let type = packet[0]
        switch state {
        case .awaitingInit:
            guard type == SFTPWire.initPacket else {
                throw SFTPProtocolError(
                    code: SFTPProtocolError.expectedInitCode, message: "packet type \(type) before SSH_FXP_INIT")
            }
            var r = SFTPReader(packet, from: 1)
            guard let version = try? r.u32() else {
                throw SFTPProtocolError(code: SFTPProtocolError.framingCode, message: "SSH_FXP_INIT without a version")
            }
            guard version >= SFTPWire.version else {
                throw SFTPProtocolError(
                    code: SFTPProtocolError.versionCode, message: "client speaks SFTP version \(version); 3 is required")
            }
            sendVersion()
            state = .ready
            return
        case .ready:
            break
        case .failed, .closed:
            return
        }
        if type == SFTPWire.initPacket {
            throw SFTPProtocolError(code: SFTPProtocolError.unexpectedInitCode, message: "second SSH_FXP_INIT")
        }
        var r = SFTPReader(packet, from: 1)
        guard let id = try? r.u32() else {
            sendStatus(0, SFTPFailure(Self.isRequest(type) ? .badMessage : .opUnsupported))
            return
        }
        let mark = out.count
        do {
            try dispatch(type, id: id, &r)
        } catch {
            out.truncate(to: mark)
            sendStatus(id, error)
        }
    }

    static func isRequest(_ type: UInt8) -> Bool {
        (SFTPWire.open...SFTPWire.symlink).contains(type) || type == SFTPWire.extended
    }

    // MARK: - Replies

    private func sendVersion() {
        let s = out.begin(SFTPWire.versionPacket)
        out.u32(SFTPWire.version)
        for (name, version) in [
            (SFTPWire.posixRename, "1"), (SFTPWire.statvfs, "2"), (SFTPWire.fsync, "1"), (SFTPWire.limits, "1"),
        ] {
            out.string(name)
            out.string(version)
        }
        out.end(s)
    }

    func sendStatus(_ id: UInt32, _ failure: SFTPFailure) {
        let s = out.begin(SFTPWire.status)
        out.u32(id)
        out.u32(failure.code.rawValue)
        out.string(Self.bounded(failure.message))
        out.string("")
        out.end(s)
    }

    func sendOK(_ id: UInt32) {
        sendStatus(id, SFTPFailure(.ok))
    }

    /// Status messages stay short whatever a handler returns.
    private static func bounded(_ message: String) -> String {
        guard message.utf8.count > 1024 else { return message }
        var cut = ""
        for ch in message {
            if cut.utf8.count + String(ch).utf8.count > 1021 { break }
            cut.append(ch)
        }
        return cut + "..."
    }

    /// Whether this call's replies already reached `maxReplyBytesPerReceive`.
    var overReplyBudget: Bool { out.count >= limits.maxReplyBytesPerReceive }
}
