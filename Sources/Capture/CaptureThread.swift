// CaptureThread: the one thread that pulls frames from the source, stamps them and publishes them.
import CamdSystem
import Frames
import Logging
import Locking
import Synchronization

/// What the capture thread has done, readable from any thread.
public struct CaptureSnapshot: Sendable, Equatable {
    public var framesPublished: UInt64 = 0
    public var invalidFrames: UInt64 = 0
    /// Frames per second measured over the last few seconds.
    public var measuredFPS: Double = 0
    /// The source's own account: streaming / opening / no_signal / stopped, retries, last error, format.
    public var source = SourceStatus(state: .opening) {
        didSet {
            // Totals for /metrics, which `source` alone cannot give: its retries restart at 0 once streaming.
            if source.retries > oldValue.retries { sourceRetriesTotal += UInt64(source.retries - oldValue.retries) }
            if oldValue.state == .streaming, source.state != .streaming, source.state != .stopped { sourceLostTotal += 1 }
        }
    }
    /// Failed (re)open attempts since start, and how often a streaming source stopped delivering (camera lost).
    public var sourceRetriesTotal: UInt64 = 0
    public var sourceLostTotal: UInt64 = 0
    /// camd's own JPEG encodes (not pass-through) and how long each took.
    public var encodeTimes = EncodeTimes()
    /// Idle mode: nobody has wanted frames for idle_after, so none are made (the camera may still stream).
    public var isIdle = false
    /// Monotonic time the capture last went idle (valid while `isIdle`).
    public var idleSince: UInt64 = 0
    /// drop_same_frames: pictures not published as unchanged, and the capture rate (SameFrameFilter.swift).
    public var sameFrames = SameFrameAccount()
    /// Encoder worker threads (encode_workers) of the running capture.
    public var encodeWorkers = 0
    /// Raw pictures dropped at the encoders' input because every worker was busy (latest wins), since start.
    public var encoderDropped: UInt64 = 0
    /// Raw pictures whose encode failed (not published), since start.
    public var encodeFailures: UInt64 = 0
    /// Capture timestamp to publish, per published frame (placeholders excluded).
    public var captureLatency = CaptureLatency()
    /// A camera that sends H.264 with only RTSP /stream viewers (for idle_after): its units go to them undecoded,
    /// and no pictures (JPEGs) are made until a JPEG viewer or a snapshot asks.
    public var picturesPaused = false
    /// Monotonic time pictures were last paused (valid while `picturesPaused`).
    public var picturesPausedSince: UInt64 = 0
}

/// Settings the capture thread picks up while running (control socket `set`, reload).
public struct CaptureAdjustment: Sendable, Equatable {
    public var fps: Double
    public var quality: Int
    public init(fps: Double, quality: Int) {
        self.fps = fps
        self.quality = quality
    }
}

public final class CaptureThread: Sendable {
    private let stopping = Atomic<Bool>(false)
    private let snapshotState = LockedValue(CaptureSnapshot())
    private let thread = LockedValue<OSThread?>(nil)
    /// Monotonic time of the loop's last pass (a frame, an empty poll, a placeholder): the watchdog's
    /// evidence that the thread is not stuck. Every pass takes at most ~100 ms plus one frame's work.
    private let heartbeat = Atomic<UInt64>(0)
    private let pendingAdjustment = LockedValue<CaptureAdjustment?>(nil)
    private let adjustmentWaiting = Atomic<Bool>(false)
    /// The failure last logged, across restarts: the same one again is not logged once per frame.
    private let loggedFailure = LockedValue<String?>(nil)
    /// Wakes the thread out of its idle wait (a viewer arrived, stop). Nil if no eventfd could be made: the idle
    /// wait is then a plain sleep of the same length.
    private let wakeEvent = try? EventCounter()
    /// The capture last left idle for a viewer (not a snapshot): its next idling is logged at info.
    private let resumedByViewer = Atomic<Bool>(true)
    /// drop_same_frames (SameFrameFilter.swift), consulted at the one publish point.
    let sameFrames = SameFrameFilter()
    /// What `publish` keeps from one frame to the next. `publish` is called in capture order, one call at a time, but
    /// not always on the capture thread (an encoder worker publishes the frames it completes): its state lives here.
    private let publishState = LockedValue(PublishState())

    public init() {}

    /// Ends an idle wait now (CaptureDemand calls this when frames are wanted again).
    public func wake() { wakeEvent?.signal() }

    public var snapshot: CaptureSnapshot { snapshotState.withLock { $0 } }

    /// When the capture loop last went round (0 = not started).
    public var lastHeartbeat: UInt64 { heartbeat.load(ordering: .relaxed) }

    /// Applies a new frame rate (clock-paced sources) and JPEG quality from the next frame on.
    public func adjust(_ adjustment: CaptureAdjustment) {
        pendingAdjustment.withLock { $0 = adjustment }
        adjustmentWaiting.store(true, ordering: .releasing)
    }

