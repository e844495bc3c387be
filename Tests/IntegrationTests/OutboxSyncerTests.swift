import FluxCore
import FluxStore
@testable import FluxGateway
import Foundation
import Logging
import Synchronization
import Testing

/// The receipts written without fsyncs are reported durable only by a `syncfs` that started
/// after they were written, and a failed one reports them failed: the two facts the delivery
/// marks rely on (`OutboxSyncer`).
@Suite("Outbox syncs shared by the receipts of a round")
struct OutboxSyncerTests {
    final class Rounds: Sendable {
        let reported = Mutex<[(ids: [String], error: String?)]>([])
        func done(_ ids: [String], _ error: FluxError?) { reported.withLock { $0.append((ids, error?.code)) } }
        var all: [(ids: [String], error: String?)] { reported.withLock { $0 } }
        func wait(for count: Int) -> Bool {
            for _ in 0..<1000 where all.count < count { usleep(5000) }
            return all.count >= count
        }
    }

    @Test("receipts written while a sync runs wait for the next one, which serves them all")
    func laterWritesJoinTheNextRound() throws {
        let gate = DispatchSemaphore(value: 0)
        let calls = Atomic<Int>(0)
        let syncer = OutboxSyncer(logger: Logger(label: "test"), gather: .zero) { _ in
            if calls.add(1, ordering: .sequentiallyConsistent).newValue == 1 { gate.wait() }
            return nil
        }
        let rounds = Rounds()
        let dir = NSTemporaryDirectory()
        syncer.add("A", directory: dir, epoch: syncer.epoch, done: rounds.done)
        for _ in 0..<1000 where calls.load(ordering: .sequentiallyConsistent) == 0 { usleep(1000) }
        // A's sync is running: B and C were written after it started, so it cannot cover them
        syncer.add("B", directory: dir, epoch: syncer.epoch, done: rounds.done)
        syncer.add("C", directory: dir, epoch: syncer.epoch, done: rounds.done)
        usleep(50_000)
        #expect(rounds.all.isEmpty, "nothing is durable before its sync returns")
        #expect(!syncer.idle)
        gate.signal()
        #expect(rounds.wait(for: 2))
        #expect(rounds.all.map(\.ids) == [["A"], ["B", "C"]])
        #expect(rounds.all.allSatisfy { $0.error == nil })
        #expect(calls.load(ordering: .sequentiallyConsistent) == 2)
        for _ in 0..<1000 where !syncer.idle { usleep(1000) }
        #expect(syncer.idle)
    }

    @Test("a failed sync reports its receipts failed; the next round syncs again")
    func failureIsReportedNotRetried() throws {
        let calls = Atomic<Int>(0)
        let syncer = OutboxSyncer(logger: Logger(label: "test"), gather: .zero) { dir in
            calls.add(1, ordering: .sequentiallyConsistent).newValue == 1 ? FluxError("syncfs", "syncfs of \(dir) failed: Input/output error") : nil
        }
        let rounds = Rounds()
        syncer.add("A", directory: NSTemporaryDirectory(), epoch: syncer.epoch, done: rounds.done)
        #expect(rounds.wait(for: 1))
        syncer.add("B", directory: NSTemporaryDirectory(), epoch: syncer.epoch, done: rounds.done)
        #expect(rounds.wait(for: 2))
        #expect(rounds.all.map(\.ids) == [["A"], ["B"]])
        #expect(rounds.all.map(\.error) == ["syncfs", nil])
    }

    @Test("a receipt written before a failed sync ended fails, even if its own round succeeds")
    func writtenBeforeAFailureFails() throws {
        let calls = Atomic<Int>(0)
        let syncer = OutboxSyncer(logger: Logger(label: "test"), gather: .zero) { _ in
            calls.add(1, ordering: .sequentiallyConsistent).newValue == 1 ? FluxError("syncfs", "syncfs failed: Input/output error") : nil
        }
        let rounds = Rounds()
        let epochOfB = syncer.epoch  // B's files are written now; the failing sync may have taken them
        syncer.add("A", directory: NSTemporaryDirectory(), epoch: syncer.epoch, done: rounds.done)
        #expect(rounds.wait(for: 1))
        syncer.add("B", directory: NSTemporaryDirectory(), epoch: epochOfB, done: rounds.done)
        #expect(rounds.wait(for: 2))
        syncer.add("C", directory: NSTemporaryDirectory(), epoch: syncer.epoch, done: rounds.done)
        #expect(rounds.wait(for: 3))
        #expect(rounds.all.map(\.ids) == [["A"], ["B"], ["C"]])
        #expect(rounds.all.map(\.error) == ["syncfs", "syncfs", nil], "B's round synced fine, but B was written before the failure")
        #expect(calls.load(ordering: .sequentiallyConsistent) == 3)
    }

    @Test("a round syncs the directories of all its receipts in one call")
    func oneCallPerRound() throws {
        let gate = DispatchSemaphore(value: 0)
        let calls = Mutex<[Set<String>]>([])
        let syncer = OutboxSyncer(logger: Logger(label: "test"), gather: .zero) { dirs in
            let n = calls.withLock { $0.append(dirs); return $0.count }
            if n == 1 { gate.wait() }
            return nil
        }
        let rounds = Rounds()
        syncer.add("first", directory: "/o/p0", epoch: syncer.epoch, done: rounds.done)
        for _ in 0..<1000 where calls.withLock({ $0.isEmpty }) { usleep(1000) }
        for i in 0..<3 { syncer.add("r\(i)", directory: "/o/p\(i)", epoch: syncer.epoch, done: rounds.done) }
        gate.signal()
        #expect(rounds.wait(for: 2))
        #expect(calls.withLock { $0 } == [["/o/p0"], ["/o/p0", "/o/p1", "/o/p2"]])
        #expect(Set(rounds.all[1].ids) == ["r0", "r1", "r2"])
    }

    @Test("syncfs: one descriptor per filesystem, kept; a missing directory is a specific error")
    func realSyncfs() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("outboxes-\(UUID().uuidString)")
        let dirs = (0..<3).map { base.appendingPathComponent("p\($0)/outbox").path }
        for d in dirs { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        defer { try? FileManager.default.removeItem(at: base) }
        let fs = FileSystemSync()
        #expect(fs.sync(dirs) == nil)
        #expect(fs.sync(dirs) == nil)
        #expect(fs.filesystems == 1, "three directories of one filesystem share one descriptor")
        #expect(fs.sync([dirs[0], "/nonexistent-\(UUID().uuidString)"])?.code == "syncfs")
    }
}
