import FluxAS2
import FluxStore
import Foundation
import Metrics
import Prometheus
import Synchronization

/// The gateway's Prometheus metrics, registered once per process.
public enum Metrics {
    public static let registry = PrometheusCollectorRegistry()

    /// Routes swift-metrics into the registry (only `serve` calls this).
    public static func bootstrap() {
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
    }

    static func deposit(_ o: DepositOutcome) {
        guard !o.alreadyRecorded else { return }
        Counter(label: "flux_deposits_total", dimensions: [("status", o.fluxAccepted ? "accepted" : "refused")]).increment()
        for a in o.fluxAnomalies {
            Counter(label: "flux_deposits_refused_total", dimensions: [("reason", a.reasonCode)]).increment()
        }
        for i in o.items where i.facts.syntax.isInvoice {
            if i.accepted {
                Counter(label: "flux_invoices_total", dimensions: [("status", "accepted"), ("reason", "")]).increment()
            } else {
                for a in i.anomalies {
                    Counter(label: "flux_invoices_total", dimensions: [("status", "rejected"), ("reason", a.reasonCode)]).increment()
                }
            }
        }
        for _ in o.sealedBatches { Counter(label: "flux_batches_sealed_total").increment() }
    }

    static func as2(disposition: AS2Disposition) {
        let kind: String
        switch disposition {
        case .processed: kind = "processed"
        case .warning(let w): kind = "warning:\(w)"
        case .error(let m): kind = "error:\(m.rawValue)"
        case .failure: kind = "failed"
        }
        Counter(label: "flux_as2_messages_total", dimensions: [("disposition", kind)]).increment()
    }

    static func sftp(_ event: String) {
        Counter(label: "flux_sftp_events_total", dimensions: [("event", event)]).increment()
    }

    /// XML parses that waited for the parse budget (`intake.parse_budget`): large documents
    /// arriving together. Growing steadily means the budget, not the workers, sets the pace.
    static func parseBudgetWaited() {
        Counter(label: "flux_parse_budget_waits_total").increment()
    }

    static func sealed(_ n: Int) {
        for _ in 0..<n { Counter(label: "flux_batches_sealed_total").increment() }
    }

    /// Receipts written by the maintenance pass or at start-up rather than by the worker that
    /// committed them: a crash or a failed write left them committed and unwritten. Steadily 0.
    static func redelivered(_ n: Int) {
        guard n > 0 else { return }
        Counter(label: "flux_receipts_redelivered_total").increment(by: Int64(n))
    }

    static func queueDepth(_ depth: [String: Int]) {
        for s in ["open", "ready", "claimed", "acked"] {
            Gauge(label: "flux_queue_batches", dimensions: [("status", s)]).record(depth[s] ?? 0)
        }
    }

    /// Commits so far (transactions, and the deposits and AS2 exchanges they held), read from
    /// the store's group committer each maintenance pass: writes / commits is the mean group
    /// size, which shows how much the group commit saves under the current load.
    static func groupCommits(_ stats: (groups: Int, writes: Int)) {
        let delta = lastCommits.withLock { last -> (Int, Int) in
            defer { last = stats }
            return (max(0, stats.groups - last.groups), max(0, stats.writes - last.writes))
        }
        Counter(label: "flux_store_commits_total").increment(by: Int64(delta.0))
        Counter(label: "flux_store_committed_writes_total").increment(by: Int64(delta.1))
    }
    static let lastCommits = Mutex<(groups: Int, writes: Int)>((0, 0))

    /// The text exposition format.
    public static func render() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}
