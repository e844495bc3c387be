@testable import FluxGateway
import Foundation
import Testing

/// How many deposits the intake keeps in flight: wide when only drop zones feed it (the waits
/// share group commits), narrow while SFTP or AS2 clients wait on the gateway.
@Suite("Intake width beside waiting clients")
struct IntakeWidthTests {
    @Test("a client event narrows the intake for the window, then it widens again")
    func foregroundWindow() throws {
        let activity = ForegroundActivity(windowSeconds: 0.05)
        #expect(!activity.recent, "nothing happened yet")
        activity.touch()
        #expect(activity.recent)
        // Bounded: the window is 50 ms; give it up to 2 s on a loaded machine.
        var waited = 0
        while activity.recent, waited < 200 { usleep(10_000); waited += 1 }
        #expect(!activity.recent, "still narrow \(waited * 10) ms after a 50 ms window")
    }

    @Test("one deposit at a time beside clients, the configured concurrency once the queue lags, wide otherwise")
    func limits() {
        let lagging = IntakeService.maxForegroundLag + 0.1
        #expect(IntakeService.inFlightLimit(concurrency: 4, clientsWaiting: true, lag: 0) == 1)
        #expect(IntakeService.inFlightLimit(concurrency: 4, clientsWaiting: true, lag: lagging) == 4)
        #expect(IntakeService.inFlightLimit(concurrency: 4, clientsWaiting: false, lag: 0) == 4 * IntakeService.waitingPerWorker)
        #expect(IntakeService.inFlightLimit(concurrency: 4, clientsWaiting: false, lag: lagging) == 4 * IntakeService.waitingPerWorker)
        #expect(IntakeService.inFlightLimit(concurrency: 24, clientsWaiting: false, lag: 0) == Blocking.threads - 4)
        #expect(IntakeService.inFlightLimit(concurrency: 24, clientsWaiting: true, lag: lagging) == 24)
        #expect(IntakeService.inFlightLimit(concurrency: 1, clientsWaiting: false, lag: 0) == IntakeService.waitingPerWorker)
    }
}
