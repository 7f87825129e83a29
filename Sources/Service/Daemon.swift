// Daemon: wires config, capture thread, ring, reactor and servers together, runs until a signal.
#if canImport(Glibc)
import Glibc
#endif
import Capture
import CamdSystem
import Control
import Frames
import Logging
import Reactor
import Settings
import Streaming
import FoundationEssentials

/// GET /state. Field names are the JSON keys.
struct DaemonState: Encodable {
    var version: String
    var source: String
    var source_state: String
    var source_retries: Int
    var source_error: String?
    var source_format: String?
    var format: String
    var width: Int
    var height: Int
    var fps: Double
    var target_fps: Double
    var uptime_seconds: Double
    var sequence: UInt64
    var frame_age_ms: Double?
    var placeholder: Bool
    var frames_captured: UInt64
    var frames_invalid: UInt64
    var clients: Int
    var viewers: Int
    var clients_native: Int
    var clients_http: Int
    var clients_accepted: UInt64
    var clients_refused: UInt64
    var clients_timed_out: UInt64
    var frames_sent: UInt64
    var frames_dropped: UInt64
    var bytes_sent: UInt64
    var config_status: String?
}

/// Hands a value that is not Sendable to exactly one other thread. The sender keeps no reference.
final class Handover<Value>: @unchecked Sendable {
    private var value: Value?
    init(_ value: Value) { self.value = value }
    func take() -> Value {
        defer { value = nil }
        return value!
    }
}

public final class Daemon {
    public internal(set) var config: Config
    let logger: Logger
    let reactor: Reactor
    let ring: FrameRing
    let server: StreamServer
    let capture = CaptureThread()
    let notifier = SystemdNotifier()
    private var control: ControlServer?
    /// Re-reads the config file with the same command-line flags on top (reload); nil: no file to re-read.
    let reloadConfig: (() throws(ConfigError) -> Config)?
    private var wakeup: Wakeup?
    /// Protocols whose listeners systemd passed in: camd does not bind or rebind those itself.
    var activated: Set<StreamProtocol> = []
    /// Configured address → the address actually bound (they differ for port 0), per protocol.
    var bound: [StreamProtocol: [(configured: SocketAddress, actual: SocketAddress)]] = [:]
    /// What a reload left to tell the operator ("config rejected at 12:00:03: …", "restart needed for …"), shown
    /// in STATUS= and /state until the next good reload; nil when the running configuration is the file's.
    var configStatus: String?
    private var lastSummary: UInt64 = 0
    private var lastStatus: UInt64 = 0
    private var exitStatus: Int32 = 0
    private var startedAt: UInt64 = 0

    /// Everything that can fail at start fails here, before any thread starts.
    public init(config: Config, logger: Logger, reloadConfig: (() throws(ConfigError) -> Config)? = nil) throws {
        self.config = config
        self.logger = logger
        self.reloadConfig = reloadConfig
        ProcessSignals.ignoreSIGPIPE()
        reactor = try Reactor()
        ring = FrameRing(capacity: config.ringSize)
        server = StreamServer(reactor: reactor, ring: ring, settings: StreamSettings(config), logger: logger)
    }

    /// Builds the configured source (on this thread, so its errors come before start-up).
    static func makeSource(_ config: Config, logger: Logger) throws(SourceError) -> any FrameSource {
        switch config.source {
        case .testPattern:
            do {
                return try TestPatternSource(width: config.width, height: config.height, fps: config.fps, quality: config.quality)
            } catch {
                throw SourceError("testpattern: \(error)")
            }
        case .file(let path):
            return try FileSource(path: path)
        case .v4l2(let path):
            do { return try V4L2Source(settings: V4L2Settings(path: path, config: config), logger: logger) } catch { throw SourceError("\(path): \(error)") }
        }
    }

    /// Binds listeners, starts capture, serves until SIGTERM/SIGINT. Returns the exit status.
    public func run() throws -> Int32 {
        // Signals first, so the capture thread inherits the blocked mask and only the signalfd sees them.
        try reactor.watchSignals([SIGINT, SIGTERM, SIGHUP]) { [unowned self] signal in
            self.handle(signal: signal)
        }
        // Held here only until the capture thread takes it: nothing else may keep a camera alive.
        var source: (any FrameSource)? = try Self.makeSource(config, logger: logger)
        try bindListeners()
        startedAt = Clock.monotonicNanos()
        server.stateProvider = { [unowned self] in self.stateJSON() }
        openControlSocket()
        let wakeup = try reactor.makeWakeup { [unowned self] in
            self.server.frameAvailable()
            // READY=1 once listeners are bound and the first frame (or NO SIGNAL placeholder) is out.
            if !self.notifier.isReady, self.ring.latest != nil { self.notifier.ready(status: self.statusLine()) }
        }
        self.wakeup = wakeup
        try reactor.addTimer(intervalNanos: 100_000_000) { [unowned self] in self.tick() }

        logger.info("camd \(CamdVersion.string) starting: \(config.summary)",
                    metadata: ["camd_event": "start", "camd_source": "\(config.source)"])
        if let taken = source.take() { try startCapture(taken) }
        lastSummary = Clock.monotonicNanos()
        try reactor.run()

        // Tear down in reverse: stop producing, then close the operator's socket, viewers and listeners.
        capture.stop()
        control?.close()
        let stats = server.stats
        server.close()
        logger.info("camd stopped: \(stats.accepted) viewers served, \(stats.framesSent) frames sent, \(stats.framesDropped) skipped",
                    metadata: ["camd_event": "stop"])
        return exitStatus
    }

