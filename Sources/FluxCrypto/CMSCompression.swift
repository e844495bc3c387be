import CFluxShims
import COpenSSL
import CZlib
import Foundation

/// RFC 3274 CompressedData (`application/pkcs7-mime; smime-type=compressed-data`), which AS2
/// senders put inside or around the signature, with the only algorithm defined for it: zlib.
///
/// Debian's OpenSSL is built without zlib, so `CMS_uncompress` / `CMS_compress` always fail there
/// ("unsupported compression algorithm"). OpenSSL still parses the structure (BER, indefinite
/// lengths, constructed OCTET STRINGs), and zlib itself does the (de)compression.
public enum CMSCompression {
    /// id-alg-zlibCompress, the compressionAlgorithm RFC 3274 defines.
    static let zlibOID = "1.2.840.113549.1.9.16.3.8"

    /// Output is produced in pieces of this size, so memory follows what the stream yields, never
    /// what a header claims.

    /// Returns the content of DER or BER CompressedData `der`, refusing to produce more than
    /// `maxOutput` bytes (zlib expands up to ~1000:1, so a small message can claim gigabytes).
    ///
    /// Throws `CryptoError` code `"cms-decompress-limit"` when the content exceeds `maxOutput`,
    /// and `"cms-decompress"` for anything else: not CMS, not CompressedData, an algorithm other
    /// than zlib, no content, a corrupt, truncated or trailing-garbage zlib stream.
    public static func decompress(der: Data, maxOutput: Int) throws -> Data {
        guard maxOutput >= 0 else {
            throw CryptoError(code: "cms-decompress", message: "the output limit \(maxOutput) is negative")
        }
        OpenSSLErrorQueue.clear()
        let cms = MemoryBIO.parseCMS(der)
        guard let cms else {
            throw CryptoError.openSSL("cms-decompress", "the message is not DER/BER-encoded CMS")
        }
        defer { CMS_ContentInfo_free(cms) }
        let type = OBJ_obj2nid(CMS_get0_type(cms))
        guard type == NID_id_smime_ct_compressedData else {
            throw CryptoError(code: "cms-decompress", message: "the message is CMS \(ObjectNames.shortName(nid: type)), not CompressedData")
        }
        let algorithm = try compressionAlgorithm(der)
        guard algorithm == zlibOID else {
            throw CryptoError(code: "cms-decompress", message: "unsupported compression algorithm \(algorithm) (only zlib, \(zlibOID))")
        }
        // OpenSSL has joined a constructed (chunked) OCTET STRING into one.
        guard let slot = CMS_get0_content(cms), let octets = slot.pointee else {
            throw CryptoError(code: "cms-decompress", message: "the CompressedData has no content (detached)")
        }
        let length = Int(ASN1_STRING_length(octets))
        return try inflate(UnsafeRawBufferPointer(start: ASN1_STRING_get0_data(octets), count: max(0, length)), maxOutput: maxOutput)
    }

