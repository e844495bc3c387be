#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Writes key and certificate files so that a crash never leaves a truncated or half-written
/// file under the final name, and a private key is never readable by others, even briefly.
public enum KeyFiles {
    /// Atomically replaces the file at `path` with `data`, with permissions `mode` (0600 for
    /// private keys, 0644 for certificates).
    ///
    /// Writes a temporary file in the same directory (created with `mode`, so there is no window
    /// with wider permissions), fsyncs it, renames it over `path`, then fsyncs the directory so the
    /// rename itself survives a power loss. Throws `CryptoError` code `"file-write"`.
    public static func writePEM(_ data: Data, to path: String, mode: mode_t) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let temporary = "\(directory)/.\(url.lastPathComponent).\(UUID().uuidString).tmp"

        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw failure("cannot create \(temporary)") }
        var renamed = false
        defer { if !renamed { unlink(temporary) } }
        do {
            defer { close(fd) }
            // The umask may have removed bits from `mode`; the caller asked for exactly `mode`.
            guard fchmod(fd, mode) == 0 else { throw failure("cannot set mode of \(temporary)") }
            try data.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let written = write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw failure("cannot write \(temporary)")
                    }
                    offset += written
                }
            }
            guard fsync(fd) == 0 else { throw failure("cannot fsync \(temporary)") }
        }
        guard rename(temporary, path) == 0 else { throw failure("cannot rename \(temporary) to \(path)") }
        renamed = true

        let dirFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dirFD >= 0 else { throw failure("cannot open directory \(directory) to fsync it") }
        defer { close(dirFD) }
        guard fsync(dirFD) == 0 else { throw failure("cannot fsync directory \(directory)") }
    }

    private static func failure(_ what: String) -> CryptoError {
        CryptoError(code: "file-write", message: "\(what): \(String(cString: strerror(errno)))")
    }
}
