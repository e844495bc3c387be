import CFluxShims
import FluxCore
import Foundation
import Synchronization

/// `syncfs(2)` of the filesystems holding some directories: one call per filesystem makes every
/// file written, renamed or linked on it before the call durable. It lets a round of receipts
/// share one sync where each used to fsync its own files and directory (`OutboxSyncer`).
///
/// One descriptor per filesystem, opened at its first sync and kept: Linux reports a writeback
/// error to a `syncfs` only once per open file (the error sequence is sampled at open), so a
/// descriptor opened for each call could miss an error another caller had already seen, and
/// acknowledge data the disk had lost. Each user owns its instance and calls it from one thread
/// at a time, so no error is consumed by another.
public final class FileSystemSync: Sendable {
    private let descriptors = Mutex<[UInt64: Int32]>([:])

    public init() {}

    deinit {
        descriptors.withLock { for fd in $0.values { close(fd) } }
    }

    /// Syncs the filesystem of each directory once. The first failure is returned, after trying
    /// every filesystem.
    public func sync(_ directories: some Sequence<String>) -> FluxError? {
        var done = Set<UInt64>()
        var failure: FluxError?
        for directory in directories {
            var st = stat()
            guard stat(directory, &st) == 0 else {
                failure = failure ?? FluxError("syncfs", "cannot sync the filesystem of \(directory): \(errnoString())")
                continue
            }
            let device = UInt64(st.st_dev)
            guard done.insert(device).inserted else { continue }
            guard let fd = descriptor(device: device, directory: directory) else {
                failure = failure ?? FluxError("syncfs", "cannot open \(directory): \(errnoString())")
                continue
            }
            if flux_syncfs(fd) != 0 {
                failure = failure ?? FluxError("syncfs", "syncfs of the filesystem of \(directory) failed: \(errnoString())")
            }
        }
        return failure
    }

    /// Filesystems with a descriptor open (for tests and diagnostics).
    public var filesystems: Int { descriptors.withLock { $0.count } }

    private func descriptor(device: UInt64, directory: String) -> Int32? {
        descriptors.withLock { fds -> Int32? in
            if let fd = fds[device] { return fd }
            let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard fd >= 0 else { return nil }
            fds[device] = fd
            return fd
        }
    }
}
