// H264Encoder: one libavcodec H.264 encoder — hardware when `auto` finds one that opens, else libx264 tuned for
// live streaming — fed PlanarImages, giving EncodedAccessUnits. The one file that calls libavcodec: every return
// code is checked and turned into an H264EncoderError; nothing here traps on libav's account.
internal import CAVCodec
import Glibc
import H264
import JPEG
import Logging

public final class H264Encoder {
    public let settings: H264EncoderSettings
    public let report: H264EncoderReport
    /// The SPS and PPS of the latest access unit that carried them.
    public private(set) var parameterSets: H264ParameterSets?
    /// "Constrained Baseline 3.1" once the first SPS is out (the encoder's own choice for the size and rate).
    public var profile: String? { parameterSets.map { "\($0.profileName) \($0.levelName)" } }
    private let context: UnsafeMutablePointer<AVCodecContext>
    private let frame: UnsafeMutablePointer<AVFrame>
    private let packet: UnsafeMutablePointer<AVPacket>
    private let logger: Logger
    private var nextPTS: Int64 = 0
    /// Source sequence and timestamp by pts, until the encoder returns that picture (bounded: see `remember`).
    private var pending: [Int64: (sequence: UInt64, timestampNanos: UInt64)] = [:]
    private var keyframeRequested = false
    private var loggedProfile = false
    /// SPS and PPS from the codec's extradata, for an encoder that puts them there instead of in band.
    private var extradataParameterSets: H264ParameterSets? {
        guard let extradata = context.pointee.extradata, context.pointee.extradata_size > 0 else { return nil }
        return H264ParameterSets(annexB: Array(UnsafeBufferPointer(start: extradata, count: Int(context.pointee.extradata_size))))
    }

    /// Opens the encoder `settings.encoder` names (for `auto`: h264_v4l2m2m, h264_vaapi, libx264, the first that
    /// opens). Throws with every attempt's reason when none does.
    public init(settings: H264EncoderSettings, logger: Logger) throws(H264EncoderError) {
        if let problem = settings.problem { throw .invalidSettings(problem) }
        self.settings = settings
        self.logger = logger
        LibavLog.route(to: logger)
        let candidates: [String] = switch settings.encoder {
        case .auto: ["h264_v4l2m2m", "h264_vaapi", "libx264"]
        case .v4l2m2m: ["h264_v4l2m2m"]
        case .vaapi: ["h264_vaapi"]
        case .libx264: ["libx264"]
        }
        var attempts: [H264EncoderAttempt] = []
        var opened: (UnsafeMutablePointer<AVCodecContext>, Int)? = nil
        for name in candidates {
            let (result, libavLines) = LibavLog.capturing { Self.open(name, settings) }
            switch result {
            case .success(let result):
                attempts.append(H264EncoderAttempt(codec: name, failure: nil))
                opened = result
                for line in libavLines { logger.warning("h264: \(name): \(line)") }
            case .failure(let why):
                let detail = libavLines.isEmpty ? "" : " (" + libavLines.joined(separator: "; ") + ")"
                attempts.append(H264EncoderAttempt(codec: name, failure: why.text + detail))
            }
            if opened != nil { break }
        }
        guard let (context, threads) = opened else { throw .noEncoder(attempts) }
        guard let frame = av_frame_alloc() else {
            var context: UnsafeMutablePointer<AVCodecContext>? = context
            avcodec_free_context(&context)
            throw .libav(call: "av_frame_alloc", code: 0, message: "out of memory")
        }
        guard let packet = av_packet_alloc() else {
            var context: UnsafeMutablePointer<AVCodecContext>? = context, frame: UnsafeMutablePointer<AVFrame>? = frame
            avcodec_free_context(&context)
            av_frame_free(&frame)
            throw .libav(call: "av_packet_alloc", code: 0, message: "out of memory")
        }
        self.context = context
        self.frame = frame
        self.packet = packet
        let name = attempts.last?.codec ?? "?"
        report = H264EncoderReport(codec: name, hardware: name != "libx264", attempts: attempts, threads: threads)
        frame.pointee.format = AV_PIX_FMT_YUV420P.rawValue
        frame.pointee.width = Int32(settings.encodedWidth)
        frame.pointee.height = Int32(settings.encodedHeight)
        let rc = av_frame_get_buffer(frame, 0)
        guard rc >= 0 else { throw Self.libavError("av_frame_get_buffer", rc) }
        logger.info("h264: encoder \(report.description), \(settings.encodedWidth)x\(settings.encodedHeight) at \(settings.fps) fps, \(settings.bitrate) bit/s, gop \(settings.gop)")
    }

