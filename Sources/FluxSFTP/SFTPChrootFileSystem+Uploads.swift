import CFluxShims
import Glibc

/// Uploads: staging files, quotas, completion and abort.
extension SFTPChrootFileSystem {
    /// OPEN for writing in /inbox. A pending temp file of the same name is reopened (resume, or
    /// truncated with TRUNC); otherwise a new staging file is created (CREAT required).
    func openUpload(_ name: String, pflags: UInt32) throws(SFTPFailure) -> SFTPUpload {
        let dfd = try stagingDirFD()
        if let existing = uploadsByName[name] {
            if existing.isOpen { throw SFTPFailure(.failure, "file is already open for upload") }
            if pflags & SFTPWire.openExclusive != 0 && pflags & SFTPWire.openCreate != 0 {
                throw SFTPFailure(.failure, "file already exists")
            }
            let truncate = pflags & SFTPWire.openTruncate != 0
            let fd = openat(dfd, existing.stagingName, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | (truncate ? O_TRUNC : 0))
            guard fd >= 0 else {
                let e = errno
                // Its staging file was removed behind our back: forget it, a new upload can start.
                if e == ENOENT { abort(existing, reason: "staging file vanished") }
                throw Self.failure(errno: e, "open")
            }
            if truncate {
                pendingBytes -= existing.size
                existing.size = 0
                existing.crc32 = 0
                existing.crcValid = existing.failure == nil
            } else {
                // Resumed: the bytes already there were checked by nobody.
                existing.crcValid = false
            }
            existing.fd = fd
            existing.appendMode = pflags & SFTPWire.openAppend != 0
            existing.mtime = Self.now()
            event("upload-reopen", "/inbox/\(name)", truncate ? "truncated" : nil)
            return existing
        }
        guard pflags & SFTPWire.openCreate != 0 else { throw SFTPFailure(.noSuchFile, "no such file") }
        guard uploadsByName.count < quota.maxPendingFiles else {
            throw SFTPFailure(.failure, "quota exceeded: at most \(quota.maxPendingFiles) files may be pending")
        }
        try checkFreeSpace(growth: 0)
        var fd: Int32 = -1
        var stagingName = ""
        for _ in 0..<16 {
            stagingName = Self.stagingPrefix + SFTPHandleTable.hex(UInt64.random(in: .min ... .max))
            fd = openat(dfd, stagingName, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if fd >= 0 || errno != EEXIST { break }
        }
        guard fd >= 0 else { throw Self.failure(errno: errno, "create") }
        let up = SFTPUpload(name: name, stagingName: stagingName, fd: fd, mtime: Self.now())
        up.appendMode = pflags & SFTPWire.openAppend != 0
        uploadsByName[name] = up
        event("upload-open", "/inbox/\(name)")
        return up
    }

    private func checkFreeSpace(growth: Int64) throws(SFTPFailure) {
        guard let free = freeSpace(stagingDirectory) else {
            throw SFTPFailure(.failure, "cannot check free disk space: upload refused")
        }
        if free - growth < quota.minFreeDiskBytes {
            throw SFTPFailure(.failure, "disk almost full: upload refused")
        }
    }

    /// WRITE: `pwrite` straight from the packet. Any refusal poisons the upload: later writes
    /// fail the same way and the close aborts it instead of completing a file with a hole.
    func write(_ up: SFTPUpload, offset: UInt64, data: UnsafeRawBufferPointer) throws(SFTPFailure) {
        guard up.isOpen else { throw SFTPFailure.invalidHandle }
        if let f = up.failure { throw SFTPFailure(.failure, f) }
        do throws(SFTPFailure) {
            let start: Int64
            if up.appendMode {
                start = up.size
            } else {
                guard offset <= UInt64(Int64.max) else { throw SFTPFailure(.failure, "quota exceeded: file larger than \(quota.maxFileBytes) bytes") }
                start = Int64(offset)
            }
            let (end, overflow) = start.addingReportingOverflow(Int64(data.count))
            guard !overflow, end <= quota.maxFileBytes else {
                throw SFTPFailure(.failure, "quota exceeded: file larger than \(quota.maxFileBytes) bytes")
            }
            let growth = max(0, end - up.size)
            guard pendingBytes + growth <= quota.maxPendingBytes else {
                throw SFTPFailure(.failure, "quota exceeded: pending uploads larger than \(quota.maxPendingBytes) bytes")
            }
            try checkFreeSpace(growth: growth)
            let inOrder = start == up.size
            var done = 0
            while done < data.count {
                let n = pwrite(up.fd, data.baseAddress! + done, data.count - done, off_t(start) + off_t(done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw Self.failure(errno: errno, "write")
                }
                done += n
            }
            if up.crcValid {
                if inOrder, end <= Self.checkedUploadLimit {
                    if data.count > 0 { up.crc32 = flux_crc32(up.crc32, data.baseAddress, data.count) }
                } else {
                    up.crcValid = false
                }
            }
            if growth > 0 {
                up.size = end
                pendingBytes += growth
            }
            // Start writeback every 8 MiB (without waiting for it), so the fsync that makes the
            // upload durable at CLOSE only waits for the tail instead of the whole file.
            if up.size - up.writebackStarted >= 8 << 20 {
                _ = flux_start_writeback(up.fd, up.writebackStarted, up.size - up.writebackStarted)
                up.writebackStarted = up.size
            }
        } catch {
            up.failure = error.message
            event("upload-write-refused", "/inbox/\(up.name)", error.message)
            throw error
        }
    }

    /// fsync@openssh.com on an upload handle.
    func sync(_ up: SFTPUpload) throws(SFTPFailure) {
        guard up.isOpen else { throw SFTPFailure.invalidHandle }
        guard fsync(up.fd) == 0 else { throw Self.failure(errno: errno, "fsync") }
    }

    /// CLOSE of an upload handle: fsync; a temp name stays pending, any other name is handed to
    /// the handler now. A poisoned upload is aborted.
    func closeUpload(_ up: SFTPUpload) throws(SFTPFailure) {
        guard up.isOpen else { return }
        if up.failure == nil, up.crcValid, !isTempName(up.name), handler.takesUnsyncedUploads {
            // The handler names the upload first and fsyncs it after, in one flush.
            let fd = up.fd
            defer { Glibc.close(fd) }
            up.fd = -1
            up.mtime = Self.now()
            try complete(up, as: up.name, unsynced: SFTPUnsyncedUpload(size: up.size, crc32: up.crc32, fd: fd))
            return
        }
        let synced = fsync(up.fd) == 0
        let syncErrno = errno
        let closed = Glibc.close(up.fd) == 0
        up.fd = -1
        if let f = up.failure {
            abort(up, reason: "write refused")
            throw SFTPFailure(.failure, "upload incomplete: \(f)")
        }
        guard synced, closed else {
            abort(up, reason: "fsync failed")
            throw Self.failure(errno: synced ? EIO : syncErrno, "save")
        }
        up.mtime = Self.now()
        if isTempName(up.name) {
            event("upload-pending", "/inbox/\(up.name)", "\(up.size) bytes")
            return
        }
        try complete(up, as: up.name)
    }

    private func complete(_ up: SFTPUpload, as finalName: String, unsynced: SFTPUnsyncedUpload? = nil) throws(SFTPFailure) {
        uploadsByName.removeValue(forKey: up.name)
        pendingBytes -= up.size
        up.name = finalName
        let path = stagingDirectory + "/" + up.stagingName
        let refused = unsynced.map { handler.uploadCompleted(stagingPath: path, name: finalName, unsynced: $0) }
            ?? handler.uploadCompleted(stagingPath: path, name: finalName)
        if let refusal = refused {
            if stagingFD >= 0 { unlinkat(stagingFD, up.stagingName, 0) } else { unlink(path) }
            event("upload-refused", "/inbox/\(finalName)", refusal)
            throw SFTPFailure(.failure, refusal)
        }
        remember(finalName, size: up.size)
    }

    private func remember(_ name: String, size: Int64) {
        if completed.updateValue((size, Self.now()), forKey: name) == nil {
            completedOrder.append(name)
            if completedOrder.count > Self.completedMemory {
                completed.removeValue(forKey: completedOrder.removeFirst())
            }
        }
    }

    /// Deletes the staging file and tells the handler.
    private func abort(_ up: SFTPUpload, reason: String) {
        if up.isOpen {
            Glibc.close(up.fd)
            up.fd = -1
        }
        if stagingFD >= 0 {
            unlinkat(stagingFD, up.stagingName, 0)
        } else {
            unlink(stagingDirectory + "/" + up.stagingName)
        }
        if uploadsByName[up.name] === up {
            uploadsByName.removeValue(forKey: up.name)
            pendingBytes -= up.size
        }
        event("upload-aborted", "/inbox/\(up.name)", reason)
        handler.uploadAborted(name: up.name, bytes: up.size)
    }

    /// Deletes staging files left by a previous run of the process (a crash or SIGKILL skips
    /// `close()`). Call at startup, before any session uses `staging`; returns how many went.
    public static func removeStaleUploads(staging: String) -> Int {
        let fd = open(staging, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0, let dir = fdopendir(fd) else {
            if fd >= 0 { Glibc.close(fd) }
            return 0
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let ent = readdir(dir) {
            var raw = ent.pointee.d_name
            let capacity = MemoryLayout.size(ofValue: raw)
            let name = withUnsafePointer(to: &raw) {
                $0.withMemoryRebound(to: CChar.self, capacity: capacity) { String(validatingCString: $0) }
            }
            if let name, name.hasPrefix(stagingPrefix) { names.append(name) }
        }
        var removed = 0
        for name in names {
            var st = stat()
            if fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0, st.st_mode & S_IFMT == S_IFREG, unlinkat(fd, name, 0) == 0 {
                removed += 1
            }
        }
        return removed
    }

    /// The channel is gone: every upload, open or pending, is aborted.
    func abortAll() {
        for up in uploadsByName.values.sorted(by: { $0.name < $1.name }) {
            abort(up, reason: up.isOpen ? "session ended with the file open" : "session ended before the rename")
        }
    }

    /// RENAME / posix-rename@openssh.com within /inbox: only a pending (closed, temp-named) file
    /// can move. To another temp name it stays pending; to a final name it is completed now.
    func rename(_ old: String, to new: String, overwrite: Bool) throws(SFTPFailure) {
        guard let up = uploadsByName[old] else {
            throw SFTPFailure(.noSuchFile, "no such file (only pending uploads with a temporary name can be renamed)")
        }
        guard !up.isOpen else { throw SFTPFailure(.failure, "file is still open") }
        if old == new { return }
        if let target = uploadsByName[new] {
            guard overwrite else { throw SFTPFailure(.failure, "file already exists") }
            guard !target.isOpen else { throw SFTPFailure(.failure, "target file is being uploaded") }
            abort(target, reason: "replaced by rename")
        }
        event("rename", "/inbox/\(old)", "/inbox/\(new)")
        if isTempName(new) {
            uploadsByName.removeValue(forKey: old)
            up.name = new
            uploadsByName[new] = up
            return
        }
        try complete(up, as: new)
    }

    /// REMOVE in /inbox: drops a pending upload.
    func removeUpload(_ name: String) throws(SFTPFailure) {
        guard let up = uploadsByName[name] else { throw SFTPFailure(.noSuchFile, "no such file") }
        guard !up.isOpen else { throw SFTPFailure(.failure, "file is open") }
        event("remove", "/inbox/\(name)")
        abort(up, reason: "removed by the client")
    }
}
