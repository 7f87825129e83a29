// ViewFrame and LinkState: what the reader thread hands to whoever shows the stream.

/// One received frame: the JPEG exactly as it came off the wire, and what the sender said about it.
public struct ViewFrame: Sendable {
    public let jpeg: [UInt8]
    public let width: Int
    public let height: Int
    public let sequence: UInt64
    /// CLOCK_REALTIME at capture, as the sender stamped it (native header or X-Timestamp); 0 when unknown.
    public let captureNanos: UInt64
    /// CLOCK_REALTIME when the last byte arrived here.
    public let receivedNanos: UInt64
    /// camd's no-signal frame (native flag or X-Placeholder: 1).
    public let isPlaceholder: Bool

    public init(jpeg: [UInt8], width: Int, height: Int, sequence: UInt64, captureNanos: UInt64, receivedNanos: UInt64,
                isPlaceholder: Bool) {
        self.jpeg = jpeg
        self.width = width
        self.height = height
        self.sequence = sequence
        self.captureNanos = captureNanos
        self.receivedNanos = receivedNanos
        self.isPlaceholder = isPlaceholder
    }

    /// Capture to arrival; negative when the two clocks disagree (a remote camera), nil when not stamped.
    public var latencyMillis: Double? {
        captureNanos == 0 ? nil : (Double(receivedNanos) - Double(captureNanos)) / 1e6
    }
}

/// The connection as a viewer should describe it.
public enum LinkState: Sendable, Equatable {
    /// The first connection is being made.
    case connecting
    /// Connected; frames arrive.
    case streaming
    /// The stream was lost after it had worked; `attempt` counts the retries since.
    case reconnecting(attempt: Int, reason: String)
    /// The reader stopped for good: asked to, or a failure that retrying cannot fix (`failure` non-nil).
    case ended(failure: String?)
}
