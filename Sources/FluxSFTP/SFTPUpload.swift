/// One upload: its staging file and, while a handle is open, its descriptor.
final class SFTPUpload {
    var name: String
    let stagingName: String
    var fd: Int32
    var size: Int64 = 0
    /// Up to where writeback was started (see `SFTPChrootFileSystem.write`).
    var writebackStarted: Int64 = 0
    var mtime: Int
    var appendMode = false
    /// Set by the first refused write; the upload can then only be aborted.
    var failure: String?
    /// CRC-32 of the bytes, while they were all written in order from the start and stay within
    /// `SFTPChrootFileSystem.checkedUploadLimit` (`crcValid`): the check that lets a handler name
    /// the upload before its bytes are durable.
    var crc32: UInt32 = 0
    var crcValid = true

    init(name: String, stagingName: String, fd: Int32, mtime: Int) {
        self.name = name
        self.stagingName = stagingName
        self.fd = fd
        self.mtime = mtime
    }

    var isOpen: Bool { fd >= 0 }

    var attributes: SFTPAttributes { .file(size: size, mode: 0o600, atime: mtime, mtime: mtime) }
}
