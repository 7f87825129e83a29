// Pacing: deadlines come from the tick number, so there is no drift; a late source skips, never bursts.
import Capture
import Testing

struct PacerTests {
    @Test func deadlinesDoNotDriftOverTenMinutes() {
        var pacer = Pacer(fps: 30, start: 1_000)
        var now: UInt64 = 1_000
        var last = (tick: UInt64(0), deadline: UInt64(0))
        for _ in 0..<(30 * 600) {
            last = pacer.next(now: now)
            now = last.deadline    // an on-time source
        }
        #expect(last.tick == 30 * 600 - 1)
        // Tick 17999 is due at exactly 17999/30 s after start, to the nanosecond (rounded).
        #expect(last.deadline == 1_000 + 599_966_666_667)
        #expect(pacer.skippedTicks == 0)
    }

    @Test func fractionalFrameRatesKeepExactSpacing() {
        let pacer = Pacer(fps: 12.5, start: 0)
        #expect(pacer.deadline(of: 1) == 80_000_000)
        #expect(pacer.deadline(of: 125) == 10_000_000_000)
    }

    @Test func aLateSourceSkipsMissedTicksInsteadOfBursting() {
        var pacer = Pacer(fps: 10, start: 0)
        _ = pacer.next(now: 0)                          // tick 0 at 0
        let late = pacer.next(now: 550_000_000)         // tick 1 was due at 100 ms; we are at 550 ms
        #expect(late.tick == 5)
        #expect(late.deadline == 500_000_000)
        #expect(pacer.skippedTicks == 4)
        let next = pacer.next(now: 560_000_000)
        #expect(next.tick == 6 && next.deadline == 600_000_000)
    }

    @Test func slightlyLateTicksAreStillProduced() {
        var pacer = Pacer(fps: 10, start: 0)
        _ = pacer.next(now: 0)
        let tick = pacer.next(now: 150_000_000)         // 50 ms late: less than one interval
        #expect(tick.tick == 1)
        #expect(pacer.skippedTicks == 0)
    }
}
