// H264Pipeline: the H.264 encoding thread between the capture and the RTSP server — each frame is encoded once,
// whatever the number of viewers, and every access unit is published into one AccessUnitRing they all read.
// Latest wins at the input (one pending frame), so the capture thread never waits for the encoder.
import CamdSystem
import Capture
import Frames
import H264
import JPEG
import Locking
import Logging

public final class H264Pipeline: Sendable {
    /// What the other threads hand the encoding thread, and what they count, under one short lock.
    private struct Input: Sendable {
        var running = false
        /// Bumped at every start and stop: a thread whose run is over sees another number and leaves.
        var run: UInt64 = 0
        /// The latest frame offered and not yet taken (at most one: memory stays bounded).
        var pending: Frame?
        var settings: H264PipelineSettings
        var settingsChanged = false
        var keyframeWanted = false
        var framesIn: UInt64 = 0
        var framesDropped: UInt64 = 0
    }

    /// The encoding thread's next move.
    private enum Next: Sendable {
        case stop
        case wait
        case frame(Frame, newSettings: H264PipelineSettings?, keyframeWanted: Bool)
    }

    /// A camera's own H.264 on its way through (H264Pipeline.passThrough, capture thread).
    private struct CameraPassthrough: Sendable {
        /// The camera's SPS and PPS, from its last unit that carried them.
        var sets: H264ParameterSets?
        /// Nothing is published until an IDR: the run just started, or units were lost.
        var waitingForKeyframe = true
        /// The wait is for a loss (its skipped units are counted), not a run's start.
        var afterLoss = false
    }

    private let input: LockedValue<Input>
    private let camera = LockedValue(CameraPassthrough())
    let statistics = LockedValue(H264PipelineStatistics())
    /// The running thread. Its lock also serialises setRunning, so a start never overlaps the join of a stop.
    private let thread = LockedValue<OSThread?>(nil)
    /// Wakes the thread for a frame or a stop. Nil if no eventfd could be made: the thread then polls every 5 ms.
    private let wake = try? EventCounter()
    let ring: AccessUnitRing
    private let demand: CaptureDemand?
    let logger: Logger
    let published: @Sendable () -> Void
    /// KeyframePolicy's clock (monotonic ns); tests inject their own to pin the one-per-second bound.
    let keyframeClock: @Sendable () -> UInt64

    public convenience init(settings: H264PipelineSettings, ring: AccessUnitRing, demand: CaptureDemand?, logger: Logger,
                            published: @escaping @Sendable () -> Void) {
        self.init(settings: settings, ring: ring, demand: demand, logger: logger, keyframeClock: { Clock.monotonicNanos() },
                  published: published)
    }

    init(settings: H264PipelineSettings, ring: AccessUnitRing, demand: CaptureDemand?, logger: Logger,
         keyframeClock: @escaping @Sendable () -> UInt64, published: @escaping @Sendable () -> Void) {
        input = LockedValue(Input(settings: settings))
        self.ring = ring
        self.demand = demand
        self.logger = logger
        self.keyframeClock = keyframeClock
        self.published = published
    }

    /// Starts (spawns thread "camd-h264") or stops (joins it, closing the encoder) the pipeline; idempotent. The RTSP
    /// server calls it with true while at least one H.264 viewer exists and false when the last leaves. While it
    /// runs the capture keeps raw pictures on its frames (CaptureDemand.setWantsRawPictures). The running thread
    /// holds the pipeline: its owner stops it before letting go.
    public func setRunning(_ running: Bool) {
        thread.withLock { thread in
            if running {
                guard thread == nil else { return }
                let (number, settings) = input.withLock { s -> (UInt64, H264PipelineSettings) in
                    s.running = true
                    s.run += 1
                    s.pending = nil
                    s.keyframeWanted = false
                    s.settingsChanged = false
                    return (s.run, s.settings)
                }
                statistics.withLock { s in
                    s.snapshot.codec = nil
                    s.snapshot.hardware = false
                    s.snapshot.passthrough = false
                    s.snapshot.profile = nil
                }
                demand?.setWantsRawPictures(true)
                do {
                    thread = try OSThread.spawn(name: "camd-h264") { [self] in work(run: number, settings: settings) }
                } catch {
                    input.withLock { $0.running = false }
                    demand?.setWantsRawPictures(false)
                    statistics.withLock { $0.snapshot.lastError = "cannot start the H.264 thread: \(error)" }
                    logger.error("h264: cannot start the encoding thread: \(error)")
                }
            } else {
                input.withLock { s in
                    if s.running { s.run += 1 }
                    s.running = false
                    s.pending = nil
                }
                guard let running = thread else { return }
                wake?.signal()
                running.join()
                thread = nil
                demand?.setWantsRawPictures(false)
                statistics.withLock { $0.stopped() }
            }
        }
    }

    /// A frame the capture published (capture thread, or a JPEG encoder worker): a lock and a wake-up, nothing more,
    /// and nothing at all while stopped. A frame not yet taken is replaced (counted in framesDropped).
    public func offer(_ frame: Frame) {
        let taken = input.withLock { s -> Bool in
            guard s.running else { return false }
            s.framesIn += 1
            if s.pending != nil { s.framesDropped += 1 }
            s.pending = frame
            return true
        }
        if taken { wake?.signal() }
    }

