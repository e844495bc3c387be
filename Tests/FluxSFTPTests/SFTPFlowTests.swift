import Foundation
import XCTest
@testable import FluxSFTP

final class SFTPFlowTests: XCTestCase {
    func testVersionAdvertisesImplementedExtensions() throws {
        let f = SFTPFixture(initialize: false)
        var replies = f.feed(f.initPacket(version: 6))
        XCTAssertEqual(replies.count, 1)
        XCTAssertEqual(replies[0].type, SFTPT.version)
        XCTAssertEqual(replies[0].u32(), 3, "always answers version 3")
        var ext: [String: String] = [:]
        while replies[0].cursor < replies[0].payload.count {
            let name = replies[0].string()
            ext[name] = replies[0].string()
        }
        XCTAssertEqual(ext, [
            "posix-rename@openssh.com": "1", "statvfs@openssh.com": "2",
            "fsync@openssh.com": "1", "limits@openssh.com": "1",
        ])
    }

    func testLimitsStayUnderOpenSSHMessageCeiling() {
        let f = SFTPFixture()
        var r = f.call(SFTPT.extended) { $0.string("limits@openssh.com") }
        XCTAssertEqual(r.type, SFTPT.extendedReply)
        r.cursor = 4
        XCTAssertEqual(r.u64(), 262_144, "max-packet-length")
        XCTAssertEqual(r.u64(), 261_120, "max-read-length")
        XCTAssertEqual(r.u64(), 261_120, "max-write-length")
        XCTAssertEqual(r.u64(), 64, "max-open-handles")
    }

    func testUploadAtOffsetsHandsExactBytesAndNameToHandler() {
        let f = SFTPFixture()
        let h = f.openHandle("/inbox/invoice-42.xml", SFTPT.upload)
        // Written out of order, as a pipelining client may deliver them.
        XCTAssertEqual(f.write(h, 6, sftpBytes(" world")).status?.code, SFTPT.ok)
        XCTAssertEqual(f.write(h, 0, sftpBytes("hello,")).status?.code, SFTPT.ok)
        XCTAssertTrue(f.handler.completions.isEmpty, "nothing is complete before CLOSE")
        XCTAssertEqual(f.list("/inbox").map(\.name), ["invoice-42.xml"], "an upload in progress is listed")
        let closed = f.close(h)
        XCTAssertEqual(closed.status?.code, SFTPT.ok)
        XCTAssertEqual(f.handler.completions.count, 1)
        let c = f.handler.completions[0]
        XCTAssertEqual(c.name, "invoice-42.xml")
        XCTAssertEqual(c.bytes, sftpBytes("hello, world"))
        XCTAssertTrue(c.stagingPath.hasPrefix(f.staging + "/."), "hidden file in the staging directory: \(c.stagingPath)")
        XCTAssertTrue(f.list("/inbox").isEmpty, "a completed upload belongs to the gateway")
        XCTAssertTrue(f.handler.aborts.isEmpty)
        XCTAssertTrue(f.stagingFiles().isEmpty)
        // A client checking the size right after its upload is answered.
        var st = f.pathRequest(SFTPT.stat, "/inbox/invoice-42.xml")
        XCTAssertEqual(st.type, SFTPT.attrs)
        st.cursor = 4
        XCTAssertEqual(st.attrs().size, 12)
    }

    func testSparseAndRepeatedWritesKeepHighestEnd() {
        let f = SFTPFixture()
        let h = f.openHandle("/inbox/sparse.bin", SFTPT.upload)
        XCTAssertEqual(f.write(h, 1000, [7, 7]).status?.code, SFTPT.ok)
        XCTAssertEqual(f.write(h, 0, [1]).status?.code, SFTPT.ok)
        var st = f.call(SFTPT.fstat) { $0.bytes(h) }
        st.cursor = 4
        XCTAssertEqual(st.attrs().size, 1002)
        XCTAssertEqual(f.close(h).status?.code, SFTPT.ok)
        let got = f.handler.completions.first?.bytes ?? []
        XCTAssertEqual(got.count, 1002)
        XCTAssertEqual(got.first, 1)
        XCTAssertEqual(Array(got[1000...]), [7, 7])
        XCTAssertTrue(got[1..<1000].allSatisfy { $0 == 0 })
    }

