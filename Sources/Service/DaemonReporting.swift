// DaemonReporting: what the daemon tells the operator about itself — GET /state and the control socket's
// status (StatusReply), STATUS= for systemctl status, and the periodic summary line in the log.
import CamdSystem
import Capture
import FoundationEssentials
import Logging
import Settings
import Streaming
import Wire

extension Daemon {
    /// STATUS= once a second (once READY=1 was sent) and, every stats_interval, one summary line in the log.
    func reportIfDue(now: UInt64) {
        if notifier.isReady, now - lastStatus >= 1_000_000_000 {
            lastStatus = now
            notifier.status(statusLine())
        }
        guard config.statsInterval > 0, now - lastSummary >= UInt64(config.statsInterval * 1e9) else { return }
        lastSummary = now
        let capture = self.capture.snapshot
        let stats = server.stats
        let source = capture.source
        let retry = source.state == .streaming ? "" : " (retry \(source.retries)\(source.lastError.map { ": " + $0 } ?? ""))"
        logger.info("summary: source \(source.state.rawValue)\(retry), \(Format.fixed(capture.sameFrames.captureFPS, 1, bareWhole: true)) fps captured, \(capture.framesPublished) frames\(capture.sameFrames.unchanged > 0 ? " (\(capture.sameFrames.unchanged) unchanged not sent)" : ""), \(capture.invalidFrames) invalid, \(stats.clients) viewers, \(stats.framesSent) frames sent, \(stats.framesDropped) skipped, \(stats.refused) refused, \(stats.timedOut) timed out",
                    metadata: ["camd_event": "summary"])
    }

    /// STATUS= for systemctl status: "streaming 1280x720 MJPEG 30.0 fps, 3 viewers" or
    /// "no signal from /dev/video0 (retry 4)", then what the last reload left to say.
    func statusLine() -> String {
        guard let configStatus else { return sourceStatusLine() }
        return sourceStatusLine() + "; " + configStatus
    }

    private func sourceStatusLine() -> String {
        let snapshot = capture.snapshot
        if snapshot.isIdle {
            if case .network = config.source {
                let what = snapshot.source.state == .stopped ? "upstream connection closed"
                    : snapshot.source.state == .streaming ? "upstream connected, its frames dropped" : sourceStatusLine(snapshot)
                return "idle (no viewer for \(Format.fixed(config.idleAfter, 1, bareWhole: true)) s): \(config.source), \(what)"
            }
            let what = !config.isCamera ? "no frames made"
                : snapshot.source.state == .stopped ? "camera stopped"
                : snapshot.source.state == .streaming ? "camera streaming, its frames not taken"
                : sourceStatusLine(snapshot)
            return "idle (no viewer for \(Format.fixed(config.idleAfter, 1, bareWhole: true)) s): \(config.source), \(what)"
        }
        return sourceStatusLine(snapshot)
    }

    private func sourceStatusLine(_ snapshot: CaptureSnapshot) -> String {
        let device: String
        switch config.source {
        case .v4l2(let path): device = path
        case .file(let path): device = path
        case .testPattern: device = "test pattern"
        case .network(let url): device = url.description
        }
        switch snapshot.source.state {
        case .opening:
            return "opening \(device)"
        case .stopped:
            return "\(device) stopped while idle"
        case .noSignal:
            let why = snapshot.source.lastError.map { ": \($0)" } ?? ""
            return "no signal from \(device) (retry \(snapshot.source.retries))\(why)"
        case .streaming:
            let latest = ring.latest
            let kind: String
            switch config.source {
            case .v4l2:
                let negotiated = snapshot.source.format?.split(separator: " ").dropFirst().first.map(String.init) ?? "camera"
                kind = negotiated == "MJPG" ? "MJPEG" : negotiated
            case .file: kind = "file replay"
            case .testPattern: kind = "test pattern"
            case .network(let url): kind = "JPEG from \(url.scheme.rawValue) upstream"
            }
            let viewers = server.connectionCounts.viewers
            if snapshot.picturesPaused {
                // fps counts pictures, and none are made: say what does flow.
                return "streaming \(latest?.width ?? config.width)x\(latest?.height ?? config.height) \(kind) to RTSP only (no JPEG pictures made), "
                    + "\(viewers) viewer\(viewers == 1 ? "" : "s")"
            }
            return "streaming \(latest?.width ?? config.width)x\(latest?.height ?? config.height) \(kind) "
                + "\(Format.fixed(snapshot.measuredFPS, 1)) fps, \(viewers) viewer\(viewers == 1 ? "" : "s")"
        }
    }

    /// What GET /state returns (documented field by field in the README).
    func stateJSON() -> [UInt8] {
        let capture = capture.snapshot
        let stats = server.stats
        let latest = ring.latest
        let now = Clock.realtimeNanos()
        var state = StatusReply()
        state.version = CamdVersion.string
        state.source = config.source.description
        state.source_state = capture.source.state.rawValue
        state.source_retries = capture.source.retries
        state.source_error = capture.source.lastError
        state.source_format = capture.source.format
        state.dv_timings = capture.source.dvTimings
        state.format = latest?.format.description ?? "JPEG"
        state.width = latest?.width ?? config.width
        state.height = latest?.height ?? config.height
        state.fps = (capture.measuredFPS * 10).rounded() / 10
        state.target_fps = config.fps
        state.uptime_seconds = Double((Clock.monotonicNanos() - startedAt) / 1_000_000) / 1000
        state.sequence = latest?.sequence ?? 0
        state.frame_age_ms = latest.map { now > $0.timestampNanos ? Double((now - $0.timestampNanos) / 1000) / 1000 : 0 }
        state.placeholder = latest?.isPlaceholder ?? false
        state.idle = capture.isIdle
        state.idle_camera = config.idleCamera.rawValue
        if config.isCamera, config.format == .h264 { state.pictures_paused = capture.picturesPaused }
        if capture.isIdle {
            let idleNanos = Clock.monotonicNanos() - min(capture.idleSince, Clock.monotonicNanos())
            state.idle_seconds = Double(idleNanos / 1_000_000) / 1000
        }
        state.frames_captured = capture.framesPublished + capture.sameFrames.unchanged
        state.capture_fps = (capture.sameFrames.captureFPS * 10).rounded() / 10
        state.frames_unchanged = capture.sameFrames.unchanged
        state.drop_same_frames = config.dropSameFrames
        state.frames_invalid = capture.invalidFrames
        state.clients = stats.clients
        let counts = server.connectionCounts
        state.viewers = counts.viewers
        state.clients_native = counts.native
        state.clients_http = counts.http
        state.clients_rtsp = counts.rtsp
        state.viewers_rtsp = counts.rtspViewers
        state.h264 = h264.state
        state.clients_accepted = stats.accepted
        state.clients_refused = stats.refused
        state.clients_timed_out = stats.timedOut
        state.frames_sent = stats.framesSent
        state.frames_dropped = stats.framesDropped
        state.bytes_sent = stats.bytesSent
        state.config_status = configStatus
        state.encode_workers = capture.encodeWorkers
        state.frames_encoder_dropped = capture.encoderDropped
        state.frames_encode_failed = capture.encodeFailures
        state.capture_latency_p50_ms = capture.captureLatency.recentQuantile(0.5).map { ($0 * 1e5).rounded() / 100 }
        state.capture_latency_p99_ms = capture.captureLatency.recentQuantile(0.99).map { ($0 * 1e5).rounded() / 100 }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(state)).map { Array($0) } ?? Array("{}".utf8)
    }
}
