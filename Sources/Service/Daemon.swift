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
import Upstream

public final class Daemon {
    public internal(set) var config: Config
    let logger: Logger
    let reactor: Reactor
    let ring: FrameRing
    let server: StreamServer
    let capture: CaptureThread
    /// Whether anyone wants frames (idle mode): the server updates it, the capture thread reads it.
    let demand: CaptureDemand
    /// The H.264 encoder RTSP /stream viewers share (DaemonH264.swift).
    let h264: DaemonH264
    let notifier = SystemdNotifier()
    private var control: ControlServer?
    /// Re-reads the config file with the same command-line flags on top (reload); nil: no file to re-read.
    let reloadConfig: (() throws(ConfigError) -> Config)?
    private var wakeup: Wakeup?
    /// The viewers' listening sockets (DaemonListeners.swift).
    var listeners: DaemonListeners
    /// What a reload left to tell the operator ("config rejected at 12:00:03: …", "restart needed for …"), shown
    /// in STATUS= and /state until the next good reload; nil when the running configuration is the file's.
    var configStatus: String?
    /// When STATUS= was last sent and the last summary line logged, and when camd started (DaemonReporting.swift).
    var lastStatus: UInt64 = 0
    var lastSummary: UInt64 = 0
    var startedAt: UInt64 = 0
    private var exitStatus: Int32 = 0

    /// Everything that can fail at start fails here, before any thread starts.
    public init(config: Config, logger: Logger, reloadConfig: (() throws(ConfigError) -> Config)? = nil) throws {
        self.config = config
        self.logger = logger
        self.reloadConfig = reloadConfig
        ProcessSignals.ignoreSIGPIPE()
        reactor = try Reactor()
        ring = FrameRing(capacity: config.ringSize)
        let capture = CaptureThread()
        self.capture = capture
        demand = CaptureDemand(idleAfterNanos: config.idleAfterNanos, stopsCamera: config.idleCamera == .stop,
                               wake: { capture.wake() })
        server = StreamServer(reactor: reactor, ring: ring, settings: StreamSettings(config), logger: logger, demand: demand)
        h264 = DaemonH264(config: config, demand: demand, logger: logger)
        server.rtspFeed = h264.feed(fps: config.fps)
        listeners = DaemonListeners(server: server, logger: logger)
    }

    /// Builds the configured source (on this thread, so its errors come before start-up).
    static func makeSource(_ config: Config, logger: Logger) throws(SourceError) -> any FrameSource {
        switch config.source {
        case .testPattern:
            do {
                return try TurnedSource.turning(TestPatternSource(width: config.width, height: config.height, fps: config.fps, quality: config.quality),
                                                by: config.orientation, logger: logger)
            } catch {
                throw SourceError("testpattern: \(error)")
            }
        case .file(let path):
            return try TurnedSource.turning(FileSource(path: path), by: config.orientation, logger: logger)
        case .v4l2(let path):
            do { return try V4L2Source(settings: V4L2Settings(path: path, config: config), logger: logger) } catch { throw SourceError("\(path): \(error)") }
        case .network(let url):
            return try makeNetworkSource(url, config: config, logger: logger)
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
        try listeners.bind(config)
        startedAt = Clock.monotonicNanos()
        server.stateProvider = { [unowned self] in self.stateJSON() }
        server.metricsProvider = { [unowned self] in self.metricsText() }
        openControlSocket()
        let wakeup = try reactor.makeWakeup { [unowned self] in
            self.server.frameAvailable()
            // READY=1 once listeners are bound and the first frame (or NO SIGNAL placeholder) is out.
            if !self.notifier.isReady, self.ring.latest != nil { self.notifier.ready(status: self.statusLine()) }
        }
        self.wakeup = wakeup
        h264.setWake { wakeup.signal() }
        try reactor.addTimer(intervalNanos: 100_000_000) { [unowned self] in self.tick() }

        logger.info("camd \(CamdVersion.string) starting: \(config.summary)",
                    metadata: ["camd_event": "start", "camd_source": "\(config.source)"])
        if let taken = source.take() { try startCapture(taken) }
        lastSummary = Clock.monotonicNanos()
        try reactor.run()

        // Tear down in reverse: stop producing, then close the operator's socket, viewers and listeners.
        capture.stop()
        h264.setRunning(false)
        control?.close()
        let stats = server.stats
        server.close()
        logger.info("camd stopped: \(stats.accepted) viewers served, \(stats.framesSent) frames sent, \(stats.framesDropped) skipped",
                    metadata: ["camd_event": "stop"])
        return exitStatus
    }

    /// Starts the capture thread with `source`, which is sent to it: the daemon keeps no reference.
    func startCapture(_ source: sending any FrameSource) throws(SystemError) {
        let wakeup = self.wakeup
        let (ring, h264) = (self.ring, self.h264)
        capture.setDropSameFrames(config.dropSameFrames)
        try capture.start(fps: config.fps, ring: ring, logger: logger, source: source, demand: demand,
                          encodeWorkers: EncodeWorkers.count(configured: config.encodeWorkers),
                          cameraH264: { h264.cameraUnit($0) },
                          published: {
                              // Publishing is serialised (CaptureThread.publish): the latest is the frame just published.
                              if let frame = ring.latest { h264.offer(frame) }
                              wakeup?.signal()
                          })
    }

    // MARK: Control socket

    private func openControlSocket() {
        guard !config.controlSocket.isEmpty else { return }
        let path = config.controlSocket
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        if !directory.isEmpty && !Files.exists(directory) && mkdir(directory, 0o755) != 0 {
            let text = "control socket disabled: cannot create \(directory): \(SystemError("mkdir", errno: errno).message) "
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
        reportIfDue(now: now)
    }
}

public enum CamdVersion {
    public static let string = "0.1.0"
}
