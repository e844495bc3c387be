import Glibc

/// Request handlers: each parses its payload, acts through the file system, writes one reply or
/// throws the SFTPFailure that becomes the STATUS reply.
extension SFTPSession {
    func dispatch(_ type: UInt8, id: UInt32, _ r: inout SFTPReader) throws(SFTPFailure) {
        switch type {
        case SFTPWire.open: try open(id, &r)
        case SFTPWire.close: try closeHandle(id, &r)
        case SFTPWire.read: try read(id, &r)
        case SFTPWire.write: try write(id, &r)
        case SFTPWire.stat, SFTPWire.lstat:
            let path = try resolvePath(&r)
            sendAttributes(id, try fs.attributes(of: path))
        case SFTPWire.fstat: try fstat(id, &r)
        case SFTPWire.setstat:
            let raw = try r.bytes()
            let attrs = try r.attributes()
            try fs.setAttributes(of: try SFTPVirtualPath.resolve(raw, limits: limits), attrs)
            sendOK(id)
        case SFTPWire.fsetstat: try fsetstat(id, &r)
        case SFTPWire.opendir: try opendir(id, &r)
        case SFTPWire.readdir: try readdir(id, &r)
        case SFTPWire.remove: try remove(id, &r)
        case SFTPWire.mkdir:
            let raw = try r.bytes()
            _ = try r.attributes()
            fs.handler.event("mkdir-refused", path: Self.describe(raw, limits), detail: nil)
            throw SFTPFailure(.permissionDenied, "directories cannot be created: use /inbox")
        case SFTPWire.rmdir:
            let raw = try r.bytes()
            fs.handler.event("rmdir-refused", path: Self.describe(raw, limits), detail: nil)
            throw SFTPFailure(.permissionDenied, "directories cannot be removed")
        case SFTPWire.realpath:
            let path = try resolvePath(&r)
            sendName(id, [(path.description, path.description, SFTPAttributes())])
        case SFTPWire.rename:
            let old = try r.bytes()
            let new = try r.bytes()
            try rename(id, old, new, overwrite: false)
        case SFTPWire.readlink:
            _ = try r.bytes()
            throw SFTPFailure(.opUnsupported, "symbolic links are not supported")
        case SFTPWire.symlink:
            _ = try r.bytes()
            let raw = try r.bytes()
            fs.handler.event("symlink-refused", path: Self.describe(raw, limits), detail: nil)
            throw SFTPFailure(.permissionDenied, "symbolic links cannot be created")
        case SFTPWire.extended: try extended(id, &r)
        default:
            throw SFTPFailure(.opUnsupported, "unsupported packet type \(type)")
        }
    }

    /// A client path for logs: normalised when it can be, a placeholder otherwise (never raw bytes).
    static func describe(_ raw: UnsafeRawBufferPointer, _ limits: SFTPLimits) -> String {
        (try? SFTPVirtualPath.resolve(raw, limits: limits))?.description ?? "(invalid path)"
    }

    private func resolvePath(_ r: inout SFTPReader) throws(SFTPFailure) -> SFTPVirtualPath {
        try SFTPVirtualPath.resolve(try r.bytes(), limits: limits)
    }

    /// Requests are parsed whole before acting, so a malformed one is BAD_MESSAGE whatever its
    /// handle: read the handle's bytes first, look it up after the other fields.
    private func lookupHandle(_ r: inout SFTPReader) throws(SFTPFailure) -> (key: UInt64, handle: SFTPHandle) {
        try lookupHandle(try r.bytes())
    }

    private func lookupHandle(_ raw: UnsafeRawBufferPointer) throws(SFTPFailure) -> (key: UInt64, handle: SFTPHandle) {
        guard let found = handles.lookup(raw) else { throw SFTPFailure.invalidHandle }
        return found
    }

    private func checkHandleRoom() throws(SFTPFailure) {
        guard handles.count < limits.maxOpenHandles else {
            throw SFTPFailure(.failure, "too many open handles (at most \(limits.maxOpenHandles))")
        }
    }

    // MARK: - Files

    private func open(_ id: UInt32, _ r: inout SFTPReader) throws(SFTPFailure) {
        let raw = try r.bytes()
        let pflags = try r.u32()
        _ = try r.attributes() // creation mode is ours (0600), whatever the client asks
        let path = try SFTPVirtualPath.resolve(raw, limits: limits)
        let writing = SFTPWire.openWrite | SFTPWire.openAppend | SFTPWire.openCreate
            | SFTPWire.openTruncate | SFTPWire.openExclusive
        switch path {
        case .root, .inbox, .outbox:
            throw SFTPFailure(.failure, "\(path) is a directory")
        case .outboxFile(let name):
            guard pflags & writing == 0 else { throw SFTPFailure(.permissionDenied, "/outbox is read-only") }
            try checkHandleRoom()
            let file = try fs.openOutboxFile(name)
            sendHandle(id, handles.insert(.outboxFile(file)))
        case .inboxFile(let name):
            guard pflags & (SFTPWire.openWrite | SFTPWire.openAppend) != 0 else {
                throw SFTPFailure(.permissionDenied, "files in /inbox cannot be read back")
            }
            try checkHandleRoom()
            let up = try fs.openUpload(name, pflags: pflags)
            sendHandle(id, handles.insert(.upload(up)))
        }
    }

