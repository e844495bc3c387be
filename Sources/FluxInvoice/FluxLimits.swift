/// Limits on what one deposit may contain. Defaults follow the PPF (flux ≤ 1 GB, each file
/// ≤ 120 MB); the ratio bound stops decompression bombs before they fill memory or disk.
public struct FluxLimits: Sendable, Equatable {
    public var maxFluxBytes: Int64 = 1_000_000_000
    public var maxFileBytes: Int64 = 120_000_000
    public var maxEntries: Int = 10_000
    /// Total uncompressed bytes may not exceed this multiple of the archive's size (+ 1 MiB).
    public var maxCompressionRatio: Int64 = 200

    public init() {}
}
