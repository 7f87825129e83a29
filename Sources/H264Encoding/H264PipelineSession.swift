// H264EncodingSession: one run of the H.264 pipeline's thread — the encoder (opened at the first frame, reopened
// when the picture size or the settings change), the JPEG decoder, the keyframe policy, and the camera pass-through.
// Made, used and released on that thread alone.
import CamdSystem
import Frames
import H264
import JPEG
import Logging

final class H264EncodingSession {
    /// Between two failed opens (no encoder at all): frames in between are skipped without being decoded.
    static let reopenDelayNanos: UInt64 = 5_000_000_000
    /// A hardware encoder that gives no unit for this many frames has failed on its first frames.
    static let hardwareSilenceLimit = 60

    private let pipeline: H264Pipeline
    private var settings: H264PipelineSettings
    private var encoder: H264Encoder?
    private var decoder: PlanarJPEGDecoder?
    private var policy: KeyframePolicy
    /// Why the next open happens, for its log line.
    private var openReason = "first frame"
    /// A hardware encoder failed on its first frames during this run: libx264 from now on (until new settings).
    private var softwareOnly = false
    private var framesSinceOpen = 0
    private var unitsSinceOpen = 0
    /// No open is tried before this (monotonic ns) after one failed.
    private var retryAfter: UInt64 = 0
    private var openFailureLogged = false
    private var lastLoggedFailure: String?
    /// The camera sends H.264 (the last frame had its own unit): its units reach the ring from the capture thread
    /// (H264Pipeline.passThrough), and this thread encodes nothing.
    private var passingThrough = false
    private var passthroughKeyframeLogged = false

    init(pipeline: H264Pipeline, settings: H264PipelineSettings) {
        self.pipeline = pipeline
        self.settings = settings
        policy = KeyframePolicy(gop: settings.gop, fps: settings.fps)
    }

    /// New settings: the open encoder is replaced before the next frame.
    func apply(_ newSettings: H264PipelineSettings) {
        settings = newSettings
        softwareOnly = false
        retryAfter = 0
        if encoder != nil {
            encoder = nil
            openReason = "new settings"
        }
    }

    /// The run ends: the encoder and decoder go now, on this thread.
    func close() {
        encoder = nil
        decoder = nil
    }

    func handle(_ frame: Frame, keyframeWanted: Bool) {
        if frame.h264 != nil {
            cameraSendsH264(keyframeWanted: keyframeWanted)
            return
        }
        if passingThrough {
            passingThrough = false
            openReason = "the camera stopped sending H.264"
        }
        let started = Clock.monotonicNanos()
        // The last open failed: do not decode pictures nobody can encode, and do not hammer libavcodec.
        if encoder == nil, started < retryAfter {
            pipeline.statistics.withLock { $0.snapshot.framesSkipped += 1 }
            return
        }
        guard let (picture, fromRaw) = pixels(of: frame) else { return }
        guard let encoder = encoderFitting(picture) else { return }
        if keyframeWanted, policy.viewerJoined(nowNanos: pipeline.keyframeClock()) {
            encoder.requestKeyframe()
            pipeline.statistics.withLock { $0.snapshot.forcedKeyframes += 1 }
        }
        do {
            let units = try encoder.encode(picture, sequence: frame.sequence, timestampNanos: frame.timestampNanos)
            framesSinceOpen += 1
            unitsSinceOpen += units.count
            let nanos = Clock.monotonicNanos() - started
            pipeline.statistics.withLock { s in
                s.recordEncode(nanos: nanos)
                if fromRaw { s.snapshot.framesFromRaw += 1 } else { s.snapshot.framesDecoded += 1 }
            }
            publish(units, width: encoder.settings.encodedWidth, height: encoder.settings.encodedHeight)
            if encoder.report.hardware, unitsSinceOpen == 0, framesSinceOpen >= Self.hardwareSilenceLimit {
                fallBackToSoftware(encoder, why: "no access unit after \(framesSinceOpen) frames")
            }
        } catch {
            if encoder.report.hardware, unitsSinceOpen == 0 {
                fallBackToSoftware(encoder, why: "\(error)")
            } else {
                fail("encode of a \(picture.width)x\(picture.height) picture failed: \(error)")
            }
        }
    }

