// NetworkSource: another camd (camd://), an HTTP MJPEG server (http://) or a still-image URL (http+snapshot://)
// as a frame source. One upstream connection whatever the viewers do; JPEGs passed through (validated, never
// re-encoded); loss, refusal, HTTP errors, garbage and stalls behave like a camera unplug — NO SIGNAL about once a
// second, reconnecting with back-off, logged once per outage and on recovery.
import CamdSystem
import Capture
import JPEG
import Logging
import Settings
import Wire

public struct NetworkSourceSettings: Sendable {
    public var url: UpstreamURL
    /// http+snapshot://: images fetched per second.
    public var fps: Double = 30
    /// Seconds without a complete frame (or, for a snapshot, without the whole answer) before the upstream counts as
    /// lost; connecting counts too (device_timeout).
    public var timeout: Double = 2
    /// Longest wait between reconnect attempts, in seconds (device_retry_max).
    public var retryMax: Double = 5
    /// The NO SIGNAL picture's size until the upstream's is known, and its JPEG quality.
    public var width = 640
    public var height = 480
    public var quality = 80
    public var limits = UpstreamLimits()

    public init(url: UpstreamURL) { self.url = url }
}

public final class NetworkSource: FrameSource {
    public let settings: NetworkSourceSettings
    public var name: String { settings.url.description }
    public let pacing = SourcePacing.device
    public private(set) var invalidFrames: UInt64 = 0
    public private(set) var status = SourceStatus(state: .opening)

    private enum Decoder {
        case native(NativeStreamParser)
        case http(UpstreamResponseParser)
        /// While a parser is taken out to be fed: the enum must not keep a second reference to the part being
        /// collected, or every append would copy it (copy-on-write) — quadratic in the part's size.
        case taken
    }

    private let logger: Logger
    private let placeholder: Placeholder
    private var connection: UpstreamConnection?
    private var decoder: Decoder
    private var buffer = [UInt8](repeating: 0, count: 64 << 10)
    /// Which of the URL's addresses the next attempt uses (each failure moves on to the next).
    private var addressIndex = 0
    private var nextAttempt: UInt64 = 0
    /// When the last connection was opened (a snapshot's next request is due 1/fps after it).
    private var lastAttemptAt: UInt64 = 0
    private var backoff: Double = 0.25
    /// When the connection was opened or last delivered a complete frame: the stall timeout counts from it.
    private var lastProgressAt: UInt64 = 0
    private var lastPlaceholderAt: UInt64?
    private var placeholderSize: (width: Int, height: Int)
    private var lossLogged = false
    private var everStreamed = false
    private var loggedReason: String?
    private var reasonLoggedAt: UInt64 = 0
    /// Why the last part was not used (a stall then says so), and which reasons were logged already.
    private var lastInvalid: String?
    private var loggedInvalid: Set<String> = []
    /// Closed by idle mode (idle_camera = "stop"): the reconnect is routine, not news.
    private var resumingFromStop = false

    private var isSnapshot: Bool { settings.url.scheme == .httpSnapshot }
    private var device: String { settings.url.description }

    public init(settings: NetworkSourceSettings, logger: Logger) throws(JPEGError) {
        self.settings = settings
        self.logger = logger
        placeholder = try Placeholder(quality: settings.quality)
        placeholderSize = (settings.width, settings.height)
        decoder = Self.makeDecoder(settings)
    }

    /// Releases the upstream connection now (an IP camera may allow only a few).
    public func close() {
        connection?.close()
        connection = nil
    }

    public func nextFrame(index: UInt64, timestampNanos: UInt64) throws(SourceError) -> SourceFrame? {
        pull(wanted: true)
    }

    /// Idle: `stopCamera` closes the upstream connection (releasing the camera's connection slot) until frames are
    /// wanted again; otherwise a stream stays connected and its frames are read and dropped (a snapshot URL is
    /// simply not fetched while idle).
    public func idle(stopCamera: Bool) -> IdlePass {
        if stopCamera || isSnapshot {
            if connection != nil || status.state == .streaming || status.state == .opening {
                close()
                if status.state == .streaming || status.state == .opening { status.state = .stopped }
                resumingFromStop = true
                nextAttempt = 0
            }
            return .nothing
        }
        _ = pull(wanted: false)
        return .waited
    }

