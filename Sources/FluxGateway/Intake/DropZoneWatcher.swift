import CFluxShims
import FluxCore
import Foundation
import Logging
import Synchronization

/// A file the watcher judged complete: who deposited it, where, under which name.
public struct DropZoneCandidate: Sendable, Hashable {
    public var partner: String
    public var directory: String
    public var name: String
    /// Found through its `NAME.ok` trigger (trigger mode), which goes once the file is processed.
    public var triggered = false
    public var path: String { directory + "/" + name }
}

/// A directory to watch for one partner.
public struct WatchTarget: Sendable, Equatable {
    public var partner: String
    public var directory: String
    public var completion: CompletionMode
}

/// Watches drop-zone directories with inotify on one dedicated thread and reports complete
/// files. It never opens or moves a file itself: the intake claims it by rename.
///
/// Completion per directory: `rename` (IN_MOVED_TO), `trigger` (`NAME.ok` after the data) or
/// `close` (IN_CLOSE_WRITE, then a quiet period with no change, then no writer left). A full
/// rescan runs at start, on IN_Q_OVERFLOW, and on `rescan()` (periodic safety net).
public final class DropZoneWatcher: Sendable {
    struct State {
        var fd: Int32 = -1
        var targets: [Int32: WatchTarget] = [:]
        var pendingClose: [String: (candidate: DropZoneCandidate, due: Date)] = [:]
        var rescanRequested = true
        var stopped = false
    }

    private let state = Mutex(State())
    private let quietPeriod: Double
    private let logger: Logger
    private let emit: @Sendable (DropZoneCandidate) -> Void

    public init(quietPeriod: Double, logger: Logger, emit: @escaping @Sendable (DropZoneCandidate) -> Void) {
        self.quietPeriod = quietPeriod
        self.logger = logger
        self.emit = emit
    }

    /// Sets the directories to watch (start and SIGHUP reload), creating missing ones.
    public func setTargets(_ targets: [WatchTarget]) throws {
        try state.withLock { s in
            if s.fd < 0 {
                s.fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
                guard s.fd >= 0 else { throw FluxError("inotify", "inotify_init1 failed: \(String(cString: strerror(errno)))") }
            }
            for (wd, _) in s.targets { inotify_rm_watch(s.fd, wd) }
            s.targets = [:]
            let mask = UInt32(IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF)
            for t in targets {
                try FileManager.default.createDirectory(atPath: t.directory, withIntermediateDirectories: true)
                let wd = inotify_add_watch(s.fd, t.directory, mask)
                guard wd >= 0 else {
                    throw FluxError("inotify", "cannot watch \(t.directory): \(String(cString: strerror(errno)))")
                }
                s.targets[wd] = t
            }
            s.rescanRequested = true
        }
    }

    public func rescan() { state.withLock { $0.rescanRequested = true } }

    public func stop() { state.withLock { $0.stopped = true } }

    /// Runs the event loop on a dedicated thread until `stop()`.
    public func start() {
        let t = Thread { [self] in self.loop() }
        t.name = "flux-dropzone-watcher"
        t.start()
    }

