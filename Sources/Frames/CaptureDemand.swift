// CaptureDemand: whether anyone wants frames now. The stream server says when viewers come and go and when a
// snapshot asks; the capture thread reads it on every pass and idles — stops encoding, or stops the camera —
// once nobody has wanted a frame for idle_after.
import Synchronization

public final class CaptureDemand: Sendable {
    /// Viewers receiving the stream now (native, HTTP /stream).
    private let viewers = Atomic<Int>(0)
    /// Monotonic time someone last wanted frames: the last viewer left, a snapshot asked, the capture started.
    private let wantedAt = Atomic<UInt64>(0)
    /// Idle after this long without demand (0 = never).
    private let idleAfter = Atomic<UInt64>(0)
    private let stopsCameraFlag = Atomic<Bool>(false)
    /// Frames up to this sequence were published before the capture idled: they are not live.
    private let staleThrough = Atomic<UInt64>(0)
    private let idleFlag = Atomic<Bool>(false)
    /// An H.264 encoder is running: raw pictures stay on their frames (Frame.rawPicture) for it.
    private let rawWanted = Atomic<Bool>(false)
    /// Of `viewers`, those that want only H.264 (RTSP /stream): they need no JPEG pictures.
    private let h264Only = Atomic<Int>(0)
    /// Monotonic time the last viewer needing pictures (JPEG) left while H.264-only viewers stayed.
    private let picturesWantedAt = Atomic<UInt64>(0)
    /// Wakes the capture thread out of its idle wait (set once, by whoever owns the thread).
    private let wake: @Sendable () -> Void

    public init(idleAfterNanos: UInt64 = 0, stopsCamera: Bool = false, wake: @escaping @Sendable () -> Void = {}) {
        self.wake = wake
        idleAfter.store(idleAfterNanos, ordering: .relaxed)
        stopsCameraFlag.store(stopsCamera, ordering: .relaxed)
    }

    // MARK: The stream server's side (reactor thread)

    /// The number of viewers changed. The last one leaving starts the idle countdown; the first one arriving
    /// wakes an idle capture.
    public func viewersChanged(to count: Int, now: UInt64) {
        let before = viewers.exchange(count, ordering: .acquiringAndReleasing)
        if count == 0 { wantedAt.store(now, ordering: .releasing) }
        let h264 = h264Only.load(ordering: .acquiring)
        notePictureViewers(before: before - h264, after: count - h264, now: now)
        if before == 0 && count > 0 && isIdle { wake() }
    }

    /// The number of viewers that want only H.264 (RTSP /stream) changed: a camera's own H.264 then needs no decode
    /// and no JPEG for them (wantsPictures).
    public func h264OnlyViewersChanged(to count: Int, now: UInt64) {
        let before = h264Only.exchange(count, ordering: .acquiringAndReleasing)
        let total = viewers.load(ordering: .acquiring)
        notePictureViewers(before: total - before, after: total - count, now: now)
    }

    /// The last viewer needing pictures left: pictures are still made for idle_after from now.
    private func notePictureViewers(before: Int, after: Int, now: UInt64) {
        if before > 0 && after <= 0 { picturesWantedAt.store(now, ordering: .releasing) }
    }

    /// Someone wants a frame now without becoming a viewer (a snapshot): the capture runs for idle_after from here.
    public func touch(now: UInt64) {
        wantedAt.store(now, ordering: .releasing)
        if isIdle { wake() }
    }

    /// A frame published before the capture last idled: not to be shown as live.
    public func isStale(sequence: UInt64) -> Bool { sequence <= staleThrough.load(ordering: .acquiring) }

    /// The H.264 encoder starts (true) or stops (false) taking frames: while it runs, the capture keeps each raw
    /// picture on the frame it encodes, so the encoder reads pixels instead of decoding the JPEG.
    public func setWantsRawPictures(_ wanted: Bool) { rawWanted.store(wanted, ordering: .releasing) }
    public var wantsRawPictures: Bool { rawWanted.load(ordering: .acquiring) }

    // MARK: Settings (idle_after, idle_camera), from any thread

    public func configure(idleAfterNanos: UInt64, stopsCamera: Bool) {
        idleAfter.store(idleAfterNanos, ordering: .releasing)
        stopsCameraFlag.store(stopsCamera, ordering: .releasing)
        if isIdle { wake() }
    }

    public var stopsCamera: Bool { stopsCameraFlag.load(ordering: .acquiring) }
    public var idleAfterNanos: UInt64 { idleAfter.load(ordering: .acquiring) }
    /// The capture is idle: no encoding (and, with idle_camera = "stop", no camera stream).
    public var isIdle: Bool { idleFlag.load(ordering: .acquiring) }
    public var viewerCount: Int { viewers.load(ordering: .acquiring) }

    // MARK: The capture thread's side

    /// Frames are wanted: a viewer is connected, idling is off, or the last demand is younger than idle_after.
    public func isWanted(now: UInt64) -> Bool {
        let after = idleAfter.load(ordering: .acquiring)
        if after == 0 || viewers.load(ordering: .acquiring) > 0 { return true }
        let last = wantedAt.load(ordering: .acquiring)
        return now < last || now - last < after
    }

    /// Pictures (JPEGs) are wanted, not just frames: a viewer other than an H.264-only one is connected, idling is
    /// off, or the last such demand (a viewer leaving, a snapshot, the capture's start) is younger than idle_after.
    /// A camera that sends H.264 is then not decoded while only RTSP /stream viewers watch.
    public func wantsPictures(now: UInt64) -> Bool {
        let after = idleAfter.load(ordering: .acquiring)
        if after == 0 || viewers.load(ordering: .acquiring) - h264Only.load(ordering: .acquiring) > 0 { return true }
        let last = max(wantedAt.load(ordering: .acquiring), picturesWantedAt.load(ordering: .acquiring))
        return now < last || now - last < after
    }

    public var h264OnlyViewerCount: Int { h264Only.load(ordering: .acquiring) }

    /// Pictures stop being made while frames are still wanted (only H.264 viewers): frames up to `lastSequence` are
    /// no longer live, as when idling, but the capture is not idle.
    public func markStale(through lastSequence: UInt64) {
        staleThrough.store(lastSequence, ordering: .releasing)
    }

    /// The capture starts (or restarts): it runs for idle_after before it may idle.
    public func captureStarted(now: UInt64) {
        wantedAt.store(now, ordering: .releasing)
        idleFlag.store(false, ordering: .releasing)
    }

    /// The capture idles; frames up to `lastSequence` are no longer live.
    public func enterIdle(lastSequence: UInt64) {
        staleThrough.store(lastSequence, ordering: .releasing)
        idleFlag.store(true, ordering: .releasing)
    }

    public func leaveIdle() { idleFlag.store(false, ordering: .releasing) }
}
