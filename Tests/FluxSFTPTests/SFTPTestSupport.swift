import FluxTestSupport
import Foundation
import XCTest
@testable import FluxSFTP

/// Packet types and flags as a client writes them (independent of the server's tables).
enum SFTPT {
    static let initP: UInt8 = 1, version: UInt8 = 2, open: UInt8 = 3, close: UInt8 = 4, read: UInt8 = 5
    static let write: UInt8 = 6, lstat: UInt8 = 7, fstat: UInt8 = 8, setstat: UInt8 = 9, fsetstat: UInt8 = 10
    static let opendir: UInt8 = 11, readdir: UInt8 = 12, remove: UInt8 = 13, mkdir: UInt8 = 14, rmdir: UInt8 = 15
    static let realpath: UInt8 = 16, stat: UInt8 = 17, rename: UInt8 = 18, readlink: UInt8 = 19, symlink: UInt8 = 20
    static let status: UInt8 = 101, handle: UInt8 = 102, data: UInt8 = 103, name: UInt8 = 104, attrs: UInt8 = 105
    static let extended: UInt8 = 200, extendedReply: UInt8 = 201

    static let fRead: UInt32 = 1, fWrite: UInt32 = 2, fAppend: UInt32 = 4, fCreat: UInt32 = 8, fTrunc: UInt32 = 0x10, fExcl: UInt32 = 0x20
    static let upload = fWrite | fCreat | fTrunc

    static let ok: UInt32 = 0, eof: UInt32 = 1, noSuchFile: UInt32 = 2, permissionDenied: UInt32 = 3
    static let failure: UInt32 = 4, badMessage: UInt32 = 5, opUnsupported: UInt32 = 8
}

/// Builds one framed packet.
struct SFTPPacketBuilder {
    var body: [UInt8]

    init(_ type: UInt8) { body = [type] }

