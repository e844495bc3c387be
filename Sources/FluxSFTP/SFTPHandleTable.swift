/// Open handles of a session. A handle on the wire is 16 lowercase hex digits of a random
/// 64-bit key: opaque, not guessable from another handle, and parsed without allocating.
struct SFTPHandleTable {
    private(set) var entries: [UInt64: SFTPHandle] = [:]

    var count: Int { entries.count }

    /// Stores `handle` under a fresh key; returns its wire form.
    mutating func insert(_ handle: SFTPHandle) -> String {
        var key = UInt64.random(in: .min ... .max)
        while entries[key] != nil { key = UInt64.random(in: .min ... .max) }
        entries[key] = handle
        return Self.hex(key)
    }

    func lookup(_ raw: UnsafeRawBufferPointer) -> (key: UInt64, handle: SFTPHandle)? {
        guard let key = Self.parse(raw), let h = entries[key] else { return nil }
        return (key, h)
    }

    @discardableResult
    mutating func remove(_ key: UInt64) -> SFTPHandle? {
        entries.removeValue(forKey: key)
    }

    mutating func removeAll() -> [SFTPHandle] {
        let all = entries.sorted { $0.key < $1.key }.map(\.value)
        entries.removeAll()
        return all
    }

    private static let digits = Array("0123456789abcdef".utf8)

    static func hex(_ v: UInt64) -> String {
        var out = [UInt8](repeating: 0, count: 16)
        for i in 0..<16 {
            out[i] = digits[Int((v >> UInt64(60 - 4 * i)) & 0xF)]
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func parse(_ raw: UnsafeRawBufferPointer) -> UInt64? {
        guard raw.count == 16 else { return nil }
        var v: UInt64 = 0
        for b in raw {
            let d: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = b - UInt8(ascii: "a") + 10
            default: return nil
            }
            v = v << 4 | UInt64(d)
        }
        return v
    }
}