    private func loop() {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let (fd, stopped, rescan) = state.withLock { s -> (Int32, Bool, Bool) in
                let r = s.rescanRequested
                s.rescanRequested = false
                return (s.fd, s.stopped, r)
            }
            if stopped { break }
            if rescan { rescanAll() }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, 250)
            if ready > 0 {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n > 0 { handle(buffer: buffer, count: n) }
            }
            checkPendingClose()
        }
        state.withLock { s in
            if s.fd >= 0 { close(s.fd); s.fd = -1 }
        }
    }

    private func handle(buffer: [UInt8], count: Int) {
        buffer.withUnsafeBytes { raw in
            var off = 0
            while off < count {
                var wd: Int32 = 0
                var mask: UInt32 = 0
                var namePtr: UnsafePointer<CChar>?
                let size = flux_inotify_parse(raw.baseAddress! + off, count - off, &wd, &mask, &namePtr)
                guard size > 0 else { break }
                off += size
                let name = namePtr.map { String(cString: $0) } ?? ""
                if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                    logger.warning("inotify queue overflowed: rescanning every drop zone")
                    state.withLock { $0.rescanRequested = true }
                    continue
                }
                guard let target = state.withLock({ $0.targets[wd] }) else { continue }
                if mask & UInt32(IN_DELETE_SELF | IN_MOVE_SELF) != 0 {
                    logger.error("a watched drop zone was removed or moved", metadata: ["dir": "\(target.directory)"])
                    continue
                }
                event(target: target, name: name, movedIn: mask & UInt32(IN_MOVED_TO) != 0)
            }
        }
    }

    private func event(target: WatchTarget, name: String, movedIn: Bool) {
        switch target.completion {
        case .rename:
            if movedIn && !DropZoneFile.isTemporary(name) {
                emit(DropZoneCandidate(partner: target.partner, directory: target.directory, name: name))
            }
        case .trigger:
            if let data = DropZoneFile.triggerTarget(name), !DropZoneFile.isTemporary(data) {
                emit(DropZoneCandidate(partner: target.partner, directory: target.directory, name: data, triggered: true))
            }
        case .close:
            guard !DropZoneFile.isTemporary(name), DropZoneFile.triggerTarget(name) == nil else { return }
            let c = DropZoneCandidate(partner: target.partner, directory: target.directory, name: name)
            if movedIn {
                emit(c)  // a rename is complete by construction
            } else {
                state.withLock { $0.pendingClose[c.path] = (c, Date().addingTimeInterval(quietPeriod)) }
            }
        }
    }

    /// Close mode: a file is complete once unchanged for the quiet period and held open by no
    /// writer. Checked on every loop turn.
    private func checkPendingClose() {
        let now = Date()
        let due = state.withLock { s -> [DropZoneCandidate] in
            let d = s.pendingClose.values.filter { $0.due <= now }.map(\.candidate)
            for c in d { s.pendingClose[c.path] = nil }
            return d
        }
        for c in due {
            guard let attrs = try? FileManager.default.attributesOfItem(atPath: c.path),
                  let mtime = attrs[.modificationDate] as? Date else { continue }  // gone: claimed or removed
            if now.timeIntervalSince(mtime) < quietPeriod || WriterCheck.hasWriter(path: c.path) {
                state.withLock { $0.pendingClose[c.path] = (c, now.addingTimeInterval(max(quietPeriod / 2, 0.2))) }
                continue
            }
            emit(c)
        }
    }

    private func rescanAll() {
        let targets = state.withLock { Array($0.targets.values) }
        for t in targets {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: t.directory) else { continue }
            for name in names.sorted() {
                var isDir: ObjCBool = false
                guard FileManager.default.fileExists(atPath: t.directory + "/" + name, isDirectory: &isDir), !isDir.boolValue else { continue }
                switch t.completion {
                case .rename:
                    if !DropZoneFile.isTemporary(name) && DropZoneFile.triggerTarget(name) == nil {
                        emit(DropZoneCandidate(partner: t.partner, directory: t.directory, name: name))
                    }
                case .trigger:
                    if let data = DropZoneFile.triggerTarget(name), names.contains(data) {
                        emit(DropZoneCandidate(partner: t.partner, directory: t.directory, name: data, triggered: true))
                    }
                case .close:
                    if !DropZoneFile.isTemporary(name) && DropZoneFile.triggerTarget(name) == nil {
                        let c = DropZoneCandidate(partner: t.partner, directory: t.directory, name: name)
                        state.withLock { s in
                            if s.pendingClose[c.path] == nil { s.pendingClose[c.path] = (c, Date()) }
                        }
                    }
                }
            }
        }
    }
}

/// Whether any process still holds a file open for writing.
enum WriterCheck {
    static func hasWriter(path: String) -> Bool {
        // A read lease can only be taken when no one has the file open for writing; it needs
        // ownership of the file, so fall back to scanning /proc when it is refused.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let r = flux_try_read_lease(fd)
        if r == 0 { return false }
        if r == EAGAIN || r == EBUSY { return true }
        return procHasWriter(path: path)
    }

    /// True only when a read lease proves that nobody holds the file open for writing (the
    /// gateway owns the file): then its inode may become the spool's original without a copy.
    static func provablyNoWriter(path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return flux_try_read_lease(fd) == 0
    }

    static func procHasWriter(path: String) -> Bool {
        guard let pids = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return false }
        let me = String(getpid())
        for pid in pids where pid.allSatisfy(\.isASCIIDigit) && pid != me {
            guard let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd") else { continue }
            for f in fds {
                guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(f)"), target == path else { continue }
                if let info = try? String(contentsOfFile: "/proc/\(pid)/fdinfo/\(f)", encoding: .utf8),
                   let flagsLine = info.split(separator: "\n").first(where: { $0.hasPrefix("flags:") }),
                   let flags = Int(flagsLine.dropFirst(6).trimmingCharacters(in: .whitespaces), radix: 8),
                   flags & Int(O_ACCMODE) != Int(O_RDONLY) {
                    return true
                }
            }
        }
        return false
    }
}
