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
    /// The source's own account: streaming / opening / no_signal, retries, last error, format.
    public var source = SourceStatus(state: .opening) {
        didSet {
            // Totals for /metrics, which `source` alone cannot give: its retries restart at 0 once streaming.
            if source.retries > oldValue.retries { sourceRetriesTotal += UInt64(source.retries - oldValue.retries) }
            if oldValue.state == .streaming, source.state != .streaming { sourceLostTotal += 1 }
        }
    }
    /// Failed (re)open attempts since start, and how often a streaming source stopped streaming.
    public var sourceRetriesTotal: UInt64 = 0
    public var sourceLostTotal: UInt64 = 0
    /// camd's own JPEG encodes (not pass-through) and how long each took.
    public var encodeTimes = EncodeTimes()
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

    public init() {}

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
    public func start(fps: Double, ring: FrameRing, logger: Logger,
                      source: sending any FrameSource,
                      published: @escaping @Sendable () -> Void) throws(SystemError) {
        // A capture thread can be restarted (source change on reload) after stop().
        stopping.store(false, ordering: .releasing)
        let handle = try OSThread.spawn(name: "camd-capture") { [self] in
            run(fps: fps, ring: ring, logger: logger, source: source, published: published)
        }
        thread.withLock { $0 = handle }
    }

    /// Asks the thread to stop and waits for it.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        let handle = thread.withLock { t -> OSThread? in defer { t = nil }; return t }
        handle?.join()
    }

    private var shouldStop: Bool { stopping.load(ordering: .acquiring) }

    private func run(fps: Double, ring: FrameRing, logger: Logger,
                     source: any FrameSource,
                     published: @Sendable () -> Void) {
        defer { source.close() }
        var pacer = Pacer(fps: fps, start: Clock.monotonicNanos())
        var sequence = ring.latest?.sequence ?? 0
        var rate = RateMeter()
        var index: UInt64 = 0
        while !shouldStop {
            heartbeat.store(Clock.monotonicNanos(), ordering: .relaxed)
            if adjustmentWaiting.exchange(false, ordering: .acquiring),
               let adjustment = pendingAdjustment.withLock({ a -> CaptureAdjustment? in defer { a = nil }; return a }) {
                source.setQuality(adjustment.quality)
                if adjustment.fps != pacer.fps {
                    pacer = Pacer(fps: adjustment.fps, start: Clock.monotonicNanos())
                    index = 0
                }
            }
            if source.pacing == .clock {
                let (tick, deadline) = pacer.next(now: Clock.monotonicNanos())
                index = tick
                // Sleep in short slices so stop() is prompt even at 1 fps.
                while !shouldStop {
                    let now = Clock.monotonicNanos()
                    if now >= deadline { break }
                    Clock.sleepUntilMonotonic(min(deadline, now + 100_000_000))
                }
                if shouldStop { break }
            }
            let timestamp = Clock.realtimeNanos()
            do {
                let picture = try source.nextFrame(index: index, timestampNanos: timestamp)
                if source.pacing == .device { index += 1 }
                guard let picture else {
                    snapshotState.withLock { $0.source = source.status; $0.invalidFrames = source.invalidFrames }
                    continue
                }
                sequence += 1
                let now = Clock.monotonicNanos()
                if !picture.isPlaceholder { rate.record(now: now) }
                // The account first, then the frame, then the wake-up: whoever the frame wakes (READY=1, /state)
                // reads a status that already describes it, never the one before it.
                snapshotState.withLock {
                    $0.framesPublished += 1
                    $0.invalidFrames = source.invalidFrames
                    $0.measuredFPS = picture.isPlaceholder ? 0 : rate.fps
                    $0.source = source.status
                    if let encode = picture.encodeNanos { $0.encodeTimes.record(nanos: encode) }
                }
                ring.publish(Frame(sequence: sequence, timestampNanos: picture.timestampNanos ?? timestamp,
                                   width: picture.width, height: picture.height,
                                   isPlaceholder: picture.isPlaceholder, payload: picture.payload))
                published()
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
