// Daemon: wires config, capture thread, ring, reactor and servers together, runs until a signal.
#if canImport(Glibc)
import Glibc
#endif
import Capture
import CamdSystem
import Frames
import Logging
import Reactor
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
    public let config: Config
    private let logger: Logger
    private let reactor: Reactor
    private let ring: FrameRing
    private let server: StreamServer
    private let capture = CaptureThread()
    private var lastSummary: UInt64 = 0
    private var exitStatus: Int32 = 0
    private var startedAt: UInt64 = 0

    /// Everything that can fail at start fails here, before any thread starts.
    public init(config: Config, logger: Logger) throws {
        self.config = config
        self.logger = logger
        ProcessSignals.ignoreSIGPIPE()
        reactor = try Reactor()
        ring = FrameRing(capacity: config.ringSize)
        server = StreamServer(reactor: reactor, ring: ring, settings: Self.streamSettings(config), logger: logger)
    }

    static func streamSettings(_ config: Config) -> StreamSettings {
        StreamSettings(maxClients: config.maxClients, clientTimeoutNanos: UInt64(config.clientTimeout * 1e9),
                       sendLowWatermark: config.sendLowWatermark, sendBuffer: config.sendBuffer,
                       requestTimeoutNanos: UInt64(config.requestTimeout * 1e9), access: config.httpAccess)
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
            var settings = V4L2Settings(path: path)
            settings.format = config.format
            settings.width = config.width
            settings.height = config.height
            settings.fps = config.fps
            settings.quality = config.quality
            settings.bufferCount = config.buffers
            settings.deviceTimeout = config.deviceTimeout
            settings.retryMax = config.deviceRetryMax
            settings.controls = config.controls
            do { return try V4L2Source(settings: settings, logger: logger) } catch { throw SourceError("\(path): \(error)") }
        }
    }

    /// Binds listeners, starts capture, serves until SIGTERM/SIGINT. Returns the exit status.
    public func run() throws -> Int32 {
        // Signals first, so the capture thread inherits the blocked mask and only the signalfd sees them.
        try reactor.watchSignals([SIGINT, SIGTERM, SIGHUP]) { [unowned self] signal in
            self.handle(signal: signal)
        }
        let source = try Self.makeSource(config, logger: logger)
        for address in config.listen {
            let bound = try server.listen(native: address)
            logger.info("native viewers: tcp://\(bound)")
        }
        for address in config.httpListen {
            let bound = try server.listen(http: address)
            logger.info("http viewers: http://\(bound)/ (stream: /stream, snapshot: /snapshot, state: /state)")
        }
        startedAt = Clock.monotonicNanos()
        server.stateProvider = { [unowned self] in self.stateJSON() }
        let wakeup = try reactor.makeWakeup { [unowned self] in self.server.frameAvailable() }
        try reactor.addTimer(intervalNanos: 100_000_000) { [unowned self] in self.tick() }

        logger.info("camd \(CamdVersion.string) starting: \(config.summary)")
        let handover = Handover(source)
        let ring = self.ring
        try capture.start(fps: config.fps, ring: ring, logger: logger, makeSource: { handover.take() },
                          published: { wakeup.signal() })
        lastSummary = Clock.monotonicNanos()
        try reactor.run()

        // Tear down in reverse: stop producing, then close viewers and listeners.
        capture.stop()
        let stats = server.stats
        server.close()
        logger.info("camd stopped: \(stats.accepted) viewers served, \(stats.framesSent) frames sent, \(stats.framesDropped) skipped")
        return exitStatus
    }

    private func handle(signal: Int32) {
        switch signal {
        case SIGTERM, SIGINT:
            logger.info("received \(signal == SIGTERM ? "SIGTERM" : "SIGINT"); stopping with \(server.clientCount) viewers connected")
            reactor.stop()
        case SIGHUP:
            logger.notice("SIGHUP: configuration reload is not implemented yet; keeping the running configuration")
        default:
            break
        }
    }

    private func tick() {
        server.tick()
        guard config.statsInterval > 0 else { return }
        let now = Clock.monotonicNanos()
        if now - lastSummary >= UInt64(config.statsInterval * 1e9) {
            lastSummary = now
            let capture = self.capture.snapshot
            let stats = server.stats
            let source = capture.source
            let retry = source.state == .streaming ? "" : " (retry \(source.retries)\(source.lastError.map { ": " + $0 } ?? ""))"
            logger.info("summary: source \(source.state.rawValue)\(retry), \(capture.measuredFPS.formatted1) fps captured, \(capture.framesPublished) frames, \(capture.invalidFrames) invalid, \(stats.clients) viewers, \(stats.framesSent) frames sent, \(stats.framesDropped) skipped, \(stats.refused) refused, \(stats.timedOut) timed out")
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
            bytes_sent: stats.bytesSent)
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
