import CFluxShims
import CZlib
import Foundation

/// A zlib (RFC 1950) decoder that stops as soon as its output would pass a bound. libqpdf's C
/// API can only decode a whole stream into one malloc'd buffer, so a 100 KB FlateDecode stream
/// could expand to 100 MB before we see its size: the embedded files of a deposit are decoded
/// here instead, with the limit enforced while decoding.
///
/// `flux_zlib_inflate_bounded` does the decoding: libdeflate, then zlib when libdeflate refuses
/// (a Swift port of `puff.c` used to, and was 19% of the Factur-X profile). It runs in
/// raw-deflate mode so that a stream ending right after its last block,
/// which some PDF writers produce, is still accepted, and the Adler-32 trailer is checked here
/// when present.
struct BoundedInflater {
    /// Why a stream could not be decoded.
    enum Failure: Error, Equatable {
        /// The decoded data would exceed the limit.
        case tooLarge
        /// The stream is not valid zlib/deflate data; the text says where it went wrong.
        case corrupt(String)
    }

    /// Decodes a zlib stream (2-byte header, deflate blocks, Adler-32). The checksum is
    /// verified when present; a stream that ends right after its last block is accepted.
    static func inflateZlib(_ input: [UInt8], maxOutput: Int) throws(Failure) -> [UInt8] {
        [UInt8](try inflateZlib(bytes: input, maxOutput: maxOutput))
    }

    /// `inflateZlib` for any contiguous input, returning zlib's output buffer itself as the
    /// `Data` (no copy: a PDF's attachment used to be copied three times on its way out).
    static func inflateZlib(bytes: some ContiguousBytes, maxOutput: Int) throws(Failure) -> Data {
        let result: Result<Data, Failure> = bytes.withUnsafeBytes { input in
            guard input.count >= 2 else { return .failure(.corrupt("the stream is shorter than a zlib header")) }
            let cmf = Int(input[0]), flg = Int(input[1])
            guard (cmf << 8 | flg) % 31 == 0, cmf & 0x0F == 8, cmf >> 4 <= 7 else {
                return .failure(.corrupt("no zlib header (not FlateDecode data)"))
            }
            guard flg & 0x20 == 0 else { return .failure(.corrupt("the zlib stream needs a preset dictionary")) }
            let deflated = UnsafeRawBufferPointer(rebasing: input[2...])
            return inflateRaw(deflated, limit: max(0, maxOutput)).flatMap { output, consumed in
                let end = 2 + consumed
                guard input.count - end >= 4 else { return .success(output) }
                let stored = UInt32(input[end]) << 24 | UInt32(input[end + 1]) << 16 | UInt32(input[end + 2]) << 8 | UInt32(input[end + 3])
                let computed = output.withUnsafeBytes { b in
                    UInt32(truncatingIfNeeded: adler32(adler32(0, nil, 0), b.bindMemory(to: Bytef.self).baseAddress, uInt(b.count)))
                }
                return stored == computed ? .success(output) : .failure(.corrupt("Adler-32 checksum mismatch"))
            }
        }
        return try result.get()
    }

    /// Inflates raw deflate data up to its final block: the output and how many input bytes
    /// the deflate data took.
    private static func inflateRaw(_ input: UnsafeRawBufferPointer, limit: Int) -> Result<(Data, Int), Failure> {
        var out: UnsafeMutablePointer<UInt8>?
        var length = 0, consumed = 0
        var reason = [CChar](repeating: 0, count: 128)
        let status = flux_zlib_inflate_bounded(input.bindMemory(to: UInt8.self).baseAddress, input.count, 1, limit,
                                               &out, &length, &consumed, &reason, reason.count)
        switch Int(status) {
        case FLUX_INFLATE_OK:
            guard let out else { return .success((Data(), consumed)) }
            return .success((Data(bytesNoCopy: out, count: length, deallocator: .free), consumed))
        case FLUX_INFLATE_TOO_LARGE:
            return .failure(.tooLarge)
        case FLUX_INFLATE_TRUNCATED:
            return .failure(.corrupt("the stream ends before its last block"))
        case FLUX_INFLATE_NEED_DICT:
            return .failure(.corrupt("the zlib stream needs a preset dictionary"))
        case FLUX_INFLATE_NO_MEMORY:
            return .failure(.corrupt("out of memory while decoding"))
        default:
            return .failure(.corrupt(String(cString: reason)))
        }
    }
}
