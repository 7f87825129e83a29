// DaemonMetrics: GET /metrics — the capture thread's and the server's counters, the source's state, encode
// times and the standard process_* metrics in the Prometheus text format. Taken as /state takes them: one
// short lock on the capture snapshot, the rest read on the reactor thread; no per-viewer labels.
import CamdSystem
import Capture
import Settings
import Streaming
import Wire

/// /proc/stat's btime: constant while the machine runs, so read once.
private let bootTime = ProcessUsage.bootTime()

extension Daemon {
    func metricsText() -> [UInt8] {
        let capture = self.capture.snapshot
        let stats = server.stats
        let counters = server.counters
        let latest = ring.latest
        var out = PrometheusText()

        out.add("camd_build_info", .gauge, help: "camd's version; always 1.", [([("version", CamdVersion.string)], 1)])

        // Capture
        out.add("camd_frames_captured_total", .counter,
                help: "Frames the capture thread made or took (camera or test-pattern pictures, and NO SIGNAL placeholders), published or not.",
                Double(capture.framesPublished + capture.sameFrames.unchanged))
        out.add("camd_frames_unchanged_total", .counter,
                help: "Frames not published because they were identical to the last published one (drop_same_frames).",
                Double(capture.sameFrames.unchanged))
        out.add("camd_frames_invalid_total", .counter, help: "Camera or file frames rejected as incomplete or corrupt.",
                Double(capture.invalidFrames))
        out.add("camd_capture_frames_per_second", .gauge, help: "Capture frame rate measured over the last 2 seconds.",
                capture.sameFrames.captureFPS)
        out.add("camd_published_frames_per_second", .gauge,
                help: "Rate of frames published to viewers over the last 2 seconds (below the capture rate while drop_same_frames skips unchanged ones).",
                capture.measuredFPS)
        out.add("camd_target_frames_per_second", .gauge, help: "The configured frame rate (fps).", config.fps)
        out.add("camd_capture_idle", .gauge,
                help: "1 while capture idles (no viewer and no snapshot for idle_after: no frames are made), else 0.",
                capture.isIdle ? 1 : 0)
        out.add("camd_frame_age_seconds", .gauge, help: "Seconds since the latest frame's capture timestamp (it grows while capture idles).",
                latest.map { frame -> [(PrometheusText.Labels, Double)] in
                    let now = Clock.realtimeNanos()
                    return [([], now > frame.timestampNanos ? Double(now - frame.timestampNanos) / 1e9 : 0)]
                } ?? [])
        out.add("camd_frame_width_pixels", .gauge, help: "Width of the latest frame (the configured width before the first).",
                Double(latest?.width ?? config.width))
        out.add("camd_frame_height_pixels", .gauge, help: "Height of the latest frame (the configured height before the first).",
                Double(latest?.height ?? config.height))
        let encodes = capture.encodeTimes
        out.add("camd_encode_seconds",
                help: "Time of each JPEG encode camd does itself (YUYV camera frames, the test pattern); MJPEG passed through is not encoded.",
                PrometheusText.Histogram(upperBounds: EncodeTimes.upperBounds, counts: encodes.counts, sum: encodes.sumSeconds,
                                         count: encodes.count))
        out.add("camd_encode_workers", .gauge, help: "Encoder worker threads for raw camera frames (encode_workers).",
                Double(capture.encodeWorkers))
        out.add("camd_encoder_dropped_total", .counter,
                help: "Raw frames dropped at the encoders' input because every worker was busy (latest wins).",
                Double(capture.encoderDropped))
        out.add("camd_encode_failures_total", .counter, help: "Raw frames whose JPEG encode failed (not published).",
                Double(capture.encodeFailures))
        let latency = capture.captureLatency
        out.add("camd_capture_latency_seconds",
                help: "Time from each frame's capture timestamp (the driver's for a camera) to its publish, NO SIGNAL placeholders excluded.",
                PrometheusText.Histogram(upperBounds: CaptureLatency.upperBounds, counts: latency.counts, sum: latency.sumSeconds,
                                         count: latency.count))

        // Source
        let state = capture.source.state
        out.add("camd_source_up", .gauge, help: "1 while the source delivers frames (state streaming), else 0.",
                state == .streaming ? 1 : 0)
        out.add("camd_source_state", .gauge, help: "The source's state: 1 for the current one, 0 for the others.",
                [SourceStatus.State.streaming, .opening, .noSignal, .stopped].map { ([("state", $0.rawValue)], $0 == state ? 1 : 0) })
        out.add("camd_source_retries", .gauge, help: "Failed (re)open attempts since the source last streamed.",
                Double(capture.source.retries))
        out.add("camd_source_retries_total", .counter, help: "Failed (re)open attempts of the source since camd started.",
                Double(capture.sourceRetriesTotal))
        out.add("camd_source_lost_total", .counter, help: "Times a streaming source stopped delivering (camera lost).",
                Double(capture.sourceLostTotal))

        // Viewers and connections
        let connections = server.connectionCounts
        out.add("camd_viewers", .gauge, help: "Viewers receiving the stream, by protocol.",
                [([("protocol", "native")], Double(connections.nativeViewers)), ([("protocol", "http")], Double(connections.httpViewers))])
        out.add("camd_connections", .gauge, help: "Open connections (viewers and HTTP requests), by protocol.",
                [([("protocol", "native")], Double(connections.native)), ([("protocol", "http")], Double(connections.http)), ([("protocol", "rtsp")], Double(connections.rtsp))])
        out.add("camd_connections_accepted_total", .counter, help: "Connections accepted.", Double(stats.accepted))
        out.add("camd_connections_refused_total", .counter,
                help: "Connections or viewers turned away, by the limit reached.",
                RefusalLimit.allCases.map { ([("reason", $0.rawValue)], Double(counters.refused[$0, default: 0])) })
        out.add("camd_client_timeouts_total", .counter,
                help: "Viewers dropped after client_timeout: idle (accepted no data) or slow (too little).",
                TimeoutKind.allCases.map { ([("kind", $0.rawValue)], Double(counters.timeouts[$0, default: 0])) })
        out.add("camd_http_request_timeouts_total", .counter,
                help: "HTTP connections closed without a complete request within request_timeout.",
                Double(counters.requestTimeouts))
        out.add("camd_http_requests_total", .counter,
                help: "HTTP requests answered, by route (other: unknown paths; invalid: refused by the parser) and status.",
                counters.requests.sorted { $0.key < $1.key }.map {
                    ([("route", $0.key.route.rawValue), ("code", String($0.key.status))], Double($0.value))
                })
        out.add("camd_frames_sent_total", .counter, help: "Frames delivered to viewers, summed over all viewers.",
                Double(stats.framesSent))
        out.add("camd_frames_dropped_total", .counter,
                help: "Frames viewers skipped because they were still busy with an earlier one (latest wins), summed.",
                Double(stats.framesDropped))
        out.add("camd_sent_bytes_total", .counter, help: "Bytes sent to viewers (headers and frames), summed.",
                Double(stats.bytesSent))

        // The standard process metrics (as Prometheus's client libraries name them).
        let process = ProcessUsage.current(bootTime: bootTime)
        func add(_ name: String, _ kind: PrometheusText.Kind, _ help: String, _ value: Double?) {
            guard let value else { return }
            out.add(name, kind, help: help, value)
        }
        add("process_cpu_seconds_total", .counter, "Total user and system CPU time spent in seconds.", process.cpuSeconds)
        add("process_resident_memory_bytes", .gauge, "Resident memory size in bytes.", process.residentBytes)
        add("process_virtual_memory_bytes", .gauge, "Virtual memory size in bytes.", process.virtualBytes)
        add("process_open_fds", .gauge, "Number of open file descriptors.", process.openFDs.map(Double.init))
        add("process_max_fds", .gauge, "Maximum number of open file descriptors.", process.maxFDs)
        add("process_start_time_seconds", .gauge, "Start time of the process since unix epoch in seconds.",
            process.startTimeSeconds)
        return out.bytes
    }
}
