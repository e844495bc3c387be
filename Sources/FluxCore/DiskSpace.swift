#if canImport(Glibc)
import Glibc
#endif

/// Free space where the gateway writes, for the guards that refuse work before a full disk
/// would make it fail half-way.
public enum DiskSpace {
    /// Bytes an unprivileged writer may still use under `directory` (`f_bavail * f_frsize`), nil
    /// when `statvfs(2)` fails.
    public static func freeBytes(_ directory: String) -> Int64? {
        var s = statvfs()
        guard statvfs(directory, &s) == 0 else { return nil }
        let (bytes, overflow) = UInt64(s.f_bavail).multipliedReportingOverflow(by: UInt64(s.f_frsize))
        return overflow ? Int64.max : Int64(clamping: bytes)
    }
}
