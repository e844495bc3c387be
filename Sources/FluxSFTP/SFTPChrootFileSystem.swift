import FluxCore
import Glibc

/// The partner's virtual filesystem: `/` contains exactly `inbox` and `outbox`.
///
/// - `/inbox` is backed by no directory listing of the disk: an upload is written to a hidden,
///   uniquely named file in `staging` (0600, `O_EXCL|O_NOFOLLOW`); when it is closed (or, for a
///   temp name such as `x.filepart`, renamed to its final name) it is fsynced and handed to
///   `SFTPUploadHandler.uploadCompleted`. Until then it is "pending" and visible in /inbox.
/// - `/outbox` is the real `outbox` directory, read-only but for deleting files. Only regular
///   files with acceptable names are visible; everything is opened relative to the directory with
///   `O_NOFOLLOW`, so a symlink planted there is neither listed nor followed.
///
/// Not Sendable: one per session, used on the session's thread. Pending files belong to the
/// session: those not renamed when it ends are aborted (staging deleted, `uploadAborted`).
public final class SFTPChrootFileSystem {
    /// Reports the free bytes (for unprivileged users) of the file system holding a directory;
    /// nil when it cannot tell. Injected so tests can simulate a full disk.
    public typealias FreeSpaceProbe = (_ directory: String) -> Int64?

    /// Suffixes marking a client's temporary upload name (WinSCP `.filepart`, `.part`, rclone
    /// `.partial`, `.tmp`), compared case-insensitively.
    public static let defaultTempSuffixes = [".filepart", ".part", ".partial", ".tmp"]

    /// Name prefix of staging files (hidden, so directory watchers skip them).
    public static let stagingPrefix = ".sftp-upload-"

    /// Directory given as the partner's inbox, for the handler's use: this layer never reads or
    /// writes there (uploads are staged in `staging`, and /inbox lists only this session's pending
    /// uploads, so a file placed there by anyone else is invisible to the partner).
    public let inboxDirectory: String
    /// Directory whose regular files the partner sees in /outbox.
    public let outboxDirectory: String
    /// Directory where uploads are staged (absolute); should be on the same file system as
    /// wherever the handler moves accepted files, so that the move is a rename.
    public let stagingDirectory: String
    /// Limits on uploads.
    public let quota: SFTPQuota

    let handler: any SFTPUploadHandler
    let tempSuffixes: [String]
    let freeSpace: FreeSpaceProbe

    var stagingFD: Int32 = -1
    var outboxFD: Int32 = -1
    /// Open and pending uploads by virtual name (unique: a second open of the same name is refused).
    var uploadsByName: [String: SFTPUpload] = [:]
    /// Sum of the sizes of `uploadsByName`.
    var pendingBytes: Int64 = 0
    /// Uploads completed by this session, kept (bounded) so that a client checking the size or
    /// setting times right after its upload is answered instead of failing the transfer.
    var completed: [String: (size: Int64, mtime: Int)] = [:]
    var completedOrder: [String] = []
    static let completedMemory = 64
    /// Uploads up to this size are checksummed as they are written, so a handler may claim them
    /// before their single fsync (`SFTPUploadHandler.takesUnsyncedUploads`). Larger ones are
    /// fsynced first: there the second flush is noise, and the CRC (7 GB/s here) would be ~5% of
    /// the session thread, which is what bounds a large upload.
    static let checkedUploadLimit: Int64 = 16 << 20

    /// Creates the filesystem of one session. `uploads` is held strongly.
    public init(
        inbox: String, outbox: String, staging: String, quota: SFTPQuota,
        uploads: any SFTPUploadHandler,
        tempSuffixes: [String] = SFTPChrootFileSystem.defaultTempSuffixes,
        freeSpace: @escaping FreeSpaceProbe = DiskSpace.freeBytes
    ) {
        self.inboxDirectory = Self.absolute(inbox)
        self.outboxDirectory = Self.absolute(outbox)
        self.stagingDirectory = Self.absolute(staging)
        self.quota = quota
        self.handler = uploads
        self.tempSuffixes = tempSuffixes.map { $0.lowercased() }
        self.freeSpace = freeSpace
    }

    deinit {
        abortAll()
        if stagingFD >= 0 { Glibc.close(stagingFD) }
        if outboxFD >= 0 { Glibc.close(outboxFD) }
    }


    static func fileSystemStatus(_ directory: String) throws(SFTPFailure) -> statvfs {
        var s = statvfs()
        guard statvfs(directory, &s) == 0 else { throw failure(errno: errno, "statvfs") }
        return s
    }

