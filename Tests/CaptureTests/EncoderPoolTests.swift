// EncoderPool: frames come out in capture order whatever order the workers finish in; latest wins at the input and
// the drops are counted; stop joins the workers and nothing is published after it. Encodes are scripted: a picture's
// first luma byte names it, and a "gate" holds its encode until the test opens it, so every interleaving is forced,
// not hoped for.
import CamdSystem
import Capture
import JPEG
import Locking
import Testing
import TestSupport

/// What the scripted encoders do and saw, shared by all workers of one pool.
private final class EncodeScript: Sendable {
    /// Pictures (by marker) whose encode waits until the test opens their gate.
    let gates: LockedValue<Set<UInt8>>
    let started = LockedValue<[UInt8]>([])
    let finished = LockedValue<[UInt8]>([])
    let qualities = LockedValue<[Int]>([])
    /// This marker's encode throws.
    let failing: UInt8?

    init(gated: Set<UInt8> = [], failing: UInt8? = nil) {
        gates = LockedValue(gated)
        self.failing = failing
    }

    func open(_ marker: UInt8) { _ = gates.withLock { $0.remove(marker) } }
}

private struct ScriptedFailure: Error {}

private final class ScriptedEncoder: PictureEncoder {
    let script: EncodeScript
    init(_ script: EncodeScript) { self.script = script }

    func encode(_ image: PlanarImage, quality: Int) throws -> [UInt8] {
        let marker = image.plane(0)[0]
        script.started.withLock { $0.append(marker) }
        script.qualities.withLock { $0.append(quality) }
        // Bounded: a gate never opened fails the test's own expectations, it does not hang the suite.
        _ = waitUntil(timeout: 20, interval: 0.001) { !script.gates.withLock { $0.contains(marker) } }
        if marker == script.failing { throw ScriptedFailure() }
        script.finished.withLock { $0.append(marker) }
        return [marker]
    }
}

/// A tiny grey picture whose first byte is `marker`.
private func picture(_ marker: UInt8) -> PlanarImage {
    let image = PlanarImage(width: 16, height: 16, layout: .gray)
    for i in 0..<(16 * 16) { image.plane(0)[i] = marker }
    return image
}

/// What the pool published: item, and the JPEG (nil: submitted ready) — or "failed".
private final class Published: Sendable {
    let items = LockedValue<[(item: Int, payload: [UInt8]?, failed: Bool)]>([])
    var order: [Int] { items.withLock { $0.map(\.item) } }

    func record(_ item: Int, _ outcome: EncodeOutcome) {
        items.withLock { list in
            switch outcome {
            case .ready: list.append((item, nil, false))
            case .encoded(let jpeg, _): list.append((item, jpeg, false))
            case .failed: list.append((item, nil, true))
            }
        }
    }
}

private func scriptedPool(workers: Int, _ script: EncodeScript, _ published: Published) throws -> EncoderPool<Int> {
    try EncoderPool<Int>(workers: workers, makeEncoder: { () throws -> sending any PictureEncoder in ScriptedEncoder(script) },
                         publish: { item, outcome in published.record(item, outcome) })
}

struct EncoderPoolTests {
    @Test func aFrameFinishedEarlyWaitsForTheEarlierFrameStillBeingEncoded() throws {
        let script = EncodeScript(gated: [1])
        let published = Published()
        let pool = try scriptedPool(workers: 2, script, published)
        defer { pool.stop() }
        pool.submit(1, encoding: picture(1))
        pool.submit(2, encoding: picture(2))
        // Worker two finishes frame 2 while frame 1 is still held on worker one: frame 2 must wait.
        #expect(waitUntil(timeout: 10) { script.finished.withLock { $0 } == [2] }, "finished: \(script.finished.withLock { $0 })")
        #expect(published.order.isEmpty, "published before the earlier frame: \(published.order)")
        // A ready frame (a placeholder, MJPEG) submitted now must not overtake either.
        pool.submit(3)
        #expect(published.order.isEmpty)
        script.open(1)
        #expect(waitUntil(timeout: 10) { published.order.count == 3 }, "published: \(published.order)")
        #expect(published.order == [1, 2, 3])
        #expect(script.finished.withLock { $0 } == [2, 1], "the workers really finished out of order")
        let payloads = published.items.withLock { $0.map(\.payload) }
        #expect(payloads == [[1], [2], nil])
        #expect(pool.finish(timeoutMilliseconds: 5000))
        #expect(pool.dropped == 0)
    }

    @Test func whenEveryWorkerIsBusyTheNewestPictureReplacesTheWaitingOneAndTheDropIsCounted() throws {
        let script = EncodeScript(gated: [1])
        let published = Published()
        let pool = try scriptedPool(workers: 1, script, published)
        defer { pool.stop() }
        #expect(pool.submit(1, encoding: picture(1)) == 0)
        #expect(waitUntil(timeout: 10) { script.started.withLock { $0 } == [1] })
        #expect(pool.submit(2, encoding: picture(2)) == 0, "the first waiting picture drops nothing")
        #expect(pool.submit(3, encoding: picture(3)) == 1, "3 replaces 2")
        #expect(pool.submit(4, encoding: picture(4)) == 1, "4 replaces 3")
        pool.submit(5)  // ready: waits behind 4, never overtakes it
        #expect(pool.dropped == 2)
        #expect(pool.busyWorkers == 1)
        script.open(1)
        #expect(waitUntil(timeout: 10) { published.order.count == 3 }, "published: \(published.order)")
        #expect(pool.finish(timeoutMilliseconds: 5000))
        #expect(published.order == [1, 4, 5])
        #expect(script.started.withLock { $0 } == [1, 4], "dropped pictures are never encoded")
    }