    /// Builds DER CompressedData around `content`: ContentInfo { id-ct-compressedData, [0]
    /// CompressedData { version 0, compressionAlgorithm { id-alg-zlibCompress } (parameters
    /// absent, as RFC 3274 requires), encapContentInfo { id-data, [0] OCTET STRING zlib stream } } },
    /// the shape BouncyCastle, pyas2lib (asn1crypto) and OpenSSL read.
    ///
    /// Throws `CryptoError` code `"cms-compress"`.
    public static func compress(_ content: Data) throws -> Data {
        guard content.count < Int(Int32.max) else {
            throw CryptoError(code: "cms-compress", message: "content of \(content.count) bytes is too large")
        }
        let bound = Int(compressBound(uLong(content.count)))
        var compressed = [UInt8](repeating: 0, count: bound)
        var compressedLength = uLongf(bound)
        let status = content.withUnsafeBytes { raw in
            compressed.withUnsafeMutableBufferPointer { out in
                compress2(out.baseAddress, &compressedLength, raw.bindMemory(to: UInt8.self).baseAddress,
                          uLong(raw.count), Z_DEFAULT_COMPRESSION)
            }
        }
        guard status == Z_OK else {
            throw CryptoError(code: "cms-compress", message: "zlib compression failed (\(status))")
        }
        let zlib = compressed.prefix(Int(compressedLength))

        // Every enclosing element ends where the zlib stream ends, so the headers can be built
        // from the inside out and the stream copied once, at the end.
        let idData: [UInt8] = [0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01]
        let idCompressedData: [UInt8] = [0x06, 0x0B, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x10, 0x01, 0x09]
        let zlibAlgorithm: [UInt8] = [0x30, 0x0D, 0x06, 0x0B, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x10, 0x03, 0x08]
        let version0: [UInt8] = [0x02, 0x01, 0x00]

        var prefix: [UInt8] = []
        var total = zlib.count
        func wrap(_ tag: UInt8, after leading: [UInt8] = []) {
            let inner = leading.count + total
            prefix = [tag] + DERLength.octets(inner) + leading + prefix
            total = prefix.count + zlib.count
        }
        wrap(BERReader.Tag.octetString)
        wrap(BERReader.Tag.context0Constructed)                         // eContent [0] EXPLICIT
        wrap(BERReader.Tag.sequence, after: idData)                     // EncapsulatedContentInfo
        wrap(BERReader.Tag.sequence, after: version0 + zlibAlgorithm)   // CompressedData
        wrap(BERReader.Tag.context0Constructed)                         // content [0] EXPLICIT
        wrap(BERReader.Tag.sequence, after: idCompressedData)           // ContentInfo
        var der = Data(capacity: total)
        der.append(contentsOf: prefix)
        der.append(contentsOf: zlib)
        return der
    }


    /// Reads compressionAlgorithm from the CompressedData header (OpenSSL 3.0 has no getter).
    private static func compressionAlgorithm(_ der: Data) throws -> String {
        do {
            return try der.withUnsafeBytes { raw in
                typealias Tag = BERReader.Tag
                var reader = BERReader(raw)
                try reader.descend(Tag.sequence)             // ContentInfo
                _ = try reader.readObjectIdentifier()         // contentType
                try reader.descend(Tag.context0Constructed)  // [0] EXPLICIT content
                try reader.descend(Tag.sequence)             // CompressedData
                _ = try reader.readPrimitive(Tag.integer)     // version
                try reader.descend(Tag.sequence)             // compressionAlgorithm
                return try reader.readObjectIdentifier()
            }
        } catch let error as BERReader.Malformed {
            throw CryptoError(code: "cms-decompress", message: "cannot read the CompressedData header: \(error.reason)")
        }
    }

    /// Inflates a zlib (RFC 1950) stream that must end exactly at the end of `input`.
    private static func inflate(_ input: UnsafeRawBufferPointer, maxOutput: Int) throws -> Data {
        var out: UnsafeMutablePointer<UInt8>?
        var length = 0, consumed = 0
        var reason = [CChar](repeating: 0, count: 128)
        let status = flux_zlib_inflate_bounded(input.bindMemory(to: UInt8.self).baseAddress, input.count, 0, max(0, maxOutput),
                                               &out, &length, &consumed, &reason, reason.count)
        switch Int(status) {
        case FLUX_INFLATE_OK:
            // The Data owns zlib's buffer from here (on failure the shim returns none).
            let data = out.map { Data(bytesNoCopy: $0, count: length, deallocator: .free) } ?? Data()
            guard consumed == input.count else {
                throw CryptoError(code: "cms-decompress", message: "\(input.count - consumed) bytes follow the end of the zlib stream")
            }
            return data
        case FLUX_INFLATE_TOO_LARGE:
            throw CryptoError(code: "cms-decompress-limit", message: "the decompressed content exceeds the limit of \(maxOutput) bytes")
        case FLUX_INFLATE_TRUNCATED:
            throw CryptoError(code: "cms-decompress", message: "the zlib stream is truncated")
        case FLUX_INFLATE_NEED_DICT:
            throw CryptoError(code: "cms-decompress", message: "the zlib stream needs a preset dictionary")
        case FLUX_INFLATE_NO_MEMORY:
            throw CryptoError(code: "cms-decompress", message: "out of memory while decompressing")
        default:
            throw CryptoError(code: "cms-decompress", message: "corrupt zlib stream: \(String(cString: reason))")
        }
    }
}
