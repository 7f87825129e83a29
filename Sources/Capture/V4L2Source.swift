// V4L2Source: a real camera as a frame source — MJPEG passed through (repaired if needed), raw formats encoded,
// H.264 passed through and decoded for JPEG viewers (V4L2Source+H264.swift); unplug, timeouts and absence handled
// by placeholders and reopening with backoff.
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem
import JPEG
import Logging

public struct V4L2Settings: Sendable, Equatable {
    public var path: String
    public var format: PixelFormatPreference = .auto
    public var width = 640
    public var height = 480
    public var fps: Double = 30
    public var quality = 80
    public var bufferCount = 4
    /// Seconds without a frame before the camera counts as lost.
    public var deviceTimeout: Double = 2
    /// Longest wait between reopen attempts, in seconds.
    public var retryMax: Double = 5
    public var controls: [String: Int] = [:]
    /// `rotate` and `flip`: raw formats are turned while they are converted, MJPEG by a lossless transform.
    public var orientation = Orientation.identity
    /// How `format = "h264"` pictures become JPEGs (H264Encoding's decoder, injected by Service); `.unavailable`: camd
    /// was built without H.264, and a camera's H.264 is refused.
    public var makeH264Decoder = H264DecoderFactory.unavailable

    public init(path: String) { self.path = path }
}

public final class V4L2Source: FrameSource {
    public private(set) var settings: V4L2Settings
    public var name: String { "v4l2:\(settings.path)" }
    public let pacing = SourcePacing.device
    public private(set) var invalidFrames: UInt64 = 0
    public private(set) var status = SourceStatus(state: .opening)

    let logger: Logger
    private var device: V4L2Device?
    private let placeholder: Placeholder
    /// rotate/flip of MJPEG frames (raw formats are turned while converted).
    private let turner: PictureTurner
    private var nextAttempt: UInt64 = 0
    private var backoff: Double = 0.25
    private var lastFrameAt: UInt64 = 0
    private var lastPlaceholderAt: UInt64?
    /// The outage has been announced (so its end is logged as a recovery).
    private var lossLogged = false
    /// The reason last logged, and when: each change of reason is logged once, at most one a second.
    private var loggedReason: String?
    private var reasonLoggedAt: UInt64 = 0
    private var placeholderSize: (width: Int, height: Int)
    /// The camera was closed by idle mode (idle_camera = "stop"): its reopen is routine, not news.
    private var resumingFromStop = false
    /// Idle with the camera kept streaming: its buffers are not being taken (see `idle`).
    private var parked = false
    /// The open stream's decoder while the camera sends H.264 (one per opened stream; V4L2Source+H264.swift).
    var h264Decoder: (any H264PictureDecoder)?
    /// The decode failure last logged: the same one again is not logged once per frame.
    var loggedH264Failure: String?
    /// H.264 units were lost since the last one handed on (SourceFrame.h264AfterGap). True at the start: a stream
    /// is only passed on from an IDR.
    var h264Gap = true
    /// The driver's sequence number of the last H.264 buffer taken (nil: none since the stream (re)opened).
    var lastH264Sequence: UInt32?
    /// Someone wants pictures (CaptureDemand.wantsPictures): a camera's H.264 is decoded. Set before each frame.
    var picturesWanted = true
    /// H.264 units went by undecoded: the decoder must start again at an IDR.
    var decoderPaused = false

    public init(settings: V4L2Settings, logger: Logger) throws(JPEGError) {
        self.settings = settings
        self.logger = logger
        placeholder = try Placeholder(quality: settings.quality)
        turner = try PictureTurner(settings.orientation, logger: logger)
        placeholderSize = (settings.width, settings.height)
        DeviceDiagnosis.routeLibV4L2Messages(to: logger)
    }

    deinit { device?.close() }

    /// Releases the camera now (not whenever the last reference goes): a restarted capture opens it again
    /// at once, and real drivers refuse a second owner of the streaming queue.
    public func close() {
        device?.close()
        device = nil
        h264Decoder = nil
    }

