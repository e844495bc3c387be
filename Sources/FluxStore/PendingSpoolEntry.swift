import FluxCore
import Foundation

/// A spooled original whose bytes and name are in place but not yet durable: its writeback has
/// been started, and `makeDurable()` (its one fsync) must return before anything that refers to
/// it is committed. An AS2 worker decrypts, verifies, inspects and signs while the disk writes
/// the request and its payload, instead of waiting for each flush in turn (for 1 MB messages the
/// spool's two fsyncs were most of a message's wait). Until then it is what a power loss between
/// rename and fsync leaves (`Spool`): a name nothing refers to, checked before any reuse. A
/// failed `makeDurable()` leaves the name for the same check.
// @unchecked Sendable: one owner at a time, like `SpoolWriter`.
public final class PendingSpoolEntry: @unchecked Sendable {
    public let entry: SpoolEntry
    /// -1 once fsynced (or failed).
    private var fd: Int32
    /// A failed fsync, reported again by every later call: the bytes are not known durable.
    private var failure: FluxError?

    init(entry: SpoolEntry, fd: Int32) {
        self.entry = entry
        self.fd = fd
    }

    /// Already durable (stored before, or written in the fsync-first order).
    static func durable(_ entry: SpoolEntry) -> PendingSpoolEntry { PendingSpoolEntry(entry: entry, fd: -1) }

    public var isDurable: Bool { fd < 0 && failure == nil }

    /// fsyncs the file, which on the filesystems that rename first also makes its name durable.
    /// Idempotent; a failure is thrown again by every later call.
    public func makeDurable() throws {
        if let failure { throw failure }
        guard fd >= 0 else { return }
        if fsync(fd) != 0 { failure = FluxError("spool-fsync", "fsync failed: \(errnoString())") }
        close(fd)
        fd = -1
        if let failure { throw failure }
    }

    deinit {
        if fd >= 0 { close(fd) }
    }
}