    func startCapture(_ source: any FrameSource) throws(SystemError) {
        let handover = Handover(source)
        let wakeup = self.wakeup
        try capture.start(fps: config.fps, ring: ring, logger: logger, makeSource: { handover.take() },
                          published: { wakeup?.signal() })
    }

    // MARK: Listeners

    /// Takes the sockets systemd passed (socket activation) and binds the configured addresses for every
    /// protocol systemd passed none for.
    private func bindListeners() throws {
        for (socket, name) in SystemdNotifier.passedListeners() {
            let proto: StreamProtocol
            switch name {
            case "native": proto = .native
            case "http": proto = .http
            default:
                // Unnamed: match the port against the configured addresses.
                let address = try? Socket.localAddress(socket)
                if let address, config.listen.contains(where: { $0.port == address.port }) { proto = .native }
                else if let address, config.httpListen.contains(where: { $0.port == address.port }) { proto = .http }
                else {
                    let text = "ignoring a socket passed by systemd named \"\(name)\" (\(address.map { "\($0)" } ?? "?")): "
                        + "name it native or http with FileDescriptorName="
                    logger.warning("\(text)")
                    socket.close()
                    continue
                }
            }
            let address = try server.adopt(socket, proto: proto)
            activated.insert(proto)
            logListener(proto, address, note: " (from systemd)")
        }
        for (proto, addresses) in [(StreamProtocol.native, config.listen), (.http, config.httpListen)] where !activated.contains(proto) {
            for address in addresses {
                let actual = try server.listen(address, proto: proto)
                bound[proto, default: []].append((address, actual))
                logListener(proto, actual, note: "")
            }
        }
    }

    private func logListener(_ proto: StreamProtocol, _ address: SocketAddress, note: String) {
        switch proto {
        case .native: logger.info("native viewers: tcp://\(address)\(note)")
        case .http: logger.info("http viewers: http://\(address)/ (stream: /stream, snapshot: /snapshot, state: /state)\(note)")
        }
    }

    /// Re-binds one protocol's listeners to `wanted`: new addresses first (a failure keeps the old set),
    /// then the ones no longer configured are closed. Connected viewers are not touched.
    func rebind(_ proto: StreamProtocol, to wanted: [SocketAddress]) throws(SystemError) -> [String] {
        var current = bound[proto] ?? []
        var added: [(SocketAddress, SocketAddress)] = []
        for address in wanted where !current.contains(where: { $0.configured == address }) {
            do throws(SystemError) {
                added.append((address, try server.listen(address, proto: proto)))
            } catch {
                server.closeListeners(proto, keeping: server.addresses(proto).filter { a in !added.contains { $0.1 == a } })
                throw error
            }
        }
        let removed = current.filter { !wanted.contains($0.configured) }
        server.closeListeners(proto, keeping: server.addresses(proto).filter { a in !removed.contains { $0.actual == a } })
        current.removeAll { entry in removed.contains { $0.configured == entry.configured } }
        current += added.map { (configured: $0.0, actual: $0.1) }
        bound[proto] = current
        for (_, actual) in added { logListener(proto, actual, note: "") }
        return added.map { "\(proto.rawValue) listening on \($0.1)" } + removed.map { "\(proto.rawValue) no longer listening on \($0.actual)" }
    }

    // MARK: Control socket

    private func openControlSocket() {
        guard !config.controlSocket.isEmpty else { return }
        let path = config.controlSocket
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if !directory.isEmpty && !Files.exists(directory) && mkdir(directory, 0o755) != 0 {
            let text = "control socket disabled: cannot create \(directory): \(String(cString: strerror(errno))) "
                + "(set control_socket to a writable path, or \"\" to turn it off)"
            logger.warning("\(text)")
            return
        }
        let gid = config.controlGroup.isEmpty ? nil : UnixSocket.groupID(named: config.controlGroup)
        do {
            control = try ControlServer(path: path, access: ControlAccess(gid: gid, groupName: config.controlGroup.isEmpty ? nil : config.controlGroup),
                                        reactor: reactor, logger: logger) { [unowned self] command, peer in
                self.answer(command, from: peer)
            }
            logger.info("control socket: \(path) (mode 0660\(config.controlGroup.isEmpty ? "" : ", group \(config.controlGroup)"))")
        } catch {
            logger.warning("control socket disabled: \(error)")
        }
    }

