// H264Decoder: libavcodec's H.264 decoder for a camera that sends H.264 itself — each access unit in, the picture it
// completes out as a 4:2:0 PlanarImage for camd's JPEG workers. Camera bytes are hostile: the unit's framing is checked
// before libav sees it, every libav return code and every size and stride it reports is checked, nothing traps.
internal import CAVCodec
import Capture
import Glibc
import H264
import JPEG

public struct H264DecoderError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }

    static func libav(_ call: String, _ code: Int32) -> H264DecoderError {
        H264DecoderError("\(call) failed (\(code)): \(H264Encoder.errorText(code))")
    }
}

/// One camera stream's decoder, used on the capture thread only.
public final class H264Decoder: H264PictureDecoder {
    /// Larger sides are refused (PlanarImage and the JPEG encoder take at most this much).
    public static let maximumSide = 16384
    private let context: UnsafeMutablePointer<AVCodecContext>
    private let frame: UnsafeMutablePointer<AVFrame>
    private let packet: UnsafeMutablePointer<AVPacket>
    /// An IDR has gone in: before it, slices refer to pictures this decoder never had (a stream joined mid-GOP).
    private var sawIDR = false

    public init() throws(H264DecoderError) {
        guard let codec = avcodec_find_decoder(AV_CODEC_ID_H264) else { throw H264DecoderError("this libavcodec has no H.264 decoder") }
        guard let context = avcodec_alloc_context3(codec) else { throw H264DecoderError("avcodec_alloc_context3: out of memory") }
        var owned: UnsafeMutablePointer<AVCodecContext>? = context
        // Output each picture as soon as it is decoded (a camera sends no B-frames to reorder), and none before the
        // stream can be decoded correctly (its first IDR or recovery point): no grey or smeared pictures.
        context.pointee.flags |= Int32(AV_CODEC_FLAG_LOW_DELAY)
        context.pointee.flags &= ~Int32(AV_CODEC_FLAG_OUTPUT_CORRUPT)
        context.pointee.flags2 &= ~Int32(AV_CODEC_FLAG2_SHOW_ALL)
        // Slice threads only: frame threads would hold each picture back by a frame per thread.
        context.pointee.thread_count = Int32(min(4, max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
        context.pointee.thread_type = Int32(FF_THREAD_SLICE)
        // A camera's damaged units make the decoder log errors per unit: those are counted as invalid frames and
        // logged once by the source, so libav's own lines drop to debug (below what LibavLog passes on).
        context.pointee.log_level_offset = AV_LOG_DEBUG - AV_LOG_ERROR
        let rc = avcodec_open2(context, codec, nil)
        guard rc >= 0 else {
            avcodec_free_context(&owned)
            throw .libav("avcodec_open2", rc)
        }
        guard let frame = av_frame_alloc() else {
            avcodec_free_context(&owned)
            throw H264DecoderError("av_frame_alloc: out of memory")
        }
        guard let packet = av_packet_alloc() else {
            var frame: UnsafeMutablePointer<AVFrame>? = frame
            avcodec_free_context(&owned)
            av_frame_free(&frame)
            throw H264DecoderError("av_packet_alloc: out of memory")
        }
        self.context = context
        self.frame = frame
        self.packet = packet
    }

    deinit {
        var context: UnsafeMutablePointer<AVCodecContext>? = context
        var frame: UnsafeMutablePointer<AVFrame>? = frame
        var packet: UnsafeMutablePointer<AVPacket>? = packet
        avcodec_free_context(&context)
        av_frame_free(&frame)
        av_packet_free(&packet)
    }

    /// One Annex-B access unit; the picture it completes, nil while there is none to show yet (before the first
    /// IDR). Throws for a unit that is not Annex-B H.264, that libav refuses, or whose picture camd cannot take.
    public func decode(_ unit: [UInt8]) throws(H264DecoderError) -> PlanarImage? {
        let types = try Self.nalTypes(unit)
        if types.contains(.idrSlice) { sawIDR = true }
        // Nothing is decodable before the first IDR: its slices are skipped (not an error); parameter sets go in.
        guard sawIDR || !types.contains(.slice) else { return nil }
        var rc = av_new_packet(packet, Int32(unit.count))
        guard rc >= 0, let data = packet.pointee.data else { throw .libav("av_new_packet", rc) }
        unit.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: unit.count) }
        defer { av_packet_unref(packet) }
        var picture: PlanarImage? = nil
        rc = avcodec_send_packet(context, packet)
        if rc == cav_error_again() {
            // A picture is waiting to be taken first (not expected with low delay, but allowed by the API).
            picture = try receive()
            rc = avcodec_send_packet(context, packet)
        }
        guard rc >= 0 else { throw .libav("avcodec_send_packet", rc) }
        // With low delay a unit completes at most one picture; should libav hold more, the newest wins.
        while let next = try receive() { picture = next }
        return picture
    }

