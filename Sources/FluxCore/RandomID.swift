/// Random (version 4) UUIDs in their lowercase text form, from `getrandom(2)`.
///
/// Not Foundation's `UUID()`: on Linux it opens and reads `/dev/urandom` for every UUID, and a
/// deposit takes several (message, invoices, temp names), so the intake paid an open and a
/// close per id.
public enum RandomID {
    public static func uuid() -> String {
        var g = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: 16)
        let hi = g.next() as UInt64, lo = g.next() as UInt64
        for i in 0..<8 {
            bytes[i] = UInt8(truncatingIfNeeded: hi >> (8 * i))
            bytes[8 + i] = UInt8(truncatingIfNeeded: lo >> (8 * i))
        }
        bytes[6] = (bytes[6] & 0x0F) | 0x40  // version 4
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 4122 variant
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(36)
        for (i, b) in bytes.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { out.append(UInt8(ascii: "-")) }
            out.append(hex[Int(b >> 4)])
            out.append(hex[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
