import Foundation
import Synchronization

/// Brute-force protection: scores failed logins per address and bans an address whose score
/// within the observation window reaches the threshold. A repeat ban lasts longer each time.
///
/// Pure logic behind a `Mutex`; time comes from the injected clock or the `now:` arguments, so
/// tests need no sleeping.
public final class SSHDefender: Sendable {
    /// What an address did.
    public enum Event: Sendable, Equatable {
        /// A login attempt on a user that does not exist.
        case invalidUser
        /// A failed login on an existing user.
        case failedAuth
        /// A connection refused for exceeding the unauthenticated-connections limit.
        case tooManyConnections
    }

    /// The settings this defender applies.
    public let settings: SSHDefenderSettings
    private let clock: @Sendable () -> Date
    private let state = Mutex(State())

    private struct Host {
        var scores: [(at: Date, score: Int)] = []
        var bannedUntil: Date?
        var bans = 0
        var lastSeen: Date
    }

    private struct State {
        var hosts: [String: Host] = [:]
        var recordsSincePrune = 0
    }

    /// Creates a defender; `clock` supplies "now" for the overloads without a `now:` argument.
    public init(settings: SSHDefenderSettings = SSHDefenderSettings(), clock: @escaping @Sendable () -> Date = { Date() }) {
        self.settings = settings
        self.clock = clock
    }

    /// Whether connections from `address` are to be dropped now.
    public func isBanned(_ address: String) -> Bool {
        isBanned(address, now: clock())
    }

    /// Whether connections from `address` are to be dropped at `now`.
    public func isBanned(_ address: String, now: Date) -> Bool {
        bannedUntil(address, now: now) != nil
    }

    /// End of the current ban of `address`, or nil when it is not banned at the clock's now.
    public func bannedUntil(_ address: String) -> Date? {
        bannedUntil(address, now: clock())
    }

    /// End of the current ban of `address`, or nil when it is not banned at `now`.
    public func bannedUntil(_ address: String, now: Date) -> Date? {
        guard settings.enabled else { return nil }
        return state.withLock { state in
            guard let until = state.hosts[address]?.bannedUntil, until > now else { return nil }
            return until
        }
    }

    /// Scores `event` for `address` at the clock's now; true if this banned the address.
    @discardableResult
    public func record(_ address: String, event: Event) -> Bool {
        record(address, event: event, now: clock())
    }

    /// Scores `event` for `address`; true if this banned it.
    @discardableResult
    public func record(_ address: String, event: Event, now: Date) -> Bool {
        guard settings.enabled else { return false }
        let score: Int
        switch event {
        case .invalidUser: score = settings.scoreInvalidUser
        case .failedAuth: score = settings.scoreFailedAuth
        case .tooManyConnections: score = settings.scoreTooManyConnections
        }
        let settings = self.settings
        return state.withLock { state in
            state.recordsSincePrune += 1
            if state.recordsSincePrune >= 256 || (state.hosts[address] == nil && state.hosts.count >= settings.maxTrackedAddresses) {
                Self.prune(&state, now: now, settings: settings)
            }
            var host = state.hosts[address] ?? Host(lastSeen: now)
            host.lastSeen = now
            if let until = host.bannedUntil, until > now {
                state.hosts[address] = host
                return false
            }
            let windowStart = now.addingTimeInterval(-settings.observationWindow)
            host.scores.removeAll { $0.at < windowStart }
            host.scores.append((at: now, score: score))
            let total = host.scores.reduce(0) { $0 + $1.score }
            guard total >= settings.threshold else {
                state.hosts[address] = host
                return false
            }
            // A ban that follows a recent one (still remembered) is a repeat and grows.
            let isRepeat = host.bans > 0 && host.bannedUntil.map { now.timeIntervalSince($0) <= settings.banMemory } == true
            host.bans = isRepeat ? host.bans + 1 : 1
            let growth = pow(1 + max(0, settings.banTimeIncrementPercent) / 100, Double(min(host.bans - 1, 64)))
            let duration = min(settings.banTime * growth, 30 * 86_400)
            host.bannedUntil = now.addingTimeInterval(duration)
            host.scores = []
            state.hosts[address] = host
            return true
        }
    }

    /// Lifts the ban of `address` and forgets its scores (for an administrator).
    public func unban(_ address: String) {
        _ = state.withLock { $0.hosts.removeValue(forKey: address) }
    }

    /// Addresses banned at the clock's now.
    public var bannedCount: Int {
        let now = clock()
        return state.withLock { state in
            state.hosts.values.reduce(0) { count, host in
                count + ((host.bannedUntil.map { $0 > now } ?? false) ? 1 : 0)
            }
        }
    }

    /// Addresses with a score, a ban or a remembered ban.
    public var trackedCount: Int {
        state.withLock { $0.hosts.count }
    }

    /// Drops entries with nothing left to remember; if still over the limit, the least recently
    /// seen unbanned ones.
    private static func prune(_ state: inout State, now: Date, settings: SSHDefenderSettings) {
        state.recordsSincePrune = 0
        let windowStart = now.addingTimeInterval(-settings.observationWindow)
        state.hosts = state.hosts.filter { _, host in
            if let until = host.bannedUntil, now.timeIntervalSince(until) <= settings.banMemory { return true }
            return host.scores.contains { $0.at >= windowStart }
        }
        let excess = state.hosts.count - max(0, settings.maxTrackedAddresses - 1)
        guard excess > 0 else { return }
        let evictable = state.hosts
            .filter { $0.value.bannedUntil.map { $0 <= now } ?? true }
            .sorted { $0.value.lastSeen < $1.value.lastSeen }
            .prefix(excess)
        for (address, _) in evictable {
            state.hosts.removeValue(forKey: address)
        }
    }
}
