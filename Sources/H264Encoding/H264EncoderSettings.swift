// H264EncoderSettings: what the encoder is asked for (the issue's `h264 = { encoder, bitrate, gop }` plus the
// picture size and frame rate of the source), and the report of what it chose.

public struct H264EncoderSettings: Sendable, Equatable {
    /// Which libavcodec encoder to open.
    public enum Choice: String, Sendable, CaseIterable {
        /// Hardware first (V4L2 memory-to-memory, then VAAPI), else libx264.
        case auto
        /// h264_v4l2m2m: the Raspberry Pi's (and other SoCs') V4L2 memory-to-memory encoder.
        case v4l2m2m
        /// h264_vaapi: Intel/AMD GPUs through VAAPI (not yet supported: needs a device context and surface upload).
        case vaapi
        /// libx264 in software: ultrafast, zerolatency, no B-frames.
        case libx264
    }

    public var encoder: Choice
    /// Target and VBV maximum rate, bits per second.
    public var bitrate: Int
    /// Frames from one IDR to the next (fixed: no scene-cut IDRs).
    public var gop: Int
    /// The source's frame rate (the encoder's time base and its rate control's frame budget).
    public var fps: Int
    /// The source's picture size; an odd dimension is encoded one pixel smaller (see `encodedWidth`).
    public var width: Int
    public var height: Int

    public init(encoder: Choice = .auto, bitrate: Int = 2_000_000, gop: Int = 30, fps: Int, width: Int, height: Int) {
        self.encoder = encoder
        self.bitrate = bitrate
        self.gop = gop
        self.fps = fps
        self.width = width
        self.height = height
    }

    /// 4:2:0 needs even dimensions: an odd last column or row is cropped rather than padded, so no invented
    /// pixels reach the picture and the stream's size differs from the source's by at most one pixel.
    public var encodedWidth: Int { width & ~1 }
    public var encodedHeight: Int { height & ~1 }

    /// VBV buffer: half a second of the bitrate, so one IDR can exceed the average without starving the rest,
    /// while a viewer's buffer (and the latency a recorder sees) stays bounded.
    public var vbvBufferBits: Int { max(bitrate / 2, bitrate / max(fps, 1)) }

    /// Nil when the settings are usable, else one line saying which value is wrong.
    public var problem: String? {
        if encodedWidth < 16 || encodedHeight < 16 { return "picture \(width)x\(height) is below 16x16" }
        if width > 8192 || height > 8192 { return "picture \(width)x\(height) is above 8192x8192" }
        if fps < 1 || fps > 240 { return "fps \(fps) is not within 1…240" }
        if bitrate < 16_000 || bitrate > 100_000_000 { return "bitrate \(bitrate) is not within 16000…100000000" }
        if gop < 1 || gop > 1000 { return "gop \(gop) is not within 1…1000" }
        return nil
    }
}

/// One encoder auto tried (or the one asked for), and why it did not open.
public struct H264EncoderAttempt: Sendable, Equatable, CustomStringConvertible {
    /// libavcodec's name for it ("h264_v4l2m2m", "h264_vaapi", "libx264").
    public let codec: String
    /// Nil when it opened.
    public let failure: String?

    public var description: String { failure.map { "\(codec): \($0)" } ?? "\(codec): opened" }
}

/// What the encoder chose and why: for the log line at start and for /state.
public struct H264EncoderReport: Sendable, Equatable, CustomStringConvertible {
    public let codec: String
    public let hardware: Bool
    /// Every encoder tried, in order, the last one the one that opened.
    public let attempts: [H264EncoderAttempt]
    /// Threads (and so slices per picture, for libx264's sliced threads).
    public let threads: Int

    public var description: String {
        let failed = attempts.filter { $0.failure != nil }.map(\.description)
        return "\(codec) (\(hardware ? "hardware" : "software"), \(threads) thread\(threads == 1 ? "" : "s"))"
            + (failed.isEmpty ? "" : "; not used: " + failed.joined(separator: "; "))
    }
}

public enum H264EncoderError: Error, Sendable, CustomStringConvertible {
    /// A setting is out of range.
    case invalidSettings(String)
    /// No encoder opened; each attempt says why.
    case noEncoder([H264EncoderAttempt])
    /// The picture does not fit the encoder's size or layout.
    case pictureMismatch(String)
    /// A libavcodec call failed: its name, return code and libav's message.
    case libav(call: String, code: Int32, message: String)

    public var description: String {
        switch self {
        case .invalidSettings(let why): "h264 settings: \(why)"
        case .noEncoder(let attempts): "no H.264 encoder opened: " + attempts.map(\.description).joined(separator: "; ")
        case .pictureMismatch(let why): "h264 picture: \(why)"
        case .libav(let call, let code, let message): "\(call) failed (\(code)): \(message)"
        }
    }
}
