/// Per-session upload limits, checked on OPEN and on every WRITE. "Pending" means staged by this
/// session and not yet handed to the gateway: uploads still open plus closed temp-named files
/// waiting for their rename.
public struct SFTPQuota: Sendable {
    /// Largest file (highest byte written + 1, so sparse writes count their holes).
    public var maxFileBytes: Int64
    /// Sum of the sizes of pending files.
    public var maxPendingBytes: Int64
    /// Number of pending files.
    public var maxPendingFiles: Int
    /// Free space that must remain on the staging file system after each write.
    public var minFreeDiskBytes: Int64

    /// Builds a quota; the defaults suit invoice traffic (files of KB to MB, a few GiB free kept).
    public init(
        maxFileBytes: Int64 = 1 << 30,
        maxPendingBytes: Int64 = 4 << 30,
        maxPendingFiles: Int = 100,
        minFreeDiskBytes: Int64 = 1 << 30
    ) {
        self.maxFileBytes = maxFileBytes
        self.maxPendingBytes = maxPendingBytes
        self.maxPendingFiles = maxPendingFiles
        self.minFreeDiskBytes = minFreeDiskBytes
    }
}
