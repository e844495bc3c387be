import COpenSSL
import Foundation

/// One-shot digests and their hex form.
public enum Digest {
    /// SHA-256 of `data` (32 bytes).
    public static func sha256(_ data: Data) -> [UInt8] {
        var stream = SHA256Stream()
        stream.update(data)
        return stream.finalize()
    }

    /// Lowercase hex of `bytes`, two characters per byte, no separators.
    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Lowercase hex of the SHA-256 of `data`.
    public static func sha256Hex(_ data: Data) -> String {
        hex(sha256(data))
    }
}
