import CFluxShims
import COpenSSL
import Foundation

/// Memory BIOs, the way bytes cross into and out of OpenSSL here. Each BIO is created and freed
/// inside one call, so no BIO pointer outlives the closure it is lent to.
enum MemoryBIO {
    /// Lends a read-only BIO over `data`'s bytes for the duration of `body`; no copy is made, which
    /// is why the BIO must not escape (it points into `data`'s storage).
    static func withReadOnly<R>(
        _ data: Data,
        code: String,
        _ body: (OpaquePointer) throws -> R
    ) throws -> R {
        try data.withUnsafeBytes { raw -> R in
            // An empty Data may have no base address, but BIO_new_mem_buf needs a valid pointer.
            let empty: StaticString = ""
            let base = raw.baseAddress ?? UnsafeRawPointer(empty.utf8Start)
            guard let count = Int32(exactly: raw.count) else {
                throw CryptoError(code: code, message: "input of \(raw.count) bytes is too large for OpenSSL")
            }
            guard let bio = BIO_new_mem_buf(base, count) else {
                throw CryptoError.openSSL(code, "cannot allocate a memory BIO")
            }
            defer { BIO_free(bio) }
            return try body(bio)
        }
    }

    /// Runs `body` with an empty writable BIO and returns what it wrote. `body` reports failure by
    /// returning false; the error then carries `failure` and the OpenSSL queue.
    static func collect(
        code: String,
        failure: String,
        _ body: (OpaquePointer) throws -> Bool
    ) throws -> Data {
        guard let bio = BIO_new(BIO_s_mem()) else {
            throw CryptoError.openSSL(code, "cannot allocate a memory BIO")
        }
        defer { BIO_free(bio) }
        guard try body(bio) else {
            throw CryptoError.openSSL(code, failure)
        }
        var bytes: UnsafePointer<UInt8>?
        let count = flux_BIO_get_mem_data(bio, &bytes)
        guard count > 0, let bytes else { return Data() }
        return Data(bytes: bytes, count: count)
    }
}
