/// One SFTP subsystem channel's byte handler (the SFTP layer implements this via an adapter).
///
/// The transport calls it only from the thread that owns the SSH connection, never from two
/// threads and never re-entrantly, so an implementation needs no locking of its own.
public protocol SSHChannelHandler: AnyObject {
    /// Bytes the client sent on the channel; returns bytes to send back. Throwing closes the channel.
    ///
    /// Bytes arrive as the SSH layer delivers them: a call may hold part of an SFTP packet or
    /// several packets. The buffer is only valid during the call.
    func received(_ bytes: UnsafeRawBufferPointer) throws -> [UInt8]

    /// The channel closed: `aborted` when the connection died / timed out rather than a clean EOF+close.
    ///
    /// Called exactly once per handler, also after `received` threw (then with `aborted: true`).
    func closed(aborted: Bool)
}