    private func closeHandle(_ id: UInt32, _ r: inout SFTPReader) throws(SFTPFailure) {
        let (key, handle) = try lookupHandle(&r)
        handles.remove(key)
        switch handle {
        case .upload(let up): try fs.closeUpload(up)
        case .outboxFile(let f): f.close()
        case .directory(let d): d.close()
        }
        sendOK(id)
    }

    private func read(_ id: UInt32, _ r: inout SFTPReader) throws(SFTPFailure) {
        let rawHandle = try r.bytes()
        let offset = try r.u64()
        let length = try r.u32()
        let (_, handle) = try lookupHandle(rawHandle)
        let file: SFTPOutboxFile
        switch handle {
        case .outboxFile(let f): file = f
        case .upload: throw SFTPFailure(.permissionDenied, "files in /inbox cannot be read back")
        case .directory: throw SFTPFailure(.failure, "handle is a directory")
        }
        var want = min(Int(length), limits.effectiveReadLength)
        if overReplyBudget { want = min(want, 512) }
        guard want > 0, offset <= UInt64(Int64.max) else { throw SFTPFailure(.eof) }
        let start = out.begin(SFTPWire.data)
        out.u32(id)
        let lengthAt = out.count
        out.u32(0)
        let dataAt = out.count
        out.bytes.append(contentsOf: repeatElement(0, count: want))
        var got: Int
        var err: Int32 = 0
        repeat {
            got = out.bytes.withUnsafeMutableBytes { pread(file.fd, $0.baseAddress! + dataAt, want, off_t(offset)) }
            err = errno
        } while got < 0 && err == EINTR
        guard got > 0 else {
            out.truncate(to: start)
            if got == 0 { throw SFTPFailure(.eof) }
            throw SFTPChrootFileSystem.failure(errno: err, "read")
        }
        if got < want { out.bytes.removeLast(want - got) }
        out.patchU32(at: lengthAt, UInt32(got))
        out.end(start)
    }

    private func write(_ id: UInt32, _ r: inout SFTPReader) throws(SFTPFailure) {
        let rawHandle = try r.bytes()
        let offset = try r.u64()
        let data = try r.bytes()
        let (_, handle) = try lookupHandle(rawHandle)
        switch handle {
        case .upload(let up): try fs.write(up, offset: offset, data: data)
        case .outboxFile: throw SFTPFailure(.permissionDenied, "/outbox is read-only")
        case .directory: throw SFTPFailure(.failure, "handle is a directory")
        }
        sendOK(id)
    }

    private func fstat(_ id: UInt32, _ r: inout SFTPReader) throws(SFTPFailure) {
        let (_, handle) = try lookupHandle(&r)
        switch handle {
        case .upload(let up):
            sendAttributes(id, up.attributes)
        case .outboxFile(let f):
            var st = stat()
            guard Glibc.fstat(f.fd, &st) == 0 else { throw SFTPChrootFileSystem.failure(errno: errno, "stat") }
            sendAttributes(id, SFTPChrootFileSystem.attributes(st))
        case .directory:
            throw SFTPFailure(.failure, "handle is a directory")
        }
    }

    private func fsetstat(_ id: UInt32, _ r: inout SFTPReader) throws(SFTPFailure) {
        let rawHandle = try r.bytes()
        let attrs = try r.attributes()
        let (_, handle) = try lookupHandle(rawHandle)
        guard case .upload = handle else {
            throw SFTPFailure(.permissionDenied, "attributes can only be set on your uploads in /inbox")
        }
        try SFTPChrootFileSystem.checkSettable(attrs)
        sendOK(id)
    }

    private func remove(_ id: UInt32, _ r: inout SFTPReader) throws(SFTPFailure) {
        switch try resolvePath(&r) {
        case .inboxFile(let name): try fs.removeUpload(name)
        case .outboxFile(let name): try fs.removeOutboxFile(name)
        case let dir: throw SFTPFailure(.permissionDenied, "\(dir) is a directory and cannot be removed")
        }
        sendOK(id)
    }

