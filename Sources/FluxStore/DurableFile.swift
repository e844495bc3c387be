import FluxCore
import Foundation

/// Writes small files atomically and durably: temp file in the same directory, fsync, rename,
/// fsync the directory. A reader sees the old file or the whole new one, never a part.
public enum DurableFile {
    public static func write(_ data: Data, to path: String, mode: mode_t = 0o644) throws {
        try writeAll([(data, path)], mode: mode)
    }

    /// Several files of one directory: each written and fsynced under a temp name, then renamed
    /// in the order given (a receipt's signature before its document), then ONE directory
    /// fsync: the same guarantee as `write` for each, with one directory sync instead of n.
    ///
    /// With `durable: false` nothing is fsynced: still atomic for readers, durable only once the
    /// caller has synced the filesystem (`OutboxSyncer`).
    public static func writeAll(_ files: [(data: Data, path: String)], mode: mode_t = 0o644, durable: Bool = true) throws {
        guard let first = files.first else { return }
        let dir = PathParts.directory(of: first.path)
        var temps: [String] = []
        do {
            for f in files {
                precondition(PathParts.directory(of: f.path) == dir, "writeAll: one directory")
                let tmp = "\(dir)/.\(PathParts.lastComponent(of: f.path)).\(RandomID.uuid()).tmp"
                let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
                guard fd >= 0 else { throw FluxError("write", "cannot create \(tmp): \(errnoString())") }
                temps.append(tmp)
                defer { close(fd) }
                try f.data.withUnsafeBytes { try Spool.writeAll(fd, $0) }
                guard !durable || fsync(fd) == 0 else { throw FluxError("fsync", "fsync of \(tmp) failed: \(errnoString())") }
            }
            for (i, (tmp, f)) in zip(temps, files).enumerated() {
                guard rename(tmp, f.path) == 0 else { throw FluxError("rename", "cannot rename into \(f.path): \(errnoString())") }
                if i == 0 { CrashPoint.hit("receipt.half-written") }
            }
        } catch {
            for t in temps { unlink(t) }
            throw error
        }
        if durable { try Spool.fsyncDirectory(dir) }
    }
}
