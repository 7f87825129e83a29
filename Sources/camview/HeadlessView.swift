// HeadlessView: camview without a picture — statistics once a second, or one snapshot saved to a file.
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem
import Viewer

enum HeadlessView {
    /// `--stats` (and the fallback with nowhere to draw): one line a second, a total at the end.
    /// Returns the failure that ended the stream, if any.
    static func printStats(_ session: ViewerSession) -> String? {
        var lastReport = Clock.monotonicNanos()
        var lastState = LinkState.connecting
        var final = session.mailbox.take()
        // Ctrl-C or SIGTERM end a stats run like --duration does: with the total (and the recording's summary).
        let signals = try? SignalPipe([SIGINT, SIGTERM, SIGHUP])
        defer { signals?.restore() }
        while true {
            _ = try? Poll.wait([(session.wakeFD, .readable), (signals?.readFD ?? -1, .readable)],
                               timeoutMilliseconds: session.millisUntilDeadline(fallback: 200))
            if let signals, !signals.drain().isEmpty { break }
            let snapshot = session.mailbox.take()
            final = snapshot
            if snapshot.state != lastState {
                if case .reconnecting = snapshot.state { say(ViewerStats.statusLine(state: snapshot.state, latest: nil, stats: snapshot.stats)) }
                if case .reconnecting = lastState, snapshot.state == .streaming { say("reconnected to \(session.url)") }
                lastState = snapshot.state
            }
            if case .ended(let failure) = snapshot.state {
                if let failure {
                    if snapshot.stats.received > 0 { say(summary(snapshot.stats, seconds: session.elapsedSeconds)) }
                    return failure
                }
                break
            }
            if session.durationReached { break }
            let now = Clock.monotonicNanos()
            if now - lastReport >= 1_000_000_000, snapshot.state == .streaming, let latest = snapshot.latest {
                say(report(latest, snapshot.stats))
                lastReport = now
            }
        }
        say(summary(final.stats, seconds: session.elapsedSeconds))
        return nil
    }

    /// "640x480 fps 30.0  0.84 MB/s  latency p50 1.2 ms max 3.4 ms  dropped 0"
    static func report(_ latest: ViewFrame, _ stats: ViewerStats) -> String {
        let latency = stats.latencyWindow.map { "latency p50 \(Format.fixed($0.p50, 1)) ms max \(Format.fixed($0.max, 1)) ms" }
            ?? "latency unknown"
        return "\(latest.width)x\(latest.height) fps \(Format.fixed(stats.fps, 1))  "
            + "\(Format.fixed(Double(stats.bytesPerSecond) / 1e6, 2)) MB/s  \(latency)  dropped \(stats.dropped)"
            + (latest.isPlaceholder ? "  NO SIGNAL" : "")
            + (stats.reconnects > 0 ? "  reconnects \(stats.reconnects)" : "")
    }

    static func summary(_ stats: ViewerStats, seconds: Double) -> String {
        "total: \(stats.received) frames in \(Format.fixed(seconds, 1)) s (\(Format.fixed(Double(stats.received) / max(seconds, 0.001), 1)) fps), "
            + "\(stats.bytes) bytes, dropped \(stats.dropped), no-signal \(stats.placeholders), reconnects \(stats.reconnects)"
    }

    /// `--snapshot FILE`: the first frame received, written atomically (temp file + rename).
    static func saveSnapshot(_ session: ViewerSession, to path: String) -> String? {
        while true {
            session.mailbox.wait(timeout: 0.2)
            let snapshot = session.mailbox.take()
            if let frame = snapshot.frame {
                if let failure = Files.writeAtomically(frame.jpeg, to: path) { return failure }
                let kind = frame.isPlaceholder ? " (a no-signal placeholder)" : ""
                say("saved frame \(frame.sequence)\(kind), \(frame.width)x\(frame.height), \(frame.jpeg.count) bytes, to \(path)")
                return nil
            }
            if case .ended(let failure) = snapshot.state { return failure ?? "the stream ended before a frame arrived" }
        }
    }
}
