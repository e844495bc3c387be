import FluxCore
@testable import FluxStore
import Foundation
import GRDB
import Testing

/// The store's promise: a committed deposit survives power loss, which in WAL mode takes
/// `synchronous = FULL` on the connection that writes (under NORMAL, commits are not fsynced).
/// GRDB's DatabasePool sets NORMAL on its writer after the configuration's `prepareDatabase` has
/// run, which silently undid ours until stop 19.
@Suite("Store durability settings")
struct StoreDurabilityTests {
    static func writerSettings(_ store: SQLiteStore) throws -> (synchronous: Int, journalMode: String) {
        try store.pool.writeWithoutTransaction { db in
            (try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1, try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "")
        }
    }

    @Test("the writer runs WAL with synchronous = FULL, on a new database and on a reopened one")
    func writerIsFull() throws {
        try withTemporaryDirectory { dir in
            let path = dir.appendingPathComponent("store.sqlite").path
            do {
                let store = try SQLiteStore(path: path, signer: { testSignature($0) })
                let s = try Self.writerSettings(store)
                #expect(s.synchronous == 2, "PRAGMA synchronous on the writer: 2 is FULL, 1 NORMAL")
                #expect(s.journalMode == "wal")
                // The group committer's transactions run on that same connection.
                let viaCommitter = try store.committer.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
                #expect(viaCommitter == 2)
            }
            let reopened = try SQLiteStore(path: path, signer: { testSignature($0) })
            #expect(try Self.writerSettings(reopened).synchronous == 2)
        }
    }

    @Test("WAL checkpoints run from a connection of their own; the writer's own threshold is only a fallback")
    func checkpointsOffTheWriter() throws {
        try withTemporaryDirectory { dir in
            let store = try SQLiteStore(path: dir.appendingPathComponent("store.sqlite").path, signer: { testSignature($0) })
            let threshold = try store.pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint") }
            #expect(threshold == SQLiteStore.writerCheckpointPages)
            // Commits that the writer (threshold 10,000 pages) leaves in the WAL.
            try store.pool.write { db in try db.execute(sql: "CREATE TABLE filler (b BLOB)") }
            for _ in 0..<50 {
                try store.pool.write { db in try db.execute(sql: "INSERT INTO filler VALUES (zeroblob(16384))") }
            }
            let first = try store.checkpointWAL()
            #expect(first.frames > 50, "the commits are in the WAL (\(first.frames) frames)")
            #expect(first.checkpointed == first.frames, "no reader holds it back: every frame is copied")
            // The database file now holds the rows: a fresh connection reading only it agrees.
            let count = try store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM filler") }
            #expect(count == 50)
            // Idempotent, and the next writes restart the WAL from its beginning.
            try store.pool.write { db in try db.execute(sql: "INSERT INTO filler VALUES (zeroblob(16384))") }
            let second = try store.checkpointWAL()
            #expect(second.frames < first.frames, "the WAL restarted after a complete checkpoint (\(second.frames) frames)")
            #expect(second.checkpointed == second.frames)
        }
    }

    /// A reader has been used (the pool keeps it open) and no checkpoint connection exists yet:
    /// the case where the pool's read-only reader would otherwise close last and keep the WAL.
    @Test("close removes the WAL even while the store is still referenced; later uses fail at once")
    func closeRemovesTheWAL() throws {
        try withTemporaryDirectory { dir in
            let path = dir.appendingPathComponent("store.sqlite").path
            let store = try SQLiteStore(path: path, signer: { testSignature($0) })
            try store.committer.write { db in try db.execute(sql: "CREATE TABLE filler (b BLOB)") }
            try store.committer.write { db in try db.execute(sql: "INSERT INTO filler VALUES (zeroblob(4096))") }
            try store.pool.read { db in _ = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM filler") }
            #expect(FileManager.default.fileExists(atPath: path + "-wal"))
            try store.close()
            #expect(!FileManager.default.fileExists(atPath: path + "-wal"), "the last connection checkpointed and removed the WAL")
            #expect(!FileManager.default.fileExists(atPath: path + "-shm"))
            // A caller after the close gets an error instead of waiting for a thread that is gone.
            #expect(throws: DatabaseError.self) { try store.committer.write { db in try db.execute(sql: "INSERT INTO filler VALUES (1)") } }
            #expect(throws: DatabaseError.self) { try store.checkpointWAL() }
            // Everything committed is in the database file.
            let reopened = try SQLiteStore(path: path, signer: { testSignature($0) })
            #expect(try reopened.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM filler") } == 1)
        }
    }
}
