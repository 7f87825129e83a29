// SystemdNotifier: what camd tells systemd (READY, STATUS, WATCHDOG, RELOADING, STOPPING) through
// libsystemd's sd_notify, and the listening sockets systemd hands over (sd_listen_fds_with_names).
// Outside systemd (no NOTIFY_SOCKET, no LISTEN_FDS) every call is a silent no-op.
#if canImport(Glibc)
import Glibc
#endif
internal import CSystemd
import CamdSystem

final class SystemdNotifier {
    /// Whether systemd listens (NOTIFY_SOCKET is set).
    let isActive: Bool
    /// WatchdogSec= as nanoseconds, when systemd expects pings from this process.
    let watchdogNanos: UInt64?
    private var lastStatus: String?
    private var lastPing: UInt64 = 0
    private(set) var isReady = false
    /// Whether pings are being withheld because the capture thread stopped going round.
    private(set) var withholding = false

    init() {
        isActive = getenv("NOTIFY_SOCKET") != nil
        var usec: UInt64 = 0
        // > 0: enabled for this process (WATCHDOG_PID, if set, matches our pid).
        watchdogNanos = sd_watchdog_enabled(0, &usec) > 0 && usec > 0 ? usec * 1000 : nil
    }

    private func send(_ state: String) {
        guard isActive else { return }
        _ = sd_notify(0, state)
    }

    /// Listeners bound and the first frame (or placeholder) published.
    func ready(status: String) {
        guard !isReady else { return }
        isReady = true
        lastStatus = status
        send("READY=1\nSTATUS=\(status)")
    }

    /// STATUS= for `systemctl status`, sent only when it changed.
    func status(_ text: String) {
        guard text != lastStatus else { return }
        lastStatus = text
        send("STATUS=\(text)")
    }

    func reloading() { send("RELOADING=1\nSTATUS=reloading configuration") }

    func reloaded(status: String) {
        lastStatus = status
        send("READY=1\nSTATUS=\(status)")
    }

    func stopping() { send("STOPPING=1\nSTATUS=stopping") }

    /// Called every reactor tick. Pings at half the watchdog interval, but only while the capture thread
    /// went round within that half interval: a stuck capture thread lets the watchdog fire and systemd
    /// restarts camd. Returns a change to log: true when pings stop, false when they resume, nil otherwise.
    func watchdogTick(now: UInt64, captureHeartbeat: UInt64) -> Bool? {
        guard let interval = watchdogNanos, isReady else { return nil }
        let half = interval / 2
        let alive = captureHeartbeat > 0 && now >= captureHeartbeat && now - captureHeartbeat < half
        var change: Bool?
        if !alive && !withholding {
            withholding = true
            change = true
        } else if alive && withholding {
            withholding = false
            change = false
        }
        if alive && now - lastPing >= half {
            lastPing = now
            send("WATCHDOG=1")
        }
        return change
    }

    /// Listening sockets passed by systemd (socket activation), with their FileDescriptorName=.
    /// Consumes LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES so children do not inherit them.
    static func passedListeners() -> [(socket: Descriptor, name: String)] {
        var names: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
        let count = sd_listen_fds_with_names(1, &names)
        guard count > 0 else { return [] }
        defer {
            if let names {
                for i in 0..<Int(count) { free(names[i]) }
                free(names)
            }
        }
        var result: [(Descriptor, String)] = []
        for i in 0..<Int(count) {
            let fd = SD_LISTEN_FDS_START + Int32(i)
            let name = names?[i].map { String(cString: $0) } ?? "unknown"
            // Only listening TCP/Unix stream sockets are ours; anything else is closed.
            guard sd_is_socket(fd, AF_UNSPEC, Int32(SOCK_STREAM.rawValue), 1) > 0 else {
                close(fd)
                continue
            }
            let flags = fcntl(fd, F_GETFL)
            _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            result.append((Descriptor(taking: fd), name))
        }
        return result
    }
}
