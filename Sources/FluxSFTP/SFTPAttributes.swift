/// File attributes (draft 02 section 5). This layer only ever sends size, permissions and times:
/// owners are not the partner's business.
struct SFTPAttributes: Equatable {
    var flags: UInt32 = 0
    var size: UInt64 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
    var permissions: UInt32 = 0
    var atime: UInt32 = 0
    var mtime: UInt32 = 0
    /// Number of extended pairs seen while decoding (their content is ignored).
    var extendedCount: UInt32 = 0

    static let directoryType: UInt32 = 0o040000
    static let regularType: UInt32 = 0o100000

    /// A directory with the given mode bits and modification time.
    static func directory(mode: UInt32, mtime: Int) -> SFTPAttributes {
        let t = clampTime(mtime)
        return SFTPAttributes(
            flags: SFTPWire.attrPermissions | SFTPWire.attrACModTime,
            permissions: directoryType | mode, atime: t, mtime: t)
    }

    /// A regular file with the given size, mode bits and times.
    static func file(size: Int64, mode: UInt32, atime: Int, mtime: Int) -> SFTPAttributes {
        SFTPAttributes(
            flags: SFTPWire.attrSize | SFTPWire.attrPermissions | SFTPWire.attrACModTime,
            size: UInt64(max(size, 0)), permissions: regularType | mode,
            atime: clampTime(atime), mtime: clampTime(mtime))
    }

    /// Times travel as uint32 seconds in version 3.
    static func clampTime(_ t: Int) -> UInt32 {
        UInt32(clamping: max(t, 0))
    }

    var isDirectory: Bool { permissions & 0o170000 == SFTPAttributes.directoryType }

    func encode(into w: inout SFTPWriter) {
        w.u32(flags & ~SFTPWire.attrExtended)
        if flags & SFTPWire.attrSize != 0 { w.u64(size) }
        if flags & SFTPWire.attrUIDGID != 0 { w.u32(uid); w.u32(gid) }
        if flags & SFTPWire.attrPermissions != 0 { w.u32(permissions) }
        if flags & SFTPWire.attrACModTime != 0 { w.u32(atime); w.u32(mtime) }
    }

    static func decode(_ r: inout SFTPReader) throws(SFTPFailure) -> SFTPAttributes {
        var a = SFTPAttributes()
        a.flags = try r.u32()
        if a.flags & SFTPWire.attrSize != 0 { a.size = try r.u64() }
        if a.flags & SFTPWire.attrUIDGID != 0 { a.uid = try r.u32(); a.gid = try r.u32() }
        if a.flags & SFTPWire.attrPermissions != 0 { a.permissions = try r.u32() }
        if a.flags & SFTPWire.attrACModTime != 0 { a.atime = try r.u32(); a.mtime = try r.u32() }
        if a.flags & SFTPWire.attrExtended != 0 {
            let count = try r.u32()
            // Each pair takes at least 8 bytes, so a lying count fails at the end of the packet
            // instead of spinning.
            guard UInt64(count) * 8 <= UInt64(r.remaining) else { throw .malformed }
            for _ in 0..<count {
                _ = try r.bytes()
                _ = try r.bytes()
            }
            a.extendedCount = count
        }
        return a
    }
}
