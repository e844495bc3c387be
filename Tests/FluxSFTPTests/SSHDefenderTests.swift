import Foundation
import Synchronization
import Testing
@testable import FluxSFTP

/// SSHDefender as pure logic: an injected clock, no sockets, no sleeping.
@Suite("SSH defender")
struct SSHDefenderTests {
    final class Clock: Sendable {
        private let value = Mutex(Date(timeIntervalSince1970: 1_700_000_000))
        var now: Date { value.withLock { $0 } }
        func advance(_ seconds: Double) { value.withLock { $0 = $0.addingTimeInterval(seconds) } }
    }

    static func defender(_ configure: (inout SSHDefenderSettings) -> Void = { _ in }) -> (SSHDefender, Clock) {
        var settings = SSHDefenderSettings()
        configure(&settings)
        let clock = Clock()
        return (SSHDefender(settings: settings, clock: { clock.now }), clock)
    }

    @Test("Failed logins up to the threshold ban; the ban ends after banTime")
    func banAtThreshold() {
        let (defender, clock) = Self.defender()
        for attempt in 1...9 {
            #expect(!defender.record("192.0.2.1", event: .failedAuth), "attempt \(attempt)")
            clock.advance(1)
        }
        #expect(!defender.isBanned("192.0.2.1"))
        #expect(defender.record("192.0.2.1", event: .failedAuth))
        #expect(defender.isBanned("192.0.2.1"))
        #expect(!defender.isBanned("192.0.2.2"))
        #expect(defender.bannedCount == 1)
        #expect(defender.bannedUntil("192.0.2.1", now: clock.now) == clock.now.addingTimeInterval(300))

        clock.advance(299)
        #expect(defender.isBanned("192.0.2.1"))
        clock.advance(2)
        #expect(!defender.isBanned("192.0.2.1"))
        #expect(defender.bannedCount == 0)
    }

    @Test("Scores older than the observation window no longer count")
    func observationWindow() {
        let (defender, clock) = Self.defender()
        for _ in 0..<9 {
            defender.record("192.0.2.1", event: .failedAuth)
        }
        clock.advance(121)
        #expect(!defender.record("192.0.2.1", event: .failedAuth))
        #expect(!defender.isBanned("192.0.2.1"))
    }

    @Test("Unknown users and connection floods weigh more than a failed login")
    func weights() {
        let (defender, _) = Self.defender()
        for _ in 0..<4 { defender.record("192.0.2.1", event: .invalidUser) }
        #expect(!defender.isBanned("192.0.2.1"))
        #expect(defender.record("192.0.2.1", event: .invalidUser))

        for _ in 0..<3 { defender.record("192.0.2.3", event: .tooManyConnections) }
        #expect(!defender.isBanned("192.0.2.3"))
        #expect(defender.record("192.0.2.3", event: .tooManyConnections))
    }

    @Test("A repeat ban lasts 50% longer each time; after banMemory it starts over")
    func growingBan() {
        let (defender, clock) = Self.defender { $0.threshold = 1 }
        var durations: [Double] = []
        for _ in 0..<3 {
            #expect(defender.record("192.0.2.1", event: .failedAuth))
            let until = defender.bannedUntil("192.0.2.1", now: clock.now)!
            durations.append(until.timeIntervalSince(clock.now))
            clock.advance(until.timeIntervalSince(clock.now) + 1)
        }
        #expect(durations == [300, 450, 675])

        clock.advance(86_401)
        #expect(defender.record("192.0.2.1", event: .failedAuth))
        #expect(defender.bannedUntil("192.0.2.1", now: clock.now)!.timeIntervalSince(clock.now) == 300)
    }

    @Test("Recording while banned neither extends nor re-bans")
    func recordWhileBanned() {
        let (defender, clock) = Self.defender { $0.threshold = 1 }
        #expect(defender.record("192.0.2.1", event: .failedAuth))
        let until = defender.bannedUntil("192.0.2.1", now: clock.now)
        clock.advance(10)
        #expect(!defender.record("192.0.2.1", event: .failedAuth))
        #expect(defender.bannedUntil("192.0.2.1", now: clock.now) == until)
    }

    @Test("Disabled: nothing is scored or banned")
    func disabled() {
        let (defender, _) = Self.defender { $0.enabled = false; $0.threshold = 1 }
        #expect(!defender.record("192.0.2.1", event: .invalidUser))
        #expect(!defender.isBanned("192.0.2.1"))
        #expect(defender.trackedCount == 0)
    }

    @Test("unban lifts a ban")
    func unban() {
        let (defender, _) = Self.defender { $0.threshold = 1 }
        defender.record("192.0.2.1", event: .failedAuth)
        defender.unban("192.0.2.1")
        #expect(!defender.isBanned("192.0.2.1"))
    }

    @Test("Memory stays bounded: beyond maxTrackedAddresses the oldest unbanned addresses are forgotten, bans kept")
    func bounded() {
        let (defender, clock) = Self.defender { $0.maxTrackedAddresses = 3; $0.threshold = 2 }
        defender.record("198.51.100.1", event: .invalidUser)  // banned
        for index in 2...10 {
            clock.advance(1)
            defender.record("198.51.100.\(index)", event: .failedAuth)
        }
        #expect(defender.trackedCount <= 3)
        #expect(defender.isBanned("198.51.100.1"))
    }

    @Test("Concurrent recording from many threads loses no score")
    func concurrent() async {
        let (defender, _) = Self.defender { $0.threshold = 1000 }
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for _ in 0..<124 { defender.record("192.0.2.9", event: .failedAuth) }
                }
            }
        }
        #expect(!defender.isBanned("192.0.2.9"))
        #expect(defender.record("192.0.2.9", event: .failedAuth) == false)
        for _ in 0..<7 { defender.record("192.0.2.9", event: .failedAuth) }
        #expect(defender.isBanned("192.0.2.9"))
    }
}