    @Test func aDroppedPictureThatWasNextInLineLetsTheReadyFramesBehindItThrough() throws {
        let script = EncodeScript(gated: [1, 3])
        let published = Published()
        let pool = try scriptedPool(workers: 1, script, published)
        defer { pool.stop() }
        pool.submit(1, encoding: picture(1))
        script.open(1)
        #expect(waitUntil(timeout: 10) { published.order == [1] })
        pool.submit(2, encoding: picture(3))  // held on the worker by gate 3
        #expect(waitUntil(timeout: 10) { script.started.withLock { $0 } == [1, 3] })
        pool.submit(3, encoding: picture(9))  // waits
        pool.submit(4)                        // ready, behind 3
        #expect(pool.submit(5, encoding: picture(9)) == 1, "5 replaces 3")
        script.open(3)
        #expect(waitUntil(timeout: 10) { published.order.count == 4 }, "published: \(published.order)")
        #expect(published.order == [1, 2, 4, 5])
    }

    @Test func stopJoinsTheWorkersAndNothingIsPublishedAfterIt() throws {
        let script = EncodeScript(gated: [1])
        let published = Published()
        let pool = try scriptedPool(workers: 2, script, published)
        pool.submit(1, encoding: picture(1))
        #expect(waitUntil(timeout: 10) { script.started.withLock { $0 } == [1] })
        pool.submit(2)  // ready, behind the frame being encoded
        let stopped = LockedValue(false)
        let stopper = try OSThread.spawn(name: "test-stop") {
            pool.stop()
            stopped.withLock { $0 = true }
        }
        // stop() waits for the worker still encoding frame 1; once it has begun, frame 1 is let finish.
        #expect(waitUntil(timeout: 10) { pool.isStopping })
        #expect(!stopped.withLock { $0 }, "stop returned while a worker was still encoding")
        script.open(1)
        stopper.join()
        #expect(stopped.withLock { $0 })
        #expect(script.finished.withLock { $0 } == [1], "frame 1 was encoded, and then discarded")
        #expect(published.order.isEmpty, "published after stop: \(published.order)")
        #expect(pool.submit(3) == 0)
        #expect(pool.submit(4, encoding: picture(4)) == 0)
        #expect(published.order.isEmpty)
        #expect(script.started.withLock { $0 } == [1], "no encode starts after stop")
        pool.stop()  // idempotent
    }

    @Test func finishWaitsForFramesStillBeingEncoded() throws {
        let script = EncodeScript(gated: [1])
        let published = Published()
        let pool = try scriptedPool(workers: 1, script, published)
        defer { pool.stop() }
        pool.submit(1, encoding: picture(1))
        #expect(!pool.finish(timeoutMilliseconds: 50), "finish returned with frame 1 held in its encode")
        script.open(1)
        #expect(pool.finish(timeoutMilliseconds: 10_000))
        #expect(published.order == [1], "finish returns once the frame is published, not merely encoded")
    }

    @Test func aFailedEncodeIsReportedInItsPlaceAndTheFramesAfterItFollow() throws {
        let script = EncodeScript(failing: 2)
        let published = Published()
        let pool = try scriptedPool(workers: 2, script, published)
        defer { pool.stop() }
        for marker in UInt8(1)...3 {
            pool.submit(Int(marker), encoding: picture(marker))
            #expect(pool.finish(timeoutMilliseconds: 10_000))
        }
        #expect(published.order == [1, 2, 3])
        #expect(published.items.withLock { $0.map(\.failed) } == [false, true, false])
    }

    @Test func eachPictureIsEncodedAtTheQualityItCameWith() throws {
        let script = EncodeScript()
        let published = Published()
        let pool = try scriptedPool(workers: 2, script, published)
        defer { pool.stop() }
        for (marker, quality) in [(UInt8(1), 40), (2, 90), (3, 55)] {
            pool.submit(Int(marker), encoding: picture(marker), quality: quality)
            #expect(pool.finish(timeoutMilliseconds: 10_000))
        }
        #expect(script.qualities.withLock { $0 } == [40, 90, 55])
    }

    @Test func realJPEGWorkersPublishEveryKeptFrameInOrderAndEachDecodes() throws {
        let published = Published()
        let pool = try EncoderPool<Int>(workers: 2, makeEncoder: { () throws -> sending any PictureEncoder in
            try JPEGEncoder(quality: 80, subsampling: .s422)
        }, publish: { item, outcome in published.record(item, outcome) })
        defer { pool.stop() }
        var dropped = 0
        for item in 1...40 {
            let image = PlanarImage(width: 320, height: 240, layout: .s422)
            for plane in 0..<3 {
                let count = plane == 0 ? 320 * 240 : 160 * 240
                for i in 0..<count { image.plane(plane)[i] = UInt8(truncatingIfNeeded: i &+ item * 7 + plane * 50) }
            }
            dropped += pool.submit(item, encoding: image, quality: 70)
            if item % 10 == 0 { pool.submit(-item) }  // a ready frame now and then, as a placeholder would be
        }
        #expect(pool.finish(timeoutMilliseconds: 20_000))
        let items = published.items.withLock { $0 }
        let raw = items.filter { $0.item > 0 }
        #expect(raw.count + dropped == 40, "every raw picture is either published or counted as dropped")
        #expect(pool.dropped == UInt64(dropped))
        #expect(raw.last?.item == 40, "the newest picture is never the one dropped")
        let order = items.map { $0.item > 0 ? $0.item * 2 : -$0.item * 2 + 1 }  // ready -k sits right after raw k
        #expect(order == order.sorted(), "published out of submission order: \(items.map(\.item))")
        let decoder = try JPEGDecoder()
        for frame in raw {
            let jpeg = try #require(frame.payload)
            #expect(try decoder.info(jpeg) == JPEGInfo(width: 320, height: 240))
        }
    }
}