    private func rename(_ id: UInt32, _ oldRaw: UnsafeRawBufferPointer, _ newRaw: UnsafeRawBufferPointer, overwrite: Bool) throws(SFTPFailure) {
        let old = try SFTPVirtualPath.resolve(oldRaw, limits: limits)
        let new = try SFTPVirtualPath.resolve(newRaw, limits: limits)
        switch (old, new) {
        case (.inboxFile(let from), .inboxFile(let to)):
            try fs.rename(from, to: to, overwrite: overwrite)
            sendOK(id)
        case (.outboxFile, _), (_, .outboxFile):
            throw SFTPFailure(.permissionDenied, "files cannot be moved into or out of /outbox")
        case (.inboxFile, _):
            throw SFTPFailure(.permissionDenied, "files can only be renamed within /inbox")
        default:
            throw SFTPFailure(.permissionDenied, "directories cannot be renamed")
        }
    }

    // MARK: - Directories

    private func opendir(_ id: UInt32, _ r: inout SFTPReader) throws(SFTPFailure) {
        let path = try resolvePath(&r)
        try checkHandleRoom()
        let listing = try fs.openListing(path)
        sendHandle(id, handles.insert(.directory(listing)))
    }

    private func readdir(_ id: UInt32, _ r: inout SFTPReader) throws(SFTPFailure) {
        let (_, handle) = try lookupHandle(&r)
        guard case .directory(let listing) = handle else { throw SFTPFailure(.failure, "handle is not a directory") }
        let batch = fs.nextEntries(listing, max: overReplyBudget ? 1 : limits.maxReaddirBatch, limits: limits)
        guard !batch.isEmpty else { throw SFTPFailure(.eof) }
        let now = SFTPChrootFileSystem.now()
        sendName(id, batch.map { ($0.0, SFTPLongName.format(name: $0.0, attributes: $0.1, now: now), $0.1) })
    }

    // MARK: - Extensions

    private func extended(_ id: UInt32, _ r: inout SFTPReader) throws(SFTPFailure) {
        let name = try r.utf8String() ?? ""
        switch name {
        case SFTPWire.posixRename:
            let old = try r.bytes()
            let new = try r.bytes()
            try rename(id, old, new, overwrite: true)
        case SFTPWire.fsync:
            let (_, handle) = try lookupHandle(&r)
            switch handle {
            case .upload(let up): try fs.sync(up)
            case .outboxFile: break
            case .directory: throw SFTPFailure(.failure, "handle is a directory")
            }
            sendOK(id)
        case SFTPWire.limits:
            let s = out.begin(SFTPWire.extendedReply)
            out.u32(id)
            out.u64(UInt64(limits.advertisedPacketLength))
            out.u64(UInt64(limits.effectiveReadLength))
            out.u64(UInt64(limits.advertisedWriteLength))
            out.u64(UInt64(limits.maxOpenHandles))
            out.end(s)
        case SFTPWire.statvfs:
            try replyStatvfs(id, try resolvePath(&r))
        default:
            throw SFTPFailure(.opUnsupported, "unsupported extension")
        }
    }

    private func replyStatvfs(_ id: UInt32, _ path: SFTPVirtualPath) throws(SFTPFailure) {
        let directory: String
        var readOnly = false
        switch path {
        case .root, .inbox, .inboxFile: directory = fs.stagingDirectory
        case .outbox, .outboxFile:
            directory = fs.outboxDirectory
            readOnly = true
        }
        let st = try SFTPChrootFileSystem.fileSystemStatus(directory)
        let s = out.begin(SFTPWire.extendedReply)
        out.u32(id)
        for v in [st.f_bsize, st.f_frsize] { out.u64(UInt64(v)) }
        for v in [st.f_blocks, st.f_bfree, st.f_bavail, st.f_files, st.f_ffree, st.f_favail] { out.u64(UInt64(v)) }
        out.u64(0) // f_fsid: nothing the partner needs to know
        let stRdonly: UInt64 = 0x1, stNosuid: UInt64 = 0x2 // OpenSSH's portable SSH2_FXE_STATVFS_ST_* bits
        var flags: UInt64 = 0
        if readOnly || st.f_flag & UInt(ST_RDONLY) != 0 { flags |= stRdonly }
        if st.f_flag & UInt(ST_NOSUID) != 0 { flags |= stNosuid }
        out.u64(flags)
        out.u64(UInt64(limits.maxNameLength))
        out.end(s)
    }

    // MARK: - Reply builders

    func sendHandle(_ id: UInt32, _ handle: String) {
        let s = out.begin(SFTPWire.handle)
        out.u32(id)
        out.string(handle)
        out.end(s)
    }

    func sendAttributes(_ id: UInt32, _ attrs: SFTPAttributes) {
        let s = out.begin(SFTPWire.attrs)
        out.u32(id)
        attrs.encode(into: &out)
        out.end(s)
    }

    func sendName(_ id: UInt32, _ entries: [(String, String, SFTPAttributes)]) {
        let s = out.begin(SFTPWire.name)
        out.u32(id)
        out.u32(UInt32(entries.count))
        for (name, long, attrs) in entries {
            out.string(name)
            out.string(long)
            attrs.encode(into: &out)
        }
        out.end(s)
    }
}
