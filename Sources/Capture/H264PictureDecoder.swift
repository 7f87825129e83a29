// H264PictureDecoder: how a camera's own H.264 becomes pictures for JPEG viewers, without Capture linking libavcodec
// (camd must build without H.264): Capture names the protocol, H264Encoding implements it, Service injects it.
import JPEG

/// Decodes one camera's H.264 stream, access unit by access unit, in order, on the capture thread only.
public protocol H264PictureDecoder: AnyObject {
    /// One Annex-B access unit in; the picture it completes out, or nil when none is ready (nothing decodable before
    /// the stream's first IDR). Throws for a unit the decoder refuses (corrupt, or a picture camd cannot take).
    func decode(_ unit: [UInt8]) throws -> PlanarImage?
}

/// Makes a decoder for each (re)opened camera stream: a new stream starts at an IDR, so no state carries over.
/// Part of V4L2Settings, but not a setting (how, not what): any two compare equal, so a reload never restarts the
/// camera for it and settings are compared by their values only.
public struct H264DecoderFactory: Sendable, Equatable {
    /// nil: this camd has no H.264 decoder (built without libavcodec).
    public let make: (@Sendable () throws -> any H264PictureDecoder)?

    public init(_ make: @escaping @Sendable () throws -> any H264PictureDecoder) { self.make = make }
    private init() { make = nil }

    /// No decoder: a camera's H.264 is refused.
    public static let unavailable = H264DecoderFactory()

    public static func == (lhs: H264DecoderFactory, rhs: H264DecoderFactory) -> Bool { true }
}