    /// Starts capturing from the source that `makeSource` builds on the new thread (so a source never
    /// crosses threads). Each frame is published into `ring`, then `published` is called (it signals
    /// the reactor's eventfd; it must not block).
    /// `demand` says whether anyone wants frames; without one the capture never idles. Raw pictures are encoded by
    /// `encodeWorkers` threads (EncoderPool); every frame is published in capture order.
    /// `cameraH264` gets every access unit of a camera's own H.264, in order, on the capture thread, before anything
    /// that may drop a frame (it must not block: the RTSP side publishes it into its ring).
    public func start(fps: Double, ring: FrameRing, logger: Logger,
                      source: sending any FrameSource, demand: CaptureDemand = CaptureDemand(), encodeWorkers: Int = 1,
                      cameraH264: (@Sendable (CameraH264Unit) -> Void)? = nil,
                      published: @escaping @Sendable () -> Void) throws(SystemError) {
        // A capture thread can be restarted (source change on reload) after stop().
        stopping.store(false, ordering: .releasing)
        demand.captureStarted(now: Clock.monotonicNanos())
        sameFrames.reset()
        snapshotState.withLock { $0.isIdle = false; $0.encodeWorkers = encodeWorkers }
        let pool = try makeEncoderPool(workers: encodeWorkers, ring: ring, logger: logger, published: published)
        let handle: OSThread
        do {
            handle = try OSThread.spawn(name: "camd-capture") { [self] in
                run(fps: fps, ring: ring, logger: logger, source: source, demand: demand, pool: pool, cameraH264: cameraH264)
            }
        } catch {
            pool.stop()
            throw error
        }
        thread.withLock { $0 = handle }
    }

    /// Asks the thread to stop and waits for it.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        wake()
        let handle = thread.withLock { t -> OSThread? in defer { t = nil }; return t }
        handle?.join()
    }

    private var shouldStop: Bool { stopping.load(ordering: .acquiring) }

    private func run(fps: Double, ring: FrameRing, logger: Logger,
                     source: any FrameSource, demand: CaptureDemand, pool: EncoderPool<PendingFrame>,
                     cameraH264: (@Sendable (CameraH264Unit) -> Void)?) {
        defer { source.close() }
        // Before the source closes: nothing is published once the capture has stopped.
        defer { pool.stop() }
        var pacer = Pacer(fps: fps, start: Clock.monotonicNanos())
        var sequence = ring.latest?.sequence ?? 0
        var index: UInt64 = 0
        /// Ticks of clock-paced sources before the pacer's current run (the pacer restarts after idling; the
        /// test pattern's frame number goes on).
        var indexBase: UInt64 = 0
        var idling = false
        /// A camera's H.264 goes to RTSP viewers undecoded: no pictures are made (pausePictures).
        var picturesPaused = false
        /// Network sources' own sequence numbers, kept increasing (UpstreamSequence.swift).
        var upstreamSequence = UpstreamSequence()
        while !shouldStop {
            heartbeat.store(Clock.monotonicNanos(), ordering: .relaxed)
            if adjustmentWaiting.exchange(false, ordering: .acquiring),
               let adjustment = pendingAdjustment.withLock({ a -> CaptureAdjustment? in defer { a = nil }; return a }) {
                source.setQuality(adjustment.quality)
                if adjustment.fps != pacer.fps {
                    pacer = Pacer(fps: adjustment.fps, start: Clock.monotonicNanos())
                    index = 0
                    indexBase = 0
                }
            }
            // Idle mode: nobody has wanted a frame for idle_after — make none (and maybe stop the camera).
            if !demand.isWanted(now: Clock.monotonicNanos()) {
                if !idling {
                    idling = true
                    // The frames still being encoded are published before the capture counts as idle.
                    pool.finish()
                    // Idling supersedes a pause of pictures: the camera's frames are not taken at all.
                    picturesPaused = false
                    enterIdle(demand: demand, lastSequence: sequence, logger: logger, source: source)
                    publishState.withLock { $0.rate = RateMeter() }
                }
                let pass = source.idle(stopCamera: demand.stopsCamera)
                snapshotState.withLock { $0.source = source.status; $0.invalidFrames = source.invalidFrames }
                if case .nothing = pass { waitForDemand(demand) }
                continue
            }
            if idling {
                idling = false
                leaveIdle(demand: demand, logger: logger)
                if source.pacing == .clock {
                    // Start the clock again from now: the first frame is due at once, not a backlog of ticks.
                    indexBase = index + 1
                    pacer = Pacer(fps: pacer.fps, start: Clock.monotonicNanos())
                }
            }
            if source.pacing == .clock {
                let (tick, deadline) = pacer.next(now: Clock.monotonicNanos())
                index = indexBase + tick
                // Sleep in short slices so stop() is prompt even at 1 fps.
                while !shouldStop {
                    let now = Clock.monotonicNanos()
                    if now >= deadline { break }
                    Clock.sleepUntilMonotonic(min(deadline, now + 100_000_000))
                }
                if shouldStop { break }
            }
            let timestamp = Clock.realtimeNanos()
            let picturesWanted = demand.wantsPictures(now: Clock.monotonicNanos())
            source.setPicturesWanted(picturesWanted)
            do {
                let picture = try source.nextFrame(index: index, timestampNanos: timestamp)
                if source.pacing == .device { index += 1 }
                guard let picture else {
                    snapshotState.withLock { $0.source = source.status; $0.invalidFrames = source.invalidFrames }
                    continue
                }
                // A picture takes the next sequence number; a camera's H.264 unit without one does not.
                if picture.hasPicture { sequence = upstreamSequence.next(for: picture.upstreamSequence, after: sequence) }
                // The source's account is kept by this thread, at capture (a frame may be published later, on a
                // worker): so the status and the invalid count never step back to an older frame's.
                snapshotState.withLock { $0.source = source.status; $0.invalidFrames = source.invalidFrames }
                // The camera's own H.264 goes to RTSP viewers here, every unit, before the pool (latest wins) and
                // drop_same_frames can drop the frame it came with.
                if let unit = picture.h264, let cameraH264 {
                    cameraH264(CameraH264Unit(annexB: unit, sequence: sequence, timestampNanos: picture.timestampNanos ?? timestamp,
                                              width: picture.width, height: picture.height, afterGap: picture.h264AfterGap))
                }
                guard picture.hasPicture else {
                    // Not decoded because nobody wants pictures (or the decoder waits for an IDR): nothing to publish.
                    if !picturesWanted, !picturesPaused {
                        picturesPaused = true
                        pausePictures(demand: demand, lastSequence: sequence, pool: pool, logger: logger)
                    }
                    continue
                }
                if picturesPaused {
                    picturesPaused = false
                    resumePictures(demand: demand, logger: logger)
                }
                submit(picture, sequence: sequence, fallbackTimestamp: timestamp, pool: pool, keepRaw: demand.wantsRawPictures)
            } catch {
                let message = "\(error)"
                let first = loggedFailure.withLock { logged -> Bool in
                    defer { logged = message }
                    return logged != message
                }
                // Log a failure once, not once per frame.
                if first { logger.error("capture: \(message)") }
                if source.pacing == .device { Clock.sleepUntilMonotonic(Clock.monotonicNanos() + 100_000_000) }
            }
        }
    }
}

