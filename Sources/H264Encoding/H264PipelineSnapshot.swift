// H264PipelineSnapshot: what the H.264 pipeline is asked for (H264PipelineSettings) and what it reports to /state
// (H264PipelineSnapshot), with the recent windows its bitrate and encode-time percentiles come from.
import H264

public struct H264PipelineSettings: Sendable, Equatable {
    public var encoder: H264EncoderSettings.Choice
    /// Target and VBV maximum rate, bits per second.
    public var bitrate: Int
    /// Frames from one IDR to the next.
    public var gop: Int
    /// The capture's frame rate: the encoder's time base and its rate control's frame budget, the SDP's rate.
    public var fps: Double

    public init(encoder: H264EncoderSettings.Choice = .auto, bitrate: Int = 2_000_000, gop: Int = 30, fps: Double = 30) {
        self.encoder = encoder
        self.bitrate = bitrate
        self.gop = gop
        self.fps = fps
    }

    /// The encoder's settings for a `width`×`height` source. The encoder's time base is whole frames per second:
    /// 29.97 becomes 30, and a rate outside what it accepts is clamped rather than left to fail every open.
    func encoderSettings(width: Int, height: Int, softwareOnly: Bool) -> H264EncoderSettings {
        H264EncoderSettings(encoder: softwareOnly ? .libx264 : encoder, bitrate: bitrate, gop: gop, fps: encoderFPS,
                            width: width, height: height)
    }

    var encoderFPS: Int { fps.isFinite ? min(240, max(1, Int(fps.rounded()))) : 30 }
}

public struct H264PipelineSnapshot: Sendable, Equatable {
    public var running: Bool = false
    /// "libx264", "h264_v4l2m2m", or "camera" when a camera's own H.264 passes through; nil before the first frame
    /// of a run.
    public var codec: String? = nil
    public var hardware: Bool = false
    public var passthrough: Bool = false
    /// The stream's picture size (the encoded size: an odd source dimension is one pixel smaller).
    public var width: Int = 0
    public var height: Int = 0
    /// "Constrained Baseline 3.1": the profile and level of the SPS in force.
    public var profile: String? = nil
    /// Frames offered while running.
    public var framesIn: UInt64 = 0
    /// Frames replaced at the input before the thread took them (latest wins).
    public var framesDropped: UInt64 = 0
    /// Frames encoded from the capture's raw picture, without a JPEG decode.
    public var framesFromRaw: UInt64 = 0
    /// Frames whose JPEG was decoded to planar YUV for the encoder.
    public var framesDecoded: UInt64 = 0
    /// Frames taken while no encoder could open (between two tries, a few seconds apart): not decoded, not encoded.
    public var framesSkipped: UInt64 = 0
    /// Encoders opened (the first frame of a run, a size change, new settings, a hardware fallback).
    public var encoderOpens: UInt64 = 0
    public var unitsOut: UInt64 = 0
    public var keyframes: UInt64 = 0
    /// IDRs forced for joining or lagging viewers.
    public var forcedKeyframes: UInt64 = 0
    /// Frames that failed to decode or encode.
    public var failures: UInt64 = 0
    /// A camera's own H.264: units not passed on because units before them were lost (damaged, refused by the
    /// decoder, handed back unseen) and no IDR has come since.
    public var cameraUnitsSkipped: UInt64 = 0
    /// Frames taken by the encoding thread that carried a camera's own H.264: nothing to encode (their units went
    /// out from the capture thread).
    public var cameraFrames: UInt64 = 0
    public var bytesOut: UInt64 = 0
    /// Measured bits per second over the last ~2 s of published units (0 while stopped).
    public var bitrate: Double = 0
    /// Decode (if any) plus encode per frame, over the last `H264PipelineStatistics.window` frames.
    public var encodeP50Nanos: UInt64 = 0
    public var encodeP99Nanos: UInt64 = 0
    public var lastError: String? = nil

    public init() {}
}

/// The encoding thread's side of the snapshot: counters it alone changes, and the windows behind the bitrate and
/// percentiles (computed when someone reads the snapshot, not per frame).
struct H264PipelineStatistics: Sendable {
    /// Frames the percentiles cover.
    static let window = 128
    /// How far back the bitrate looks.
    static let bitrateWindowNanos: UInt64 = 2_000_000_000

    var snapshot = H264PipelineSnapshot()
    private var encodeNanos: [UInt64] = []
    private var nextEncodeSlot = 0
    /// Published bytes by monotonic time, the last ~2 s.
    private var recentBytes: [(nanos: UInt64, bytes: Int)] = []

    mutating func recordEncode(nanos: UInt64) {
        if encodeNanos.count < Self.window {
            encodeNanos.append(nanos)
        } else {
            encodeNanos[nextEncodeSlot] = nanos
        }
        nextEncodeSlot = (nextEncodeSlot + 1) % Self.window
    }

    mutating func recordPublished(_ unit: EncodedAccessUnit, at nanos: UInt64) {
        snapshot.unitsOut += 1
        snapshot.bytesOut += UInt64(unit.bytes.count)
        if unit.isKeyframe { snapshot.keyframes += 1 }
        recentBytes.append((nanos, unit.bytes.count))
        if let newest = recentBytes.last?.nanos {
            recentBytes.removeAll { newest - $0.nanos > Self.bitrateWindowNanos }
        }
    }

    /// A run ended: nothing is flowing, so no rate is claimed.
    mutating func stopped() {
        recentBytes = []
    }

    /// The snapshot with the windows' figures filled in.
    var current: H264PipelineSnapshot {
        var result = snapshot
        if let first = recentBytes.first, let last = recentBytes.last, last.nanos > first.nanos {
            // The oldest unit marks the window's start; its own bytes were sent before it.
            let bits = Double(recentBytes.dropFirst().reduce(0) { $0 + $1.bytes } * 8)
            result.bitrate = bits / (Double(last.nanos - first.nanos) / 1e9)
        }
        if !encodeNanos.isEmpty {
            let sorted = encodeNanos.sorted()
            result.encodeP50Nanos = sorted[(sorted.count - 1) * 50 / 100]
            result.encodeP99Nanos = sorted[(sorted.count - 1) * 99 / 100]
        }
        return result
    }
}
