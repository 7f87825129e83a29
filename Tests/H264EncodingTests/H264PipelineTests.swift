// H264Pipeline with the real libx264 on real 320x240 JPEG frames: what reaches the AccessUnitRing, in what order,
// with which keyframes, and what the snapshot counts. Waits are for conditions (the ring's published callback),
// each bounded; nothing assumes how fast the encoding thread runs.
import CamdSystem
import Capture
import Foundation
import Frames
import H264
@testable import H264Encoding
import JPEG
import Synchronization
import Testing

@Suite(.serialized)
struct H264PipelineTests {
    /// One pipeline under test, its ring, and a wake-up for each publish.
    final class Rig: Sendable {
        let ring = AccessUnitRing(capacity: 64)
        let demand = CaptureDemand()
        let log = LogCollector()
        let event: EventCounter
        let clock = ManualClock()
        let gate = PublishGate()
        let pipeline: H264Pipeline

        init(_ settings: H264PipelineSettings = H264PipelineSettings(encoder: .libx264, gop: 30)) throws {
            let event = try EventCounter()
            self.event = event
            let clock = self.clock, gate = self.gate
            pipeline = H264Pipeline(settings: settings, ring: ring, demand: demand, logger: log.logger,
                                    keyframeClock: { clock.nanos.load(ordering: .relaxed) }, published: {
                                        gate.pass()
                                        event.signal()
                                    })
        }

        var units: [EncodedAccessUnit] { ring.units(after: 0).entries.map(\.unit) }

        /// Waits (at most 30 s, generous for a loaded sanitizer run) until `condition` holds.
        func wait(until condition: () -> Bool) -> Bool {
            let deadline = Clock.monotonicNanos() + 30_000_000_000
            while !condition() {
                guard Clock.monotonicNanos() < deadline else { return false }
                _ = try? Poll.wait(event.fd, for: .readable, timeoutMilliseconds: 100)
                event.drain()
            }
            return true
        }

        /// Offers `frame` and waits until the ring holds `count` units.
        func encode(_ frame: Frame, expecting count: Int) -> Bool {
            pipeline.offer(frame)
            return wait { ring.publishedCount >= UInt64(count) }
        }
    }

    /// KeyframePolicy's clock, moved by hand.
    final class ManualClock: Sendable {
        let nanos = Atomic<UInt64>(10_000_000_000)
    }

    /// While `hold` is set, the next `published` call stops the encoding thread until the test lets it go.
    final class PublishGate: Sendable {
        let hold = Atomic<Bool>(false)
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)

