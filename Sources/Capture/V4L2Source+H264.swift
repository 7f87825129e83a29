// V4L2Source+H264: a camera that sends H.264 itself (V4L2_PIX_FMT_H264, `format = "h264"`). Each access unit goes to
// RTSP viewers as the camera made it (SourceFrame.h264, handed on by the capture thread as a CameraH264Unit); MJPEG
// viewers need JPEGs, so each unit is also decoded (the injected H264PictureDecoder) and the picture encoded by the
// capture thread's JPEG workers like a raw frame. A unit lost on the way (damaged, refused by the decoder, handed
// back unseen) marks the next one h264AfterGap, so RTSP viewers skip to the camera's next IDR.
import JPEG

/// What one converted buffer gives the capture thread (only H.264 can wait or be refused after conversion).
enum PictureOutcome {
    /// A picture (or a camera's H.264 unit without one: SourceFrame.hasPicture).
    case picture(SourceFrame)
    /// A unit the decoder refused: counted in invalidFrames.
    case refused
}

extension V4L2Source {
    /// At each (re)open: a new decoder for an H.264 stream (a new stream starts at an IDR; nothing carries over),
    /// none for other formats. Without a decoder factory camd was built without H.264: the camera is refused.
    func prepareH264Decoder(for format: NegotiatedFormat) throws(V4L2Error) {
        h264Decoder = nil
        loggedH264Failure = nil
        // A (re)opened stream: what came before is not continued.
        h264Gap = true
        lastH264Sequence = nil
        guard format.pixelFormat == .h264 else { return }
        guard let make = settings.makeH264Decoder.make else {
            throw V4L2Error(settings.path, "format = \"h264\" needs camd's H.264 decoder (libavcodec), and this camd has none: "
                            + "use format = \"mjpeg\" or a raw format")
        }
        do {
            h264Decoder = try make()
        } catch {
            throw V4L2Error(settings.path, "the H.264 decoder did not open: \(error)")
        }
    }

    /// After a parked idle the camera's units continue mid-GOP, referring to pictures camd never took: a fresh decoder
    /// waits for the next IDR (no picture, not an error) instead of failing on each of them.
    func restartH264Decoder() {
        guard h264Decoder != nil, let make = settings.makeH264Decoder.make else { return }
        if let fresh = try? make() { h264Decoder = fresh }
    }

    /// The driver numbers the frames it captures: a jump means it lost some (no buffer was queued, a busy USB bus),
    /// and with them access units the next ones refer to.
    func noteH264Sequence(_ sequence: UInt32) {
        if let last = lastH264Sequence, sequence != last &+ 1 { h264Gap = true }
        lastH264Sequence = sequence
    }

    /// The status line's word for the negotiated format, as MJPEG's: "640x480 H264 30 fps (passthrough)".
    func statusMode(_ format: NegotiatedFormat) -> String {
        format.pixelFormat.isJPEG || format.pixelFormat == .h264 ? "passthrough" : "encoded at quality \(settings.quality)"
    }

    /// The open log line's words: what happens to each frame.
    func logMode(_ format: NegotiatedFormat) -> String {
        if format.pixelFormat == .h264 {
            // A camera's H.264 cannot be turned without re-encoding it, and the JPEGs must show what RTSP shows.
            let unturned = settings.orientation == .identity ? "" : " (rotate and flip do not apply to a camera's own H.264)"
            return "passthrough to RTSP, decoded for JPEG viewers at quality \(settings.quality)\(unturned)"
        }
        return statusMode(format)
    }

    /// One access unit. While nobody wants pictures (only RTSP /stream viewers) it is not decoded: it goes on alone,
    /// for RTSP. Once pictures are wanted again a fresh decoder starts at the camera's next IDR (the units it skipped
    /// are gone), so the first JPEG comes within one of the camera's GOPs.
    func handOffH264(_ unit: [UInt8], timestampNanos: UInt64, width: Int, height: Int) -> PictureOutcome {
        guard picturesWanted else {
            decoderPaused = true
            return .picture(SourceFrame(h264Unit: unit, width: width, height: height, timestampNanos: timestampNanos))
        }
        if decoderPaused {
            decoderPaused = false
            restartH264Decoder()
        }
        return decodeH264(unit, timestampNanos: timestampNanos, width: width, height: height)
    }

    /// One access unit: decoded to a picture for the JPEG workers, the unit itself kept on the frame for RTSP.
    func decodeH264(_ unit: [UInt8], timestampNanos: UInt64, width: Int, height: Int) -> PictureOutcome {
        guard let decoder = h264Decoder else { return .refused }
        let image: PlanarImage?
        do {
            image = try decoder.decode(unit)
        } catch {
            // Corrupt units come in runs (a damaged GOP): each kind is logged once, all are counted.
            let text = "\(error)"
            if text != loggedH264Failure {
                loggedH264Failure = text
                logger.warning("camera \(settings.path): an H.264 unit did not decode (\(text)); such units are counted as invalid frames")
            }
            return .refused
        }
        // No picture yet (before the stream's first IDR): the unit still goes to RTSP viewers.
        guard let image else { return .picture(SourceFrame(h264Unit: unit, width: width, height: height, timestampNanos: timestampNanos)) }
        var frame = SourceFrame(unencoded: image, quality: settings.quality, timestampNanos: timestampNanos)
        frame.h264 = unit
        return .picture(frame)
    }
}
