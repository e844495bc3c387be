import CFluxShims
import FluxCore
import FluxCrypto
import Foundation

/// Streams one original into the spool piece by piece, for producers that receive bytes as they
/// come (the AS2 listener writes each HTTP body chunk as it arrives, so a large upload never sits
/// in memory). `finish()` makes it durable under its hash; dropping the writer unfinished removes
/// the temp file.
// @unchecked Sendable: a writer has one owner at a time (the connection, then the worker it is
// handed to); it is never used from two threads at once.
public final class SpoolWriter: @unchecked Sendable {
    private let spool: Spool
    private let tmp: String
    private let maxBytes: Int64
    private var fd: Int32
    private var hasher: SHA256Stream? = SHA256Stream()
    private var done = false
    /// Bytes written so far.
    public private(set) var size: Int64 = 0

    public init(spool: Spool, maxBytes: Int64 = .max) throws {
        self.spool = spool
        self.maxBytes = maxBytes
        tmp = "\(spool.root)/tmp/\(RandomID.uuid())"
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw FluxError("spool-write", "cannot create \(tmp): \(errnoString())") }
    }

    deinit {
        if !done { abort() }
    }

    /// Appends `chunk` (hashed on the way). Throws `spool-size` past `maxBytes`.
    public func write(_ chunk: UnsafeRawBufferPointer) throws {
        guard !done else { throw FluxError("spool-write", "write after finish") }
        size += Int64(chunk.count)
        if size > maxBytes { throw FluxError("spool-size", "the file is over \(maxBytes) bytes") }
        hasher!.update(chunk)
        try Spool.writeAll(fd, chunk)
    }

    public func write(_ data: Data) throws {
        try data.withUnsafeBytes { try write($0) }
    }

    /// Makes the content durable under its hash (see `Spool` for the two orders).
    public func finish() throws -> SpoolEntry {
        guard !done else { throw FluxError("spool-write", "finish called twice") }
        done = true
        if spool.fileSyncCoversRename {
            defer { close(fd) }
            let entry = SpoolEntry(sha256: Digest.hex(hasher.take()!.finalize()), size: size)
            return try spool.commitRenamingFirst(tmp: tmp, fd: fd, entry: entry)
        }
        guard fsync(fd) == 0 else {
            let e = errnoString()
            close(fd); unlink(tmp)
            throw FluxError("spool-fsync", "fsync failed: \(e)")
        }
        close(fd)
        let digest = hasher.take()!.finalize()
        return try spool.commit(tmp: tmp, sha: Digest.hex(digest), size: size)
    }

    /// Like `finish`, but the content is only renamed under its hash and its writeback started:
    /// the fsync is left to the returned entry's `makeDurable()`, to be called before anything
    /// that refers to it is committed. Where the filesystem needs the fsync before the rename,
    /// this is `finish`.
    public func finishDeferred() throws -> PendingSpoolEntry {
        guard spool.fileSyncCoversRename else { return .durable(try finish()) }
        guard !done else { throw FluxError("spool-write", "finish called twice") }
        done = true
        let entry = SpoolEntry(sha256: Digest.hex(hasher.take()!.finalize()), size: size)
        let renamed: Bool
        do { renamed = try spool.renameFirst(tmp: tmp, fd: fd, entry: entry) } catch {
            close(fd)
            throw error
        }
        guard renamed else {
            close(fd)
            return .durable(entry)
        }
        _ = flux_start_writeback(fd, 0, 0)
        return PendingSpoolEntry(entry: entry, fd: fd)
    }

    /// Gives up: the temp file goes away.
    public func abort() {
        guard !done else { return }
        done = true
        close(fd)
        unlink(tmp)
    }
}
