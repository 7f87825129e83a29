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

    /// Moves the running daemon to `requested` as ConfigChange plans it: live settings at once, capture
    /// restarted only when the source must be reopened, listeners re-bound only when their addresses changed.
    /// Viewers stay connected. On failure nothing has changed.
    func apply(_ requested: Config) -> Result<ApplyOutcome, ApplyError> {
        let change = ConfigChange(old: config, new: requested, systemdListeners: listeners.activatedKeys)
        // `config` stays what the daemon really runs (keys that only a restart can change keep their running values).
        let new = change.running
        // Build a new source first: if it cannot be built, nothing else changes either.
        var newSource: (any FrameSource)?
        if change.restartsCapture {
            do { newSource = try Self.makeSource(new, logger: logger) } catch {
                return .failure(ApplyError(description: "source = \"\(new.source)\": \(error)"))
            }
        }
        var outcome = ApplyOutcome(restartNeeded: change.restartNeeded)
        // Listeners next: they can fail (address in use) and are undone on failure.
        for key in change.rebinds {
            do {
                outcome.changes += try listeners.rebind(key, to: new)
            } catch {
                return .failure(ApplyError(description: "\(key): \(error)"))
            }
        }
        let old = config
        config = new
        let settings = StreamSettings(new)
        if settings != server.settings { server.settings = settings }
        demand.configure(idleAfterNanos: new.idleAfterNanos, stopsCamera: new.idleCamera == .stop)
        capture.setDropSameFrames(new.dropSameFrames)
        if (new.h264Encoder, new.h264Bitrate, new.h264Gop, new.fps) != (old.h264Encoder, old.h264Bitrate, old.h264Gop, old.fps) {
            h264.apply(new)
        }
        server.rtspFeed.fps = new.fps
        outcome.changes += change.liveChanges
        if let newSource {
            capture.stop()
            do {
                try startCapture(newSource)
            } catch {
                logger.error("capture could not be restarted: \(error)")
            }
        } else if change.adjustsCapture {
            capture.adjust(CaptureAdjustment(fps: new.fps, quality: new.quality))
        }
        outcome.changes += change.captureChanges
        return .success(outcome)
    }
}