    /// One pass, at most ~100 ms: (re)connect when due, read what arrived, return the newest complete frame.
    private func pull(wanted: Bool) -> SourceFrame? {
        var now = Clock.monotonicNanos()
        if connection == nil && now >= nextAttempt { open(now: now) }
        let showsNoSignal = wanted && status.state == .noSignal
        if showsNoSignal, let frame = placeholderIfDue(now: now) { return frame }
        var wake = now + 100_000_000
        if showsNoSignal, let last = lastPlaceholderAt { wake = min(wake, last + 1_000_000_000) }
        guard let connection else {
            Clock.sleepUntilMonotonic(min(wake, max(nextAttempt, now + 1_000_000)))
            return nil
        }
        var newest: SourceFrame?
        do throws(SourceFailure) {
            while newest == nil {
                let milliseconds = Int32(clamping: (wake > now ? wake - now : 0) / 1_000_000)
                switch try connection.service(into: &buffer, milliseconds: milliseconds) {
                case .read(let count):
                    newest = try decode(count) ?? newest
                case .closed:
                    newest = try endOfStream() ?? newest
                    if isSnapshot {
                        guard newest != nil else {
                            throw SourceFailure("the answer was not a usable image" + (lastInvalid.map { ": \($0)" } ?? ""), reason: "protocol")
                        }
                        finishSnapshot(now: now)
                    }
                case .nothing:
                    break
                }
                now = Clock.monotonicNanos()
                if self.connection == nil || now >= wake { break }
            }
            if newest == nil, Double(now - lastProgressAt) / 1e9 >= settings.timeout {
                throw stallFailure(connected: connection.isConnected)
            }
        } catch {
            lose(error, now: now)
            return nil
        }
        guard let frame = newest else { return nil }
        lastProgressAt = now
        if status.state != .streaming { markStreaming(frame) }
        if isSnapshot, self.connection != nil {
            // One image per request: the answer is complete even if the server keeps the connection open.
            finishSnapshot(now: now)
        }
        return wanted ? frame : nil
    }

    private func stallFailure(connected: Bool) -> SourceFailure {
        let seconds = Format.fixed(settings.timeout, 1, bareWhole: true)
        guard connected else {
            return SourceFailure("connect to \(connection.map { "\($0.address)" } ?? settings.url.hostForURL) timed out after \(seconds) s", reason: "timeout")
        }
        let what = isSnapshot ? "no complete image within \(seconds) s" : "no complete frame for \(seconds) s (device_timeout)"
        return SourceFailure(what + (lastInvalid.map { "; last part rejected: \($0)" } ?? ""), reason: "timeout")
    }

    /// Feeds `count` bytes read into the decoder; the newest usable frame among those completed.
    private func decode(_ count: Int) throws(SourceFailure) -> SourceFrame? {
        var newest: SourceFrame?
        let bytes = buffer[0..<count]
        switch decoder {
        case .taken:
            return nil
        case .native(var parser):
            decoder = .taken
            let result: Result<Void, NativeProtocolError> = bytes.withUnsafeBytes { raw in
                Result { () throws(NativeProtocolError) in
                    try parser.consume(raw) { header, payload in
                        if let frame = accept(native: header, payload: payload ?? []) { newest = frame }
                    }
                }
            }
            if case .failure(let error) = result {
                throw SourceFailure("camd protocol error: \(error.description)", reason: "protocol")
            }
            decoder = .native(parser)
        case .http(var parser):
            decoder = .taken
            do throws(UpstreamFailure) {
                try parser.consume(bytes) { part in
                    if let frame = accept(part: part) { newest = frame }
                }
            } catch {
                throw SourceFailure(error.description, reason: error.description.hasPrefix("HTTP ") ? "http" : "protocol")
            }
            decoder = .http(parser)
            if parser.isDone && !isSnapshot { throw SourceFailure("the upstream ended its multipart stream (final boundary)", reason: "closed") }
        }
        return newest
    }

    private func endOfStream() throws(SourceFailure) -> SourceFrame? {
        guard case .http(var parser) = decoder else {
            throw SourceFailure("the upstream closed the connection", reason: "closed")
        }
        decoder = .taken
        var newest: SourceFrame?
        do throws(UpstreamFailure) {
            try parser.finish { part in if let frame = accept(part: part) { newest = frame } }
        } catch {
            throw SourceFailure(error.description, reason: "closed")
        }
        decoder = .http(parser)
        if !isSnapshot { throw SourceFailure("the upstream closed the connection", reason: "closed") }
        return newest
    }

