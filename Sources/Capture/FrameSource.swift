// FrameSource: what the capture thread pulls pictures from.

/// A picture a source produced; the capture thread gives it a sequence number and publishes it.
public struct SourceFrame: Sendable {
    public var payload: [UInt8]
    public var width: Int
    public var height: Int
    public var isPlaceholder: Bool

    public init(payload: [UInt8], width: Int, height: Int, isPlaceholder: Bool = false) {
        self.payload = payload
        self.width = width
        self.height = height
        self.isPlaceholder = isPlaceholder
    }
}

public struct SourceError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A source runs on the capture thread only. Synthetic sources are paced by the capture thread's
/// monotonic clock; each call returns the picture for that tick.
public protocol FrameSource: AnyObject {
    /// A short name for logs and state ("testpattern", "file:/path").
    var name: String { get }
    /// Frames the source could not use (e.g. not a complete JPEG), since start.
    var invalidFrames: UInt64 { get }
    /// The picture for tick `index` (0, 1, 2, …), captured at `timestampNanos` (CLOCK_REALTIME).
    func nextFrame(index: UInt64, timestampNanos: UInt64) throws(SourceError) -> SourceFrame
}
