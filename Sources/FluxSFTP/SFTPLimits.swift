/// Bounds of one SFTP session. Every buffer and every reply is sized from these.
public struct SFTPLimits: Sendable {
    /// Largest packet accepted (length field, excluding its own 4 bytes). A longer length closes
    /// the channel (`SFTPProtocolError.tooLarge`): nothing is buffered for it.
    public var maxPacket: Int
    /// Largest READ served. Replies are also kept under OpenSSH's 256 KiB message ceiling, so the
    /// data actually returned per READ is `min(maxReadLength, 256 KiB - 1024)`: clients re-request
    /// the rest (short reads are part of the protocol).
    public var maxReadLength: Int
    /// Open handles of all kinds (files and directories) per session.
    public var maxOpenHandles: Int
    /// Bytes (UTF-8) of one file name.
    public var maxNameLength: Int
    /// Bytes (UTF-8) of a whole path as sent by the client, before normalisation.
    public var maxPathLength: Int
    /// Entries per READDIR reply.
    public var maxReaddirBatch: Int
    /// Reply bytes produced by one `receive` call before READ and READDIR replies are cut short
    /// (512 bytes, one entry): a burst of tiny READ requests cannot make the session buffer an
    /// unbounded amount of file data. Far above what a pipelining client has in flight.
    public var maxReplyBytesPerReceive: Int

    /// Defaults match OpenSSH's server; values too small for the protocol are raised to its floor.
    public init(
        maxPacket: Int = 256 * 1024 + 1024,
        maxReadLength: Int = 256 * 1024,
        maxOpenHandles: Int = 64,
        maxNameLength: Int = 255,
        maxPathLength: Int = 1024,
        maxReaddirBatch: Int = 100,
        maxReplyBytesPerReceive: Int = 32 * 1024 * 1024
    ) {
        // Draft 02 (section 3): implementations must accept packets of at least 34000 bytes.
        self.maxPacket = max(maxPacket, 34_000)
        self.maxReadLength = max(maxReadLength, 512)
        self.maxOpenHandles = max(maxOpenHandles, 1)
        self.maxNameLength = max(maxNameLength, 1)
        self.maxPathLength = max(maxPathLength, 16)
        self.maxReaddirBatch = max(maxReaddirBatch, 1)
        self.maxReplyBytesPerReceive = max(maxReplyBytesPerReceive, 1024 * 1024)
    }

    /// Data bytes one READ returns at most.
    var effectiveReadLength: Int { min(maxReadLength, SFTPWire.openSSHMessageCeiling - 1024) }
    /// What limits@openssh.com announces as max-write-length (WRITE data bytes).
    var advertisedWriteLength: Int { min(maxPacket - 1024, SFTPWire.openSSHMessageCeiling - 1024) }
    /// What limits@openssh.com announces as max-packet-length.
    var advertisedPacketLength: Int { min(maxPacket, SFTPWire.openSSHMessageCeiling) }
}
