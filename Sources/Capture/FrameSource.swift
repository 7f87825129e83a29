// FrameSource: what the capture thread pulls pictures from.
import JPEG

/// A picture a source produced; the capture thread gives it a sequence number and publishes it.
public struct SourceFrame: Sendable {
    public var payload: [UInt8]
    public var width: Int
    public var height: Int
    public var isPlaceholder: Bool
    /// Capture time (CLOCK_REALTIME ns) when the source knows it better than "now" (a driver timestamp).
    public var timestampNanos: UInt64?
    /// How long camd's JPEG encode of this picture took (nil: passed through, not encoded): camd_encode_seconds.
    public var encodeNanos: UInt64?
    /// Set when the picture is still to be encoded (the capture thread hands it to its encoder workers).
    public var unencoded: UnencodedPicture?
    /// The sequence number an upstream camd gave this picture (network sources): published instead of the capture
    /// thread's own count while it keeps the published sequence increasing (CaptureThread.sequence(for:after:)).
    public var upstreamSequence: UInt64?
    /// The camera's own H.264 access unit (Annex-B) for this picture (a camera sending V4L2_PIX_FMT_H264): published
    /// on the frame (it marks the frame as the camera's: the H.264 encoder leaves it alone) and handed to RTSP
    /// viewers, every unit in order, by the capture thread (CameraH264Unit). The picture itself still arrives as
    /// `payload` or `unencoded`.
    public var h264: [UInt8]?
    /// Units of the camera's H.264 were lost just before this one (a damaged buffer, a unit the decoder refused,
    /// buffers handed back unseen after idling): the units that follow refer to pictures nobody has, so RTSP viewers
    /// are sent nothing until the camera's next IDR.
    public var h264AfterGap = false
    /// False for a camera's H.264 unit that comes without a picture (nobody wants pictures, so it was not decoded;
    /// or the decoder waits for an IDR): it goes to RTSP viewers and is not published as a frame.
    public var hasPicture = true

    public init(payload: [UInt8], width: Int, height: Int, isPlaceholder: Bool = false, timestampNanos: UInt64? = nil,
                encodeNanos: UInt64? = nil) {
        self.payload = payload
        self.width = width
        self.height = height
        self.isPlaceholder = isPlaceholder
        self.timestampNanos = timestampNanos
        self.encodeNanos = encodeNanos
    }
}

/// One access unit of a camera's own H.264, as the capture thread hands it to the RTSP side: every unit the camera
/// delivered, in order, before anything that may drop frames (the JPEG encoder workers' latest-wins input,
/// drop_same_frames, the H.264 thread's latest-wins input) — losing one would corrupt every picture up to the next IDR.
public struct CameraH264Unit: Sendable {
    public var annexB: [UInt8]
    public var sequence: UInt64
    public var timestampNanos: UInt64
    public var width: Int
    public var height: Int
    /// Units were lost before this one (SourceFrame.h264AfterGap): nothing goes out until an IDR.
    public var afterGap: Bool

    public init(annexB: [UInt8], sequence: UInt64, timestampNanos: UInt64, width: Int, height: Int, afterGap: Bool) {
        self.annexB = annexB
        self.sequence = sequence
        self.timestampNanos = timestampNanos
        self.width = width
        self.height = height
        self.afterGap = afterGap
    }
}

/// A raw picture a source converted but did not encode: the capture thread's encoder workers encode it at `quality`.
public struct UnencodedPicture: Sendable {
    public var image: PlanarImage
    public var quality: Int
}

extension SourceFrame {
    /// A raw picture still to be encoded (its payload stays empty until it is).
    public init(unencoded image: PlanarImage, quality: Int, timestampNanos: UInt64?) {
        self.init(payload: [], width: image.width, height: image.height, timestampNanos: timestampNanos)
        unencoded = UnencodedPicture(image: image, quality: quality)
    }
}

extension SourceFrame {
    /// A camera's H.264 unit alone, with no picture (see `hasPicture`).
    public init(h264Unit unit: [UInt8], width: Int, height: Int, timestampNanos: UInt64) {
        self.init(payload: [], width: width, height: height, timestampNanos: timestampNanos)
        h264 = unit
        hasPicture = false
    }
}

/// Who sets the frame rate: the capture thread's clock (synthetic sources) or the device itself.
public enum SourcePacing: Sendable {
    case clock
    case device
}

/// What a source is doing, for logs and state.
public struct SourceStatus: Sendable, Equatable {
    public enum State: String, Sendable {
        case streaming, opening
        case noSignal = "no_signal"
        /// Nobody watches and idle_camera = "stop": the camera's stream is stopped (its LED goes out).
        case stopped
    }

    public var state: State
    /// Failed attempts to (re)open the device since it was last streaming.
    public var retries: Int = 0
    public var lastError: String?
    /// What the device negotiated, e.g. "1280x720 MJPG 30 fps (passthrough)".
    public var format: String?
    /// An HDMI (DV-timings) input's detected timings, e.g. "1920x1080p60"; nil for other sources and without a signal.
    public var dvTimings: String?

    public init(state: State, retries: Int = 0, lastError: String? = nil, format: String? = nil) {
        self.state = state
        self.retries = retries
        self.lastError = lastError
        self.format = format
    }
}

public struct SourceError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A source runs on the capture thread only. Clock-paced sources return the picture for each tick;
/// device-paced sources block (briefly: at most ~100 ms per call, so stopping stays prompt) until the
/// device delivers, and return nil when nothing arrived yet.
public protocol FrameSource: AnyObject {
    /// A short name for logs and state ("testpattern", "file:/path", "v4l2:/dev/video0").
    var name: String { get }
    /// Frames the source could not use (e.g. not a complete JPEG), since start.
    var invalidFrames: UInt64 { get }
    var pacing: SourcePacing { get }
    var status: SourceStatus { get }
    /// The picture for tick `index` (0, 1, 2, …), captured at `timestampNanos` (CLOCK_REALTIME).
    func nextFrame(index: UInt64, timestampNanos: UInt64) throws(SourceError) -> SourceFrame?
    /// The JPEG quality for frames the source encodes from now on (no-op for sources that pass JPEGs through).
    func setQuality(_ quality: Int)
    /// Releases what the source holds (a camera) before the capture thread ends: the next source may need it
    /// at once, so this cannot wait for the last reference to go.
    func close()
    /// One pass while nobody wants frames (idle mode). A clock-paced source does nothing: the capture thread
    /// waits for demand. A camera either stops its stream (`stopCamera`) or keeps it running while camd takes
    /// none of its frames; either way the next `nextFrame` after idling returns a frame captured after it.
    func idle(stopCamera: Bool) -> IdlePass
    /// Whether anyone wants pictures (JPEGs) from the next frame on, not only a camera's own H.264
    /// (CaptureDemand.wantsPictures). A camera that sends H.264 then skips its decode; every other source ignores it.
    func setPicturesWanted(_ wanted: Bool)
}

/// What one idle pass of a source did.
public enum IdlePass {
    /// Nothing: the capture thread waits for demand itself.
    case nothing
    /// The source waited (reopening an absent camera), so the capture thread goes round at once.
    case waited
}

extension FrameSource {
    public func setQuality(_ quality: Int) {}
    public func close() {}
    public func idle(stopCamera: Bool) -> IdlePass { .nothing }
    public func setPicturesWanted(_ wanted: Bool) {}
    public var pacing: SourcePacing { .clock }
    public var status: SourceStatus { SourceStatus(state: .streaming) }
}
