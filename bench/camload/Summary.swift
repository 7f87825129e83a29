// Summary: turns one run's measurements into the numbers the benchmark reports, as a text line or JSON.
import CamdSystem

struct LoadSummary {
    var label: String
    var wire: WireProtocol
    var target: String
    var fastClients: Int
    var slowClients: Int
    var windowSeconds: Double

    var fastFPSMedian: Double?
    var fastFPSP5: Double?
    /// The rest of the per-viewer distribution of fast clients' fps, and how many got under 90 % of --source-fps.
    var fastFPSMin: Double?
    var fastFPSP1: Double?
    var fastFPSMax: Double?
    var fastBehind: Int
    /// Mean frame size (RTSP: RTP payload bytes of an access unit) and one fast viewer's mean payload rate
    /// (Mbit/s, 10^6), from complete frames in the window.
    var meanFrameBytes: Double?
    var payloadMbitPerViewer: Double?
    /// RTSP: viewers playing when the warm-up began, and how long after the ramp that was.
    var playingAtStart: Int
    var secondsToAllPlaying: Double
    var slowFPSMedian: Double?
    var slowFPSP5: Double?
    /// Mean bytes per second one slow client actually read (10^3 bytes), to check --slow-rate was reached.
    var slowKBPerSecond: Double?
    /// All bytes all clients received in the window, in MB (10^6) per second.
    var megabytesPerSecond: Double
    /// Complete frames all clients received in the window.
    var framesDelivered: Int
    var latencyP50: Double?
    var latencyP99: Double?
    var slowLatencyP50: Double?
    var slowLatencyP99: Double?
    /// Slow clients' latency minus each frame's own transfer time: how long frames waited behind others.
    var slowWaitP50: Double?
    var slowWaitP99: Double?
    /// 2 frame intervals + one mean slow-client frame at the slow rate: above it, frames queue up.
    var slowLatencyBound: Double?
    var droppedFast: UInt64
    var droppedSlow: UInt64
    /// Never connected, or spoke a broken protocol.
    var failed: Int
    /// Connected, then closed or reset by the server before the end.
    var disconnected: Int
    /// Connected and open at the end, but received no complete frame in the window.
    var idle: Int
    var resyncs: Int
    var serverCPUPercent: Double?
    var cpuMillisPerFrame: Double?
    /// VmHWM and VmRSS in MB (10^6 bytes), the unit of the issue's memory target.
    var serverPeakRSSMB: Double?
    var serverRSSMB: Double?
    var camloadCPUPercent: Double
    var problems: [String]
    /// --reconnect: how often clients came back, and why they had been closed.
    var reconnects: Int
    var closeReasons: [String]
    /// --churn.
    var churn: ChurnCounts
    var churnReasons: [String]