    /// A handler that claims before the fsync gets the size and CRC-32 of uploads written in
    /// order; anything else (out of order, a temp name completed by RENAME) is fsynced first.
    func testUnsyncedHandoverOnlyForUploadsWrittenInOrder() {
        let f = SFTPFixture()
        f.handler.takesUnsyncedUploads = true
        let h = f.openHandle("/inbox/in-order.xml", SFTPT.upload)
        XCTAssertEqual(f.write(h, 0, sftpBytes("hello,")).status?.code, SFTPT.ok)
        XCTAssertEqual(f.write(h, 6, sftpBytes(" world")).status?.code, SFTPT.ok)
        XCTAssertEqual(f.close(h).status?.code, SFTPT.ok)
        XCTAssertEqual(f.handler.completions.last?.bytes, sftpBytes("hello, world"))
        XCTAssertEqual(f.handler.completions.last?.unsynced?.size, 12)
        XCTAssertEqual(f.handler.completions.last?.unsynced?.crc32, 0xFFAB_723A, "zlib.crc32(b'hello, world')")

        let o = f.openHandle("/inbox/out-of-order.xml", SFTPT.upload)
        XCTAssertEqual(f.write(o, 6, sftpBytes(" world")).status?.code, SFTPT.ok)
        XCTAssertEqual(f.write(o, 0, sftpBytes("hello,")).status?.code, SFTPT.ok)
        XCTAssertEqual(f.close(o).status?.code, SFTPT.ok)
        XCTAssertEqual(f.handler.completions.last?.bytes, sftpBytes("hello, world"))
        XCTAssertNil(f.handler.completions.last?.unsynced)

        XCTAssertEqual(f.upload("/inbox/b.xml.filepart", sftpBytes("<invoice/>")).status?.code, SFTPT.ok)
        XCTAssertEqual(f.rename("/inbox/b.xml.filepart", "/inbox/b.xml").status?.code, SFTPT.ok)
        XCTAssertEqual(f.handler.completions.last?.name, "b.xml")
        XCTAssertNil(f.handler.completions.last?.unsynced)

        // Past the checked size: fsynced first, as before.
        let g = SFTPFixture(quota: SFTPQuota(maxFileBytes: 64 << 20, maxPendingBytes: 64 << 20, maxPendingFiles: 8, minFreeDiskBytes: 1 << 20))
        g.handler.takesUnsyncedUploads = true
        let big = g.openHandle("/inbox/big.bin", SFTPT.upload)
        let chunk = [UInt8](repeating: 0x41, count: 200_000)
        var offset: UInt64 = 0
        while offset <= UInt64(SFTPChrootFileSystem.checkedUploadLimit) {
            XCTAssertEqual(g.write(big, offset, chunk).status?.code, SFTPT.ok)
            offset += UInt64(chunk.count)
        }
        XCTAssertEqual(g.close(big).status?.code, SFTPT.ok)
        XCTAssertEqual(g.handler.completions.last?.name, "big.bin")
        XCTAssertEqual(g.handler.completions.last?.bytes.count, Int(offset))
        XCTAssertNil(g.handler.completions.last?.unsynced)

        // Refused after the handover: the session still answers FAILURE and removes the staging file.
        f.handler.refuse = { $0 == "bad.xml" ? "refused: not an invoice" : nil }
        let refused = f.upload("/inbox/bad.xml", sftpBytes("<invoice/>"))
        XCTAssertEqual(refused.status?.code, SFTPT.failure)
        XCTAssertEqual(refused.status?.message, "refused: not an invoice")
        XCTAssertEqual(f.handler.completions.last?.unsynced?.crc32, 0xF22E_B6F4, "zlib.crc32(b'<invoice/>')")
        XCTAssertTrue(f.stagingFiles().isEmpty)
        XCTAssertTrue(f.handler.aborts.isEmpty)
    }