    /// The next decoded picture, copied out of libav's frame; nil when libav has none.
    private func receive() throws(H264DecoderError) -> PlanarImage? {
        let rc = avcodec_receive_frame(context, frame)
        if rc == cav_error_again() || rc == cav_error_eof() { return nil }
        guard rc >= 0 else { throw .libav("avcodec_receive_frame", rc) }
        defer { av_frame_unref(frame) }
        let f = frame.pointee
        // A picture libav concealed errors in (a damaged unit, a lost reference) is not shown: the next good one is.
        if f.flags & AV_FRAME_FLAG_CORRUPT != 0 || f.decode_error_flags != 0 {
            throw H264DecoderError("the picture has decoding errors (flags \(f.flags), errors \(f.decode_error_flags))")
        }
        guard f.format == AV_PIX_FMT_YUV420P.rawValue || f.format == AV_PIX_FMT_YUVJ420P.rawValue else {
            throw H264DecoderError("the camera's H.264 decodes to libav pixel format \(f.format); camd takes 8-bit 4:2:0 only")
        }
        let width = Int(f.width), height = Int(f.height)
        guard (1...Self.maximumSide).contains(width), (1...Self.maximumSide).contains(height) else {
            throw H264DecoderError("the decoded picture is \(width)x\(height), outside 1-\(Self.maximumSide) per side")
        }
        let image = PlanarImage(width: width, height: height, layout: .s420)
        let chromaWidth = (width + 1) / 2, chromaHeight = (height + 1) / 2
        let planes = [(f.data.0, f.linesize.0, width, height), (f.data.1, f.linesize.1, chromaWidth, chromaHeight),
                      (f.data.2, f.linesize.2, chromaWidth, chromaHeight)]
        for (index, (source, stride, columns, rows)) in planes.enumerated() {
            // libav's strides are at least a row wide and positive for pictures it allocates; checked, not assumed.
            guard let source, Int(stride) >= columns else {
                throw H264DecoderError("plane \(index) of the decoded picture has no data or a stride of \(stride) for \(columns) columns")
            }
            let destination = image.plane(index), destinationStride = image.strides[index]
            for row in 0..<rows {
                (destination + row * destinationStride).update(from: source + row * Int(stride), count: columns)
            }
        }
        return image
    }

    /// The unit's NAL unit types, once its framing is checked: Annex-B, starting with a start code, each NAL unit's
    /// forbidden_zero_bit clear. Anything else (a camera's garbage, a MJPEG frame) is refused here, not guessed at by libav.
    static func nalTypes(_ unit: [UInt8]) throws(H264DecoderError) -> Set<NALUnitType> {
        guard unit.count <= Int(Int32.max) - 64 else { throw H264DecoderError("an access unit of \(unit.count) bytes") }
        let startsWithStartCode = unit.starts(with: [0, 0, 1]) || unit.starts(with: [0, 0, 0, 1])
        let nalUnits = AnnexB.nalUnits(in: unit)
        guard startsWithStartCode, !nalUnits.isEmpty else {
            throw H264DecoderError("not an Annex-B access unit (\(unit.count) bytes without a leading start code and NAL unit)")
        }
        var types = Set<NALUnitType>()
        for range in nalUnits {
            guard unit[range.lowerBound] & 0x80 == 0 else {
                throw H264DecoderError("a NAL unit with its forbidden bit set (byte \(range.lowerBound)): not H.264")
            }
            types.insert(NALUnitType(rawValue: unit[range.lowerBound]))
        }
        return types
    }
}

@available(*, unavailable)
extension H264Decoder: Sendable {}
