import Foundation
import XCTest
@testable import FluxSFTP

final class SFTPEscapeTests: XCTestCase {
    func testTraversalNeverLeavesTheVirtualTree() throws {
        let f = SFTPFixture()
        let secret = f.root + "/secret.txt"
        try Data("top secret".utf8).write(to: URL(fileURLWithPath: secret))
        let attempts = [
            "/inbox/../../etc/passwd", "../../../etc/passwd", "/outbox/../../secret.txt", "/etc/passwd",
            f.root + "/secret.txt", f.outbox + "/x", "/inbox/../secret.txt", "/../secret.txt",
            "/outbox/./../../../../secret.txt", "inbox/../../staging/x",
        ]
        for path in attempts {
            let read = f.open(path, SFTPT.fRead)
            XCTAssertEqual(read.status?.code, SFTPT.noSuchFile, "open \(path): \(read.status?.message ?? "")")
            XCTAssertEqual(f.open(path, SFTPT.upload).status?.code, SFTPT.noSuchFile, path)
            XCTAssertEqual(f.pathRequest(SFTPT.stat, path).status?.code, SFTPT.noSuchFile, path)
            XCTAssertEqual(f.pathRequest(SFTPT.remove, path).status?.code, SFTPT.noSuchFile, path)
            XCTAssertEqual(f.pathRequest(SFTPT.opendir, path).status?.code, SFTPT.noSuchFile, path)
            XCTAssertEqual(f.pathRequest(SFTPT.realpath, path).status?.code, SFTPT.noSuchFile, path)
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: secret))
        XCTAssertTrue(f.stagingFiles().isEmpty)
        // `..` stops at `/`: this one is simply /outbox/passwd, which does not exist.
        var r = f.pathRequest(SFTPT.realpath, "/../../outbox/../outbox/passwd")
        r.cursor = 4
        _ = r.u32()
        XCTAssertEqual(r.string(), "/outbox/passwd")
    }

    func testMessagesNeverContainServerPaths() {
        let f = SFTPFixture()
        var messages: [String] = []
        for path in ["/inbox/../../etc/passwd", "/outbox/missing.xml", "/x/y/z", "/inbox/a/b"] {
            messages.append(f.open(path, SFTPT.fRead).status?.message ?? "")
            messages.append(f.pathRequest(SFTPT.stat, path).status?.message ?? "")
        }
        for m in messages {
            XCTAssertFalse(m.contains(f.root), m)
            XCTAssertFalse(m.isEmpty)
        }
    }

    func testBadNamesAreRefused() {
        let f = SFTPFixture()
        let long = String(repeating: "a", count: 256)
        let cases: [(String, UInt32)] = [
            ("/inbox/.hidden", SFTPT.permissionDenied),
            ("/inbox/..hidden.part", SFTPT.permissionDenied),
            ("/inbox/.filepart", SFTPT.permissionDenied),
            ("/inbox/tab\there", SFTPT.permissionDenied),
            ("/inbox/new\nline.xml", SFTPT.permissionDenied),
            ("/inbox/esc\u{1B}[31m.xml", SFTPT.permissionDenied),
            ("/inbox/del\u{7F}.xml", SFTPT.permissionDenied),
            ("/inbox/c1\u{85}.xml", SFTPT.permissionDenied),
            ("/inbox/invoice\u{202E}lmx.exe", SFTPT.permissionDenied),
            ("/inbox/back\\slash.xml", SFTPT.permissionDenied),
            ("/inbox/" + long, SFTPT.permissionDenied),
            ("/inbox/sub/name.xml", SFTPT.noSuchFile),
            ("/outbox/.hidden", SFTPT.permissionDenied),
            ("/" + String(repeating: "x/", count: 600), SFTPT.permissionDenied), // path over 1024 bytes
        ]
        for (path, code) in cases {
            let r = f.open(path, SFTPT.upload)
            XCTAssertEqual(r.status?.code, code, "\(path.debugDescription): \(r.status?.message ?? "")")
        }
        // NUL inside the path string.
        let nul = f.call(SFTPT.open) { $0.bytes(sftpBytes("/inbox/a") + [0] + sftpBytes(".xml")); $0.u32(SFTPT.upload); $0.attrs() }
        XCTAssertEqual(nul.status?.code, SFTPT.permissionDenied)
        // Invalid UTF-8.
        let bad = f.call(SFTPT.open) { $0.bytes(sftpBytes("/inbox/") + [0xC3, 0x28] + sftpBytes(".xml")); $0.u32(SFTPT.upload); $0.attrs() }
        XCTAssertEqual(bad.status?.code, SFTPT.permissionDenied)
        XCTAssertTrue(f.stagingFiles().isEmpty)
        // Names that are fine: temp suffixes, spaces, accents, 255 bytes.
        for name in ["x.filepart", "Facture n° 12.pdf", "été.xml", String(repeating: "b", count: 255), "a..b.xml"] {
            XCTAssertEqual(f.upload("/inbox/" + name, sftpBytes("ok")).status?.code, SFTPT.ok, name)
        }
    }

    func testSymlinkAndReadlinkRefused() {
        let f = SFTPFixture()
        let s = f.call(SFTPT.symlink) { $0.string("/etc/passwd"); $0.string("/inbox/pw") }
        XCTAssertEqual(s.status?.code, SFTPT.permissionDenied)
        XCTAssertTrue(f.handler.events.contains { $0.what == "symlink-refused" })
        XCTAssertEqual(f.pathRequest(SFTPT.readlink, "/outbox/x").status?.code, SFTPT.opUnsupported)
        XCTAssertTrue(f.stagingFiles().isEmpty)
    }

    func testSymlinkPlantedInOutboxIsNotFollowed() throws {
        let f = SFTPFixture()
        let outside = f.root + "/outside.txt"
        try Data("outside".utf8).write(to: URL(fileURLWithPath: outside))
        try FileManager.default.createSymbolicLink(atPath: f.outbox + "/R.cdar.xml", withDestinationPath: outside)
        try FileManager.default.createSymbolicLink(atPath: f.outbox + "/dir.cdar.xml", withDestinationPath: "/etc")
        XCTAssertTrue(f.list("/outbox").isEmpty, "symlinks are not listed")
        XCTAssertEqual(f.open("/outbox/R.cdar.xml", SFTPT.fRead).status?.code, SFTPT.noSuchFile)
        XCTAssertEqual(f.pathRequest(SFTPT.stat, "/outbox/R.cdar.xml").status?.code, SFTPT.noSuchFile)
        XCTAssertEqual(f.pathRequest(SFTPT.lstat, "/outbox/R.cdar.xml").status?.code, SFTPT.noSuchFile)
        XCTAssertEqual(f.pathRequest(SFTPT.remove, "/outbox/R.cdar.xml").status?.code, SFTPT.noSuchFile)
        XCTAssertTrue(FileManager.default.fileExists(atPath: outside))
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: f.outbox + "/R.cdar.xml"), outside)
    }

    func testFifoPlantedInOutboxDoesNotBlock() throws {
        let f = SFTPFixture()
        XCTAssertEqual(mkfifo(f.outbox + "/pipe.cdar.xml", 0o644), 0)
        XCTAssertTrue(f.list("/outbox").isEmpty)
        XCTAssertEqual(f.open("/outbox/pipe.cdar.xml", SFTPT.fRead).status?.code, SFTPT.noSuchFile)
    }

    func testSymlinkPlantedInInboxOrStagingIsNotFollowed() throws {
        let f = SFTPFixture()
        let outside = f.root + "/victim.txt"
        try Data("victim".utf8).write(to: URL(fileURLWithPath: outside))
        try FileManager.default.createSymbolicLink(atPath: f.inbox + "/evil.xml", withDestinationPath: outside)
        // The inbox directory on disk is never read: the link is invisible and not opened.
        XCTAssertTrue(f.list("/inbox").isEmpty)
        XCTAssertEqual(f.open("/inbox/evil.xml", SFTPT.fRead).status?.code, SFTPT.permissionDenied)
        XCTAssertEqual(f.upload("/inbox/evil.xml", sftpBytes("new")).status?.code, SFTPT.ok)
        XCTAssertEqual(String(decoding: FileManager.default.contents(atPath: outside) ?? Data(), as: UTF8.self), "victim")
        XCTAssertEqual(f.handler.completions.first?.bytes, sftpBytes("new"))
        XCTAssertFalse(f.handler.completions.first?.stagingPath.contains("evil") ?? true)
    }

    func testOutboxIsReadOnly() throws {
        let f = SFTPFixture()
        try Data("receipt".utf8).write(to: URL(fileURLWithPath: f.outbox + "/R.cdar.xml"))
        for flags in [SFTPT.upload, SFTPT.fWrite, SFTPT.fRead | SFTPT.fWrite, SFTPT.fAppend, SFTPT.fCreat, SFTPT.fRead | SFTPT.fTrunc] {
            XCTAssertEqual(f.open("/outbox/R.cdar.xml", flags).status?.code, SFTPT.permissionDenied, "flags \(flags)")
            XCTAssertEqual(f.open("/outbox/new.xml", flags).status?.code, SFTPT.permissionDenied, "flags \(flags)")
        }
        XCTAssertEqual(f.rename("/outbox/R.cdar.xml", "/inbox/R.xml").status?.code, SFTPT.permissionDenied)
        XCTAssertEqual(f.upload("/inbox/x.part", sftpBytes("1")).status?.code, SFTPT.ok)
        XCTAssertEqual(f.rename("/inbox/x.part", "/outbox/x.xml").status?.code, SFTPT.permissionDenied)
        XCTAssertEqual(f.rename("/inbox/x.part", "/outbox/x.xml", posix: true).status?.code, SFTPT.permissionDenied)
        let set = f.call(SFTPT.setstat) { $0.string("/outbox/R.cdar.xml"); $0.attrs(flags: 4, perms: 0o777) }
        XCTAssertEqual(set.status?.code, SFTPT.permissionDenied)
        XCTAssertEqual(String(decoding: FileManager.default.contents(atPath: f.outbox + "/R.cdar.xml") ?? Data(), as: UTF8.self), "receipt")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: f.outbox), ["R.cdar.xml"])
    }

    func testInboxCannotBeReadBack() {
        let f = SFTPFixture()
        XCTAssertEqual(f.upload("/inbox/x.part", sftpBytes("1")).status?.code, SFTPT.ok)
        XCTAssertEqual(f.open("/inbox/x.part", SFTPT.fRead).status?.code, SFTPT.permissionDenied)
        let h = f.openHandle("/inbox/x.part", SFTPT.fRead | SFTPT.fWrite)
        XCTAssertEqual(f.read(h, 0, 10).status?.code, SFTPT.permissionDenied)
        XCTAssertEqual(f.close(h).status?.code, SFTPT.ok)
    }

    func testHandlesAreOpaqueAndUnknownHandlesFail() {
        let f = SFTPFixture()
        let h1 = f.openHandle("/inbox/a.xml", SFTPT.upload)
        let h2 = f.openHandle("/inbox/b.xml", SFTPT.upload)
        XCTAssertNotEqual(h1, h2)
        XCTAssertEqual(h1.count, 16)
        for bogus in [sftpBytes(""), sftpBytes("0"), sftpBytes("ffffffffffffffff"), sftpBytes("ZZZZZZZZZZZZZZZZ"), h1 + [0x30]] {
            let r = f.write(bogus, 0, [1])
            XCTAssertEqual(r.status?.code, SFTPT.failure)
            XCTAssertEqual(r.status?.message, "invalid handle")
        }
        XCTAssertEqual(f.close(h1).status?.code, SFTPT.ok)
        XCTAssertEqual(f.close(h1).status?.message, "invalid handle", "a closed handle is gone")
        XCTAssertEqual(f.write(h1, 0, [1]).status?.message, "invalid handle")
        XCTAssertEqual(f.close(h2).status?.code, SFTPT.ok)
    }
}
