import Glibc

/// A file of /outbox open for reading.
final class SFTPOutboxFile {
    let name: String
    private(set) var fd: Int32

    init(name: String, fd: Int32) {
        self.name = name
        self.fd = fd
    }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    deinit { close() }
}
