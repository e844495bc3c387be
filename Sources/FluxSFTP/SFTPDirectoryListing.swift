import Glibc

/// An open directory: a snapshot (/, /inbox) or the outbox directory read lazily in batches.
final class SFTPDirectoryListing {
    let entries: [(String, SFTPAttributes)]
    var index = 0
    private(set) var directory: OpaquePointer?

    init(entries: [(String, SFTPAttributes)]) {
        self.entries = entries
        self.directory = nil
    }

    init(directory: OpaquePointer) {
        self.entries = []
        self.directory = directory
    }

    func close() {
        if let d = directory { closedir(d) }
        directory = nil
    }

    deinit { close() }
}
