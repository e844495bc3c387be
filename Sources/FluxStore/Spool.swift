import CFluxShims
import FluxCore
import FluxCrypto
import Foundation

/// A stored original: content-addressed by its SHA-256.
public struct SpoolEntry: Sendable, Equatable, Codable {
    public var sha256: String
    public var size: Int64
}

/// Content-addressed, durable storage of original bytes (`spool/<aa>/<sha256>`).
///
/// Bytes are streamed into `spool/tmp/`, hashed on the way and moved under their hash. Where the
/// filesystem makes a rename durable with the fsync of the renamed file (`fileSyncCoversRename`)
/// the file is renamed first and fsynced once: one flush instead of two (the file, then the
/// directory), which was a sixth of an AS2 message's latency. A power loss between that rename
/// and that fsync can leave a name whose bytes never reached the disk; nothing refers to it (the
/// record that would is committed after the fsync), and because the name is the hash, a later
/// store of the same content checks the stored bytes before relying on them. Elsewhere the file
/// is fsynced, renamed and the directory fsynced. Either way a stored entry returned to a caller
/// is complete and durable. The same content stored twice is kept once. Originals are never
/// modified (legal archive).
public struct Spool: Sendable {
    public let root: String
    /// Whether fsync of a file renamed into a directory also makes the rename durable on the
    /// spool's filesystem: ext4 (journalled, the commit holds the rename; or not, the inode marks
    /// its new entry and the fsync writes the parent with it) and XFS (the rename is logged with
    /// the inode, and the fsync forces the log up to it).
    public let fileSyncCoversRename: Bool

    /// `fileSyncCoversRename` nil: decided from the filesystem that holds `root`.
    public init(root: String, fileSyncCoversRename: Bool? = nil) throws {
        self.root = root
        try FileManager.default.createDirectory(atPath: root + "/tmp", withIntermediateDirectories: true)
        self.fileSyncCoversRename = fileSyncCoversRename ?? Self.renameDurableWithFileSync(root)
    }

    public static func renameDurableWithFileSync(_ path: String) -> Bool {
        let type = flux_fs_type(path)
        // ext2 and ext3 share ext4's magic; current kernels mount them with the ext4 driver too.
        return type == 0xEF53 || type == 0x5846_5342
    }

    /// The path of a stored original.
    public func path(for sha256: String) -> String {
        "\(root)/\(sha256.prefix(2))/\(sha256)"
    }