    /// A snapshot answer is complete: the connection closes and the next request is due 1/fps after this one began.
    private func finishSnapshot(now: UInt64) {
        close()
        decoder = Self.makeDecoder(settings)
        let interval = UInt64(1e9 / max(settings.fps, 0.01))
        nextAttempt = max(now, lastAttemptAt + interval)
    }

    // MARK: Frames

    private func accept(native header: NativeFrameHeader, payload: [UInt8]) -> SourceFrame? {
        guard case .image(let jpeg, _) = MJPEGRepair.repair(payload) else { return invalid("a frame that is not a complete JPEG") }
        var frame = SourceFrame(payload: jpeg, width: Int(header.width), height: Int(header.height),
                                isPlaceholder: header.isPlaceholder, timestampNanos: header.timestampNanos)
        frame.upstreamSequence = header.sequence
        return frame
    }

    private func accept(part: UpstreamPart) -> SourceFrame? {
        if let type = part.contentType, !["image/jpeg", "image/jpg", "image/pjpeg"].contains(where: { type.hasPrefix($0) }) {
            return invalid("a part of type \(LogText.escaped(type, limit: 60)), not image/jpeg")
        }
        let outcome = MJPEGRepair.repair(part.payload)
        guard case .image(let jpeg, _) = outcome else {
            if case .invalid(let why) = outcome { return invalid("not a complete JPEG (\(why))") }
            return nil
        }
        guard let size = JPEGFrameSize(jpeg) else { return invalid("a JPEG without a frame header (SOF)") }
        // An X-Timestamp is a capture time only if it is one (ustreamer's may count from boot): within a day of now.
        let now = Clock.realtimeNanos()
        let stamp = part.timestampNanos.flatMap { (now > $0 ? now - $0 : $0 - now) < 86_400_000_000_000 ? $0 : nil }
        var frame = SourceFrame(payload: jpeg, width: size.width, height: size.height, isPlaceholder: part.isPlaceholder,
                                timestampNanos: stamp ?? now)
        frame.upstreamSequence = part.sequence
        return frame
    }

    /// Counts a part camd cannot use; each kind of problem is logged once (outside bytes: escaped by the caller).
    private func invalid(_ why: String) -> SourceFrame? {
        invalidFrames += 1
        lastInvalid = why
        if loggedInvalid.count < 16, loggedInvalid.insert(why).inserted {
            logger.warning("upstream \(device) sent \(why); dropped (logged once)", metadata: ["camd_event": "invalid_frame"])
        }
        return nil
    }

    // MARK: Connection and outages

    private static func makeDecoder(_ settings: NetworkSourceSettings) -> Decoder {
        switch settings.url.scheme {
        case .camd: return .native(NativeStreamParser(keepPayload: true))
        case .http: return .http(UpstreamResponseParser(mode: .stream, limits: settings.limits))
        case .httpSnapshot: return .http(UpstreamResponseParser(mode: .snapshot, limits: settings.limits))
        }
    }

    private func request() -> [UInt8] {
        let url = settings.url
        guard url.scheme != .camd else { return [] }
        var text = "GET \(url.target) HTTP/1.1\r\nHost: \(url.hostForURL)\(url.port == 80 ? "" : ":\(url.port)")\r\n"
            + "User-Agent: camd/\(CamdUpstream.version)\r\nAccept: \(isSnapshot ? "image/jpeg" : "multipart/x-mixed-replace, image/jpeg")\r\n"
            + "Connection: close\r\n"
        if let authorization = url.basicAuthorization { text += "Authorization: \(authorization)\r\n" }
        return Array((text + "\r\n").utf8)
    }

    private func open(now: UInt64) {
        let addresses = settings.url.addresses
        let address = addresses[addressIndex % addresses.count]
        lastAttemptAt = now
        lastProgressAt = now
        decoder = Self.makeDecoder(settings)
        do {
            connection = try UpstreamConnection(to: address, request: request())
        } catch {
            lose(error, now: now)
        }
    }

