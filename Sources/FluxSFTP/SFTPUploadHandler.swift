import Glibc

/// What the session asks of the outside world when an upload completes (the gateway puts the
/// file through its intake). Called on the session's thread; the file system holds it strongly.
public protocol SFTPUploadHandler: AnyObject {
    /// A file was fully written in /inbox and closed: `stagingPath` is the fsynced staging file
    /// (absolute, real path on disk), `name` the final file name the client chose (no directory).
    /// Return nil to accept (the session answers OK and forgets the staging file: it is the
    /// handler's now), or an error message to refuse (the session answers SSH_FX_FAILURE with that
    /// message; the staging file is removed by the session). Called synchronously on the session's
    /// thread (may block, e.g. for reject_on_close checks).
    func uploadCompleted(stagingPath: String, name: String) -> String?
    /// True when the handler takes closed uploads before their bytes are durable
    /// (`uploadCompleted(stagingPath:name:unsynced:)`): it can then make the bytes and its own
    /// claim on them durable with one flush.
    var takesUnsyncedUploads: Bool { get }
    /// Like `uploadCompleted(stagingPath:name:)`, for a closed upload whose bytes are written but
    /// not yet durable (only when `takesUnsyncedUploads`, and only for an upload written in order,
    /// whose CRC-32 is known). The handler must call `upload.sync()` and see it succeed before
    /// accepting; the session closes the descriptor afterwards.
    func uploadCompleted(stagingPath: String, name: String, unsynced upload: SFTPUnsyncedUpload) -> String?
    /// An upload was abandoned (channel closed/aborted with the handle open, a write failed
    /// before the close, or the client removed or replaced a pending temp file): staging already
    /// deleted.
    func uploadAborted(name: String, bytes: Int64)
    /// For logs: every operation that changes something (rename, remove, mkdir attempt, outbox
    /// delete...). `path` is virtual (`/inbox/x`), never a path on disk.
    func event(_ what: String, path: String, detail: String?)
}

extension SFTPUploadHandler {
    public var takesUnsyncedUploads: Bool { false }

    public func uploadCompleted(stagingPath: String, name: String, unsynced upload: SFTPUnsyncedUpload) -> String? {
        if let failure = upload.sync() { return "the upload could not be saved: \(failure)" }
        return uploadCompleted(stagingPath: stagingPath, name: name)
    }
}

/// A closed upload whose bytes are not yet durable.
public struct SFTPUnsyncedUpload {
    public let size: Int64
    /// CRC-32 (zlib polynomial) of all `size` bytes.
    public let crc32: UInt32
    let fd: Int32

    /// fsync of the upload's file (still open): nil when it succeeded, else why not.
    public func sync() -> String? {
        fsync(fd) == 0 ? nil : String(cString: strerror(errno))
    }
}