    /// Whether `name` is a client's temporary upload name (completed by a rename, not by close).
    public func isTempName(_ name: String) -> Bool {
        let lower = name.lowercased()
        return tempSuffixes.contains { lower.count > $0.count && lower.hasSuffix($0) }
    }

    private static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buf, buf.count) != nil else { return path }
        let cwd = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return cwd == "/" ? "/" + path : cwd + "/" + path
    }

    func event(_ what: String, _ path: String, _ detail: String? = nil) {
        handler.event(what, path: path, detail: detail)
    }

    // MARK: - Directories on disk

    private func directoryFD(_ fd: inout Int32, _ path: String, _ label: String) throws(SFTPFailure) -> Int32 {
        if fd >= 0 { return fd }
        // The roots come from the gateway's configuration, so they may be symlinks themselves;
        // everything below them is opened with O_NOFOLLOW.
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SFTPFailure(.failure, "\(label) is unavailable") }
        return fd
    }

    func stagingDirFD() throws(SFTPFailure) -> Int32 {
        try directoryFD(&stagingFD, stagingDirectory, "/inbox")
    }

    func outboxDirFD() throws(SFTPFailure) -> Int32 {
        try directoryFD(&outboxFD, outboxDirectory, "/outbox")
    }

    static func failure(errno e: Int32, _ what: String) -> SFTPFailure {
        switch e {
        case ENOENT, ELOOP, ENOTDIR: SFTPFailure(.noSuchFile, "no such file")
        case EACCES, EPERM: SFTPFailure(.permissionDenied, "\(what): permission denied")
        case ENOSPC, EDQUOT: SFTPFailure(.failure, "disk almost full: upload refused")
        default: SFTPFailure(.failure, "\(what) failed: \(String(cString: strerror(e)))")
        }
    }

    // MARK: - Attributes

    static func now() -> Int { Int(time(nil)) }

    /// Attributes of a virtual directory.
    func directoryAttributes(_ path: SFTPVirtualPath) -> SFTPAttributes {
        switch path {
        case .outbox:
            var st = stat()
            if let fd = try? outboxDirFD(), fstat(fd, &st) == 0 {
                return .directory(mode: 0o755, mtime: st.st_mtim.tv_sec)
            }
            return .directory(mode: 0o755, mtime: Self.now())
        case .inbox:
            return .directory(mode: 0o755, mtime: Self.now())
        default:
            return .directory(mode: 0o555, mtime: Self.now())
        }
    }

    /// STAT/LSTAT of any virtual path.
    func attributes(of path: SFTPVirtualPath) throws(SFTPFailure) -> SFTPAttributes {
        switch path {
        case .root, .inbox, .outbox:
            return directoryAttributes(path)
        case .inboxFile(let name):
            if let up = uploadsByName[name] { return up.attributes }
            if let done = completed[name] {
                return .file(size: done.size, mode: 0o600, atime: done.mtime, mtime: done.mtime)
            }
            throw SFTPFailure(.noSuchFile, "no such file")
        case .outboxFile(let name):
            let dfd = try outboxDirFD()
            var st = stat()
            guard fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { throw Self.failure(errno: errno, "stat") }
            guard st.st_mode & S_IFMT == S_IFREG else { throw SFTPFailure(.noSuchFile, "no such file") }
            return Self.attributes(st)
        }
    }

    static func attributes(_ st: stat) -> SFTPAttributes {
        .file(size: Int64(st.st_size), mode: 0o644, atime: st.st_atim.tv_sec, mtime: st.st_mtim.tv_sec)
    }

    /// SETSTAT on a path: only times and permissions of the partner's own uploads, and nothing is
    /// changed (clients such as `sftp -p` and curl send them after an upload; failing them would
    /// fail the transfer).
    func setAttributes(of path: SFTPVirtualPath, _ attrs: SFTPAttributes) throws(SFTPFailure) {
        guard case .inboxFile(let name) = path else {
            throw SFTPFailure(.permissionDenied, "attributes can only be set on your uploads in /inbox")
        }
        guard uploadsByName[name] != nil || completed[name] != nil else {
            throw SFTPFailure(.noSuchFile, "no such file")
        }
        try Self.checkSettable(attrs)
    }

    static func checkSettable(_ attrs: SFTPAttributes) throws(SFTPFailure) {
        let allowed = SFTPWire.attrPermissions | SFTPWire.attrACModTime
        guard attrs.flags & ~allowed == 0 else {
            throw SFTPFailure(.permissionDenied, "only times and permissions can be set, and they are not kept")
        }
    }
}
