import Foundation

/// The few DER encodings `SignedDataEncoder` writes.
enum DER {
    static func tlv(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
        [tag] + DERLength.octets(content.count) + content
    }

    static func oid(_ content: [UInt8]) -> [UInt8] { tlv(0x06, content) }

    /// UTCTime for 1950-2049, GeneralizedTime otherwise (RFC 5652 §11.3, as OpenSSL writes it).
    static func time(_ date: Date) -> [UInt8] {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let year = Int(parts.tm_year) + 1900
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let rest = two(parts.tm_mon + 1) + two(parts.tm_mday) + two(parts.tm_hour) + two(parts.tm_min) + two(parts.tm_sec) + "Z"
        if (1950..<2050).contains(year) {
            return tlv(0x17, Array((two(Int32(year % 100)) + rest).utf8))
        }
        return tlv(0x18, Array((String(year) + rest).utf8))
    }
}