    /// YUYV frames are encoded at the new quality from the next frame on; MJPEG is passed through anyway.
    public func setQuality(_ quality: Int) {
        settings.quality = quality
    }

    public func nextFrame(index: UInt64, timestampNanos: UInt64) throws(SourceError) -> SourceFrame? {
        pull(convert: true)
    }

    /// Idle: with `stopCamera` the camera is closed (its stream stops, its LED goes out) and reopened when frames
    /// are wanted again. Otherwise it keeps streaming but camd stops taking its buffers (the queue is "parked"):
    /// the driver fills the queued ones once and then drops frames, so an idle camd makes no wake-up per frame.
    /// The next pull hands those stale buffers back first (`unpark`). A camera that is away is still reopened
    /// (with the usual back-off) while idle, without NO SIGNAL pictures.
    public func setPicturesWanted(_ wanted: Bool) { picturesWanted = wanted }

    public func idle(stopCamera: Bool) -> IdlePass {
        if stopCamera {
            if device != nil || status.state != .stopped {
                close()
                // A camera that was failing keeps its account; one that streamed is now merely stopped.
                if status.state == .streaming || status.state == .opening { status.state = .stopped }
                resumingFromStop = true
            }
            return .nothing
        }
        guard device != nil else {
            _ = pull(convert: false)
            return .waited
        }
        parked = true
        return .nothing
    }

    /// One pass: (re)open when due, dequeue one buffer (waiting up to 100 ms), convert it unless idle (`convert`
    /// false), give it back. Without a camera: NO SIGNAL about once a second, only while frames are wanted.
    private func pull(convert wanted: Bool) -> SourceFrame? {
        let now = Clock.monotonicNanos()
        if device == nil {
            if now >= nextAttempt { open(now: now) }
            if device == nil {
                guard wanted else {
                    // Idle without a camera: wait as the placeholder would, but draw nothing.
                    Clock.sleepUntilMonotonic(min(max(nextAttempt, now + 10_000_000), now + 100_000_000))
                    return nil
                }
                return noSignalFrame(now: now)
            }
        }
        guard let device else { return nil }
        if parked {
            unpark(device, now: now)
            guard self.device != nil else { return nil }
        }
        let dequeued: DequeuedBuffer?
        do {
            dequeued = try device.dequeue(timeoutMilliseconds: 100)
        } catch {
            lose(error, now: now)
            return nil
        }
        if device.sourceChangePending {
            followSourceChange(device, now: now)
            return nil
        }
        guard let buffer = dequeued else {
            if Double(now - lastFrameAt) / 1e9 >= settings.deviceTimeout {
                lose(V4L2Error(settings.path, "no frame for \(Format.fixed(settings.deviceTimeout, 1, bareWhole: true)) s (device_timeout)", errno: ETIMEDOUT),
                     now: now)
            }
            return nil
        }
        // Idle, the camera just reopened: the buffer goes straight back (the queue is parked on the next pass).
        guard wanted else {
            lastFrameAt = now
            do { try device.requeue(buffer) } catch { lose(error, now: now) }
            if status.state != .streaming { markStreaming() }
            return nil
        }
        if device.format?.pixelFormat == .h264 { noteH264Sequence(buffer.sequence) }
        // The buffer goes back to the driver as soon as its bytes are copied out (MJPEG) or converted (raw),
        // before the encode: the driver never waits on camd's JPEG encoder for a buffer to fill.
        let converted = convert(buffer, from: device)
        do {
            try device.requeue(buffer)
        } catch {
            lose(error, now: now)
        }
        var picture: SourceFrame?
        switch converted.map(handOff) {
        case nil, .refused?:
            invalidFrames += 1
            // An H.264 unit lost (damaged buffer, refused by the decoder): RTSP viewers wait for the next IDR.
            h264Gap = true
            return nil
        case .picture(let frame)?:
            picture = frame
            if picture?.h264 != nil {
                picture?.h264AfterGap = h264Gap
                h264Gap = false
            }
        }
        lastFrameAt = now
        if status.state != .streaming { markStreaming() }
        return picture
    }

