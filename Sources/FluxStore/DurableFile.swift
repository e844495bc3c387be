import FluxCore
import Foundation

/// Writes small files atomically and durably: temp file in the same directory, fsync, rename,
/// fsync the directory. A reader sees the old file or the whole new one, never a part.
public enum DurableFile {
    public static func write(_ data: Data, to path: String, mode: mode_t = 0o644) throws {
        let dir = (path as NSString).deletingLastPathComponent
        let tmp = "\(dir)/.\((path as NSString).lastPathComponent).\(UUID().uuidString).tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw FluxError("write", "cannot create \(tmp): \(errnoString())") }
        do {
            try data.withUnsafeBytes { try Spool.writeAll(fd, $0) }
            guard fsync(fd) == 0 else { throw FluxError("fsync", "fsync of \(tmp) failed: \(errnoString())") }
            close(fd)
        } catch {
            close(fd)
            unlink(tmp)
            throw error
        }
        guard rename(tmp, path) == 0 else {
            unlink(tmp)
            throw FluxError("rename", "cannot rename into \(path): \(errnoString())")
        }
        try Spool.fsyncDirectory(dir)
    }
}