    func testTempNameCompletesAtRename() {
        let f = SFTPFixture()
        XCTAssertEqual(f.upload("/inbox/batch.xml.filepart", sftpBytes("<invoice/>")).status?.code, SFTPT.ok)
        XCTAssertTrue(f.handler.completions.isEmpty, "a temp name is not complete at close")
        let listed = f.list("/inbox")
        XCTAssertEqual(listed.map(\.name), ["batch.xml.filepart"])
        XCTAssertEqual(listed.first?.size, 10)
        XCTAssertTrue(listed.first?.long.hasPrefix("-rw-------") ?? false, listed.first?.long ?? "")
        XCTAssertTrue(listed.first?.long.hasSuffix(" batch.xml.filepart") ?? false)

        XCTAssertEqual(f.rename("/inbox/batch.xml.filepart", "/inbox/batch.xml").status?.code, SFTPT.ok)
        XCTAssertEqual(f.handler.completions.map(\.name), ["batch.xml"])
        XCTAssertEqual(f.handler.completions.first?.bytes, sftpBytes("<invoice/>"))
        XCTAssertTrue(f.list("/inbox").isEmpty)
        XCTAssertTrue(f.handler.events.contains { $0.what == "rename" && $0.path == "/inbox/batch.xml.filepart" && $0.detail == "/inbox/batch.xml" })
        // The completed file cannot be renamed again.
        XCTAssertEqual(f.rename("/inbox/batch.xml", "/inbox/other.xml").status?.code, SFTPT.noSuchFile)
        XCTAssertEqual(f.rename("/inbox/never.part", "/inbox/other.xml").status?.code, SFTPT.noSuchFile)
    }

    func testPosixRenameBetweenTempNamesAndOverwrite() {
        let f = SFTPFixture()
        XCTAssertEqual(f.upload("/inbox/a.part", sftpBytes("A")).status?.code, SFTPT.ok)
        XCTAssertEqual(f.upload("/inbox/b.tmp", sftpBytes("BB")).status?.code, SFTPT.ok)
        XCTAssertEqual(f.rename("/inbox/a.part", "/inbox/b.tmp").status?.code, SFTPT.failure, "plain RENAME does not overwrite")
        XCTAssertEqual(f.rename("/inbox/a.part", "/inbox/b.tmp", posix: true).status?.code, SFTPT.ok)
        XCTAssertEqual(f.handler.aborts.map(\.name), ["b.tmp"], "the overwritten pending file is dropped")
        XCTAssertEqual(f.list("/inbox").map(\.name), ["b.tmp"])
        XCTAssertEqual(f.rename("/inbox/b.tmp", "/inbox/final.xml", posix: true).status?.code, SFTPT.ok)
        XCTAssertEqual(f.handler.completions.map(\.name), ["final.xml"])
        XCTAssertEqual(f.handler.completions.first?.bytes, sftpBytes("A"))
        XCTAssertTrue(f.stagingFiles().isEmpty)
    }

