import Foundation
import XCTest
@testable import FluxSFTP

final class SFTPQuotaTests: XCTestCase {
    private let quota = SFTPQuota(maxFileBytes: 1000, maxPendingBytes: 2500, maxPendingFiles: 3, minFreeDiskBytes: 10_000)

    func testWritePastMaxFileBytesIsRefusedAndUploadAborted() {
        let f = SFTPFixture(quota: quota)
        let h = f.openHandle("/inbox/big.xml", SFTPT.upload)
        XCTAssertEqual(f.write(h, 0, [UInt8](repeating: 1, count: 1000)).status?.code, SFTPT.ok, "exactly the limit is fine")
        let over = f.write(h, 1000, [1])
        XCTAssertEqual(over.status?.code, SFTPT.failure)
        XCTAssertEqual(over.status?.message, "quota exceeded: file larger than 1000 bytes")
        // The upload is poisoned: further writes fail, even inside the limit, and close aborts.
        XCTAssertEqual(f.write(h, 0, [2]).status?.code, SFTPT.failure)
        let closed = f.close(h)
        XCTAssertEqual(closed.status?.code, SFTPT.failure)
        XCTAssertTrue(closed.status?.message.hasPrefix("upload incomplete: quota exceeded") ?? false, closed.status?.message ?? "")
        XCTAssertTrue(f.handler.completions.isEmpty, "an upload with a refused write is never handed over")
        XCTAssertEqual(f.handler.aborts.map(\.name), ["big.xml"])
        XCTAssertTrue(f.stagingFiles().isEmpty)
    }

    func testSparseWriteFarAwayIsRefusedWithoutCreatingAHugeFile() {
        let f = SFTPFixture(quota: quota)
        let h = f.openHandle("/inbox/sparse.xml", SFTPT.upload)
        XCTAssertEqual(f.write(h, 1 << 40, [1]).status?.message, "quota exceeded: file larger than 1000 bytes")
        XCTAssertEqual(f.write(h, UInt64.max - 1, [1, 2, 3]).status?.code, SFTPT.failure, "offset overflow")
        XCTAssertEqual(f.close(h).status?.code, SFTPT.failure)
        XCTAssertTrue(f.stagingFiles().isEmpty)
    }

    func testPendingBytesAndFilesQuota() {
        let f = SFTPFixture(quota: quota)
        XCTAssertEqual(f.upload("/inbox/a.part", [UInt8](repeating: 1, count: 1000)).status?.code, SFTPT.ok)
        XCTAssertEqual(f.upload("/inbox/b.part", [UInt8](repeating: 1, count: 1000)).status?.code, SFTPT.ok)
        let h = f.openHandle("/inbox/c.part", SFTPT.upload)
        XCTAssertEqual(f.write(h, 0, [UInt8](repeating: 1, count: 500)).status?.code, SFTPT.ok)
        let over = f.write(h, 500, [1])
        XCTAssertEqual(over.status?.message, "quota exceeded: pending uploads larger than 2500 bytes")
        XCTAssertEqual(f.close(h).status?.code, SFTPT.failure)
        XCTAssertEqual(f.upload("/inbox/c.part", [1]).status?.code, SFTPT.ok)
        let fourth = f.open("/inbox/d.part", SFTPT.upload)
        XCTAssertEqual(fourth.status?.message, "quota exceeded: at most 3 files may be pending")
        // Completing one frees its room.
        XCTAssertEqual(f.rename("/inbox/a.part", "/inbox/a.xml").status?.code, SFTPT.ok)
        XCTAssertEqual(f.upload("/inbox/d.part", [UInt8](repeating: 1, count: 400)).status?.code, SFTPT.ok)
        XCTAssertEqual(f.fs.pendingBytes, 1000 + 1 + 400)
    }

    func testDiskGuardUsesInjectedProbeOnEveryWrite() {
        let f = SFTPFixture(quota: quota)
        f.freeBytes = 10_500
        let h = f.openHandle("/inbox/d.xml", SFTPT.upload)
        XCTAssertEqual(f.write(h, 0, [UInt8](repeating: 1, count: 400)).status?.code, SFTPT.ok)
        f.freeBytes = 10_300 // another upload ate the room
        let r = f.write(h, 400, [UInt8](repeating: 1, count: 400))
        XCTAssertEqual(r.status?.code, SFTPT.failure)
        XCTAssertEqual(r.status?.message, "disk almost full: upload refused")
        XCTAssertEqual(f.close(h).status?.code, SFTPT.failure)
        XCTAssertTrue(f.handler.completions.isEmpty)
        // Refused at OPEN when already under the threshold, and when the probe cannot answer.
        f.freeBytes = 9_000
        XCTAssertEqual(f.open("/inbox/e.xml", SFTPT.upload).status?.message, "disk almost full: upload refused")
        f.freeBytes = nil
        XCTAssertEqual(f.open("/inbox/e.xml", SFTPT.upload).status?.code, SFTPT.failure)
        XCTAssertTrue(f.stagingFiles().isEmpty)
        XCTAssertTrue(f.handler.events.contains { $0.what == "upload-write-refused" && $0.detail == "disk almost full: upload refused" })
    }

    func testTooManyHandles() throws {
        let f = SFTPFixture(limits: SFTPLimits(maxOpenHandles: 3))
        try Data("r".utf8).write(to: URL(fileURLWithPath: f.outbox + "/R.xml"))
        let a = f.openHandle("/inbox/a.xml", SFTPT.upload)
        _ = f.openHandle("/outbox/R.xml", SFTPT.fRead)
        var d = f.pathRequest(SFTPT.opendir, "/outbox")
        XCTAssertEqual(d.type, SFTPT.handle)
        for r in [f.open("/inbox/b.xml", SFTPT.upload), f.open("/outbox/R.xml", SFTPT.fRead), f.pathRequest(SFTPT.opendir, "/")] {
            XCTAssertEqual(r.status?.code, SFTPT.failure)
            XCTAssertEqual(r.status?.message, "too many open handles (at most 3)")
        }
        XCTAssertEqual(f.stagingFiles().count, 1, "a refused OPEN creates no staging file")
        d.cursor = 4
        XCTAssertEqual(f.close(d.bytes()).status?.code, SFTPT.ok)
        XCTAssertEqual(f.open("/inbox/b.xml", SFTPT.upload).type, SFTPT.handle)
        XCTAssertEqual(f.session.openHandleCount, 3)
        _ = a
    }
}

final class SFTPStaleStagingTests: XCTestCase {
    func testRemoveStaleUploadsDeletesOnlyStagingFiles() throws {
        let f = SFTPFixture()
        try Data("old".utf8).write(to: URL(fileURLWithPath: f.staging + "/.sftp-upload-0123456789abcdef"))
        try Data("keep".utf8).write(to: URL(fileURLWithPath: f.staging + "/other.txt"))
        let outside = f.root + "/outside"
        try Data("outside".utf8).write(to: URL(fileURLWithPath: outside))
        try FileManager.default.createSymbolicLink(atPath: f.staging + "/.sftp-upload-link", withDestinationPath: outside)
        XCTAssertEqual(SFTPChrootFileSystem.removeStaleUploads(staging: f.staging), 1)
        XCTAssertEqual(Set(f.stagingFiles()), ["other.txt", ".sftp-upload-link"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: outside))
        XCTAssertEqual(SFTPChrootFileSystem.removeStaleUploads(staging: f.root + "/missing"), 0)
    }
}