extension CaptureThread {
    /// THE publish point: every frame, in capture order, one call at a time (from the encoder pool, on the capture
    /// thread or on the worker that completed it). The account first (the source's part of it was set at capture),
    /// then the frame, then the wake-up: whoever the frame wakes (READY=1, /state) reads a status that already
    /// describes it, never the one before it.
    /// drop_same_frames: a picture identical to the last published one is counted, not published, and leaves no gap
    /// in the published sequence numbers (gaps stay what viewers count as drops).
    func publish(_ pending: PendingFrame, ring: FrameRing, published: @Sendable () -> Void) {
        let picture = pending.picture
        guard sameFrames.admit(picture, now: Clock.monotonicNanos()) else {
            snapshotState.withLock {
                if let encode = picture.encodeNanos { $0.encodeTimes.record(nanos: encode) }
                $0.sameFrames = sameFrames.account
            }
            return
        }
        let sequence = pending.sequence - sameFrames.heldBack
        let timestamp = picture.timestampNanos ?? pending.fallbackTimestamp
        let now = Clock.monotonicNanos()
        let fps = publishState.withLock { state -> Double in
            if !picture.isPlaceholder { state.rate.record(now: now) }
            return picture.isPlaceholder ? 0 : state.rate.fps
        }
        let realNow = Clock.realtimeNanos()
        snapshotState.withLock {
            $0.framesPublished += 1
            $0.measuredFPS = fps
            if let encode = picture.encodeNanos { $0.encodeTimes.record(nanos: encode) }
            if !picture.isPlaceholder { $0.captureLatency.record(nanos: realNow > timestamp ? realNow - timestamp : 0) }
            $0.sameFrames = sameFrames.account
        }
        ring.publish(Frame(sequence: sequence, timestampNanos: timestamp,
                           width: picture.width, height: picture.height,
                           isPlaceholder: picture.isPlaceholder, payload: picture.payload,
                           rawPicture: picture.unencoded?.image, h264: picture.h264))
        published()
    }

    /// Raw pictures the encoder pool's input dropped (latest wins) or failed to encode: counted for /state and /metrics.
    func countEncoderDrop(_ count: Int) { snapshotState.withLock { $0.encoderDropped += UInt64(count) } }
    func countEncodeFailure() { snapshotState.withLock { $0.encodeFailures += 1 } }