    /// Streams the regular file at `source` into the spool. A symlink is not followed and a
    /// FIFO or device is not read (a drop zone may be writable by other local users).
    public func store(file source: String, maxBytes: Int64 = .max) throws -> SpoolEntry {
        let input = open(source, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard input >= 0 else { throw FluxError("spool-read", "cannot open \(source): \(errnoString())") }
        defer { close(input) }
        var st = stat()
        guard fstat(input, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            throw FluxError("not-regular", "\(source) is not a regular file")
        }
        let buf = Self.readBuffer(fd: input, atMost: 256 * 1024)
        defer { buf.deallocate() }
        return try store(maxBytes: maxBytes, buffer: buf) { buf in
            let n = read(input, buf.baseAddress, buf.count)
            if n < 0 { throw FluxError("spool-read", "cannot read \(source): \(errnoString())") }
            return n
        }
    }

    /// Takes a file nobody else can write any more (an SFTP upload the gateway itself staged and
    /// claimed) into the spool without copying it: hashed by reading, fsynced, then hard-linked
    /// under its hash (the same filesystem), the directory fsynced. The source stays where it is
    /// until the caller drops it after the commit, as with `store(file:)`.
    public func adopt(file source: String, maxBytes: Int64 = .max) throws -> SpoolEntry {
        let fd = open(source, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw FluxError("spool-read", "cannot open \(source): \(errnoString())") }
        defer { close(fd) }
        let entry = try Self.hashContents(of: fd, path: source, maxBytes: maxBytes)
        guard fsync(fd) == 0 else { throw FluxError("spool-fsync", "fsync failed: \(errnoString())") }
        do {
            return try place(entry) { dest in
                if link(source, dest) == 0 || errno == EEXIST { return nil }
                return FluxError("spool-link", "cannot link into the spool: \(errnoString())")
            }
        } catch let e as FluxError where e.code == "spool-link" {
            // another filesystem (or no hard links): fall back to a copy
            return try store(file: source, maxBytes: maxBytes)
        }
    }

    /// SHA-256 and size of what `fd` holds from its offset on, read in one pass. Throws
    /// `spool-read`, or `spool-size` past `maxBytes` (it stops reading there).
    static func hashContents(of fd: Int32, path: String, maxBytes: Int64) throws -> SpoolEntry {
        var hasher = SHA256Stream()
        let buf = readBuffer(fd: fd, atMost: 1 << 20)
        defer { buf.deallocate() }
        var size: Int64 = 0
        while true {
            let n = read(fd, buf.baseAddress, buf.count)
            if n < 0 { if errno == EINTR { continue }; throw FluxError("spool-read", "cannot read \(path): \(errnoString())") }
            if n == 0 { break }
            size += Int64(n)
            if size > maxBytes { throw FluxError("spool-size", "the file is over \(maxBytes) bytes") }
            hasher.update(UnsafeRawBufferPointer(rebasing: buf[0..<n]))
        }
        return SpoolEntry(sha256: Digest.hex(hasher.finalize()), size: size)
    }

    /// An uninitialised read buffer sized to the file (plus one byte, so the read that finds the
    /// end needs no second pass), at most `atMost`. A zeroed 1 MiB array for every deposit of a
    /// few kB was 3% of the intake's CPU (memset and the page faults of a fresh mapping).
    static func readBuffer(fd: Int32, atMost: Int) -> UnsafeMutableRawBufferPointer {
        var st = stat()
        let size = fstat(fd, &st) == 0 ? Int(clamping: st.st_size) : atMost
        return .allocate(byteCount: max(4096, min(atMost, size &+ 1)), alignment: 16)
    }

    /// Stores bytes already in memory (archive members, AS2 payloads).
    public func store(data: Data) throws -> SpoolEntry {
        let writer = try SpoolWriter(spool: self)
        try writer.write(data)
        return try writer.finish()
    }

    /// Like `store(data:)`, with the fsync left to the returned entry's `makeDurable()`.
    public func storeDeferred(data: Data) throws -> PendingSpoolEntry {
        let writer = try SpoolWriter(spool: self)
        try writer.write(data)
        return try writer.finishDeferred()
    }

    private func store(maxBytes: Int64, buffer buf: UnsafeMutableRawBufferPointer,
                       fill: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> SpoolEntry {
        let writer = try SpoolWriter(spool: self, maxBytes: maxBytes)
        while true {
            let n = try fill(buf)
            if n == 0 { break }
            try writer.write(UnsafeRawBufferPointer(rebasing: buf[0..<n]))
        }
        return try writer.finish()
    }

    /// Moves a complete, fsynced temp file under its hash (or drops it when that content is
    /// already stored) and makes the rename durable.
    func commit(tmp: String, sha: String, size: Int64, replacing: Bool = false) throws -> SpoolEntry {
        // Unlinked only when not renamed (a duplicate, or a failure): an unlink that finds
        // nothing still takes the directory's lock, under every concurrent spool write.
        var renamed = false
        defer { if !renamed { unlink(tmp) } }
        return try place(SpoolEntry(sha256: sha, size: size), replacing: replacing) { dest in
            guard rename(tmp, dest) == 0 else { return FluxError("spool-rename", "cannot move into the spool: \(errnoString())") }
            renamed = true
            return nil
        }
    }

    /// Moves the temp file `tmp` (open as `fd`, written, not yet fsynced) under its hash, then
    /// fsyncs it: with `fileSyncCoversRename`, that one fsync makes both the bytes and the name
    /// durable.
    func commitRenamingFirst(tmp: String, fd: Int32, entry: SpoolEntry) throws -> SpoolEntry {
        guard try renameFirst(tmp: tmp, fd: fd, entry: entry) else { return entry }
        guard fsync(fd) == 0 else {
            let e = errnoString()
            // Not durable, and nothing refers to it yet.
            unlink(path(for: entry.sha256))
            throw FluxError("spool-fsync", "fsync failed: \(e)")
        }
        return entry
    }

    /// Renames `tmp` (open as `fd`, written) under its hash, without fsyncing it: true. False
    /// when that content is already stored: then the stored file has been checked and made
    /// durable (or, holding other bytes, replaced by ours durably) and `tmp` is gone. Never
    /// replaces a name another writer has just put there (RENAME_NOREPLACE): that writer may
    /// not have fsynced it yet, and it is checked and fsynced here instead, so whoever commits
    /// a reference to the name has made its bytes durable first.
    func renameFirst(tmp: String, fd: Int32, entry: SpoolEntry) throws -> Bool {
        let dest = path(for: entry.sha256)
        if !FileManager.default.fileExists(atPath: dest) {
            try ensureDirectory(of: dest)
            if flux_rename_noreplace(tmp, dest) == 0 { return true }
            guard errno == EEXIST else {
                let e = errnoString()
                unlink(tmp)
                throw FluxError("spool-rename", "cannot move into the spool: \(e)")
            }
        }
        if try holds(entry, at: dest) {
            unlink(tmp)
            return false
        }
        // A name left without its bytes by a power loss (or a failed fsync): replaced by ours,
        // strictly in order.
        guard fsync(fd) == 0 else {
            let e = errnoString()
            unlink(tmp)
            throw FluxError("spool-fsync", "fsync failed: \(e)")
        }
        _ = try commit(tmp: tmp, sha: entry.sha256, size: entry.size, replacing: true)
        return false
    }

    /// Whether the file at `path` has exactly `entry`'s bytes, made durable before this returns
    /// true (it may be another writer's, renamed but not yet fsynced).
    func holds(_ entry: SpoolEntry, at path: String) throws -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, Int64(st.st_size) == entry.size,
              (try? Self.hashContents(of: fd, path: path, maxBytes: entry.size)) == entry else { return false }
        guard fsync(fd) == 0 else { throw FluxError("spool-fsync", "fsync of \(path) failed: \(errnoString())") }
        try Self.fsyncDirectory(PathParts.directory(of: path))
        return true
    }

    /// Puts durable content at `spool/aa/<sha>` with `put` (rename or link), unless that content
    /// is already stored, and fsyncs the directory that changed.
    private func place(_ entry: SpoolEntry, replacing: Bool = false, put: (String) -> FluxError?) throws -> SpoolEntry {
        let dest = path(for: entry.sha256)
        if !replacing && FileManager.default.fileExists(atPath: dest) { return entry }
        try ensureDirectory(of: dest)
        if let error = put(dest) { throw error }
        try Self.fsyncDirectory(PathParts.directory(of: dest))
        return entry
    }

    /// Creates `spool/aa/` for `dest` on first use, durably (the root fsynced).
    private func ensureDirectory(of dest: String) throws {
        let dir = PathParts.directory(of: dest)
        if !FileManager.default.fileExists(atPath: dir) {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try Self.fsyncDirectory(root)
        }
    }

    static func writeAll(_ fd: Int32, _ chunk: UnsafeRawBufferPointer) throws {
        var off = 0
        while off < chunk.count {
            let w = write(fd, chunk.baseAddress! + off, chunk.count - off)
            if w < 0 {
                if errno == EINTR { continue }
                throw FluxError(errno == ENOSPC ? "disk-full" : "spool-write", "write failed: \(errnoString())")
            }
            off += w
        }
    }

    /// fsync on a directory makes a rename or creation in it durable.
    public static func fsyncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw FluxError("fsync-dir", "cannot open directory \(path): \(errnoString())") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw FluxError("fsync-dir", "fsync of \(path) failed: \(errnoString())") }
    }
}

/// The text of the current errno.
public func errnoString() -> String { String(cString: strerror(errno)) }
