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

    @Test("the limit is the configured concurrency beside clients, wider but within the pool otherwise")
    func limits() {
        #expect(IntakeService.inFlightLimit(concurrency: 4, clientsWaiting: true) == 4)
        #expect(IntakeService.inFlightLimit(concurrency: 4, clientsWaiting: false) == 4 * IntakeService.waitingPerWorker)
        #expect(IntakeService.inFlightLimit(concurrency: 24, clientsWaiting: false) == Blocking.threads - 4)
        #expect(IntakeService.inFlightLimit(concurrency: 24, clientsWaiting: true) == 24)
        #expect(IntakeService.inFlightLimit(concurrency: 1, clientsWaiting: false) == IntakeService.waitingPerWorker)
    }
}