    init(label: String, plan: LoadPlan, sourceFPS: Double, measurement m: LoadMeasurement) {
        self.label = label
        wire = plan.wire
        target = "\(plan.target)"
        fastClients = plan.fastClients
        slowClients = plan.slowClients
        let seconds = max(Double(m.windowNanos) / 1e9, 1e-9)
        windowSeconds = seconds

        var fastFPS = m.clients.filter { !$0.isSlow }.map { Double($0.windowFrames) / seconds }
        var slowFPS = m.clients.filter { $0.isSlow }.map { Double($0.windowFrames) / seconds }
        // Clients that never got a socket received nothing: they count, at 0 fps.
        fastFPS += Array(repeating: 0, count: m.unconnectableFast)
        slowFPS += Array(repeating: 0, count: m.unconnectableSlow)
        fastFPS.sort()
        slowFPS.sort()
        fastFPSMedian = percentile(fastFPS, 50)
        fastFPSP5 = percentile(fastFPS, 5)
        playingAtStart = m.playingAtStart
        secondsToAllPlaying = m.secondsToAllPlaying
        fastFPSMin = fastFPS.first
        fastFPSP1 = percentile(fastFPS, 1)
        fastFPSMax = fastFPS.last
        fastBehind = fastFPS.filter { $0 < 0.9 * sourceFPS }.count
        let fastList = m.clients.filter { !$0.isSlow }
        let fastFrames = fastList.reduce(0) { $0 + $1.windowFrames }
        let fastFrameBytes = fastList.reduce(0) { $0 + $1.windowFrameBytes }
        meanFrameBytes = fastFrames > 0 ? Double(fastFrameBytes) / Double(fastFrames) : nil
        payloadMbitPerViewer = fastFPS.isEmpty ? nil : Double(fastFrameBytes) * 8 / seconds / 1e6 / Double(fastFPS.count)
        slowFPSMedian = percentile(slowFPS, 50)
        slowFPSP5 = percentile(slowFPS, 5)

        megabytesPerSecond = Double(m.clients.reduce(0) { $0 + $1.windowBytes }) / seconds / 1e6
        framesDelivered = m.clients.reduce(0) { $0 + $1.windowFrames }
        let fastLatencies = m.fastLatencies.sorted()
        let slowLatencies = m.slowLatencies.sorted()
        latencyP50 = percentile(fastLatencies, 50)
        latencyP99 = percentile(fastLatencies, 99)
        slowLatencyP50 = percentile(slowLatencies, 50)
        slowLatencyP99 = percentile(slowLatencies, 99)
        let slowWaits = m.slowWaits.sorted()
        slowWaitP50 = percentile(slowWaits, 50)
        slowWaitP99 = percentile(slowWaits, 99)

        if plan.slowClients > 0 {
            let slowBytes = m.clients.filter(\.isSlow).reduce(0) { $0 + $1.windowBytes }
            slowKBPerSecond = Double(slowBytes) / seconds / Double(plan.slowClients) / 1e3
        }
        let slowFrames = m.clients.filter(\.isSlow).reduce(0) { $0 + $1.windowFrames }
        let slowFrameBytes = m.clients.filter(\.isSlow).reduce(0) { $0 + $1.windowFrameBytes }
        if plan.slowClients > 0 && slowFrames > 0 {
            let meanFrame = Double(slowFrameBytes) / Double(slowFrames)
            slowLatencyBound = 2 * 1000 / sourceFPS + meanFrame / Double(plan.slowRate) * 1000
        }

        droppedFast = m.clients.filter { !$0.isSlow }.reduce(0) { $0 + $1.windowDropped }
        droppedSlow = m.clients.filter(\.isSlow).reduce(0) { $0 + $1.windowDropped }

        failed = m.unconnectableFast + m.unconnectableSlow
        disconnected = 0
        idle = 0
        var reasons: [String: Int] = [:]
        if let error = m.firstSocketError { reasons["socket: \(error)", default: 0] += failed }
        for client in m.clients {
            switch client.outcome {
            case .connectFailed(let why)?:
                failed += 1
                reasons["connect: \(why)", default: 0] += 1
            case .protocolError(let why)?:
                failed += 1
                reasons["protocol: \(why)", default: 0] += 1
            case .disconnected(let why)?:
                disconnected += 1
                reasons["disconnected: \(why)", default: 0] += 1
            case nil:
                if client.windowFrames == 0 { idle += 1 }
            }
        }
        problems = reasons.sorted { $0.value > $1.value }.prefix(5).map { "\($0.value)× \($0.key)" }
        resyncs = m.resyncs

        if let before = m.serverBefore, let after = m.serverAfter {
            let cpuSeconds = Double(after.cpuTicks &- before.cpuTicks) / ProcessSample.ticksPerSecond
            serverCPUPercent = cpuSeconds / seconds * 100
            cpuMillisPerFrame = framesDelivered > 0 ? cpuSeconds * 1000 / Double(framesDelivered) : nil
            serverPeakRSSMB = after.peakRSSKiB.map { Double($0) * 1024 / 1e6 }
            serverRSSMB = after.rssKiB.map { Double($0) * 1024 / 1e6 }
        }
        camloadCPUPercent = Double(m.selfCPUNanos) / 1e9 / seconds * 100
        reconnects = m.reconnects
        closeReasons = m.closeReasons.sorted { $0.value > $1.value }.prefix(5).map { "\($0.value)× \($0.key)" }
        churn = m.churn
        churnReasons = m.churnReasons.sorted { $0.value > $1.value }.prefix(5).map { "\($0.value)× \($0.key)" }
    }

    /// No client received a single frame in the window.
    var receivedNothing: Bool { framesDelivered == 0 }

    var line: String {
        var parts = ["camload \(label.isEmpty ? "" : label + " ")\(wire.rawValue) \(target) fast=\(fastClients) slow=\(slowClients) window=\(Format.fixed(windowSeconds, 1))s"]
        parts.append("fast fps median \(show(fastFPSMedian, 1)) p5 \(show(fastFPSP5, 1))")
        if wire == .rtsp {
            parts.append("fps min \(show(fastFPSMin, 1)) p1 \(show(fastFPSP1, 1)) max \(show(fastFPSMax, 1)), \(fastBehind) under 90 %")
            parts.append("\(playingAtStart) playing \(Format.fixed(secondsToAllPlaying, 1)) s after the ramp")
            parts.append("payload \(show(payloadMbitPerViewer, 3)) Mbit/s per viewer, \(show(meanFrameBytes, 0)) B per access unit")
        }
        if slowClients > 0 { parts.append("slow fps median \(show(slowFPSMedian, 2)) p5 \(show(slowFPSP5, 2)) at \(show(slowKBPerSecond, 0)) KB/s each") }
        parts.append("\(Format.fixed(megabytesPerSecond, 1)) MB/s, \(framesDelivered) frames")
        parts.append("latency p50 \(show(latencyP50, 1)) ms p99 \(show(latencyP99, 1)) ms")
        if slowClients > 0 {
            parts.append("slow latency p50 \(show(slowLatencyP50, 0)) ms p99 \(show(slowLatencyP99, 0)) ms (bound \(show(slowLatencyBound, 0)) ms), waited p50 \(show(slowWaitP50, 0)) ms p99 \(show(slowWaitP99, 0)) ms")
        }
        parts.append("dropped \(droppedFast)" + (slowClients > 0 ? " (slow \(droppedSlow))" : ""))
        parts.append("failed \(failed) disconnected \(disconnected) idle \(idle)" + (resyncs > 0 ? " resyncs \(resyncs)" : ""))
        if serverCPUPercent != nil {
            parts.append("server cpu \(show(serverCPUPercent, 1))% \(show(cpuMillisPerFrame, 4)) ms/frame peak rss \(show(serverPeakRSSMB, 1)) MB")
        }
        parts.append("camload cpu \(Format.fixed(camloadCPUPercent, 1))%")
        if reconnects > 0 || !closeReasons.isEmpty { parts.append("reconnects \(reconnects) after: \(closeReasons.joined(separator: ", "))") }
        if churn.started > 0 {
            parts.append("churn started \(churn.started) connected \(churn.connected) with a frame \(churn.withFrame) ended early \(churn.endedEarly) no socket \(churn.unconnectable)"
                         + (churnReasons.isEmpty ? "" : " (\(churnReasons.joined(separator: ", ")))"))
        }
        return parts.joined(separator: " | ")
    }

