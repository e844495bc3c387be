import AsyncHTTPClient
import FluxCore
import FluxStore
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization

/// Delivers async MDNs from the durable outbox (`mdn_outbox`): POST to the URL the partner
/// gave (already checked against its allow-list), retried with doubling delays, given up after
/// the configured attempts (journalled either way). Survives restarts: the outbox is in the
/// database and is read again at start.
public final class AsyncMDNService: Service, Sendable {
    let store: SQLiteStore
    let settings: @Sendable () -> AS2Settings?
    let logger: Logger
    let events: EventLog
    let poked = Atomic<Bool>(false)

    public init(store: SQLiteStore, settings: @escaping @Sendable () -> AS2Settings?, logger: Logger) {
        self.store = store; self.settings = settings; self.logger = logger; self.events = EventLog(logger: logger)
    }

    /// Something was queued: look now instead of at the next tick.
    public func poke() { poked.store(true, ordering: .releasing) }

    public func run() async throws {
        var config = HTTPClient.Configuration()
        config.redirectConfiguration = .disallow  // never follow the partner anywhere else (SSRF)
        let limit = TimeAmount.milliseconds(Int64((settings()?.mdnTimeout ?? 30) * 1000))
        config.timeout = .init(connect: min(limit, .seconds(10)), read: limit)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            poked.store(false, ordering: .relaxed)
            await deliverDue(client)
            // Sleep until the next MDN is due (at most 5 s), in short steps so a new one queued
            // meanwhile goes out at once.
            let wait = min(5, (try? store.nextAsyncMDNDue()).flatMap { $0 } ?? 5)
            let until = Date().addingTimeInterval(wait)
            while Date() < until && !poked.load(ordering: .acquiring) && !Task.isShuttingDownGracefully && !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        try? await client.shutdown()
    }

    func deliverDue(_ client: HTTPClient) async {
        guard let s = settings() else { return }
        let due: [PendingAsyncMDN]
        do { due = try store.dueAsyncMDNs() } catch {
            logger.error("cannot read the async MDN outbox", metadata: ["error": "\(error)"]); return
        }
        for p in due {
            var request = HTTPClientRequest(url: p.url)
            request.method = .POST
            for h in p.mdn.headers { request.headers.add(name: h.name, value: h.value) }
            request.headers.replaceOrAdd(name: "Content-Length", value: "\(p.mdn.body.count)")
            request.body = .bytes(ByteBuffer(data: p.mdn.body))
            var failure: String?
            do {
                let response = try await client.execute(request, timeout: .milliseconds(Int64(s.mdnTimeout * 1000)))
                _ = try? await response.body.collect(upTo: 64 * 1024)
                if !(200..<300).contains(response.status.code) { failure = "HTTP \(response.status.code)" }
            } catch {
                failure = "\(error)"
            }
            if failure == nil { CrashPoint.hit("mdn.async.sent") }
            let attempts = p.attempts + 1
            let retryAt: Date? = attempts >= s.mdnMaxAttempts ? nil
                : Date().addingTimeInterval(min(s.mdnRetryDelay * pow(2, Double(min(attempts - 1, 30))), s.mdnMaxRetryDelay))
            do {
                if let entry = try store.asyncMDNAttempt(p, error: failure, retryAt: retryAt) { events.journal(entry) }
            } catch {
                logger.error("cannot record an async MDN attempt", metadata: ["as2_id": "\(p.as2ID)", "error": "\(error)"])
            }
            if let failure {
                logger.warning("async MDN delivery failed", metadata: ["as2_id": "\(p.as2ID)", "url": "\(p.url)", "attempt": "\(attempts)",
                                                                      "error": "\(failure)", "retry": "\(retryAt.map { "\($0)" } ?? "given up")"])
            }
        }
    }
}