    deinit {
        var context: UnsafeMutablePointer<AVCodecContext>? = context
        var frame: UnsafeMutablePointer<AVFrame>? = frame
        var packet: UnsafeMutablePointer<AVPacket>? = packet
        avcodec_free_context(&context)
        av_frame_free(&frame)
        av_packet_free(&packet)
    }

    /// The next picture passed to `encode` is coded as an IDR (with SPS and PPS in front). The caller bounds the
    /// rate (KeyframePolicy).
    public func requestKeyframe() { keyframeRequested = true }

    /// Encodes one picture (`settings.width`×`settings.height`, any layout) and returns the access units the
    /// encoder finished: one per picture for libx264 (zero latency), possibly none yet or several for hardware.
    public func encode(_ image: PlanarImage, sequence: UInt64, timestampNanos: UInt64) throws(H264EncoderError) -> [EncodedAccessUnit] {
        guard image.width == settings.width, image.height == settings.height else {
            throw .pictureMismatch("\(image.width)x\(image.height), the encoder was opened for \(settings.width)x\(settings.height)")
        }
        var rc = av_frame_make_writable(frame)
        guard rc >= 0 else { throw Self.libavError("av_frame_make_writable", rc) }
        guard let y = frame.pointee.data.0, let u = frame.pointee.data.1, let v = frame.pointee.data.2 else {
            throw .libav(call: "av_frame_get_buffer", code: 0, message: "frame without planes")
        }
        YUV420Conversion.write(image, width: settings.encodedWidth, height: settings.encodedHeight,
                               y: .init(base: y, stride: Int(frame.pointee.linesize.0)),
                               u: .init(base: u, stride: Int(frame.pointee.linesize.1)),
                               v: .init(base: v, stride: Int(frame.pointee.linesize.2)))
        frame.pointee.pts = nextPTS
        remember(nextPTS, sequence: sequence, timestampNanos: timestampNanos)
        nextPTS += 1
        // libx264 (forced-idr), h264_v4l2m2m (FORCE_KEY_FRAME) and h264_vaapi all code an I-typed frame as an IDR.
        frame.pointee.pict_type = keyframeRequested ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE
        keyframeRequested = false
        var units: [EncodedAccessUnit] = []
        rc = avcodec_send_frame(context, frame)
        if rc == cav_error_again() {
            // The encoder's output is full: take it, then the input is accepted.
            units = try receive()
            rc = avcodec_send_frame(context, frame)
        }
        guard rc >= 0 else { throw Self.libavError("avcodec_send_frame", rc) }
        return try units + receive()
    }

    /// Ends the stream: the access units still inside the encoder. The encoder takes no pictures after this.
    public func flush() throws(H264EncoderError) -> [EncodedAccessUnit] {
        let rc = avcodec_send_frame(context, nil)
        guard rc >= 0 || rc == cav_error_eof() else { throw Self.libavError("avcodec_send_frame", rc) }
        return try receive()
    }

    private func receive() throws(H264EncoderError) -> [EncodedAccessUnit] {
        var units: [EncodedAccessUnit] = []
        while true {
            let rc = avcodec_receive_packet(context, packet)
            if rc == cav_error_again() || rc == cav_error_eof() { return units }
            guard rc >= 0 else { throw Self.libavError("avcodec_receive_packet", rc) }
            defer { av_packet_unref(packet) }
            guard let data = packet.pointee.data, packet.pointee.size > 0 else { continue }
            let bytes = Array(UnsafeBufferPointer(start: data, count: Int(packet.pointee.size)))
            let source = pending.removeValue(forKey: packet.pointee.pts) ?? (0, 0)
            // Every keyframe carries SPS and PPS, whatever the encoder does (libx264 repeats them itself).
            let unit = EncodedAccessUnit(annexB: bytes, sequence: source.sequence, timestampNanos: source.timestampNanos,
                                         previous: parameterSets ?? extradataParameterSets).carryingParameterSets()
            if let sets = unit.parameterSets, sets != parameterSets {
                parameterSets = sets
                if !loggedProfile {
                    loggedProfile = true
                    logger.info("h264: \(report.codec) writes profile \(sets.profileName), level \(sets.levelName) (profile-level-id \(sets.profileLevelID))")
                }
            }
            units.append(unit)
        }
    }

