// The per-viewer policy without sockets: latest wins, skips counted, stalls detected.
import Frames
import Streaming
import Wire
import Testing

private func wire(_ sequence: UInt64, payload: Int = 100) -> WireFrame {
    let frame = Frame(sequence: sequence, timestampNanos: 0, width: 2, height: 2,
                      payload: [UInt8](repeating: 0, count: payload))
    return WireFrame(frame: frame, header: NativeFrameHeader(frame: frame).encoded())
}

struct SubscriberStateMachineTests {
    @Test func idleSubscriberStartsTheNewFrameAtOnce() {
        var machine = SubscriberStateMachine(now: 0)
        let startsSending = machine.frameAvailable(wire(1), now: 10)
        #expect(startsSending)
        guard case .sending(let w, let sent) = machine.state else { Issue.record("not sending"); return }
        #expect(w.frame.sequence == 1 && sent == 0)
    }

    @Test func busySubscriberIgnoresNewFramesUntilItFinishes() {
        var machine = SubscriberStateMachine(now: 0)
        _ = machine.frameAvailable(wire(1), now: 0)
        let startsSecond = machine.frameAvailable(wire(2), now: 1)
        #expect(!startsSecond)
        let startsThird = machine.frameAvailable(wire(3), now: 2)
        #expect(!startsThird)
        guard case .sending(let w, _) = machine.state else { Issue.record("not sending"); return }
        #expect(w.frame.sequence == 1)
    }

    @Test func slowSubscriberSkipsToNewestFrameAndCountsTheSkipped() {
        var machine = SubscriberStateMachine(now: 0)
        let first = wire(1)
        _ = machine.frameAvailable(first, now: 0)
        let finishedAfterPart = machine.wrote(50, now: 1)
        #expect(!finishedAfterPart)
        let finishedAfterRest = machine.wrote(first.totalLength - 50, now: 2)
        #expect(finishedAfterRest)
        // Frames 2…4 were published while it was busy; the newest is 5.
        let startsNewest = machine.frameAvailable(wire(5), now: 3)
        #expect(startsNewest)
        #expect(machine.framesDropped == 3)
        #expect(machine.framesSent == 1)
        #expect(machine.lastSequence == 5)
    }

    @Test func neverSendsAnOlderOrTheSameFrameAgain() {
        var machine = SubscriberStateMachine(now: 0)
        let five = wire(5)
        _ = machine.frameAvailable(five, now: 0)
        _ = machine.wrote(five.totalLength, now: 1)
        let startsSameAgain = machine.frameAvailable(five, now: 2)
        #expect(!startsSameAgain)
        let startsOlder = machine.frameAvailable(wire(4), now: 2)
        #expect(!startsOlder)
        #expect(machine.isIdle)
    }

    @Test func firstFrameAfterConnectingIsNotCountedAsDrops() {
        var machine = SubscriberStateMachine(now: 0)
        _ = machine.frameAvailable(wire(1000), now: 0)
        #expect(machine.framesDropped == 0)
    }

    @Test func stallIsMeasuredFromTheLastProgress() {
        let timeout: UInt64 = 10_000
        var machine = SubscriberStateMachine(now: 0)
        #expect(!machine.isStalled(now: 1_000_000, timeout: timeout), "an idle subscriber never stalls")
        let w = wire(1, payload: 1000)
        _ = machine.frameAvailable(w, now: 100)
        #expect(!machine.isStalled(now: 100 + timeout - 1, timeout: timeout))
        _ = machine.wrote(10, now: 5_000)
        #expect(!machine.isStalled(now: 5_000 + timeout - 1, timeout: timeout))
        _ = machine.wrote(0, now: 14_000)
        #expect(machine.isStalled(now: 5_000 + timeout, timeout: timeout))
    }

    @Test func bytesAndFramesAreCounted() {
        var machine = SubscriberStateMachine(now: 0)
        for sequence in 1...3 as ClosedRange<UInt64> {
            let w = wire(sequence)
            _ = machine.frameAvailable(w, now: sequence)
            _ = machine.wrote(w.totalLength, now: sequence)
        }
        #expect(machine.framesSent == 3)
        #expect(machine.bytesSent == UInt64(3 * (32 + 100)))
        #expect(machine.framesDropped == 0)
    }
}
