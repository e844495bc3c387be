/// Numbers of the SFTP version 3 wire protocol (draft-ietf-secsh-filexfer-02) and the OpenSSH
/// extensions this layer speaks (OpenSSH's PROTOCOL file, section "sftp").
enum SFTPWire {
    /// The only protocol version spoken; a client offering more gets 3 (draft 02, section 4).
    static let version: UInt32 = 3

    // Packet types.
    static let initPacket: UInt8 = 1
    static let versionPacket: UInt8 = 2
    static let open: UInt8 = 3
    static let close: UInt8 = 4
    static let read: UInt8 = 5
    static let write: UInt8 = 6
    static let lstat: UInt8 = 7
    static let fstat: UInt8 = 8
    static let setstat: UInt8 = 9
    static let fsetstat: UInt8 = 10
    static let opendir: UInt8 = 11
    static let readdir: UInt8 = 12
    static let remove: UInt8 = 13
    static let mkdir: UInt8 = 14
    static let rmdir: UInt8 = 15
    static let realpath: UInt8 = 16
    static let stat: UInt8 = 17
    static let rename: UInt8 = 18
    static let readlink: UInt8 = 19
    static let symlink: UInt8 = 20
    static let status: UInt8 = 101
    static let handle: UInt8 = 102
    static let data: UInt8 = 103
    static let name: UInt8 = 104
    static let attrs: UInt8 = 105
    static let extended: UInt8 = 200
    static let extendedReply: UInt8 = 201

    // SSH_FXF_* open flags.
    static let openRead: UInt32 = 0x01
    static let openWrite: UInt32 = 0x02
    static let openAppend: UInt32 = 0x04
    static let openCreate: UInt32 = 0x08
    static let openTruncate: UInt32 = 0x10
    static let openExclusive: UInt32 = 0x20

    // SSH_FILEXFER_ATTR_* flags.
    static let attrSize: UInt32 = 0x01
    static let attrUIDGID: UInt32 = 0x02
    static let attrPermissions: UInt32 = 0x04
    static let attrACModTime: UInt32 = 0x08
    static let attrExtended: UInt32 = 0x8000_0000

    // Extension names advertised in VERSION and accepted in SSH_FXP_EXTENDED.
    static let posixRename = "posix-rename@openssh.com"
    static let fsync = "fsync@openssh.com"
    static let limits = "limits@openssh.com"
    static let statvfs = "statvfs@openssh.com"

    /// OpenSSH's `sftp` (client and server) refuses any message longer than this in either
    /// direction (`SFTP_MAX_MSG_LENGTH`); 9.2's client also uses the advertised read/write
    /// lengths unclamped, so what we advertise must leave room for the headers below it.
    static let openSSHMessageCeiling = 256 * 1024
}