    /// The buffers the driver filled while the queue was parked hold frames from then: all go back unseen,
    /// so the first frame converted is one the camera completes from now on.
    private func unpark(_ device: V4L2Device, now: UInt64) {
        parked = false
        do {
            for _ in 0...device.bufferCount {
                guard let stale = try device.dequeue(timeoutMilliseconds: 0) else { break }
                try device.requeue(stale)
            }
        } catch {
            lose(error, now: now)
            return
        }
        // The parked time is not silence: the device timeout counts from now.
        lastFrameAt = now
        // The units in those buffers are lost to RTSP viewers too.
        h264Gap = true
        restartH264Decoder()
    }

    /// Only a real frame proves the camera is back (a stalled one opens fine and sends nothing).
    private func markStreaming() {
        if lossLogged {
            logger.notice("camera \(settings.path) recovered after \(status.retries) attempts: \(status.format ?? "")",
                          metadata: ["camd_event": "device_recovered", "camd_device": "\(settings.path)"])
            lossLogged = false
            loggedReason = nil
        }
        status.state = .streaming
        status.retries = 0
        status.lastError = nil
        backoff = 0.25
    }

    /// What one dequeued buffer became before it went back to the driver.
    private enum Converted {
        /// A JPEG as published (MJPEG, repaired if needed).
        case jpeg(SourceFrame)
        /// A raw picture in planar form, still to be encoded.
        case planes(PlanarImage, timestampNanos: UInt64)
        /// One H.264 access unit (Annex-B), copied out, still to be decoded (if pictures are wanted).
        case h264(unit: [UInt8], timestampNanos: UInt64, width: Int, height: Int)
    }

    /// MJPEG: validate and repair (one copy out of the driver's buffer). Raw formats: converted to planes in one
    /// pass, turned as `orientation` says (PixelConversion); a frame shorter than its size needs is invalid.
    private func convert(_ buffer: DequeuedBuffer, from device: V4L2Device) -> Converted? {
        guard let format = device.format, !buffer.flaggedError else { return nil }
        let timestamp = buffer.timestampNanos ?? Clock.realtimeNanos()
        if format.pixelFormat == .h264 {
            // Within bytesused and the driver's sizeimage, as for raw frames.
            let unit = device.withBytes(of: buffer) { raw in Array(format.sizeImage > 0 ? raw.prefix(format.sizeImage) : raw[...]) }
            return unit.isEmpty ? nil : .h264(unit: unit, timestampNanos: timestamp, width: format.width, height: format.height)
        }
        if format.pixelFormat.isJPEG {
            let outcome = device.withBytes(of: buffer) { MJPEGRepair.repair($0) }
            guard case .image(let bytes, _) = outcome else { return nil }
            // rotate/flip: a lossless transform of the copy (nil: libturbojpeg could not read it, counted invalid).
            return turner.turn(SourceFrame(payload: bytes, width: format.width, height: format.height, timestampNanos: timestamp))
                .map { .jpeg($0) }
        }
        guard let image = device.withBytes(of: buffer, { raw in rawPicture(raw, format: format) }) else { return nil }
        return .planes(image, timestampNanos: timestamp)
    }

    /// What the capture thread gets for a converted picture: a JPEG as is; a raw picture unencoded, with the quality
    /// to encode it at (the capture thread's encoder workers encode it — EncoderPool — after its buffer went back).
    /// H.264: decoded here, after the buffer went back (V4L2Source+H264.swift).
    private func handOff(_ converted: Converted) -> PictureOutcome {
        switch converted {
        case .jpeg(let frame):
            return .picture(frame)
        case .planes(let image, let timestamp):
            return .picture(SourceFrame(unencoded: image, quality: settings.quality, timestampNanos: timestamp))
        case .h264(let unit, let timestamp, let width, let height):
            return handOffH264(unit, timestampNanos: timestamp, width: width, height: height)
        }
    }