    /// Only a complete frame proves the upstream is back (a server can accept and then send nothing).
    private func markStreaming(_ frame: SourceFrame) {
        let size = "\(frame.width)x\(frame.height)"
        placeholderSize = (frame.width, frame.height)
        status.format = "\(size) JPEG from \(settings.url.scheme.rawValue) upstream (passthrough)"
        if lossLogged {
            logger.notice("upstream \(device) recovered after \(status.retries) attempts: \(size)",
                          metadata: ["camd_event": "device_recovered", "camd_device": "\(device)"])
        } else if resumingFromStop || everStreamed {
            logger.info("upstream \(device) streaming again: \(size)", metadata: ["camd_event": "device_opened", "camd_device": "\(device)"])
        } else {
            logger.notice("upstream \(device) streaming: \(size) JPEG, passed through",
                          metadata: ["camd_event": "device_opened", "camd_device": "\(device)"])
        }
        lossLogged = false
        loggedReason = nil
        everStreamed = true
        resumingFromStop = false
        status.state = .streaming
        status.retries = 0
        status.lastError = nil
        backoff = 0.25
    }

    private func lose(_ failure: SourceFailure, now: UInt64) {
        close()
        decoder = Self.makeDecoder(settings)
        addressIndex += 1
        status.retries = status.state == .streaming ? 0 : status.retries + 1
        status.state = .noSignal
        status.lastError = failure.description
        lastInvalid = nil
        if !lossLogged {
            lossLogged = true
            report(failure, now: now, level: everStreamed ? .error : .warning,
                   event: everStreamed ? "device_lost" : "device_unavailable",
                   "upstream \(device) \(everStreamed ? "lost" : "unavailable"): \(failure.description); showing NO SIGNAL and reconnecting (up to every \(Format.fixed(settings.retryMax, 1, bareWhole: true)) s)")
        } else if failure.reason != loggedReason && now - reasonLoggedAt >= 1_000_000_000 {
            report(failure, now: now, level: .warning, event: "device_unavailable",
                   "upstream \(device) still unavailable (retry \(status.retries)), now: \(failure.description)")
        } else {
            logger.debug("upstream \(device) retry \(status.retries): \(failure.description)")
        }
        nextAttempt = now + UInt64(backoff * 1e9)
        backoff = min(backoff * 2, settings.retryMax)
        if status.retries == 0 { lastPlaceholderAt = nil }
    }

    private func report(_ failure: SourceFailure, now: UInt64, level: Logger.Level, event: String, _ message: String) {
        loggedReason = failure.reason
        reasonLoggedAt = now
        logger.log(level: level, "\(message)",
                   metadata: ["camd_event": "\(event)", "camd_device": "\(device)", "camd_reason": "\(failure.reason)"])
    }

    /// NO SIGNAL about once a second while the upstream is away, at the upstream's last size.
    private func placeholderIfDue(now: UInt64) -> SourceFrame? {
        if let last = lastPlaceholderAt, now - last < 1_000_000_000 { return nil }
        lastPlaceholderAt = now
        let timestamp = Clock.realtimeNanos()
        guard let jpeg = try? placeholder.render(width: placeholderSize.width, height: placeholderSize.height, device: device,
                                                 timestampNanos: timestamp, reason: status.lastError) else { return nil }
        return SourceFrame(payload: jpeg, width: placeholderSize.width, height: placeholderSize.height,
                           isPlaceholder: true, timestampNanos: timestamp)
    }
}

public enum CamdUpstream {
    /// Sent as the User-Agent's version (the daemon's CamdVersion lives in Service, above this module).
    public static let version = "0.1.0"
}

/// A JPEG's frame size from its SOF segment (bounded walk over the header segments; nil without one).
func JPEGFrameSize(_ jpeg: [UInt8]) -> (width: Int, height: Int)? {
    var i = 2
    while i + 8 < jpeg.count {
        guard jpeg[i] == 0xFF else { return nil }
        let marker = jpeg[i + 1]
        if marker == 0xFF { i += 1; continue }
        if marker == 0xDA || marker == 0xD9 { return nil }
        if (0xC0...0xCF).contains(marker), marker != 0xC4, marker != 0xC8, marker != 0xCC {
            let height = Int(jpeg[i + 5]) << 8 | Int(jpeg[i + 6])
            let width = Int(jpeg[i + 7]) << 8 | Int(jpeg[i + 8])
            return width > 0 && height > 0 ? (width, height) : nil
        }
        i += 2 + (Int(jpeg[i + 2]) << 8 | Int(jpeg[i + 3]))
    }
    return nil
}