    /// One unit of a camera's own H.264 (capture thread: every unit, in order). While running it is published as the
    /// camera made it (SPS and PPS put in front of a keyframe that lacks them); after a loss (`afterGap`) nothing is
    /// published until the camera's next IDR, so no viewer decodes a picture against a reference it never got.
    /// Not through the thread's latest-wins input: a dropped unit would corrupt every picture up to the next IDR.
    public func passThrough(_ camera: CameraH264Unit) {
        let (running, fps) = input.withLock { ($0.running, $0.settings.fps) }
        guard running else {
            self.camera.withLock { $0.waitingForKeyframe = true; $0.afterLoss = false }
            return
        }
        let (publishable, skippedAfterLoss) = self.camera.withLock { c -> (EncodedAccessUnit?, Bool) in
            let unit = EncodedAccessUnit(annexB: camera.annexB, sequence: camera.sequence, timestampNanos: camera.timestampNanos,
                                         previous: c.sets)
            c.sets = unit.parameterSets
            if camera.afterGap {
                c.waitingForKeyframe = true
                c.afterLoss = true
            }
            if c.waitingForKeyframe {
                guard unit.isKeyframe else { return (nil, c.afterLoss) }
                c.waitingForKeyframe = false
                c.afterLoss = false
            }
            return (unit.carryingParameterSets(), false)
        }
        guard let unit = publishable else {
            if skippedAfterLoss { statistics.withLock { $0.snapshot.cameraUnitsSkipped += 1 } }
            return
        }
        publishUnit(unit, width: camera.width, height: camera.height, fps: fps, now: Clock.monotonicNanos()) { s in
            s.snapshot.codec = "camera"
            s.snapshot.hardware = false
            s.snapshot.passthrough = true
            s.snapshot.width = camera.width
            s.snapshot.height = camera.height
        }
        published()
    }

    /// Puts `unit` (carrying its parameter sets where it is a keyframe) into the ring with the stream it belongs to,
    /// and counts it (with `also`, under the same lock). The encoder's units and a camera's go through here; the
    /// caller wakes the reactor once for all it publishes.
    func publishUnit(_ unit: EncodedAccessUnit, width: Int, height: Int, fps: Double, now: UInt64,
                     also: (inout H264PipelineStatistics) -> Void = { _ in }) {
        let info = unit.parameterSets.map { AccessUnitRing.StreamInfo(parameterSets: $0, width: width, height: height, fps: fps) }
        ring.publish(unit, info: info)
        statistics.withLock { s in
            also(&s)
            s.recordPublished(unit, at: now)
            if unit.isKeyframe, let sets = unit.parameterSets { s.snapshot.profile = "\(sets.profileName) \(sets.levelName)" }
        }
    }

    /// A viewer joined or fell behind and waits for an IDR: the next frame is forced to be one unless the GOP brings
    /// one within ~0.5 s or one was forced less than a second ago (KeyframePolicy). Any thread.
    public func requestKeyframe() {
        input.withLock { $0.keyframeWanted = true }
    }

    /// New settings (config reload): a running encoder is reopened with them before the next frame.
    public func update(_ settings: H264PipelineSettings) {
        input.withLock { s in
            guard s.settings != settings else { return }
            s.settings = settings
            s.settingsChanged = true
        }
    }

    public var snapshot: H264PipelineSnapshot {
        let (running, framesIn, framesDropped) = input.withLock { ($0.running, $0.framesIn, $0.framesDropped) }
        var snapshot = statistics.withLock { $0.current }
        snapshot.running = running
        snapshot.framesIn = framesIn
        snapshot.framesDropped = framesDropped
        if !running { snapshot.bitrate = 0 }
        return snapshot
    }

    /// The encoding thread: takes the pending frame, encodes it, waits for the next, until its run is over. The
    /// encoder and the JPEG decoder live on this thread only and are released when it returns.
    private func work(run number: UInt64, settings: H264PipelineSettings) {
        let session = H264EncodingSession(pipeline: self, settings: settings)
        while true {
            let next = input.withLock { s -> Next in
                guard s.running, s.run == number else { return .stop }
                guard let frame = s.pending else { return .wait }
                defer {
                    s.pending = nil
                    s.settingsChanged = false
                    s.keyframeWanted = false
                }
                return .frame(frame, newSettings: s.settingsChanged ? s.settings : nil, keyframeWanted: s.keyframeWanted)
            }
            switch next {
            case .stop:
                session.close()
                return
            case .wait:
                // The eventfd stays readable from a signal until drained, and the state is looked at again after
                // the drain, so no frame is missed; the timeout is only a backstop.
                if let wake {
                    _ = try? Poll.wait(wake.fd, for: .readable, timeoutMilliseconds: 1000)
                    wake.drain()
                } else {
                    Clock.sleepUntilMonotonic(Clock.monotonicNanos() + 5_000_000)
                }
            case .frame(let frame, let newSettings, let keyframeWanted):
                if let newSettings { session.apply(newSettings) }
                session.handle(frame, keyframeWanted: keyframeWanted)
            }
        }
    }
}
