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
    ///
    /// `capacity`: the room to reserve when the output's size is known in advance (a memory BIO
    /// grows by a third at a time, copying and cleansing its whole buffer each time: for a 1 MB
    /// decryption that was about a tenth of an AS2 message's CPU).
    static func collect(
        code: String,
        failure: String,
        capacity: Int = 0,
        _ body: (OpaquePointer) throws -> Bool
    ) throws -> Data {
        guard let bio = flux_BIO_new_mem_reserved(max(0, capacity)) else {
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

    /// Parses DER (or BER) CMS straight from `data`'s bytes. `d2i_CMS_bio` on a memory BIO first
    /// copies the whole input into a buffer grown a third at a time, each step copied and
    /// cleansed: several times the message's size in memory traffic for a large one.
    static func parseCMS(_ data: Data) -> OpaquePointer? {
        data.withUnsafeBytes { raw -> OpaquePointer? in
            guard let base = raw.baseAddress, raw.count > 0 else { return nil }
            var cursor: UnsafePointer<UInt8>? = base.assumingMemoryBound(to: UInt8.self)
            return d2i_CMS_ContentInfo(nil, &cursor, raw.count)
        }
    }
}
