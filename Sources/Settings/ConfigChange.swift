// ConfigChange: what moving a running daemon from one configuration to another takes — which keys changed,
// grouped by how each applies, and the lines reload reports. Pure: the daemon executes it (DaemonReload.swift).
import CamdSystem

public struct ConfigChange: Sendable, Equatable {
    /// What the daemon runs afterwards: the new configuration, except that keys only a restart can change
    /// keep their running values, so the next reload compares the file with what really runs.
    public let running: Config
    /// The keys that take effect now, by how they apply (nextStart keys are in `restartNeeded` instead).
    public let keys: [ConfigApply: [String]]
    /// Keys whose new value waits for the next start, as reload reports them ("listen (its sockets come from systemd)").
    public let restartNeeded: [String]
    /// The change lines for live settings ("max_clients 512 → 100", "http_access open → basic").
    public let liveChanges: [String]
    /// The change lines for capture ("capture restarted: source=testpattern 640x480 fps=30", "fps 30 → 10").
    public let captureChanges: [String]

    /// - Parameter systemdListeners: listener keys ("listen", "http_listen") whose sockets systemd passed in:
    ///   camd cannot rebind those, so a change of them waits for the next start.
    public init(old: Config, new: Config, systemdListeners: Set<String> = []) {
        var running = new
        var keys: [ConfigApply: [String]] = [:]
        var restartNeeded: [String] = []
        for key in ConfigKey.all where !key.same(old, new) {
            switch key.applies(with: new) {
            case .nextStart:
                key.copy(old, &running)
                restartNeeded.append(key.name)
            case .listeners where systemdListeners.contains(key.name):
                key.copy(old, &running)
                restartNeeded.append("\(key.name) (its sockets come from systemd)")
            case let how:
                keys[how, default: []].append(key.name)
            }
        }
        var live: [String] = []
        var credentialsSaid = false
        for name in keys[.live] ?? [] {
            guard let key = ConfigKey.named(name) else { continue }
            if key.isSecret {
                // http_auth and http_token are never shown: one line says what access became, or that only the secrets changed.
                if credentialsSaid { continue }
                credentialsSaid = true
                live.append(old.accessSummary != running.accessSummary ? "http_access \(old.accessSummary) → \(running.accessSummary)"
                                                                       : "http credentials changed")
            } else {
                live.append("\(name) \(key.value(in: old)) → \(key.value(in: running))")
            }
        }
        var capture: [String] = []
        if keys[.captureRestart] != nil {
            // The new source is built with every capture key, so one line says what it is.
            capture.append("capture restarted: source=\(running.source) \(running.width)x\(running.height) fps=\(Format.fixed(running.fps, 1, bareWhole: true))")
        } else {
            for name in keys[.captureAdjust] ?? [] {
                guard let key = ConfigKey.named(name) else { continue }
                capture.append("\(name) \(key.value(in: old)) → \(key.value(in: running))")
            }
        }
        self.running = running
        self.keys = keys
        self.restartNeeded = restartNeeded
        self.liveChanges = live
        self.captureChanges = capture
    }

    /// The capture thread must be restarted with a new source.
    public var restartsCapture: Bool { keys[.captureRestart] != nil }

    /// The capture thread adjusts its rate or quality in place.
    public var adjustsCapture: Bool { !restartsCapture && keys[.captureAdjust] != nil }

    /// Listener keys to re-bind to `running`'s addresses (their lines come from the rebinding, which knows
    /// the addresses actually bound).
    public var rebinds: [String] { keys[.listeners] ?? [] }

    /// Nothing differs between the two configurations.
    public var isEmpty: Bool { keys.isEmpty && restartNeeded.isEmpty }
}
