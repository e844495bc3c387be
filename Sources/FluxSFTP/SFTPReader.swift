/// Reads SSH wire types (draft 02 section 3, RFC 4251 section 5) from a packet in place. Strings
/// come back as slices of the packet, so WRITE data goes from the receive buffer to `pwrite`
/// untouched. Every read checks the bounds and throws `SFTPFailure.malformed` past the end.
struct SFTPReader {
    private let base: UnsafeRawBufferPointer
    private(set) var index: Int

    init(_ bytes: UnsafeRawBufferPointer, from index: Int = 0) {
        self.base = bytes
        self.index = index
    }

    var remaining: Int { base.count - index }

    mutating func u32() throws(SFTPFailure) -> UInt32 {
        guard remaining >= 4 else { throw .malformed }
        let v = UInt32(base[index]) << 24 | UInt32(base[index + 1]) << 16
            | UInt32(base[index + 2]) << 8 | UInt32(base[index + 3])
        index += 4
        return v
    }

    mutating func u64() throws(SFTPFailure) -> UInt64 {
        let hi = try u32()
        let lo = try u32()
        return UInt64(hi) << 32 | UInt64(lo)
    }

    /// A string's bytes, as a slice of the packet (valid while the packet is).
    mutating func bytes() throws(SFTPFailure) -> UnsafeRawBufferPointer {
        let n = Int(try u32())
        guard n <= remaining else { throw .malformed }
        let slice = UnsafeRawBufferPointer(rebasing: base[index..<(index + n)])
        index += n
        return slice
    }

    /// A string that must be UTF-8 (extension names); nil when it is not.
    mutating func utf8String() throws(SFTPFailure) -> String? {
        let b = try bytes()
        return String(validating: b, as: UTF8.self)
    }

    /// Skips the attributes block (OPEN, MKDIR carry one that this layer ignores).
    mutating func attributes() throws(SFTPFailure) -> SFTPAttributes {
        try SFTPAttributes.decode(&self)
    }
}
