import COpenSSL
import Foundation

/// Incremental digest with any `DigestAlgorithm`, for entities that arrive in pieces (an AS2
/// body streamed from the socket or spool, whose MIC must be computed without holding it whole).
///
/// Noncopyable so that exactly one value owns the `EVP_MD_CTX`: it cannot be shared between
/// threads by copying, updated after `finalize()`, or freed twice.
public struct DigestStream: ~Copyable {
    /// The algorithm this stream computes.
    public let algorithm: DigestAlgorithm
    private let context: OpaquePointer

    /// Starts a new digest.
    public init(_ algorithm: DigestAlgorithm) {
        // Only allocation can fail here (the SHA family is always in the default and FIPS
        // providers); running out of memory is not an input error, so trapping matches Swift's
        // own allocator.
        guard let context = EVP_MD_CTX_new() else {
            preconditionFailure("EVP_MD_CTX_new failed: out of memory")
        }
        guard EVP_DigestInit_ex(context, algorithm.fetchedMD, nil) == 1 else {
            EVP_MD_CTX_free(context)
            preconditionFailure("EVP_DigestInit_ex(\(algorithm)) failed: \(OpenSSLErrorQueue.drain())")
        }
        self.algorithm = algorithm
        self.context = context
    }

    deinit {
        EVP_MD_CTX_free(context)
    }

    /// Feeds the bytes in `bytes`.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        // EVP_DigestUpdate can only fail on a context that was never initialised, which init rules out.
        let ok = EVP_DigestUpdate(context, base, bytes.count)
        precondition(ok == 1, "EVP_DigestUpdate failed on an initialised \(algorithm) context")
    }

    /// Feeds the bytes of `data`.
    public mutating func update(_ data: Data) {
        data.withUnsafeBytes { update($0) }
    }

    /// Ends the stream and returns the digest (`algorithm.byteCount` bytes).
    public consuming func finalize() -> Data {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = digest.withUnsafeMutableBufferPointer {
            EVP_DigestFinal_ex(context, $0.baseAddress, &length)
        }
        precondition(ok == 1, "EVP_DigestFinal_ex failed on an initialised \(algorithm) context")
        return Data(digest.prefix(Int(length)))
    }
}