    // MARK: Signals and the periodic tick

    private func handle(signal: Int32) {
        switch signal {
        case SIGTERM, SIGINT:
            notifier.stopping()
            logger.info("received \(signal == SIGTERM ? "SIGTERM" : "SIGINT"); stopping with \(server.clientCount) viewers connected")
            reactor.stop()
        case SIGHUP:
            _ = reload(trigger: "SIGHUP")
        default:
            break
        }
    }

    private func tick() {
        server.tick()
        let now = Clock.monotonicNanos()
        if let stopped = notifier.watchdogTick(now: now, captureHeartbeat: capture.lastHeartbeat) {
            if stopped {
                logger.critical("capture thread has not run for over half the watchdog interval; withholding watchdog pings so systemd restarts camd",
                                metadata: ["camd_event": "watchdog_withheld"])
            } else {
                logger.notice("capture thread running again; watchdog pings resumed", metadata: ["camd_event": "watchdog_resumed"])
            }
        }
        if notifier.isReady, now - lastStatus >= 1_000_000_000 {
            lastStatus = now
            notifier.status(statusLine())
        }
        guard config.statsInterval > 0 else { return }
        if now - lastSummary >= UInt64(config.statsInterval * 1e9) {
            lastSummary = now
            let capture = self.capture.snapshot
            let stats = server.stats
            let source = capture.source
            let retry = source.state == .streaming ? "" : " (retry \(source.retries)\(source.lastError.map { ": " + $0 } ?? ""))"
            logger.info("summary: source \(source.state.rawValue)\(retry), \(capture.measuredFPS.formatted1) fps captured, \(capture.framesPublished) frames, \(capture.invalidFrames) invalid, \(stats.clients) viewers, \(stats.framesSent) frames sent, \(stats.framesDropped) skipped, \(stats.refused) refused, \(stats.timedOut) timed out",
                        metadata: ["camd_event": "summary"])
        }
    }

    /// STATUS= for systemctl status: "streaming 1280x720 MJPEG 30.0 fps, 3 viewers" or
    /// "no signal from /dev/video0 (retry 4)", then what the last reload left to say.
    func statusLine() -> String {
        guard let configStatus else { return sourceStatusLine() }
        return sourceStatusLine() + "; " + configStatus
    }

    private func sourceStatusLine() -> String {
        let snapshot = capture.snapshot
        let device: String
        switch config.source {
        case .v4l2(let path): device = path
        case .file(let path): device = path
        case .testPattern: device = "test pattern"
        }
        switch snapshot.source.state {
        case .opening:
            return "opening \(device)"
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
            }
            let viewers = server.clients.filter(\.isViewer).count
            return "streaming \(latest?.width ?? config.width)x\(latest?.height ?? config.height) \(kind) "
                + "\(String(format1: snapshot.measuredFPS)) fps, \(viewers) viewer\(viewers == 1 ? "" : "s")"
        }
    }

    /// What GET /state returns (documented field by field in the README).
    func stateJSON() -> [UInt8] {
        let capture = capture.snapshot
        let stats = server.stats
        let latest = ring.latest
        let now = Clock.realtimeNanos()
        let state = DaemonState(
            version: CamdVersion.string,
            source: config.source.description,
            source_state: capture.source.state.rawValue,
            source_retries: capture.source.retries,
            source_error: capture.source.lastError,
            source_format: capture.source.format,
            format: latest?.format.description ?? "JPEG",
            width: latest?.width ?? config.width,
            height: latest?.height ?? config.height,
            fps: (capture.measuredFPS * 10).rounded() / 10,
            target_fps: config.fps,
            uptime_seconds: Double((Clock.monotonicNanos() - startedAt) / 1_000_000) / 1000,
            sequence: latest?.sequence ?? 0,
            frame_age_ms: latest.map { now > $0.timestampNanos ? Double((now - $0.timestampNanos) / 1000) / 1000 : 0 },
            placeholder: latest?.isPlaceholder ?? false,
            frames_captured: capture.framesPublished,
            frames_invalid: capture.invalidFrames,
            clients: stats.clients,
            viewers: server.clients.filter(\.isViewer).count,
            clients_native: server.clients.filter { $0.proto == .native }.count,
            clients_http: server.clients.filter { $0.proto == .http }.count,
            clients_accepted: stats.accepted,
            clients_refused: stats.refused,
            clients_timed_out: stats.timedOut,
            frames_sent: stats.framesSent,
            frames_dropped: stats.framesDropped,
            bytes_sent: stats.bytesSent,
            config_status: configStatus)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(state)).map { Array($0) } ?? Array("{}".utf8)
    }

    /// For tests and diagnostics.
    public var boundAddresses: [SocketAddress] { server.listenAddresses }
}

public enum CamdVersion {
    public static let string = "0.1.0"
}
