// DaemonH264: the H.264 encoder between the frame ring and RTSP /stream — built when camd has H.264 (libavcodec),
// started by the RTSP server while an H.264 viewer exists, fed every published frame, reporting in /state.
#if !CAMD_NO_H264
import H264Encoding
#endif
import Capture
import Frames
import H264
import Locking
import Logging
import Settings
import Streaming
import Wire

/// The H.264 side of the daemon: the units' ring the RTSP server reads, and (with H.264 built in) the encoder.
final class DaemonH264: Sendable {
    /// Nil without H.264: RTSP then serves /mjpeg only.
    let units: AccessUnitRing?
    #if !CAMD_NO_H264
    let pipeline: H264Pipeline
    #endif
    /// Set once the reactor's wake-up exists: the encoder's units are announced through it like frames.
    private let wake = LockedValue<(@Sendable () -> Void)?>(nil)

    init(config: Config, demand: CaptureDemand, logger: Logger) {
        #if !CAMD_NO_H264
        let units = AccessUnitRing()
        self.units = units
        let wake = self.wake
        pipeline = H264Pipeline(settings: H264PipelineSettings(config), ring: units, demand: demand, logger: logger,
                                published: { wake.withLock { $0 }?() })
        #else
        units = nil
        #endif
    }

    func setWake(_ signal: @escaping @Sendable () -> Void) { wake.withLock { $0 = signal } }

    /// Every published frame (capture thread or an encoder worker): a no-op unless an H.264 viewer exists.
    func offer(_ frame: Frame) {
        #if !CAMD_NO_H264
        pipeline.offer(frame)
        #endif
    }

    /// Every unit of a camera's own H.264, in order (capture thread): published for RTSP viewers while any exist.
    func cameraUnit(_ unit: CameraH264Unit) {
        #if !CAMD_NO_H264
        pipeline.passThrough(unit)
        #endif
    }

    func setRunning(_ running: Bool) {
        #if !CAMD_NO_H264
        pipeline.setRunning(running)
        #endif
    }

    func requestKeyframe() {
        #if !CAMD_NO_H264
        pipeline.requestKeyframe()
        #endif
    }

    /// h264_encoder, h264_bitrate, h264_gop or fps changed (reload): the encoder is reopened before its next frame.
    func apply(_ config: Config) {
        #if !CAMD_NO_H264
        pipeline.update(H264PipelineSettings(config))
        #endif
    }

    /// The RTSP server's view of it.
    func feed(fps: Double) -> RTSPFeed {
        RTSPFeed(units: units, fps: fps, setEncoding: { [self] in setRunning($0) }, requestKeyframe: { [self] in requestKeyframe() })
    }

    /// /state's "h264" object (nil without H.264).
    var state: H264Status? {
        #if !CAMD_NO_H264
        let s = pipeline.snapshot
        var status = H264Status(running: s.running, encoder: s.codec, hardware: s.hardware, passthrough: s.passthrough,
                         width: s.width, height: s.height, profile: s.profile, frames_in: s.framesIn, frames_dropped: s.framesDropped,
                         units_out: s.unitsOut, keyframes: s.keyframes, forced_keyframes: s.forcedKeyframes, failures: s.failures,
                         bytes_out: s.bytesOut, bitrate: (s.bitrate / 1000).rounded() * 1000,
                         encode_p50_ms: Double(s.encodeP50Nanos / 10_000) / 100, encode_p99_ms: Double(s.encodeP99Nanos / 10_000) / 100,
                         last_error: s.lastError)
        status.frames_from_raw = s.framesFromRaw
        status.frames_decoded = s.framesDecoded
        if s.passthrough || s.cameraUnitsSkipped > 0 { status.camera_units_skipped = s.cameraUnitsSkipped }
        return status
        #else
        return nil
        #endif
    }
}

#if !CAMD_NO_H264
extension H264PipelineSettings {
    init(_ config: Config) {
        let choice: H264EncoderSettings.Choice = switch config.h264Encoder {
        case .auto: .auto
        case .libx264: .libx264
        case .v4l2m2m: .v4l2m2m
        case .vaapi: .vaapi
        }
        self.init(encoder: choice, bitrate: config.h264Bitrate, gop: config.h264Gop, fps: config.fps)
    }
}
#endif