    private func enterIdle(demand: CaptureDemand, lastSequence: UInt64, logger: Logger, source: any FrameSource) {
        let now = Clock.monotonicNanos()
        demand.enterIdle(lastSequence: lastSequence)
        sameFrames.reset()
        snapshotState.withLock {
            $0.picturesPaused = false
            $0.isIdle = true
            $0.idleSince = now
            $0.measuredFPS = 0
            $0.sameFrames.captureFPS = 0
        }
        let after = Format.fixed(Double(demand.idleAfterNanos) / 1e9, 1, bareWhole: true)
        let what: String
        if source.pacing == .device {
            what = demand.stopsCamera ? "camera stopped (idle_camera = \"stop\")" : "camera kept streaming, its frames not taken"
        } else {
            what = "no frames made"
        }
        // A snapshot poller wakes and idles the capture every time: only changes viewers caused are news.
        logger.log(level: resumedByViewer.load(ordering: .relaxed) ? .info : .debug,
                   "idle: no viewer for \(after) s (idle_after); \(what) until a viewer or a snapshot asks",
                   metadata: ["camd_event": "capture_idle"])
    }

    /// Only H.264-only viewers (RTSP /stream) for idle_after: a camera's own H.264 goes to them undecoded and no JPEG is
    /// made. As when idling, the frames published so far are no longer live: a JPEG viewer or a snapshot that comes
    /// waits for a fresh picture (the decoder starts again at the camera's next IDR).
    private func pausePictures(demand: CaptureDemand, lastSequence: UInt64, pool: EncoderPool<PendingFrame>, logger: Logger) {
        pool.finish()
        demand.markStale(through: lastSequence)
        sameFrames.reset()
        let now = Clock.monotonicNanos()
        snapshotState.withLock {
            $0.picturesPaused = true
            $0.picturesPausedSince = now
            $0.measuredFPS = 0
            $0.sameFrames.captureFPS = 0
        }
        publishState.withLock { $0.rate = RateMeter() }
        let after = Format.fixed(Double(demand.idleAfterNanos) / 1e9, 1, bareWhole: true)
        logger.info("pictures paused: only H.264 viewers for \(after) s (idle_after); the camera's H.264 goes to them undecoded, no JPEG is made until a JPEG viewer or a snapshot asks",
                    metadata: ["camd_event": "pictures_paused"])
    }

    private func resumePictures(demand: CaptureDemand, logger: Logger) {
        let since = snapshotState.withLock { state -> UInt64 in
            state.picturesPaused = false
            return state.picturesPausedSince
        }
        let seconds = Format.fixed(Double(Clock.monotonicNanos() - since) / 1e9, 1)
        logger.info("pictures resumed after \(seconds) s: the camera's H.264 is decoded for JPEG viewers again",
                    metadata: ["camd_event": "pictures_resumed"])
    }

    private func leaveIdle(demand: CaptureDemand, logger: Logger) {
        demand.leaveIdle()
        let since = snapshotState.withLock { state -> UInt64 in
            state.isIdle = false
            return state.idleSince
        }
        let seconds = Format.fixed(Double(Clock.monotonicNanos() - since) / 1e9, 1)
        let viewers = demand.viewerCount
        resumedByViewer.store(viewers > 0, ordering: .relaxed)
        logger.log(level: viewers > 0 ? .info : .debug,
                   "capture resumed after \(seconds) s idle: \(viewers > 0 ? "\(viewers) viewer\(viewers == 1 ? "" : "s")" : "a snapshot")",
                   metadata: ["camd_event": "capture_resumed"])
    }

    /// Waits (at most 250 ms, so the heartbeat stays fresh for the watchdog and stop() is prompt) for frames
    /// to be wanted again.
    private func waitForDemand(_ demand: CaptureDemand) {
        guard let wakeEvent else {
            Clock.sleepUntilMonotonic(Clock.monotonicNanos() + 250_000_000)
            return
        }
        if demand.isWanted(now: Clock.monotonicNanos()) || shouldStop { return }
        _ = try? Poll.wait(wakeEvent.fd, for: .readable, timeoutMilliseconds: 250)
        wakeEvent.drain()
    }
}

/// Frames per second over a sliding window of recent publish times.
struct RateMeter {
    private var times: [UInt64] = []
    private let window: UInt64 = 2_000_000_000

    mutating func record(now: UInt64) {
        times.append(now)
        if let first = times.first, now - first > window {
            times.removeAll { now - $0 > window }
        }
    }

    var fps: Double {
        guard times.count >= 2, let first = times.first, let last = times.last, last > first else { return 0 }
        return Double(times.count - 1) * 1_000_000_000 / Double(last - first)
    }
}
