// Frame: one captured picture, immutable and shared by reference among all who send it.

/// The payload encoding. Only JPEG today; the native protocol's format byte carries it.
public enum FrameFormat: UInt8, Sendable, CustomStringConvertible {
    case jpeg = 1

    public var description: String {
        switch self {
        case .jpeg: return "JPEG"
        }
    }
}

/// An immutable frame. Its bytes exist once in memory: every subscriber holds a reference to the
/// same `Frame`, never a copy of `payload` (Swift arrays share storage until written, and nobody writes).
public final class Frame: Sendable {
    /// Capture sequence number: starts at 1 per daemon start, +1 per published frame; gaps seen by a viewer are drops.
    public let sequence: UInt64
    /// Capture time, nanoseconds since the Unix epoch (CLOCK_REALTIME).
    public let timestampNanos: UInt64
    public let width: Int
    public let height: Int
    public let format: FrameFormat
    /// A "no signal" picture published while the camera is away.
    public let isPlaceholder: Bool
    public let payload: [UInt8]
    /// The planar picture (a `JPEG.PlanarImage`) camd encoded `payload` from, kept only while an H.264 encoder wants
    /// it (CaptureDemand.wantsRawPictures): the encoder then starts from the camera's pixels, not from a JPEG decode.
    /// Typed loosely because Frames imports no codec; nil for pass-through JPEGs and when nobody wants it.
    public let rawPicture: (any Sendable)?
    /// The camera's own H.264 access unit (Annex-B) for this picture, from a camera that sends H.264: passed to RTSP
    /// viewers as it is, never re-encoded. `payload` is still a JPEG (decoded and re-encoded for MJPEG viewers).
    public let h264: [UInt8]?

    public init(sequence: UInt64, timestampNanos: UInt64, width: Int, height: Int,
                format: FrameFormat = .jpeg, isPlaceholder: Bool = false, payload: [UInt8],
                rawPicture: (any Sendable)? = nil, h264: [UInt8]? = nil) {
        self.rawPicture = rawPicture
        self.h264 = h264
        self.sequence = sequence
        self.timestampNanos = timestampNanos
        self.width = width
        self.height = height
        self.format = format
        self.isPlaceholder = isPlaceholder
        self.payload = payload
    }
}
