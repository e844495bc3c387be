import Glibc

/// /outbox files and directory listings.
extension SFTPChrootFileSystem {
    /// OPEN for reading in /outbox: regular files only, never through a symlink.
    func openOutboxFile(_ name: String) throws(SFTPFailure) -> SFTPOutboxFile {
        let dfd = try outboxDirFD()
        // O_NONBLOCK: a FIFO planted in the directory must not block the open.
        let fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw Self.failure(errno: errno, "open") }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            Glibc.close(fd)
            throw SFTPFailure(.noSuchFile, "no such file")
        }
        return SFTPOutboxFile(name: name, fd: fd)
    }

    /// REMOVE in /outbox (a receipt fetched).
    func removeOutboxFile(_ name: String) throws(SFTPFailure) {
        let dfd = try outboxDirFD()
        var st = stat()
        guard fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { throw Self.failure(errno: errno, "remove") }
        guard st.st_mode & S_IFMT == S_IFREG else { throw SFTPFailure(.noSuchFile, "no such file") }
        guard unlinkat(dfd, name, 0) == 0 else { throw Self.failure(errno: errno, "remove") }
        event("outbox-delete", "/outbox/\(name)")
    }

    // MARK: - Listings

    /// OPENDIR of a virtual directory.
    func openListing(_ path: SFTPVirtualPath) throws(SFTPFailure) -> SFTPDirectoryListing {
        switch path {
        case .root:
            return SFTPDirectoryListing(entries: [
                ("inbox", directoryAttributes(.inbox)), ("outbox", directoryAttributes(.outbox)),
            ])
        case .inbox:
            let entries = uploadsByName.values.sorted { $0.name < $1.name }.map { ($0.name, $0.attributes) }
            return SFTPDirectoryListing(entries: entries)
        case .outbox:
            let dfd = try outboxDirFD()
            let fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard fd >= 0, let dir = fdopendir(fd) else {
                if fd >= 0 { Glibc.close(fd) }
                throw SFTPFailure(.failure, "/outbox is unavailable")
            }
            return SFTPDirectoryListing(directory: dir)
        case .inboxFile, .outboxFile:
            throw SFTPFailure(.failure, "not a directory")
        }
    }

    /// Up to `max` more entries; empty at the end.
    func nextEntries(_ listing: SFTPDirectoryListing, max: Int, limits: SFTPLimits) -> [(String, SFTPAttributes)] {
        guard let dir = listing.directory else {
            let end = min(listing.entries.count, listing.index + max)
            defer { listing.index = end }
            return Array(listing.entries[listing.index..<end])
        }
        var out: [(String, SFTPAttributes)] = []
        let dfd = dirfd(dir)
        while out.count < max, let ent = readdir(dir) {
            var raw = ent.pointee.d_name
            let capacity = MemoryLayout.size(ofValue: raw)
            let name: String? = withUnsafePointer(to: &raw) {
                $0.withMemoryRebound(to: CChar.self, capacity: capacity) { String(validatingCString: $0) }
            }
            guard let name, (try? SFTPVirtualPath.validateName(name, limits: limits)) != nil else { continue }
            var st = stat()
            guard fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0, st.st_mode & S_IFMT == S_IFREG else { continue }
            out.append((name, Self.attributes(st)))
        }
        return out
    }
}