    /// Keeps the source of a picture in flight; a hardware encoder that drops a picture leaves its entry, so only
    /// the latest few dozen are kept.
    private func remember(_ pts: Int64, sequence: UInt64, timestampNanos: UInt64) {
        pending[pts] = (sequence, timestampNanos)
        if pending.count > 64 { pending = pending.filter { $0.key > pts - 64 } }
    }

    private struct OpenFailure: Error { let text: String }

    /// Allocates, configures and opens the encoder `name`; on failure frees what it allocated and says why.
    private static func open(_ name: String, _ settings: H264EncoderSettings)
        -> Result<(UnsafeMutablePointer<AVCodecContext>, Int), OpenFailure> {
        if name == "h264_vaapi" {
            // Needs an AVHWDeviceContext for a render node and every picture uploaded to a VAAPI surface.
            return .failure(OpenFailure(text: "skipped: VAAPI needs a device context and surface upload, not implemented yet"))
        }
        guard let codec = avcodec_find_encoder_by_name(name) else {
            return .failure(OpenFailure(text: "not in this libavcodec"))
        }
        guard let context = avcodec_alloc_context3(codec) else { return .failure(OpenFailure(text: "avcodec_alloc_context3: out of memory")) }
        var owned: UnsafeMutablePointer<AVCodecContext>? = context
        let fail = { (text: String) -> Result<(UnsafeMutablePointer<AVCodecContext>, Int), OpenFailure> in
            avcodec_free_context(&owned)
            return .failure(OpenFailure(text: text))
        }
        // Sliced threads (zerolatency) give one slice per thread and no frame of delay; past 4 they buy little.
        let threads = min(4, max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let c = context
        c.pointee.width = Int32(settings.encodedWidth)
        c.pointee.height = Int32(settings.encodedHeight)
        c.pointee.pix_fmt = AV_PIX_FMT_YUV420P
        c.pointee.time_base = AVRational(num: 1, den: Int32(settings.fps))
        c.pointee.framerate = AVRational(num: Int32(settings.fps), den: 1)
        c.pointee.bit_rate = Int64(settings.bitrate)
        c.pointee.rc_max_rate = Int64(settings.bitrate)
        c.pointee.rc_buffer_size = Int32(settings.vbvBufferBits)
        c.pointee.gop_size = Int32(settings.gop)
        c.pointee.keyint_min = Int32(settings.gop)
        c.pointee.max_b_frames = 0
        // In-band SPS/PPS before every IDR (no global extradata): a viewer can start at any keyframe.
        c.pointee.flags &= ~Int32(AV_CODEC_FLAG_GLOBAL_HEADER)
        if name == "libx264" {
            c.pointee.thread_count = Int32(threads)
            let options = [("preset", "ultrafast"), ("tune", "zerolatency"), ("forced-idr", "1"),
                           ("x264-params", "repeat-headers=1:scenecut=0:bframes=0:keyint=\(settings.gop):min-keyint=\(settings.gop)")]
            for (key, value) in options {
                let rc = av_opt_set(c.pointee.priv_data, key, value, 0)
                if rc < 0 { return fail("option \(key)=\(value): \(errorText(rc))") }
            }
        }
        let rc = avcodec_open2(c, codec, nil)
        if rc < 0 { return fail("avcodec_open2: \(errorText(rc))") }
        return .success((c, name == "libx264" ? threads : 1))
    }

    private static func libavError(_ call: String, _ code: Int32) -> H264EncoderError {
        .libav(call: call, code: code, message: errorText(code))
    }

    static func errorText(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 128)
        let rc = buffer.withUnsafeMutableBufferPointer { av_strerror(code, $0.baseAddress, $0.count) }
        guard rc == 0 else { return "error \(code)" }
        return buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
}

@available(*, unavailable)
extension H264Encoder: Sendable {}
