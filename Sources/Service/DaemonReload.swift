// DaemonReload: moving the running daemon to a new configuration (SIGHUP, camctl reload, camctl set) without
// dropping viewers.
#if canImport(Glibc)
import Glibc
#endif
import Capture
import CamdSystem
import Control
import Logging
import Settings
import Streaming

extension Daemon {
    // MARK: Reload and live changes

    struct ApplyOutcome {
        var changes: [String] = []
        var restartNeeded: [String] = []
    }

    struct ApplyError: Error, CustomStringConvertible {
        let description: String
    }

    /// SIGHUP or `reload`: re-reads the config file; an invalid file changes nothing.
    func reload(trigger: String) -> Result<ApplyOutcome, ApplyError> {
        notifier.reloading()
        defer { notifier.reloaded(status: statusLine()) }
        guard let reloadConfig else {
            logger.warning("reload (\(trigger)): no config file to re-read (camd was started without one)")
            return .failure(ApplyError(description: "no config file to re-read: camd was started without --config or /etc/camd/camd.toml"))
        }
        let new: Config
        do {
            new = try reloadConfig()
        } catch {
            logger.error("reload (\(trigger)) rejected, keeping the running configuration: \(error)",
                         metadata: ["camd_event": "reload_failed"])
            configStatus = "config rejected at \(Clock.localTimeOfDay()): \(error)"
            return .failure(ApplyError(description: "config error: \(error); the running configuration is unchanged"))
        }
        let result = apply(new)
        switch result {
        case .success(let outcome):
            let what = outcome.changes.isEmpty ? "no changes" : outcome.changes.joined(separator: "; ")
            let later = outcome.restartNeeded.isEmpty ? "" : "; at the next start: " + outcome.restartNeeded.joined(separator: ", ")
            logger.notice("reload (\(trigger)): \(what)\(later)", metadata: ["camd_event": "reload"])
            // Until the next good reload, STATUS= (systemctl status) and /state say what the running daemon is not.
            configStatus = outcome.restartNeeded.isEmpty ? nil
                : "reloaded at \(Clock.localTimeOfDay()); restart needed for \(outcome.restartNeeded.joined(separator: ", "))"
        case .failure(let error):
            logger.error("reload (\(trigger)) failed, keeping the running configuration: \(error)",
                         metadata: ["camd_event": "reload_failed"])
            configStatus = "config rejected at \(Clock.localTimeOfDay()): \(error)"
        }
        return result
    }

    /// Moves the running daemon to `new`: live settings at once, capture restarted only when the source
    /// must be reopened, listeners re-bound only when their addresses changed. Viewers stay connected.
    /// On failure nothing has changed.
    func apply(_ requested: Config) -> Result<ApplyOutcome, ApplyError> {
        let old = config
        var outcome = ApplyOutcome()
        // `config` stays what the daemon really runs: keys that only a restart can change keep their running
        // values (and are reported), so the next reload compares the file with the truth, not with a wish.
        var new = requested
        new.logLevel = old.logLevel
        new.ringSize = old.ringSize
        new.controlSocket = old.controlSocket
        new.controlGroup = old.controlGroup
        if activated.contains(.native) { new.listen = old.listen }
        if activated.contains(.http) { new.httpListen = old.httpListen }
        // Build a new source first: if it cannot be built, nothing else changes either.
        let sourceKeysChanged = old.source != new.source || old.width != new.width || old.height != new.height
            || old.format != new.format || old.buffers != new.buffers || old.deviceTimeout != new.deviceTimeout
            || old.deviceRetryMax != new.deviceRetryMax || old.controls != new.controls
        // A camera's rate is negotiated with the driver (S_PARM): it needs a reopen; the clock adjusts live.
        let restartCapture = sourceKeysChanged || (new.isCamera && old.fps != new.fps)
        var newSource: (any FrameSource)?
        if restartCapture {
            do { newSource = try Self.makeSource(new, logger: logger) } catch {
                return .failure(ApplyError(description: "source = \"\(new.source)\": \(error)"))
            }
        }
        // Listeners next: they can fail (address in use) and are undone on failure.
        for (proto, oldAddresses, newAddresses) in [(StreamProtocol.native, old.listen, requested.listen), (.http, old.httpListen, requested.httpListen)]
        where oldAddresses != newAddresses {
            if activated.contains(proto) {
                outcome.restartNeeded.append("\(proto == .native ? "listen" : "http_listen") (its sockets come from systemd)")
                continue
            }
            do {
                outcome.changes += try rebind(proto, to: newAddresses)
            } catch {
                return .failure(ApplyError(description: "\(proto == .native ? "listen" : "http_listen"): \(error)"))
            }
        }
        config = new
        server.settings = StreamSettings(new)
        for (key, before, after) in [("max_clients", "\(old.maxClients)", "\(new.maxClients)"),
                                     ("client_timeout", old.clientTimeout.formatted1, new.clientTimeout.formatted1),
                                     ("request_timeout", old.requestTimeout.formatted1, new.requestTimeout.formatted1),
                                     ("send_lowat", "\(old.sendLowWatermark)", "\(new.sendLowWatermark)"),
                                     ("send_buffer", "\(old.sendBuffer)", "\(new.sendBuffer)"),
                                     ("stats_interval", old.statsInterval.formatted1, new.statsInterval.formatted1),
                                     ("http_access", old.accessSummary, new.accessSummary)] where before != after {
            outcome.changes.append("\(key) \(before) → \(after)")
        }
        if old.httpAuth != new.httpAuth || old.httpToken != new.httpToken, old.accessSummary == new.accessSummary {
            outcome.changes.append("http credentials changed")
        }
        if let newSource {
            capture.stop()
            do {
                try startCapture(newSource)
            } catch {
                logger.error("capture could not be restarted: \(error)")
            }
            outcome.changes.append("capture restarted: source=\(new.source) \(new.width)x\(new.height) fps=\(new.fps.formatted1)")
        } else if old.fps != new.fps || old.quality != new.quality {
            capture.adjust(CaptureAdjustment(fps: new.fps, quality: new.quality))
            if old.fps != new.fps { outcome.changes.append("fps \(old.fps.formatted1) → \(new.fps.formatted1)") }
            if old.quality != new.quality { outcome.changes.append("quality \(old.quality) → \(new.quality)") }
        }
        for (key, changed) in [("log_level", old.logLevel != requested.logLevel), ("ring_size", old.ringSize != requested.ringSize),
                               ("control_socket", old.controlSocket != requested.controlSocket),
                               ("control_group", old.controlGroup != requested.controlGroup)] where changed {
            outcome.restartNeeded.append(key)
        }
        return .success(outcome)
    }
}
