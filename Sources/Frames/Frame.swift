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

    public init(sequence: UInt64, timestampNanos: UInt64, width: Int, height: Int,
                format: FrameFormat = .jpeg, isPlaceholder: Bool = false, payload: [UInt8]) {
        self.sequence = sequence
        self.timestampNanos = timestampNanos
        self.width = width
        self.height = height
        self.format = format
        self.isPlaceholder = isPlaceholder
        self.payload = payload
    }
}