    private func open(now: UInt64) {
        do throws(V4L2Error) {
            let device = try V4L2Device(path: settings.path)
            do throws(V4L2Error) {
                // An HDMI input: the source's timings set the size and rate (width, height and fps do not apply).
                let dv = try device.prepareDVInput()
                let format = try negotiate(device, dv: dv)
                try prepareH264Decoder(for: format)
                let applied = try device.apply(controls: settings.controls)
                try device.startStreaming(bufferCount: settings.bufferCount)
                self.device = device
                placeholderSize = (format.width, format.height)
                status.format = "\(format) (\(statusMode(format)))"
                let mode = logMode(format)
                var adjusted = dv.map { " (HDMI source \($0); width, height and fps do not apply)" } ?? ""
                if dv == nil, format.width != settings.width || format.height != settings.height || abs(format.fps - settings.fps) > 0.01 {
                    adjusted = " (asked for \(settings.width)x\(settings.height) at \(Format.fixed(settings.fps, 1, bareWhole: true)) fps)"
                }
                let message = "camera \(settings.path): \(device.card) (driver \(device.driver), bus \(device.busInfo)); \(format)\(adjusted), \(mode), \(device.bufferCount) buffers\(applied.isEmpty ? "" : ", controls " + applied.joined(separator: " "))"
                // Once per camera, not once per reopen while it is failing, nor each time a viewer ends idling.
                if lossLogged { logger.debug("reopened \(message)") } else if resumingFromStop {
                    logger.info("restarted \(message)", metadata: ["camd_event": "device_opened", "camd_device": "\(settings.path)"])
                } else {
                    logger.notice("opened \(message)", metadata: ["camd_event": "device_opened", "camd_device": "\(settings.path)"])
                }
                lastFrameAt = now
                resumingFromStop = false
            } catch {
                device.close()
                throw error
            }
        } catch {
            status.dvTimings = nil
            status.retries += 1
            status.state = .noSignal
            status.lastError = error.message
            if !lossLogged {
                lossLogged = true
                report(error, now: now, level: error.isSignalAbsent ? .notice : .error, event: "device_unavailable",
                       "camera \(settings.path) unavailable: \(error.message); showing NO SIGNAL and retrying (up to every \(Format.fixed(retryCap(error), 1, bareWhole: true)) s)")
            } else {
                reportIfChanged(error, now: now, "camera \(settings.path) still unavailable (retry \(status.retries)), now: \(error.message)")
            }
            nextAttempt = now + UInt64(backoff * 1e9)
            backoff = min(backoff * 2, retryCap(error))
        }
    }

    private func lose(_ error: V4L2Error, now: UInt64) {
        device?.close()
        device = nil
        h264Decoder = nil
        status.dvTimings = nil
        // Retries count attempts since the camera last streamed: a reopened but silent camera adds one.
        status.retries = status.state == .streaming ? 0 : status.retries + 1
        status.state = .noSignal
        status.lastError = error.message
        if !lossLogged {
            lossLogged = true
            report(error, now: now, level: error.isSignalAbsent ? .notice : .error, event: "device_lost",
                   "camera \(settings.path) lost: \(error.message); showing NO SIGNAL and reopening")
        } else {
            reportIfChanged(error, now: now, "camera \(settings.path) lost again (retry \(status.retries)): \(error.message)")
        }
        nextAttempt = now + UInt64(backoff * 1e9)
        backoff = min(backoff * 2, retryCap(error))
        if status.retries == 0 { lastPlaceholderAt = nil }
    }

    /// One structured line: the journal gets CAMD_REASON (a stable word) and ERRNO beside the message.
    private func report(_ error: V4L2Error, now: UInt64, level: Logger.Level, event: String, _ message: String) {
        loggedReason = error.reason
        reasonLoggedAt = now
        var metadata: Logger.Metadata = ["camd_event": "\(event)", "camd_device": "\(settings.path)", "camd_reason": "\(error.reason)"]
        if error.errno != 0 { metadata["errno"] = "\(error.errno)" }
        logger.log(level: level, "\(message)", metadata: metadata)
    }