    var json: String {
        var fields: [(String, String)] = [
            ("label", quote(label)), ("protocol", quote(wire.rawValue)), ("target", quote(target)),
            ("fast_clients", "\(fastClients)"), ("slow_clients", "\(slowClients)"), ("window_s", Format.fixed(windowSeconds, 3)),
            ("fast_fps_median", number(fastFPSMedian, 2)), ("fast_fps_p5", number(fastFPSP5, 2)),
            ("fast_fps_min", number(fastFPSMin, 2)), ("fast_fps_p1", number(fastFPSP1, 2)), ("fast_fps_max", number(fastFPSMax, 2)),
            ("fast_behind", "\(fastBehind)"), ("mean_frame_bytes", number(meanFrameBytes, 1)),
            ("payload_mbit_per_viewer", number(payloadMbitPerViewer, 4)),
            ("playing_at_start", "\(playingAtStart)"), ("seconds_to_all_playing", Format.fixed(secondsToAllPlaying, 2)),
            ("slow_fps_median", number(slowFPSMedian, 3)), ("slow_fps_p5", number(slowFPSP5, 3)),
            ("slow_kb_per_s", number(slowKBPerSecond, 1)),
            ("mb_per_s", Format.fixed(megabytesPerSecond, 2)), ("frames", "\(framesDelivered)"),
            ("latency_p50_ms", number(latencyP50, 2)), ("latency_p99_ms", number(latencyP99, 2)),
            ("slow_latency_p50_ms", number(slowLatencyP50, 1)), ("slow_latency_p99_ms", number(slowLatencyP99, 1)),
            ("slow_latency_bound_ms", number(slowLatencyBound, 1)),
            ("slow_wait_p50_ms", number(slowWaitP50, 1)), ("slow_wait_p99_ms", number(slowWaitP99, 1)),
            ("dropped", "\(droppedFast)"), ("slow_dropped", "\(droppedSlow)"),
            ("failed", "\(failed)"), ("disconnected", "\(disconnected)"), ("idle", "\(idle)"), ("resyncs", "\(resyncs)"),
            ("server_cpu_pct", number(serverCPUPercent, 2)), ("cpu_ms_per_frame", number(cpuMillisPerFrame, 5)),
            ("server_peak_rss_mb", number(serverPeakRSSMB, 2)), ("server_rss_mb", number(serverRSSMB, 2)),
            ("camload_cpu_pct", Format.fixed(camloadCPUPercent, 1)),
        ]
        fields.append(("problems", "[" + problems.map(quote).joined(separator: ", ") + "]"))
        fields.append(("reconnects", "\(reconnects)"))
        fields.append(("close_reasons", "[" + closeReasons.map(quote).joined(separator: ", ") + "]"))
        fields.append(("churn_started", "\(churn.started)"))
        fields.append(("churn_connected", "\(churn.connected)"))
        fields.append(("churn_with_frame", "\(churn.withFrame)"))
        fields.append(("churn_ended_early", "\(churn.endedEarly)"))
        fields.append(("churn_unconnectable", "\(churn.unconnectable)"))
        fields.append(("churn_reasons", "[" + churnReasons.map(quote).joined(separator: ", ") + "]"))
        return "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
    }
}

/// Nearest-rank percentile of sorted values.
func percentile(_ sorted: [Double], _ p: Double) -> Double? {
    guard !sorted.isEmpty else { return nil }
    let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
    return sorted[min(max(rank - 1, 0), sorted.count - 1)]
}

private func show(_ value: Double?, _ places: Int) -> String {
    value.map { Format.fixed($0, places) } ?? "-"
}

private func number(_ value: Double?, _ places: Int) -> String {
    value.map { Format.fixed($0, places) } ?? "null"
}

private func quote(_ text: String) -> String { Format.quoted(text) }

