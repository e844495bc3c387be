import Foundation

/// Incremental SHA-256, the spool's content address: `DigestStream` fixed to SHA-256 with the
/// digest as bytes, which is what `Digest.hex` and the spool take.
public struct SHA256Stream: ~Copyable {
    private var stream = DigestStream(.sha256)

    /// Starts a new digest.
    public init() {}

    /// Feeds the bytes in `bytes`.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        stream.update(bytes)
    }

    /// Feeds the bytes of `data`.
    public mutating func update(_ data: Data) {
        stream.update(data)
    }

    /// Ends the stream and returns the 32-byte digest.
    public consuming func finalize() -> [UInt8] {
        [UInt8](stream.finalize())
    }
}