    /// While the camera stays away, a new kind of failure (no device → permission denied → busy) is logged once
    /// at warning, at most one a second; the same failure again is debug only.
    private func reportIfChanged(_ error: V4L2Error, now: UInt64, _ message: String) {
        if error.reason != loggedReason && now - reasonLoggedAt >= 1_000_000_000 {
            report(error, now: now, level: .warning, event: "device_unavailable", message)
        } else {
            logger.debug("\(message)")
        }
    }

    /// A placeholder about once a second while there is no camera; otherwise wait a little.
    private func noSignalFrame(now: UInt64) -> SourceFrame? {
        if let last = lastPlaceholderAt, now - last < 1_000_000_000 {
            let wake = min(last + 1_000_000_000, max(nextAttempt, now + 10_000_000), now + 100_000_000)
            Clock.sleepUntilMonotonic(wake)
            return nil
        }
        lastPlaceholderAt = now
        let timestamp = Clock.realtimeNanos()
        guard let jpeg = try? placeholder.render(width: placeholderSize.width, height: placeholderSize.height,
                                                 device: settings.path, timestampNanos: timestamp,
                                                 reason: status.lastError) else { return nil }
        return SourceFrame(payload: jpeg, width: placeholderSize.width, height: placeholderSize.height,
                           isPlaceholder: true, timestampNanos: timestamp)
    }
}

// MARK: HDMI (DV timings)

extension V4L2Source {
    /// The format at an HDMI source's size, at its rate (what S_PARM said does not apply); a camera's as configured.
    private func negotiate(_ device: V4L2Device, dv: DVTimings?) throws(V4L2Error) -> NegotiatedFormat {
        guard let dv else {
            return try device.negotiate(settings.format, width: settings.width, height: settings.height, fps: settings.fps)
        }
        var format = try device.negotiate(settings.format, width: dv.width, height: dv.height, fps: dv.fps > 0 ? dv.fps : settings.fps)
        if dv.fps > 0 {
            format.fps = dv.fps
            device.format = format
        }
        status.dvTimings = dv.description
        return format
    }

    /// A missing HDMI signal is polled for at least once a second (ustreamer's pace): the source coming back is
    /// seen at once, not after device_retry_max.
    private func retryCap(_ error: V4L2Error) -> Double {
        error.isSignalAbsent ? min(1, settings.retryMax) : settings.retryMax
    }

    /// A source-change event: the HDMI source's timings moved. On the same descriptor: stop streaming, free the
    /// buffers, query and set the new timings, negotiate at their size, restart. Viewers stay connected and get
    /// frames of the new size; no signal (or an unlocked one) is NO SIGNAL with its reason, and reopening polls.
    private func followSourceChange(_ device: V4L2Device, now: UInt64) {
        device.sourceChangePending = false
        let before = status.dvTimings
        device.stopStreaming()
        do throws(V4L2Error) {
            guard let dv = try device.prepareDVInput() else {
                // The input no longer has timings (it was switched): reopen as any camera.
                throw V4L2Error(settings.path, "the source changed and the input has no DV timings now", errno: EIO)
            }
            let format = try negotiate(device, dv: dv)
            try prepareH264Decoder(for: format)
            try device.startStreaming(bufferCount: settings.bufferCount)
            placeholderSize = (format.width, format.height)
            status.format = "\(format) (\(statusMode(format)))"
            lastFrameAt = now
            if before == dv.description {
                logger.debug("HDMI source \(settings.path) signalled a change; timings unchanged (\(dv)), stream restarted")
            } else {
                logger.notice("HDMI source changed: \(before ?? "no signal") → \(dv) (\(settings.path), now \(format))",
                              metadata: ["camd_event": "source_changed", "camd_device": "\(settings.path)"])
            }
        } catch {
            lose(error, now: now)
        }
    }
}
