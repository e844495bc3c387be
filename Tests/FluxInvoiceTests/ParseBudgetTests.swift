@testable import FluxInvoice
import Foundation
import Synchronization
import Testing

@Suite("ParseBudget: bytes of XML parsed at once")
struct ParseBudgetTests {
    @Test("concurrent reservations never exceed the capacity; an oversized one runs alone")
    func neverOverCapacity() {
        let budget = ParseBudget(capacity: 64)
        let state = Mutex((current: Int64(0), peak: Int64(0), oversizedNotAlone: 0))
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            var rng = SystemRandomNumberGenerator()
            for i in 0..<40 {
                // every 10th request asks for more than the whole budget
                let want: Int64 = i % 10 == worker % 10 ? 1_000 : Int64.random(in: 1...40, using: &rng)
                let held = min(want, 64)
                budget.withReservation(want) {
                    state.withLock { s in
                        s.current += held
                        s.peak = max(s.peak, s.current)
                        if want > 64 && s.current != 64 { s.oversizedNotAlone += 1 }
                    }
                    usleep(200)
                    state.withLock { $0.current -= held }
                }
            }
        }
        let s = state.withLock { $0 }
        #expect(s.peak <= 64)
        #expect(s.current == 0)
        #expect(s.oversizedNotAlone == 0)
    }

    @Test("a large request waiting for room is not overtaken by smaller ones that came later")
    func firstComeFirstServed() throws {
        let reported = Atomic<Int>(0)
        let budget = ParseBudget(capacity: 100) { reported.add(1, ordering: .relaxed) }
        let order = Mutex<[String]>([])
        let release = DispatchSemaphore(value: 0)
        let done = DispatchGroup()
        func start(_ name: String, _ bytes: Int64, hold: Bool = false) {
            DispatchQueue.global().async(group: done) {
                budget.withReservation(bytes) {
                    order.withLock { $0.append(name) }
                    if hold { release.wait() }
                }
            }
        }
        start("holder", 60, hold: true)
        try waitUntil { order.withLock { $0 } == ["holder"] }
        start("large", 100)
        try waitUntil { budget.waits == 1 }
        // 30 would fit beside the holder, but the large request came first
        start("small", 30)
        try waitUntil { budget.waits == 2 }
        release.signal()
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(order.withLock { $0 } == ["holder", "large", "small"])
        #expect(reported.load(ordering: .relaxed) == 2, "each reservation that waited is reported once")
    }

    @Test("the inspector's verdicts are the same with a budget, even one smaller than the document")
    func inspectorWithBudget() throws {
        let tiny = FluxInspector(parseBudget: ParseBudget(capacity: 1))
        let plain = FluxInspector()
        for file in [Corpus.frCII, Corpus.frUBL] {
            let a = tiny.inspect(path: Corpus.path(file), fileName: "x.xml")
            let b = plain.inspect(path: Corpus.path(file), fileName: "x.xml")
            #expect(a.fluxAccepted && b.fluxAccepted)
            #expect(a.items.map(\.facts.number) == b.items.map(\.facts.number))
            #expect(a.items.map(\.anomalies.count) == b.items.map(\.anomalies.count))
        }
        // many deposits at once through a budget that holds one document: every one is understood
        let shared = FluxInspector(parseBudget: ParseBudget(capacity: 10_000))
        let accepted = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 16) { i in
            let r = shared.inspect(path: Corpus.path(i % 2 == 0 ? Corpus.frCII : Corpus.frUBL), fileName: "x\(i).xml")
            if r.fluxAccepted && r.items.count == 1 { accepted.add(1, ordering: .relaxed) }
        }
        #expect(accepted.load(ordering: .relaxed) == 16)
    }

    private func waitUntil(_ cond: () -> Bool) throws {
        for _ in 0..<1_000 {
            if cond() { return }
            usleep(5_000)
        }
        throw ParseBudgetTestTimeout()
    }
}

private struct ParseBudgetTestTimeout: Error {}