    mutating func u8(_ v: UInt8) { body.append(v) }
    mutating func u32(_ v: UInt32) { body += [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
    mutating func u64(_ v: UInt64) { u32(UInt32(v >> 32)); u32(UInt32(v & 0xFFFF_FFFF)) }
    mutating func string(_ s: String) { bytes(Array(s.utf8)) }
    mutating func bytes(_ b: [UInt8]) { u32(UInt32(b.count)); body += b }
    /// Attributes: flags only, or with permissions / times.
    mutating func attrs(flags: UInt32 = 0, size: UInt64? = nil, perms: UInt32? = nil, times: (UInt32, UInt32)? = nil) {
        u32(flags)
        if let size { u64(size) }
        if let perms { u32(perms) }
        if let times { u32(times.0); u32(times.1) }
    }

    var framed: [UInt8] {
        var p = SFTPPacketBuilder(0)
        p.body = []
        p.u32(UInt32(body.count))
        return p.body + body
    }
}

/// One decoded reply packet.
struct SFTPReply {
    var type: UInt8
    var payload: [UInt8] // after the type byte
    var cursor = 0

    init(type: UInt8, payload: [UInt8]) {
        self.type = type
        self.payload = payload
    }

    mutating func u32() -> UInt32 {
        precondition(cursor + 4 <= payload.count, "reply too short")
        defer { cursor += 4 }
        return payload[cursor..<cursor + 4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func u64() -> UInt64 { UInt64(u32()) << 32 | UInt64(u32()) }

    mutating func bytes() -> [UInt8] {
        let n = Int(u32())
        precondition(cursor + n <= payload.count, "string overruns the reply")
        defer { cursor += n }
        return Array(payload[cursor..<cursor + n])
    }

    mutating func string() -> String { String(decoding: bytes(), as: UTF8.self) }

    mutating func attrs() -> (flags: UInt32, size: UInt64?, perms: UInt32?, mtime: UInt32?) {
        let flags = u32()
        var size: UInt64?, perms: UInt32?, mtime: UInt32?
        if flags & 1 != 0 { size = u64() }
        if flags & 2 != 0 { _ = u32(); _ = u32() }
        if flags & 4 != 0 { perms = u32() }
        if flags & 8 != 0 { _ = u32(); mtime = u32() }
        return (flags, size, perms, mtime)
    }

    var id: UInt32 {
        var c = self
        c.cursor = 0
        return c.u32()
    }

    /// (code, message) of a STATUS reply.
    var status: (code: UInt32, message: String)? {
        guard type == SFTPT.status else { return nil }
        var c = self
        c.cursor = 4
        return (c.u32(), c.string())
    }
}

/// Splits a reply stream into packets; fails the test if it is not exactly a sequence of packets.
func decodeSFTPReplies(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> [SFTPReply] {
    var out: [SFTPReply] = []
    var i = 0
    while i < bytes.count {
        guard i + 4 <= bytes.count else { XCTFail("dangling reply bytes", file: file, line: line); break }
        let len = Int(bytes[i..<i + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        guard len >= 1, i + 4 + len <= bytes.count else { XCTFail("truncated reply", file: file, line: line); break }
        out.append(SFTPReply(type: bytes[i + 4], payload: Array(bytes[(i + 5)..<(i + 4 + len)])))
        i += 4 + len
    }
    return out
}

/// Records what the session asks of the gateway. Accepting an upload reads it and deletes it,
/// as the gateway would move it away.
final class SFTPRecordingHandler: SFTPUploadHandler {
    struct Completion {
        var stagingPath: String; var name: String; var bytes: [UInt8]
        /// Size and CRC-32 when handed over before the fsync.
        var unsynced: (size: Int64, crc32: UInt32)? = nil
    }
    var completions: [Completion] = []
    var aborts: [(name: String, bytes: Int64)] = []
    var events: [(what: String, path: String, detail: String?)] = []
    /// Returns a refusal message for a name, or nil to accept.
    var refuse: (String) -> String? = { _ in nil }

    func uploadCompleted(stagingPath: String, name: String) -> String? {
        let data = FileManager.default.contents(atPath: stagingPath).map { [UInt8]($0) } ?? []
        completions.append(Completion(stagingPath: stagingPath, name: name, bytes: data))
        if let message = refuse(name) { return message }
        try? FileManager.default.removeItem(atPath: stagingPath)
        return nil
    }

    /// Set to be handed closed uploads before their fsync, as the gateway is on ext4 and XFS.
    var takesUnsyncedUploads = false

    func uploadCompleted(stagingPath: String, name: String, unsynced upload: SFTPUnsyncedUpload) -> String? {
        XCTAssertNil(upload.sync())
        let refusal = uploadCompleted(stagingPath: stagingPath, name: name)
        completions[completions.count - 1].unsynced = (upload.size, upload.crc32)
        return refusal
    }

    func uploadAborted(name: String, bytes: Int64) { aborts.append((name, bytes)) }

    func event(_ what: String, path: String, detail: String?) { events.append((what, path, detail)) }
}

/// A session on a fresh temporary root with inbox/, outbox/ and staging/.
final class SFTPFixture {
    let root: String
    let handler = SFTPRecordingHandler()
    let fs: SFTPChrootFileSystem
    let session: SFTPSession
    var nextID: UInt32 = 1
    /// What the injected free-space probe answers.
    var freeBytes: Int64? = 100 << 30

    var inbox: String { root + "/inbox" }
    var outbox: String { root + "/outbox" }
    var staging: String { root + "/staging" }

    init(quota: SFTPQuota = SFTPQuota(maxFileBytes: 1 << 20, maxPendingBytes: 4 << 20, maxPendingFiles: 8, minFreeDiskBytes: 1 << 20),
         limits: SFTPLimits = SFTPLimits(), initialize: Bool = true) {
        var template = Array((NSTemporaryDirectory() + "sftp-test-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        root = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        for d in ["inbox", "outbox", "staging"] {
            try! FileManager.default.createDirectory(atPath: root + "/" + d, withIntermediateDirectories: false)
        }
        var probe: (() -> Int64?)?
        fs = SFTPChrootFileSystem(
            inbox: root + "/inbox", outbox: root + "/outbox", staging: root + "/staging",
            quota: quota, uploads: handler, freeSpace: { _ in probe?() })
        session = SFTPSession(fileSystem: fs, limits: limits)
        probe = { [unowned self] in self.freeBytes }
        if initialize {
            let replies = feed(initPacket())
            precondition(replies.count == 1 && replies[0].type == SFTPT.version)
        }
    }

    deinit {
        session.close()
        try? FileManager.default.removeItem(atPath: root)
    }

    func initPacket(version: UInt32 = 3) -> [UInt8] {
        var p = SFTPPacketBuilder(SFTPT.initP)
        p.u32(version)
        return p.framed
    }

    /// Feeds bytes; the session must not throw.
    @discardableResult
    func feed(_ bytes: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> [SFTPReply] {
        do {
            return decodeSFTPReplies(try session.receive(bytes), file: file, line: line)
        } catch {
            XCTFail("session threw \(error)", file: file, line: line)
            return []
        }
    }

    /// Builds a request with a fresh id; returns the framed packet and the id.
    func packet(_ type: UInt8, _ build: (inout SFTPPacketBuilder) -> Void) -> (bytes: [UInt8], id: UInt32) {
        let id = nextID
        nextID += 1
        var p = SFTPPacketBuilder(type)
        p.u32(id)
        build(&p)
        return (p.framed, id)
    }

    /// Sends one request and returns its single reply (checked to carry the request's id).
    func call(_ type: UInt8, file: StaticString = #filePath, line: UInt = #line, _ build: (inout SFTPPacketBuilder) -> Void = { _ in }) -> SFTPReply {
        let (bytes, id) = packet(type, build)
        let replies = feed(bytes, file: file, line: line)
        guard replies.count == 1 else {
            XCTFail("expected one reply, got \(replies.count)", file: file, line: line)
            return SFTPReply(type: 0, payload: [0, 0, 0, 0])
        }
        XCTAssertEqual(replies[0].id, id, "reply id", file: file, line: line)
        return replies[0]
    }

    // MARK: - Operations

    func open(_ path: String, _ flags: UInt32, file: StaticString = #filePath, line: UInt = #line) -> SFTPReply {
        call(SFTPT.open, file: file, line: line) { $0.string(path); $0.u32(flags); $0.attrs(flags: 4, perms: 0o644) }
    }

    /// Opens and returns the handle, failing the test otherwise.
    func openHandle(_ path: String, _ flags: UInt32, file: StaticString = #filePath, line: UInt = #line) -> [UInt8] {
        var r = open(path, flags, file: file, line: line)
        guard r.type == SFTPT.handle else {
            XCTFail("open \(path) failed: \(r.status.map { "\($0.code) \($0.message)" } ?? "type \(r.type)")", file: file, line: line)
            return []
        }
        r.cursor = 4
        return r.bytes()
    }

    func write(_ handle: [UInt8], _ offset: UInt64, _ data: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> SFTPReply {
        call(SFTPT.write, file: file, line: line) { $0.bytes(handle); $0.u64(offset); $0.bytes(data) }
    }

    func close(_ handle: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> SFTPReply {
        call(SFTPT.close, file: file, line: line) { $0.bytes(handle) }
    }

    func read(_ handle: [UInt8], _ offset: UInt64, _ length: UInt32) -> SFTPReply {
        call(SFTPT.read) { $0.bytes(handle); $0.u64(offset); $0.u32(length) }
    }

    func pathRequest(_ type: UInt8, _ path: String, file: StaticString = #filePath, line: UInt = #line) -> SFTPReply {
        call(type, file: file, line: line) { $0.string(path) }
    }

    func rename(_ old: String, _ new: String, posix: Bool = false, file: StaticString = #filePath, line: UInt = #line) -> SFTPReply {
        if posix {
            return call(SFTPT.extended, file: file, line: line) { $0.string("posix-rename@openssh.com"); $0.string(old); $0.string(new) }
        }
        return call(SFTPT.rename, file: file, line: line) { $0.string(old); $0.string(new) }
    }

    /// Uploads `data` in one WRITE and closes; returns the CLOSE reply.
    func upload(_ path: String, _ data: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> SFTPReply {
        let h = openHandle(path, SFTPT.upload, file: file, line: line)
        XCTAssertEqual(write(h, 0, data, file: file, line: line).status?.code, SFTPT.ok, file: file, line: line)
        return close(h, file: file, line: line)
    }

    /// Every name of a directory (OPENDIR, READDIR until EOF, CLOSE), with longname and size.
    func list(_ path: String, file: StaticString = #filePath, line: UInt = #line) -> [(name: String, long: String, size: UInt64?, perms: UInt32?)] {
        var r = pathRequest(SFTPT.opendir, path, file: file, line: line)
        guard r.type == SFTPT.handle else {
            XCTFail("opendir \(path): \(r.status?.message ?? "?")", file: file, line: line)
            return []
        }
        r.cursor = 4
        let h = r.bytes()
        var names: [(String, String, UInt64?, UInt32?)] = []
        for _ in 0..<1000 {
            var rd = call(SFTPT.readdir, file: file, line: line) { $0.bytes(h) }
            if rd.type == SFTPT.status {
                XCTAssertEqual(rd.status?.code, SFTPT.eof, file: file, line: line)
                break
            }
            XCTAssertEqual(rd.type, SFTPT.name, file: file, line: line)
            rd.cursor = 4
            let count = rd.u32()
            for _ in 0..<count {
                let n = rd.string()
                let l = rd.string()
                let a = rd.attrs()
                names.append((n, l, a.size, a.perms))
            }
        }
        XCTAssertEqual(close(h, file: file, line: line).status?.code, SFTPT.ok, file: file, line: line)
        return names
    }

    func stagingFiles() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: staging)) ?? []
    }
}

func sftpBytes(_ s: String) -> [UInt8] { Array(s.utf8) }

func sftpRandomBytes(_ n: Int, seed: UInt64) -> [UInt8] {
    var g = SplitMix64(seed: seed)
    return (0..<n).map { _ in UInt8.random(in: 0...255, using: &g) }
}
