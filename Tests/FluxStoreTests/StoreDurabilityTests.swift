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
}
