import CFluxShims
import FluxCore
import FluxCrypto
@testable import FluxStore
import Foundation
import Testing

@Suite("Spool: content-addressed originals")
struct SpoolTests {
    /// Every regular file under the spool, relative to its root.
    static func files(in spool: Spool) throws -> [String] {
        let e = FileManager.default.enumerator(atPath: spool.root)
        var out: [String] = []
        while let p = e?.nextObject() as? String {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: spool.root + "/" + p, isDirectory: &isDir), !isDir.boolValue { out.append(p) }
        }
        return out.sorted()
    }

    static func tmpEntries(_ spool: Spool) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: spool.root + "/tmp")
    }

    @Test("same content twice: one file, same sha, content intact, sha = SHA-256")
    func dedupe() throws {
        try withTemporaryDirectory { dir in
            let spool = try Spool(root: dir.appendingPathComponent("spool").path)
            let data = try Corpus.data(Corpus.frCII)
            let a = try spool.store(data: data)
            let b = try spool.store(data: data)
            #expect(a == b)
            #expect(a.sha256 == Digest.sha256Hex(data))
            #expect(a.size == Int64(data.count))
            #expect(try Self.files(in: spool) == ["\(a.sha256.prefix(2))/\(a.sha256)"])
            #expect(spool.path(for: a.sha256) == spool.root + "/\(a.sha256.prefix(2))/\(a.sha256)")
            #expect(FileManager.default.contents(atPath: spool.path(for: a.sha256)) == data)
            #expect(try Self.tmpEntries(spool).isEmpty)
        }
    }

    @Test("storing a file streams it: same entry as storing its bytes")
    func storeFile() throws {
        try withTemporaryDirectory { dir in
            let spool = try Spool(root: dir.appendingPathComponent("spool").path)
            let source = Corpus.root + "/" + Corpus.frUBL
            let fromFile = try spool.store(file: source)
            let data = try Corpus.data(Corpus.frUBL)
            #expect(fromFile.sha256 == Digest.sha256Hex(data))
            #expect(fromFile.size == Int64(data.count))
            #expect(try spool.store(data: data) == fromFile)
            #expect(FileManager.default.contents(atPath: spool.path(for: fromFile.sha256)) == data)
            #expect(try Self.files(in: spool).count == 1)
            #expect(try Self.tmpEntries(spool).isEmpty)
        }
    }

    @Test("content larger than the copy buffer, and a Data slice, are stored intact")
    func largeAndSliced() throws {
        try withTemporaryDirectory { dir in
            let spool = try Spool(root: dir.appendingPathComponent("spool").path)
            var big = Data(count: (1 << 20) + 17)
            for i in stride(from: 0, to: big.count, by: 251) { big[i] = UInt8(truncatingIfNeeded: i / 251) }
            let e = try spool.store(data: big)
            #expect(e.sha256 == Digest.sha256Hex(big))
            #expect(e.size == Int64(big.count))
            #expect(FileManager.default.contents(atPath: spool.path(for: e.sha256)) == big)

            let slice = big[300_000..<700_001]   // startIndex ≠ 0
            let s = try spool.store(data: slice)
            #expect(s.sha256 == Digest.sha256Hex(Data(slice)))
            #expect(s.size == 400_001)
            #expect(FileManager.default.contents(atPath: spool.path(for: s.sha256)) == Data(slice))

            let file = dir.appendingPathComponent("big.bin")
            try big.write(to: file)
            #expect(try spool.store(file: file.path) == e)
            #expect(try Self.files(in: spool).count == 2)
            #expect(try Self.tmpEntries(spool).isEmpty)
        }
    }

    @Test("empty content has the SHA-256 of nothing")
    func empty() throws {
        try withTemporaryDirectory { dir in
            let spool = try Spool(root: dir.appendingPathComponent("spool").path)
            let e = try spool.store(data: Data())
            #expect(e.sha256 == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
            #expect(e.size == 0)
            #expect(FileManager.default.fileExists(atPath: spool.path(for: e.sha256)))
        }
    }

    @Test("over maxBytes: refused, nothing left behind")
    func tooLarge() throws {
        try withTemporaryDirectory { dir in
            let spool = try Spool(root: dir.appendingPathComponent("spool").path)
            expectFluxError("spool-size") { _ = try spool.store(file: Corpus.root + "/" + Corpus.frCII, maxBytes: 1000) }
            #expect(try Self.files(in: spool).isEmpty)
            #expect(try Self.tmpEntries(spool).isEmpty)
        }
    }

    @Test("a missing source: spool-read")
    func missingSource() throws {
        try withTemporaryDirectory { dir in
            let spool = try Spool(root: dir.appendingPathComponent("spool").path)
            expectFluxError("spool-read") { _ = try spool.store(file: dir.appendingPathComponent("nope.xml").path) }
            #expect(try Self.tmpEntries(spool).isEmpty)
        }
    }

    @Test("reopening a spool keeps what is there")
    func reopen() throws {
        try withTemporaryDirectory { dir in
            let root = dir.appendingPathComponent("spool").path
            let e = try Spool(root: root).store(data: Data("hello".utf8))
            let again = try Spool(root: root)
            #expect(FileManager.default.contents(atPath: again.path(for: e.sha256)) == Data("hello".utf8))
            #expect(try again.store(data: Data("hello".utf8)) == e)
        }
    }

    @Test("both commit orders store, dedupe and clean up alike", arguments: [true, false])
    func commitOrders(renameFirst: Bool) throws {
        try withTemporaryDirectory { dir in
            let spool = try Spool(root: dir.appendingPathComponent("spool").path, fileSyncCoversRename: renameFirst)
            #expect(spool.fileSyncCoversRename == renameFirst)
            let data = try Corpus.data(Corpus.frCII)
            let a = try spool.store(data: data)
            #expect(a == SpoolEntry(sha256: Digest.sha256Hex(data), size: Int64(data.count)))
            #expect(try spool.store(file: Corpus.root + "/" + Corpus.frCII) == a)
            #expect(FileManager.default.contents(atPath: spool.path(for: a.sha256)) == data)
            #expect(try Self.files(in: spool) == ["\(a.sha256.prefix(2))/\(a.sha256)"])
            #expect(try Self.tmpEntries(spool).isEmpty)
        }
    }

    /// Renaming first, a power loss can leave a name whose bytes never reached the disk. The next
    /// store of that content must not take the name on trust.
    @Test("a name without its bytes is replaced by the next store of that content")
    func nameWithoutBytes() throws {
        try withTemporaryDirectory { dir in
            let spool = try Spool(root: dir.appendingPathComponent("spool").path, fileSyncCoversRename: true)
            let data = Data("<Invoice>one</Invoice>".utf8)
            let sha = Digest.sha256Hex(data)
            let path = spool.path(for: sha)
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            for leftover in [Data(), Data(count: data.count), data.prefix(5)] {
                #expect(FileManager.default.createFile(atPath: path, contents: leftover))
                #expect(try spool.store(data: data) == SpoolEntry(sha256: sha, size: Int64(data.count)))
                #expect(FileManager.default.contents(atPath: path) == data)
                #expect(try Self.tmpEntries(spool).isEmpty)
            }
            // A sound copy is kept as it is (same inode).
            let before = try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? NSNumber
            _ = try spool.store(data: data)
            #expect(try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? NSNumber == before)
        }
    }

    /// The AS2 worker's order: rename now, fsync just before the commit that refers to it.
    @Test("a deferred store is in place at once, durable after makeDurable; a second writer of the same content never replaces the first's file", arguments: [true, false])
    func deferredStore(renameFirst: Bool) throws {
        try withTemporaryDirectory { dir in
            let spool = try Spool(root: dir.appendingPathComponent("spool").path, fileSyncCoversRename: renameFirst)
            let data = try Corpus.data(Corpus.frUBL)
            let first = try spool.storeDeferred(data: data)
            #expect(first.entry == SpoolEntry(sha256: Digest.sha256Hex(data), size: Int64(data.count)))
            let path = spool.path(for: first.entry.sha256)
            #expect(FileManager.default.contents(atPath: path) == data, "readable before it is durable")
            // Where the filesystem needs fsync before rename there is nothing to defer.
            #expect(first.isDurable == !renameFirst)
            let inode = try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? NSNumber
            // The same content again while the first is not yet fsynced: the second writer checks
            // and fsyncs the first's file instead of renaming its own over it.
            let second = try spool.storeDeferred(data: data)
            #expect(second.entry == first.entry)
            #expect(second.isDurable, "checked and fsynced by the second writer")
            #expect(try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? NSNumber == inode)
            try first.makeDurable()
            try first.makeDurable()
            #expect(first.isDurable)
            #expect(try Self.files(in: spool) == ["\(first.entry.sha256.prefix(2))/\(first.entry.sha256)"])
            #expect(try Self.tmpEntries(spool).isEmpty)
        }
    }

    @Test("the order follows the filesystem: never renaming first where that is not known to be durable")
    func commitOrderDetection() throws {
        #expect(!Spool.renameDurableWithFileSync("/proc"))
        #expect(!Spool.renameDurableWithFileSync("/no/such/directory"))
        if FileManager.default.fileExists(atPath: "/dev/shm") { #expect(!Spool.renameDurableWithFileSync("/dev/shm")) }
        try withTemporaryDirectory { dir in
            let type = flux_fs_type(dir.path)
            #expect(type > 0)
            let spool = try Spool(root: dir.appendingPathComponent("spool").path)
            #expect(spool.fileSyncCoversRename == (type == 0xEF53 || type == 0x5846_5342))
        }
    }

    @Test("DurableFile writes atomically and replaces, leaving no temporary file")
    func durableFile() throws {
        try withTemporaryDirectory { dir in
            let path = dir.appendingPathComponent("receipt.xml").path
            try DurableFile.write(Data("one".utf8), to: path)
            #expect(FileManager.default.contents(atPath: path) == Data("one".utf8))
            try DurableFile.write(Data("two, longer".utf8), to: path, mode: 0o600)
            #expect(FileManager.default.contents(atPath: path) == Data("two, longer".utf8))
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["receipt.xml"])
            let perms = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber
            #expect(perms?.intValue == 0o600)
            expectFluxError("write") { try DurableFile.write(Data(), to: dir.appendingPathComponent("no/such/dir/x").path) }
        }
    }
}