    func testHandlerRefusalOnCloseAnswersFailureAndRemovesStaging() {
        let f = SFTPFixture()
        f.handler.refuse = { name in name.hasSuffix(".exe") ? "not an invoice: \(name) is refused" : nil }
        let r = f.upload("/inbox/setup.exe", sftpBytes("MZ"))
        XCTAssertEqual(r.status?.code, SFTPT.failure)
        XCTAssertEqual(r.status?.message, "not an invoice: setup.exe is refused")
        XCTAssertEqual(f.handler.completions.count, 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: f.handler.completions[0].stagingPath))
        XCTAssertTrue(f.stagingFiles().isEmpty)
        XCTAssertTrue(f.list("/inbox").isEmpty)
        XCTAssertTrue(f.handler.events.contains { $0.what == "upload-refused" && $0.path == "/inbox/setup.exe" })
    }

    func testHandlerRefusalOnRename() {
        let f = SFTPFixture()
        f.handler.refuse = { _ in "duplicate invoice" }
        XCTAssertEqual(f.upload("/inbox/x.filepart", sftpBytes("data")).status?.code, SFTPT.ok)
        let r = f.rename("/inbox/x.filepart", "/inbox/x.xml")
        XCTAssertEqual(r.status?.code, SFTPT.failure)
        XCTAssertEqual(r.status?.message, "duplicate invoice")
        XCTAssertTrue(f.stagingFiles().isEmpty)
        XCTAssertTrue(f.list("/inbox").isEmpty)
    }

    func testResumeOfPendingTempFileAndExclusiveCreate() {
        let f = SFTPFixture()
        XCTAssertEqual(f.upload("/inbox/big.part", sftpBytes("01234")).status?.code, SFTPT.ok)
        XCTAssertEqual(f.open("/inbox/big.part", SFTPT.fWrite | SFTPT.fCreat | SFTPT.fExcl).status?.code, SFTPT.failure, "EXCL on an existing name")
        // Resume: reopen without TRUNC, append the rest.
        let h = f.openHandle("/inbox/big.part", SFTPT.fWrite)
        XCTAssertEqual(f.open("/inbox/big.part", SFTPT.upload).status?.code, SFTPT.failure, "one writer per name")
        XCTAssertEqual(f.write(h, 5, sftpBytes("56789")).status?.code, SFTPT.ok)
        XCTAssertEqual(f.close(h).status?.code, SFTPT.ok)
        XCTAssertEqual(f.rename("/inbox/big.part", "/inbox/big.bin").status?.code, SFTPT.ok)
        XCTAssertEqual(f.handler.completions.first?.bytes, sftpBytes("0123456789"))
        // Without CREAT a name that does not exist cannot be opened.
        XCTAssertEqual(f.open("/inbox/new.xml", SFTPT.fWrite).status?.code, SFTPT.noSuchFile)
    }

    func testAppendFlagWritesAtEnd() {
        let f = SFTPFixture()
        XCTAssertEqual(f.upload("/inbox/log.part", sftpBytes("ab")).status?.code, SFTPT.ok)
        let h = f.openHandle("/inbox/log.part", SFTPT.fWrite | SFTPT.fAppend)
        XCTAssertEqual(f.write(h, 0, sftpBytes("cd")).status?.code, SFTPT.ok)
        XCTAssertEqual(f.close(h).status?.code, SFTPT.ok)
        XCTAssertEqual(f.rename("/inbox/log.part", "/inbox/log.txt").status?.code, SFTPT.ok)
        XCTAssertEqual(f.handler.completions.first?.bytes, sftpBytes("abcd"))
    }

    func testRemovePendingUploadAbortsIt() {
        let f = SFTPFixture()
        XCTAssertEqual(f.upload("/inbox/oops.part", sftpBytes("12345")).status?.code, SFTPT.ok)
        XCTAssertEqual(f.pathRequest(SFTPT.remove, "/inbox/oops.part").status?.code, SFTPT.ok)
        XCTAssertEqual(f.handler.aborts.count, 1)
        XCTAssertEqual(f.handler.aborts.first?.name, "oops.part")
        XCTAssertEqual(f.handler.aborts.first?.bytes, 5)
        XCTAssertTrue(f.stagingFiles().isEmpty)
        XCTAssertEqual(f.pathRequest(SFTPT.remove, "/inbox/oops.part").status?.code, SFTPT.noSuchFile)
    }

    func testSetstatTimesAndPermissionsOnUploadsAreAcceptedAsNoOps() {
        let f = SFTPFixture()
        let h = f.openHandle("/inbox/p.xml", SFTPT.upload)
        XCTAssertEqual(f.write(h, 0, sftpBytes("x")).status?.code, SFTPT.ok)
        let fset = f.call(SFTPT.fsetstat) { $0.bytes(h); $0.attrs(flags: 4 | 8, perms: 0o644, times: (1, 2)) }
        XCTAssertEqual(fset.status?.code, SFTPT.ok)
        let size = f.call(SFTPT.fsetstat) { $0.bytes(h); $0.attrs(flags: 1, size: 0) }
        XCTAssertEqual(size.status?.code, SFTPT.permissionDenied, "truncation through setstat is not offered")
        XCTAssertEqual(f.close(h).status?.code, SFTPT.ok)
        // WinSCP sets the time on the final name after its rename.
        let set = f.call(SFTPT.setstat) { $0.string("/inbox/p.xml"); $0.attrs(flags: 8, times: (1, 2)) }
        XCTAssertEqual(set.status?.code, SFTPT.ok)
        let other = f.call(SFTPT.setstat) { $0.string("/inbox/unknown.xml"); $0.attrs(flags: 8, times: (1, 2)) }
        XCTAssertEqual(other.status?.code, SFTPT.noSuchFile)
        let dir = f.call(SFTPT.setstat) { $0.string("/outbox"); $0.attrs(flags: 4, perms: 0o777) }
        XCTAssertEqual(dir.status?.code, SFTPT.permissionDenied)
        XCTAssertEqual(f.handler.completions.first?.bytes, sftpBytes("x"))
    }

    func testFsyncExtensionOnWriteHandle() {
        let f = SFTPFixture()
        let h = f.openHandle("/inbox/s.xml", SFTPT.upload)
        XCTAssertEqual(f.write(h, 0, sftpBytes("abc")).status?.code, SFTPT.ok)
        let r = f.call(SFTPT.extended) { $0.string("fsync@openssh.com"); $0.bytes(h) }
        XCTAssertEqual(r.status?.code, SFTPT.ok)
        XCTAssertEqual(f.close(h).status?.code, SFTPT.ok)
        let gone = f.call(SFTPT.extended) { $0.string("fsync@openssh.com"); $0.bytes(h) }
        XCTAssertEqual(gone.status?.code, SFTPT.failure)
        XCTAssertEqual(gone.status?.message, "invalid handle")
    }

    func testOutboxListReadRemove() throws {
        let f = SFTPFixture()
        let receipt = sftpRandomBytes(300_000, seed: 7) // larger than one READ
        try Data(receipt).write(to: URL(fileURLWithPath: f.outbox + "/INV-1.cdar.xml"))
        try Data("sig".utf8).write(to: URL(fileURLWithPath: f.outbox + "/INV-1.cdar.xml.p7s"))
        try Data("hidden".utf8).write(to: URL(fileURLWithPath: f.outbox + "/.partial-write"))
        try FileManager.default.createDirectory(atPath: f.outbox + "/sub", withIntermediateDirectories: false)

        let listed = f.list("/outbox").sorted { $0.name < $1.name }
        XCTAssertEqual(listed.map(\.name), ["INV-1.cdar.xml", "INV-1.cdar.xml.p7s"])
        XCTAssertEqual(listed[0].size, 300_000)
        XCTAssertEqual(listed[0].perms.map { $0 & 0o170000 }, 0o100000)
        XCTAssertTrue(listed[0].long.hasPrefix("-rw-r--r--"), listed[0].long)
        XCTAssertTrue(listed[0].long.contains(" 300000 "), listed[0].long)

        var st = f.pathRequest(SFTPT.stat, "/outbox/INV-1.cdar.xml")
        XCTAssertEqual(st.type, SFTPT.attrs)
        st.cursor = 4
        XCTAssertEqual(st.attrs().size, 300_000)

        let h = f.openHandle("/outbox/INV-1.cdar.xml", SFTPT.fRead)
        var got: [UInt8] = []
        var offset: UInt64 = 0
        for _ in 0..<10 {
            var r = f.read(h, offset, 256 * 1024)
            if r.type == SFTPT.status {
                XCTAssertEqual(r.status?.code, SFTPT.eof)
                break
            }
            XCTAssertEqual(r.type, SFTPT.data)
            r.cursor = 4
            let chunk = r.bytes()
            XCTAssertLessThanOrEqual(chunk.count, 261_120, "a DATA reply stays under OpenSSH's 256 KiB ceiling")
            got += chunk
            offset += UInt64(chunk.count)
        }
        XCTAssertEqual(got, receipt)
        XCTAssertEqual(f.write(h, 0, [1]).status?.code, SFTPT.permissionDenied)
        XCTAssertEqual(f.close(h).status?.code, SFTPT.ok)

        XCTAssertEqual(f.pathRequest(SFTPT.remove, "/outbox/INV-1.cdar.xml").status?.code, SFTPT.ok)
        XCTAssertFalse(FileManager.default.fileExists(atPath: f.outbox + "/INV-1.cdar.xml"))
        XCTAssertTrue(f.handler.events.contains { $0.what == "outbox-delete" && $0.path == "/outbox/INV-1.cdar.xml" })
        XCTAssertEqual(f.pathRequest(SFTPT.remove, "/outbox/INV-1.cdar.xml").status?.code, SFTPT.noSuchFile)
        XCTAssertEqual(f.pathRequest(SFTPT.remove, "/outbox/sub").status?.code, SFTPT.noSuchFile, "directories are not visible")
    }

    func testOutboxListingIsBatched() throws {
        let f = SFTPFixture(limits: SFTPLimits(maxReaddirBatch: 3))
        for i in 0..<10 {
            try Data("r\(i)".utf8).write(to: URL(fileURLWithPath: f.outbox + "/R\(i).cdar.xml"))
        }
        var r = f.pathRequest(SFTPT.opendir, "/outbox")
        r.cursor = 4
        let h = r.bytes()
        var counts: [UInt32] = []
        while true {
            var rd = f.call(SFTPT.readdir) { $0.bytes(h) }
            if rd.type == SFTPT.status { XCTAssertEqual(rd.status?.code, SFTPT.eof); break }
            rd.cursor = 4
            counts.append(rd.u32())
        }
        XCTAssertEqual(counts, [3, 3, 3, 1])
    }

    func testRealpathIsVirtual() {
        let f = SFTPFixture()
        let cases: [(String, String)] = [
            (".", "/"), ("", "/"), ("/", "/"), ("inbox", "/inbox"), ("/inbox/", "/inbox"),
            ("//outbox//./", "/outbox"), ("/inbox/../outbox", "/outbox"), ("../../..", "/"),
            ("/inbox/new-file.xml", "/inbox/new-file.xml"), ("outbox/R.cdar.xml", "/outbox/R.cdar.xml"),
        ]
        for (input, expected) in cases {
            var r = f.pathRequest(SFTPT.realpath, input)
            XCTAssertEqual(r.type, SFTPT.name, input)
            r.cursor = 4
            XCTAssertEqual(r.u32(), 1)
            XCTAssertEqual(r.string(), expected, "realpath(\(input))")
        }
        XCTAssertEqual(f.pathRequest(SFTPT.realpath, "/srv").status?.code, SFTPT.noSuchFile)
    }

    func testRootAndDirectoriesStatAsDirectories() {
        let f = SFTPFixture()
        for path in ["/", "/inbox", "/outbox", "."] {
            for type in [SFTPT.stat, SFTPT.lstat] {
                var r = f.pathRequest(type, path)
                XCTAssertEqual(r.type, SFTPT.attrs, path)
                r.cursor = 4
                XCTAssertEqual((r.attrs().perms ?? 0) & 0o170000, 0o040000, path)
            }
        }
        XCTAssertEqual(f.list("/").map(\.name), ["inbox", "outbox"])
        XCTAssertEqual(f.pathRequest(SFTPT.stat, "/inbox/missing.xml").status?.code, SFTPT.noSuchFile)
    }

    func testDirectoryOperationsAreRefusedPolitely() {
        let f = SFTPFixture()
        let mk = f.call(SFTPT.mkdir) { $0.string("/inbox/sub"); $0.attrs() }
        XCTAssertEqual(mk.status?.code, SFTPT.permissionDenied)
        XCTAssertTrue(f.handler.events.contains { $0.what == "mkdir-refused" && $0.path == "/inbox/sub" })
        XCTAssertEqual(f.pathRequest(SFTPT.rmdir, "/inbox").status?.code, SFTPT.permissionDenied)
        XCTAssertEqual(f.pathRequest(SFTPT.remove, "/inbox").status?.code, SFTPT.permissionDenied)
        XCTAssertEqual(f.open("/inbox", SFTPT.upload).status?.code, SFTPT.failure)
        XCTAssertEqual(f.rename("/inbox", "/stuff").status?.code, SFTPT.noSuchFile)
        XCTAssertEqual(f.rename("/inbox", "/outbox").status?.code, SFTPT.permissionDenied)
    }

    func testStatvfsExtension() {
        let f = SFTPFixture()
        var r = f.call(SFTPT.extended) { $0.string("statvfs@openssh.com"); $0.string("/inbox") }
        XCTAssertEqual(r.type, SFTPT.extendedReply)
        r.cursor = 4
        let fields = (0..<11).map { _ in r.u64() }
        XCTAssertGreaterThan(fields[1], 0, "f_frsize")
        XCTAssertGreaterThan(fields[2], 0, "f_blocks")
        XCTAssertEqual(fields[10], 255, "f_namemax is the name limit")
        XCTAssertEqual(r.cursor, r.payload.count)
    }

    func testCloseAbortsOpenAndPendingUploads() {
        let f = SFTPFixture()
        let h = f.openHandle("/inbox/open.xml", SFTPT.upload)
        XCTAssertEqual(f.write(h, 0, sftpBytes("partial")).status?.code, SFTPT.ok)
        XCTAssertEqual(f.upload("/inbox/wait.filepart", sftpBytes("done")).status?.code, SFTPT.ok)
        XCTAssertEqual(f.stagingFiles().count, 2)
        f.session.close()
        XCTAssertEqual(Set(f.handler.aborts.map(\.name)), ["open.xml", "wait.filepart"])
        XCTAssertEqual(f.handler.aborts.first { $0.name == "open.xml" }?.bytes, 7)
        XCTAssertTrue(f.stagingFiles().isEmpty)
        XCTAssertTrue(f.handler.completions.isEmpty)
        XCTAssertThrowsError(try f.session.receive([0, 0, 0, 5, 1, 0, 0, 0, 3]))
        f.session.close() // idempotent
        XCTAssertEqual(f.handler.aborts.count, 2)
    }
}
