/// Appends SSH wire types to an output buffer; packets are framed by `begin`/`end`.
struct SFTPWriter {
    var bytes: [UInt8] = []

    var count: Int { bytes.count }

    mutating func u8(_ v: UInt8) { bytes.append(v) }

    mutating func u32(_ v: UInt32) {
        withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func u64(_ v: UInt64) {
        withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            u32(UInt32(truncatingIfNeeded: utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    mutating func string(_ b: UnsafeRawBufferPointer) {
        u32(UInt32(truncatingIfNeeded: b.count))
        bytes.append(contentsOf: b)
    }

    /// Starts a packet: reserves its length field and writes the type; returns where it starts.
    mutating func begin(_ type: UInt8) -> Int {
        let start = bytes.count
        u32(0)
        u8(type)
        return start
    }

    /// Patches the length field of the packet started at `start`.
    mutating func end(_ start: Int) {
        patchU32(at: start, UInt32(truncatingIfNeeded: bytes.count - start - 4))
    }

    /// Overwrites a uint32 written earlier at `index`.
    mutating func patchU32(at index: Int, _ v: UInt32) {
        bytes[index] = UInt8(truncatingIfNeeded: v >> 24)
        bytes[index + 1] = UInt8(truncatingIfNeeded: v >> 16)
        bytes[index + 2] = UInt8(truncatingIfNeeded: v >> 8)
        bytes[index + 3] = UInt8(truncatingIfNeeded: v)
    }

    /// Drops everything from `start` on (a reply abandoned half-built).
    mutating func truncate(to start: Int) {
        bytes.removeSubrange(start...)
    }
}
