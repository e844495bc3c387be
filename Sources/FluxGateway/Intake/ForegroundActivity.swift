import Foundation
import Synchronization

/// When a client last waited on the gateway (an SFTP upload handed over, an AS2 request).
/// The intake widens to more deposits in flight only when none did recently: deposits waiting
/// on the disk then share group commits, but beside a waiting client those same waits (and
/// their fsyncs) queue in front of the client's own.
public final class ForegroundActivity: Sendable {
    let last = Atomic<UInt64>(0)
    /// How long after the last client event the intake stays narrow.
    let window: UInt64

    public init(windowSeconds: Double = 0.5) {
        window = UInt64(windowSeconds * 1e9)
    }

    public func touch() {
        last.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed)
    }

    public var recent: Bool {
        let t = last.load(ordering: .relaxed)
        return t != 0 && DispatchTime.now().uptimeNanoseconds &- t < window
    }
}
