import Foundation

/// Bounds the bytes of XML being parsed at once across concurrent deposits. A libxml2 tree costs
/// several times its document, so with many intake workers (they are there to overlap disk
/// waits) a few large files arriving together could otherwise hold that many trees at once.
/// Small invoices pass straight through; a document larger than the whole budget parses alone.
///
/// Admission is first come, first served: a large document waiting for room is not overtaken
/// forever by a stream of small ones, which wait behind it only until it fits.
public final class ParseBudget: @unchecked Sendable {  // every mutable field is guarded by `condition`
    public let capacity: Int64
    private let condition = NSCondition()
    private var reserved: Int64 = 0
    private var nextTicket: UInt64 = 0
    private var serving: UInt64 = 0
    private var waitCount: Int = 0
    /// Called (outside the lock) for each reservation that had to wait: a metric, so operators
    /// see large documents queueing.
    private let onWait: @Sendable () -> Void

    public init(capacity: Int64, onWait: @escaping @Sendable () -> Void = {}) {
        self.capacity = max(1, capacity)
        self.onWait = onWait
    }

    /// Runs `body` holding `bytes` of the budget (clamped to 1...capacity), waiting for room first.
    public func withReservation<R>(_ bytes: Int64, _ body: () throws -> R) rethrows -> R {
        let n = min(max(bytes, 1), capacity)
        condition.lock()
        let ticket = nextTicket
        nextTicket &+= 1
        let waited = ticket != serving || reserved + n > capacity
        if waited { waitCount += 1 }
        while ticket != serving || reserved + n > capacity { condition.wait() }
        reserved += n
        serving &+= 1
        condition.broadcast()  // the next ticket may fit too
        condition.unlock()
        if waited { onWait() }
        defer {
            condition.lock()
            reserved -= n
            condition.broadcast()
            condition.unlock()
        }
        return try body()
    }

    /// How many reservations had to wait (for tests and diagnostics).
    public var waits: Int {
        condition.lock()
        defer { condition.unlock() }
        return waitCount
    }
}