        func pass() {
            guard hold.exchange(false, ordering: .acquiringAndReleasing) else { return }
            entered.signal()
            release.wait()
        }
    }

    static let pattern = MovingPattern(width: 320, height: 240)

    static func timestamp(_ sequence: UInt64) -> UInt64 { 1_700_000_000_000_000_000 + sequence * 33_333_333 }

    /// A camera frame as the capture publishes it: a JPEG of the moving pattern.
    static func jpegFrame(_ sequence: UInt64, width: Int = 320, height: Int = 240, placeholder: Bool = false) throws -> Frame {
        let picture = width == 320 ? pattern.frame(Int(sequence))
            : flatPicture(width: width, height: height, layout: .s420, y: 60, u: 128, v: 128)
        return Frame(sequence: sequence, timestampNanos: timestamp(sequence), width: width, height: height,
                     isPlaceholder: placeholder, payload: try JPEGEncoder(quality: 80).encode(picture))
    }

    @Test func framesBecomeUnitsInOrderFromAnIDRWithTheirSequenceAndTime() throws {
        let rig = try Rig()
        rig.pipeline.setRunning(true)
        rig.pipeline.setRunning(true)   // idempotent
        defer { rig.pipeline.setRunning(false) }
        #expect(rig.demand.wantsRawPictures)
        for sequence in UInt64(1)...4 { #expect(rig.encode(try Self.jpegFrame(sequence), expecting: Int(sequence))) }
        // A raw picture is encoded as it is: this frame's payload is no JPEG at all.
        let raw = Frame(sequence: 5, timestampNanos: Self.timestamp(5), width: 320, height: 240, payload: [],
                        rawPicture: Self.pattern.frame(5))
        #expect(rig.encode(raw, expecting: 5))
        let units = rig.units
        #expect(units.map(\.sequence) == [1, 2, 3, 4, 5])
        #expect(units.map(\.timestampNanos) == (UInt64(1)...5).map(Self.timestamp))
        #expect(units[0].isKeyframe && units[0].nalUnitTypes.prefix(2) == [.sps, .pps])
        #expect(units.dropFirst().allSatisfy { !$0.isKeyframe })
        let info = try #require(rig.ring.info)
        #expect(info.width == 320 && info.height == 240 && info.fps == 30 && info.parameterSets == units[0].parameterSets)
        let snapshot = rig.pipeline.snapshot
        #expect(snapshot.running && snapshot.codec == "libx264" && !snapshot.hardware && !snapshot.passthrough)
        #expect(snapshot.width == 320 && snapshot.height == 240 && snapshot.profile?.hasPrefix("Constrained Baseline") == true)
        #expect(snapshot.framesIn == 5 && snapshot.framesDropped == 0 && snapshot.failures == 0)
        #expect(snapshot.framesDecoded == 4 && snapshot.framesFromRaw == 1 && snapshot.encoderOpens == 1)
        #expect(snapshot.unitsOut == 5 && snapshot.keyframes == 1 && snapshot.bytesOut == UInt64(units.reduce(0) { $0 + $1.bytes.count }))
        #expect(snapshot.encodeP50Nanos > 0 && snapshot.encodeP99Nanos >= snapshot.encodeP50Nanos && snapshot.bitrate > 0)
        // The stream decodes cleanly as a whole.
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try decodeErrors(try write(units, to: directory)) == [])
    }

    /// The thread is held inside `published` while nine more frames arrive: only the last of them is encoded.
    @Test func latestWinsWhileTheThreadIsBusy() throws {
        let rig = try Rig()
        rig.pipeline.setRunning(true)
        defer { rig.pipeline.setRunning(false) }
        rig.gate.hold.store(true, ordering: .releasing)
        rig.pipeline.offer(try Self.jpegFrame(1))
        #expect(rig.gate.entered.wait(timeout: .now() + 30) == .success)
        for sequence in UInt64(2)...10 { rig.pipeline.offer(try Self.jpegFrame(sequence)) }
        rig.gate.release.signal()
        #expect(rig.wait { rig.ring.publishedCount >= 2 })
        #expect(rig.units.map(\.sequence) == [1, 10])
        let snapshot = rig.pipeline.snapshot
        #expect(snapshot.framesIn == 10 && snapshot.framesDropped == 8 && snapshot.unitsOut == 2)
    }

    @Test func aKeyframeRequestForcesAnIDRAtMostOncePerSecond() throws {
        let rig = try Rig(H264PipelineSettings(encoder: .libx264, gop: 300))
        rig.pipeline.setRunning(true)
        defer { rig.pipeline.setRunning(false) }
        rig.pipeline.requestKeyframe()   // before the first frame: the encoder starts with an IDR anyway
        #expect(rig.encode(try Self.jpegFrame(1), expecting: 1))
        #expect(rig.encode(try Self.jpegFrame(2), expecting: 2))
        rig.pipeline.requestKeyframe()
        #expect(rig.encode(try Self.jpegFrame(3), expecting: 3))
        rig.clock.nanos.add(900_000_000, ordering: .relaxed)
        rig.pipeline.requestKeyframe()   // 0.9 s after the forced one: no
        #expect(rig.encode(try Self.jpegFrame(4), expecting: 4))
        rig.clock.nanos.add(200_000_000, ordering: .relaxed)
        rig.pipeline.requestKeyframe()   // 1.1 s after: yes
        #expect(rig.encode(try Self.jpegFrame(5), expecting: 5))
        #expect(rig.units.map(\.isKeyframe) == [true, false, true, false, true])
        #expect(rig.units[2].carriesParameterSets && rig.units[4].carriesParameterSets)
        #expect(rig.pipeline.snapshot.forcedKeyframes == 2 && rig.pipeline.snapshot.keyframes == 3)
    }

    @Test func stopAndStartAgainBeginsWithAFreshIDR() throws {
        let rig = try Rig()
        rig.pipeline.setRunning(true)
        #expect(rig.encode(try Self.jpegFrame(1), expecting: 1))
        #expect(rig.encode(try Self.jpegFrame(2), expecting: 2))
        rig.pipeline.setRunning(false)
        rig.pipeline.setRunning(false)   // idempotent
        #expect(!rig.demand.wantsRawPictures && !rig.pipeline.snapshot.running && rig.pipeline.snapshot.bitrate == 0)
        rig.pipeline.offer(try Self.jpegFrame(3))   // stopped: ignored, not counted
        #expect(rig.pipeline.snapshot.framesIn == 2 && rig.ring.publishedCount == 2)
        #expect(rig.ring.info != nil)   // a DESCRIBE may still answer from the last parameter sets
        rig.pipeline.setRunning(true)
        defer { rig.pipeline.setRunning(false) }
        #expect(rig.demand.wantsRawPictures)
        #expect(rig.encode(try Self.jpegFrame(4), expecting: 3))
        #expect(rig.units.map(\.sequence) == [1, 2, 4] && rig.units.map(\.isKeyframe) == [true, false, true])
        #expect(rig.pipeline.snapshot.encoderOpens == 2)
    }

    /// A NO SIGNAL picture at another size reopens the encoder at that size, starting with an IDR.
    @Test func aSizeChangeReopensTheEncoder() throws {
        let rig = try Rig()
        rig.pipeline.setRunning(true)
        defer { rig.pipeline.setRunning(false) }
        #expect(rig.encode(try Self.jpegFrame(1), expecting: 1))
        #expect(rig.encode(try Self.jpegFrame(2, width: 160, height: 120, placeholder: true), expecting: 2))
        #expect(rig.units[1].isKeyframe && rig.units[1].carriesParameterSets)
        #expect(rig.ring.info?.width == 160 && rig.ring.info?.height == 120)
        let snapshot = rig.pipeline.snapshot
        #expect(snapshot.encoderOpens == 2 && snapshot.width == 160 && snapshot.height == 120)
        #expect(rig.log.messages.contains { $0.contains("encoding 160x120") && $0.contains("changed from 320x240") })
    }

    /// A camera's own H.264 goes out byte for byte, from the capture thread's hand-off (every unit, in order), not
    /// from the frames the encoding thread takes (latest wins: it would drop units); a keyframe that lacks SPS and PPS
    /// gets them in front. A run starts at an IDR, and after a loss nothing goes out until the next one.
    @Test func aCamerasH264PassesThroughUnchangedAndSkipsToTheNextIDRAfterALoss() throws {
        let encoder = try H264Encoder(settings: H264EncoderSettings(encoder: .libx264, gop: 2, fps: 30, width: 320, height: 240),
                                      logger: LogCollector().logger)
        var camera: [EncodedAccessUnit] = []
        for index in 0..<5 { camera += try encoder.encode(Self.pattern.frame(index), sequence: 0, timestampNanos: 0) }
        camera += try encoder.flush()
        try #require(camera.map(\.isKeyframe) == [true, false, true, false, true])
        let sets = try #require(camera[0].parameterSets)
        let bare = camera[2].nalUnits.map { Array(camera[2].bytes[$0]) }.filter { NALUnitType(unit: $0) != .sps && NALUnitType(unit: $0) != .pps }
        // IDR, P, IDR without its SPS and PPS, P, IDR.
        let streams = [camera[0].bytes, camera[1].bytes, AnnexB.joined(bare), camera[3].bytes, camera[4].bytes]
        let unit = { (index: Int, afterGap: Bool) in
            CameraH264Unit(annexB: streams[index], sequence: UInt64(index + 1), timestampNanos: Self.timestamp(UInt64(index + 1)),
                           width: 320, height: 240, afterGap: afterGap)
        }

        let rig = try Rig()
        // Not running (no H.264 viewer): nothing is published.
        rig.pipeline.passThrough(unit(0, false))
        #expect(rig.ring.publishedCount == 0)
        rig.pipeline.setRunning(true)
        defer { rig.pipeline.setRunning(false) }
        // A run starts mid-GOP: the P unit waits for an IDR (not a loss, not counted).
        rig.pipeline.passThrough(unit(1, false))
        #expect(rig.ring.publishedCount == 0)
        for index in 0..<3 { rig.pipeline.passThrough(unit(index, false)) }
        var units = rig.units
        #expect(units.count == 3)
        #expect(units[0].bytes == streams[0] && units[1].bytes == streams[1])
        #expect(units[2].bytes == AnnexB.joined([sets.sps, sets.pps]) + streams[2] && units[2].isKeyframe)
        #expect(units.map(\.sequence) == [1, 2, 3] && units.map(\.timestampNanos) == [1, 2, 3].map(Self.timestamp))
        #expect(rig.ring.info == AccessUnitRing.StreamInfo(parameterSets: sets, width: 320, height: 240, fps: 30))

        // The frames those units came with reach the encoding thread too: it encodes nothing and publishes nothing.
        rig.pipeline.requestKeyframe()   // cannot be honoured: counted nowhere
        let frame = Frame(sequence: 3, timestampNanos: Self.timestamp(3), width: 320, height: 240, payload: [0xFF, 0xD8], h264: streams[2])
        rig.pipeline.offer(frame)
        #expect(rig.wait { rig.pipeline.snapshot.cameraFrames == 1 })
        #expect(rig.ring.publishedCount == 3)

        // A loss before the P unit: it and the next P are held back (counted); the next IDR goes out.
        rig.pipeline.passThrough(unit(3, true))
        rig.pipeline.passThrough(unit(3, false))
        #expect(rig.ring.publishedCount == 3)
        rig.pipeline.passThrough(unit(4, false))
        units = rig.units
        #expect(units.count == 4 && units[3].bytes == streams[4] && units[3].isKeyframe)
        let snapshot = rig.pipeline.snapshot
        #expect(snapshot.codec == "camera" && snapshot.passthrough && snapshot.encoderOpens == 0 && snapshot.framesDecoded == 0)
        #expect(snapshot.forcedKeyframes == 0 && snapshot.unitsOut == 4 && snapshot.keyframes == 3)
        #expect(snapshot.cameraUnitsSkipped == 2)
    }

    /// No encoder opens (VAAPI is not implemented): the error is kept and logged once, and frames meanwhile are
    /// skipped rather than decoded again and again.
    @Test func noEncoderIsAnErrorNotACrashOrASpin() throws {
        let rig = try Rig(H264PipelineSettings(encoder: .vaapi))
        rig.pipeline.setRunning(true)
        defer { rig.pipeline.setRunning(false) }
        // Made first, so all three arrive well within the few seconds between two tries.
        let frames = try (UInt64(1)...3).map { try Self.jpegFrame($0) }
        rig.pipeline.offer(frames[0])
        #expect(rig.wait { rig.pipeline.snapshot.lastError != nil })
        for sequence in UInt64(2)...3 {
            rig.pipeline.offer(frames[Int(sequence) - 1])
            #expect(rig.wait { rig.pipeline.snapshot.framesSkipped == sequence - 1 })
        }
        let snapshot = rig.pipeline.snapshot
        #expect(snapshot.lastError?.contains("no H.264 encoder") == true && snapshot.codec == nil && snapshot.unitsOut == 0)
        #expect(rig.log.messages.filter { $0.hasPrefix("error: h264:") }.count == 1)
    }
}
