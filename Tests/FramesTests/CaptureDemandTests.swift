// CaptureDemand: when the capture may idle, which frames are stale, and when the idle capture is woken.
import Frames
import Synchronization
import Testing

struct CaptureDemandTests {
    final class Wakes: Sendable {
        let count = Atomic<Int>(0)
    }

    @Test func framesAreWantedWhileAViewerIsConnectedOrTheLastDemandIsYoungerThanIdleAfter() {
        let demand = CaptureDemand(idleAfterNanos: 10)
        demand.captureStarted(now: 100)
        #expect(demand.isWanted(now: 109))
        #expect(!demand.isWanted(now: 110), "idle_after after the start with nobody")
        demand.viewersChanged(to: 1, now: 200)
        #expect(demand.isWanted(now: 10_000), "a viewer keeps it awake however long")
        demand.viewersChanged(to: 0, now: 300)
        #expect(demand.isWanted(now: 309) && !demand.isWanted(now: 310), "the countdown starts when the last viewer leaves")
        demand.touch(now: 400)
        #expect(demand.isWanted(now: 405) && !demand.isWanted(now: 411), "a snapshot is demand for idle_after")
        demand.configure(idleAfterNanos: 0, stopsCamera: true)
        #expect(demand.isWanted(now: 1_000_000) && demand.stopsCamera, "idle_after = 0 never idles")
    }

    /// Pictures (JPEGs), not just frames: H.264-only viewers (RTSP /stream) want frames but no pictures.
    @Test func picturesAreWantedByEveryViewerButAnH264OnlyOneAndForIdleAfterAfterTheLastLeaves() {
        let demand = CaptureDemand(idleAfterNanos: 10)
        demand.captureStarted(now: 100)
        #expect(demand.wantsPictures(now: 109) && !demand.wantsPictures(now: 110), "idle_after after the start")
        // One RTSP /stream viewer: frames are wanted, pictures only for idle_after after it became H.264-only.
        demand.viewersChanged(to: 1, now: 200)
        #expect(demand.wantsPictures(now: 10_000), "a viewer not yet known to be H.264-only wants pictures")
        demand.h264OnlyViewersChanged(to: 1, now: 300)
        #expect(demand.isWanted(now: 10_000) && demand.h264OnlyViewerCount == 1)
        #expect(demand.wantsPictures(now: 309) && !demand.wantsPictures(now: 310), "the countdown starts when it went H.264-only")
        // A JPEG viewer joins: pictures for as long as it stays, and idle_after after it leaves.
        demand.viewersChanged(to: 2, now: 400)
        #expect(demand.wantsPictures(now: 10_000))
        demand.viewersChanged(to: 1, now: 500)
        #expect(demand.wantsPictures(now: 509) && !demand.wantsPictures(now: 510))
        // A snapshot wants a picture: idle_after of them.
        demand.touch(now: 600)
        #expect(demand.wantsPictures(now: 609) && !demand.wantsPictures(now: 610))
        // idle_after = 0 (never idle): pictures always.
        demand.configure(idleAfterNanos: 0, stopsCamera: false)
        #expect(demand.wantsPictures(now: 1_000_000))
        demand.configure(idleAfterNanos: 10, stopsCamera: false)
        // The RTSP viewer describes /mjpeg instead: it wants pictures again.
        demand.h264OnlyViewersChanged(to: 0, now: 700)
        #expect(demand.wantsPictures(now: 10_000))
        // Stale marking without idling (pictures paused).
        demand.markStale(through: 77)
        #expect(demand.isStale(sequence: 77) && !demand.isStale(sequence: 78) && !demand.isIdle)
    }

    @Test func onlyFramesUpToTheIdlingAreStale() {
        let demand = CaptureDemand(idleAfterNanos: 10)
        #expect(!demand.isStale(sequence: 1), "nothing is stale before the first idling")
        demand.enterIdle(lastSequence: 41)
        #expect(demand.isIdle && demand.isStale(sequence: 41) && demand.isStale(sequence: 3) && !demand.isStale(sequence: 42))
        demand.leaveIdle()
        #expect(!demand.isIdle && demand.isStale(sequence: 41), "the old frames stay stale after waking")
    }

    @Test func theIdleCaptureIsWokenByTheFirstViewerASnapshotOrASettingButNotOtherwise() {
        let wakes = Wakes()
        let demand = CaptureDemand(idleAfterNanos: 10, wake: { wakes.count.add(1, ordering: .relaxed) })
        demand.viewersChanged(to: 1, now: 1)
        demand.touch(now: 2)
        #expect(wakes.count.load(ordering: .relaxed) == 0, "an awake capture is not woken")
        demand.viewersChanged(to: 0, now: 3)
        demand.enterIdle(lastSequence: 5)
        demand.viewersChanged(to: 1, now: 20)
        #expect(wakes.count.load(ordering: .relaxed) == 1)
        demand.viewersChanged(to: 2, now: 21)
        #expect(wakes.count.load(ordering: .relaxed) == 1, "only the first viewer wakes it")
        demand.touch(now: 22)
        demand.configure(idleAfterNanos: 0, stopsCamera: false)
        #expect(wakes.count.load(ordering: .relaxed) == 3)
    }
}