    /// The frame's pixels: the capture's raw picture when it kept one, else its JPEG decoded to planar YUV once.
    private func pixels(of frame: Frame) -> (PlanarImage, fromRaw: Bool)? {
        if let raw = frame.rawPicture as? PlanarImage { return (raw, true) }
        do {
            let decoder = try decoder ?? PlanarJPEGDecoder()
            self.decoder = decoder
            let image = try frame.payload.withUnsafeBytes { try decoder.decode($0) }
            return (image, false)
        } catch {
            fail("JPEG decode of a \(frame.width)x\(frame.height) frame failed: \(error)")
            return nil
        }
    }

    /// The encoder for `picture`'s size: the open one, or a new one (first frame, size change, new settings).
    private func encoderFitting(_ picture: PlanarImage) -> H264Encoder? {
        if let encoder {
            if encoder.settings.width == picture.width, encoder.settings.height == picture.height { return encoder }
            openReason = "the picture changed from \(encoder.settings.width)x\(encoder.settings.height)"
            self.encoder = nil
        }
        do {
            let opened = try H264Encoder(settings: settings.encoderSettings(width: picture.width, height: picture.height,
                                                                          softwareOnly: softwareOnly),
                                         logger: pipeline.logger)
            pipeline.logger.info("h264: encoding \(picture.width)x\(picture.height) with \(opened.report.codec) (\(openReason))")
            encoder = opened
            framesSinceOpen = 0
            unitsSinceOpen = 0
            openFailureLogged = false
            // A new encoder starts with an IDR: the GOP count starts again.
            policy = KeyframePolicy(gop: settings.gop, fps: settings.fps)
            pipeline.statistics.withLock { s in
                s.snapshot.encoderOpens += 1
                s.snapshot.codec = opened.report.codec
                s.snapshot.hardware = opened.report.hardware
                s.snapshot.passthrough = false
                s.snapshot.width = opened.settings.encodedWidth
                s.snapshot.height = opened.settings.encodedHeight
                s.snapshot.profile = nil
            }
            return opened
        } catch {
            retryAfter = Clock.monotonicNanos() + Self.reopenDelayNanos
            pipeline.statistics.withLock { $0.snapshot.lastError = error.description }
            if !openFailureLogged {
                openFailureLogged = true
                pipeline.logger.error("h264: \(error); trying again every \(Self.reopenDelayNanos / 1_000_000_000) s while viewers wait")
            }
            return nil
        }
    }

    /// A hardware encoder opened but fails (or stays silent) on its first frames: libx264 from the next frame on.
    private func fallBackToSoftware(_ failed: H264Encoder, why: String) {
        pipeline.logger.warning("h264: \(failed.report.codec) opened but failed on its first frames (\(why)); falling back to libx264")
        pipeline.statistics.withLock { s in
            s.snapshot.failures += 1
            s.snapshot.lastError = "\(failed.report.codec): \(why)"
        }
        encoder = nil
        softwareOnly = true
        openReason = "\(failed.report.codec) failed"
    }

    /// A frame of a camera that sends H.264: its units are published by the capture thread (every one, in order:
    /// this thread's input drops frames), so no encoder is needed.
    private func cameraSendsH264(keyframeWanted: Bool) {
        passingThrough = true
        pipeline.statistics.withLock { $0.snapshot.cameraFrames += 1 }
        if encoder != nil {
            encoder = nil
            openReason = "the camera stopped sending H.264"
        }
        if keyframeWanted, !passthroughKeyframeLogged {
            passthroughKeyframeLogged = true
            pipeline.logger.debug("h264: a viewer waits for a keyframe; the camera's own H.264 brings one when its GOP does")
        }
    }

    /// Publishes `units` into the ring, each with the stream it belongs to, and wakes the reactor once.
    private func publish(_ units: [EncodedAccessUnit], width: Int, height: Int) {
        guard !units.isEmpty else { return }
        let now = Clock.monotonicNanos()
        for unit in units {
            let unit = unit.carryingParameterSets()
            pipeline.publishUnit(unit, width: width, height: height, fps: settings.fps, now: now)
            policy.encoded(isKeyframe: unit.isKeyframe)
        }
        pipeline.published()
    }

    /// A frame that could not be decoded or encoded: counted, kept as lastError, logged when the reason is new.
    private func fail(_ text: String) {
        pipeline.statistics.withLock { s in
            s.snapshot.failures += 1
            s.snapshot.lastError = text
        }
        if text != lastLoggedFailure {
            lastLoggedFailure = text
            pipeline.logger.warning("h264: \(text)")
        }
    }
}

@available(*, unavailable)
extension H264EncodingSession: Sendable {}
