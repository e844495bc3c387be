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
    /// An upload was abandoned (channel closed/aborted with the handle open, a write failed
    /// before the close, or the client removed or replaced a pending temp file): staging already
    /// deleted.
    func uploadAborted(name: String, bytes: Int64)
    /// For logs: every operation that changes something (rename, remove, mkdir attempt, outbox
    /// delete...). `path` is virtual (`/inbox/x`), never a path on disk.
    func event(_ what: String, path: String, detail: String?)
}
