import XCTest
@testable import FluxSFTP

final class SFTPVirtualPathTests: XCTestCase {
    private func resolve(_ s: String) -> Result<SFTPVirtualPath, SFTPFailure> {
        Array(s.utf8).withUnsafeBytes { raw in
            Result { () throws(SFTPFailure) in try SFTPVirtualPath.resolve(raw, limits: SFTPLimits()) }
        }
    }

    func testNormalisation() throws {
        let cases: [(String, SFTPVirtualPath)] = [
            ("", .root), (".", .root), ("/", .root), ("//", .root), ("..", .root), ("/../..", .root),
            ("inbox", .inbox), ("./inbox/.", .inbox), ("/outbox/", .outbox), ("outbox/x/..", .outbox),
            ("/inbox//a.xml", .inboxFile("a.xml")), ("inbox/./b.part", .inboxFile("b.part")),
            ("/outbox/../inbox/../outbox/R.xml", .outboxFile("R.xml")), ("/x/../inbox/c", .inboxFile("c")),
        ]
        for (input, expected) in cases {
            XCTAssertEqual(try resolve(input).get(), expected, input)
        }
    }

    func testOutsideTheTree() {
        for input in ["/etc", "/etc/passwd", "/inbox/a/b", "/outbox/a/b/c", "/staging/x", "/INBOX/x", "/home/partner/inbox/x"] {
            guard case .failure(let e) = resolve(input) else { return XCTFail("\(input) resolved") }
            XCTAssertEqual(e.code, .noSuchFile, input)
        }
    }

    func testTempNames() {
        let fs = SFTPChrootFileSystem(inbox: "/nonexistent/i", outbox: "/nonexistent/o", staging: "/nonexistent/s",
                                      quota: SFTPQuota(), uploads: SFTPRecordingHandler())
        for name in ["a.filepart", "a.xml.part", "A.PART", "x.partial", "y.tmp", "z.TMP"] {
            XCTAssertTrue(fs.isTempName(name), name)
        }
        for name in ["a.xml", "part", "a.parts", "tmp", "a.tmp.xml", ".part"] {
            XCTAssertFalse(fs.isTempName(name), name)
        }
    }

    func testLongName() {
        let now = 1_700_000_000
        let a = SFTPAttributes.file(size: 1234, mode: 0o644, atime: now - 60, mtime: now - 60)
        let line = SFTPLongName.format(name: "R.cdar.xml", attributes: a, now: now)
        XCTAssertEqual(line, "-rw-r--r--   1 flux     flux         1234 Nov 14 22:12 R.cdar.xml")
        let old = SFTPAttributes.file(size: 5, mode: 0o600, atime: 0, mtime: 86_400 * 40)
        XCTAssertEqual(SFTPLongName.format(name: "o", attributes: old, now: now), "-rw-------   1 flux     flux            5 Feb 10  1970 o")
        let dir = SFTPAttributes.directory(mode: 0o755, mtime: now)
        XCTAssertTrue(SFTPLongName.format(name: "inbox", attributes: dir, now: now).hasPrefix("drwxr-xr-x   2 "))
    }
}
