#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// Fault injection for the crash-consistency test: with `FLUX_CRASH_POINT=name:N` in its
/// environment the process SIGKILLs itself the Nth time it reaches the named point, so the test
/// can kill it precisely between two durable steps (after the commit, before the receipt...) as
/// well as at random moments. Unset (production), a hit costs one load and one compare.
public enum CrashPoint {
    /// Every point the daemon declares, in pipeline order (the torture test iterates over them).
    public static let all = [
        "intake.claimed", "intake.spooled", "store.deposit.uncommitted", "intake.committed", "receipt.half-written", "receipt.unsynced",
        "batch.sealing", "sftp.claimed", "as2.unwrapped", "as2.recorded", "mdn.async.sent", "queue.claimed", "queue.acked",
    ]

    static let armed: (name: String, count: Int)? = {
        guard let spec = ProcessInfo.processInfo.environment["FLUX_CRASH_POINT"] else { return nil }
        let parts = spec.split(separator: ":")
        guard let name = parts.first, all.contains(String(name)) else { return nil }
        let count = parts.count > 1 ? Int(parts[1]) ?? 1 : 1
        return (String(name), max(1, count))
    }()

    static let hits = Atomic<Int>(0)

    @inline(__always)
    public static func hit(_ name: String) {
        guard let a = armed, a.name == name else { return }
        if hits.add(1, ordering: .relaxed).newValue >= a.count {
            kill(getpid(), SIGKILL)
        }
    }
}
