// StreamServer: listeners and subscribers on the reactor, and the fan-out of the latest frame.
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem
import Frames
import Logging
import Reactor

public struct StreamSettings: Sendable, Equatable {
    public var maxClients: Int
    /// A subscriber with a frame in flight that accepts no bytes for this long is disconnected.
    public var clientTimeoutNanos: UInt64
    /// TCP_NOTSENT_LOWAT per viewer socket: the kernel keeps at most about this much unsent (0 = off).
    public var sendLowWatermark: Int
    /// SO_SNDBUF per viewer socket (0 = the kernel's autotuning).
    public var sendBuffer: Int
    /// An HTTP request head must be complete within this long after the connection (or the previous
    /// response) or the connection is closed (slowloris).
    public var requestTimeoutNanos: UInt64
    /// Who may use the HTTP endpoints (open by default). The native protocol has no authentication.
    public var access: HTTPAccessPolicy

    public init(maxClients: Int = 512, clientTimeoutNanos: UInt64 = 10_000_000_000,
                sendLowWatermark: Int = 65536, sendBuffer: Int = 0, requestTimeoutNanos: UInt64 = 5_000_000_000,
                access: HTTPAccessPolicy = .open) {
        self.maxClients = maxClients
        self.clientTimeoutNanos = clientTimeoutNanos
        self.sendLowWatermark = sendLowWatermark
        self.sendBuffer = sendBuffer
        self.requestTimeoutNanos = requestTimeoutNanos
        self.access = access
    }
}

public enum StreamProtocol: String, Sendable {
    case native
    case http
}

/// One viewer, as the state and control socket report it.
public struct ClientInfo: Sendable, Equatable {
    public var id: UInt64
    public var peer: String
    public var proto: StreamProtocol
    public var connectedNanos: UInt64
    public var framesSent: UInt64
    public var framesDropped: UInt64
    public var bytesSent: UInt64
    /// Receiving the stream (native, or HTTP /stream); false for an HTTP connection between requests.
    public var isViewer: Bool
}

/// Totals since start, including viewers that have left.
public struct StreamStats: Sendable, Equatable {
    public var clients = 0
    public var accepted: UInt64 = 0
    public var refused: UInt64 = 0
    public var timedOut: UInt64 = 0
    public var framesSent: UInt64 = 0
    public var framesDropped: UInt64 = 0
    public var bytesSent: UInt64 = 0
}

final class Subscriber {
    let id: UInt64
    let socket: Descriptor
    var registration: RegistrationID?
    let peer: String
    let proto: StreamProtocol
    var machine: SubscriberStateMachine
    let connectedAt: UInt64
    var interest: Interest = .read
    var bytesIgnored = 0
    /// The viewer shut down its sending side; it may still be reading.
    var inputClosed = false
    /// Waiting for the kernel to send what is left of the previous frame before starting the newest.
    var draining = false
    var drainUnsent = 0
    var drainProgressAt: UInt64 = 0

    /// HTTP only. `.frames`: subscribed to the stream (native viewers always are).
    enum Phase { case frames, request, response }
    var phase: Phase = .frames
    /// Bytes of the request(s) read so far; bounded by HTTPRequestParser.maxHeadBytes.
    var requestBuffer: [UInt8] = []
    var requestStartedAt: UInt64 = 0
    /// A one-off HTTP response in flight, and what follows it.
    var response: HTTPResponseInFlight?

    init(id: UInt64, socket: Descriptor, peer: String, proto: StreamProtocol, now: UInt64) {
        self.id = id
        self.socket = socket
        self.peer = peer
        self.proto = proto
        machine = SubscriberStateMachine(now: now)
        connectedAt = now
    }
}

public final class StreamServer {
    struct Listener {
        let socket: Descriptor
        let registration: RegistrationID
        let address: SocketAddress
        let proto: StreamProtocol
    }

    let reactor: Reactor
    let ring: FrameRing
    public var settings: StreamSettings
    let logger: Logger
    var listeners: [Listener] = []
    var subscribers: [UInt64: Subscriber] = [:]
    var nextID: UInt64 = 1
    var currentNative: WireFrame?
    var currentHTTP: WireFrame?
    /// The JSON served at /state (set by the daemon).
    public var stateProvider: () -> [UInt8] = { Array("{}".utf8) }
    var acceptPausedUntil: UInt64?
    var closedTotals = StreamStats()
    var refusalLog = RateLimitedLog(intervalNanos: 5_000_000_000)
    var acceptErrorLog = RateLimitedLog(intervalNanos: 5_000_000_000)
    var accessControl = HTTPAccessControl(policy: .open)
    var accessFailureLog = RateLimitedLog(intervalNanos: 1_000_000_000)
    /// One scratch buffer for reading (and discarding) what viewers send; freed in deinit.
    let readScratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 16)

    public init(reactor: Reactor, ring: FrameRing, settings: StreamSettings, logger: Logger) {
        self.reactor = reactor
        self.ring = ring
        self.settings = settings
        self.logger = logger
    }

    deinit { readScratch.deallocate() }

    // MARK: Listening and accepting

    /// Binds a native-protocol listener; returns the bound address (useful with port 0).
    @discardableResult
    public func listen(native address: SocketAddress) throws(SystemError) -> SocketAddress {
        try listen(address, proto: .native)
    }

    /// Binds an HTTP listener (/stream, /snapshot, /state, /).
    @discardableResult
    public func listen(http address: SocketAddress) throws(SystemError) -> SocketAddress {
        try listen(address, proto: .http)
    }

    @discardableResult
    public func listen(_ address: SocketAddress, proto: StreamProtocol) throws(SystemError) -> SocketAddress {
        try adopt(Socket.listen(on: address), proto: proto)
    }

    /// Serves `proto` on a socket that is already listening (one systemd passed in); returns its address.
    @discardableResult
    public func adopt(_ socket: Descriptor, proto: StreamProtocol) throws(SystemError) -> SocketAddress {
        let bound: SocketAddress
        let registration: RegistrationID
        do {
            bound = try Socket.localAddress(socket)
            registration = try reactor.register(socket, interest: acceptPausedUntil == nil ? .read : []) { [unowned self, unowned socket] _ in
                self.acceptAll(socket, proto: proto)
            }
        } catch {
            socket.close()
            throw error
        }
        listeners.append(Listener(socket: socket, registration: registration, address: bound, proto: proto))
        return bound
    }

    /// Stops listening on the listeners of `proto` whose address is not in `keep` (reload); returns them.
    @discardableResult
    public func closeListeners(_ proto: StreamProtocol, keeping keep: [SocketAddress]) -> [SocketAddress] {
        var closed: [SocketAddress] = []
        listeners.removeAll { listener in
            guard listener.proto == proto, !keep.contains(listener.address) else { return false }
            reactor.deregister(listener.registration)
            listener.socket.close()
            closed.append(listener.address)
            return true
        }
        return closed
    }

    public var listenAddresses: [SocketAddress] { listeners.map(\.address) }
    public var httpAddresses: [SocketAddress] { listeners.filter { $0.proto == .http }.map(\.address) }
    public func addresses(_ proto: StreamProtocol) -> [SocketAddress] { listeners.filter { $0.proto == proto }.map(\.address) }

    func acceptAll(_ listener: Descriptor, proto: StreamProtocol) {
        // Bounded per wake-up so one busy listener cannot starve the rest of the loop.
        for _ in 0..<128 {
            let result: IOResult<(Descriptor, SocketAddress?)>
            do {
                result = try Socket.accept(listener)
            } catch {
                switch error.errno {
                case EMFILE, ENFILE, ENOBUFS, ENOMEM:
                    // Out of descriptors: stop watching the listeners briefly instead of spinning on a
                    // readable listener we cannot accept from. Pending viewers wait in the backlog.
                    pauseAccepting(error)
                    return
                default:
                    // ECONNABORTED and friends: that one connection is gone; carry on.
                    continue
                }
            }
            guard case .done(let (socket, address)) = result else { return }
            admit(socket, peer: address.map { "\($0)" } ?? "unknown", proto: proto)
        }
    }

    func pauseAccepting(_ error: SystemError) {
        guard acceptPausedUntil == nil else { return }
        let now = Clock.monotonicNanos()
        if let suppressed = acceptErrorLog.shouldLog(now: now) {
            let more = suppressed > 0 ? " (\(suppressed) more pauses since the last message)" : ""
            logger.error("accept: \(error); pausing new viewers for 100 ms at a time, \(subscribers.count) connected\(more)")
        }
        acceptPausedUntil = now + 100_000_000
        for listener in listeners { try? reactor.reregister(listener.registration, interest: []) }
    }

    func resumeAccepting(now: UInt64) {
        guard let until = acceptPausedUntil, now >= until else { return }
        acceptPausedUntil = nil
        for listener in listeners { try? reactor.reregister(listener.registration, interest: .read) }
    }

    func admit(_ socket: Descriptor, peer: String, proto: StreamProtocol) {
        if subscribers.count >= settings.maxClients {
            socket.close()
            closedTotals.refused += 1
            if let suppressed = refusalLog.shouldLog(now: Clock.monotonicNanos()) {
                let more = suppressed > 0 ? " (\(suppressed) more refused since the last message)" : ""
                logger.warning("refused \(proto.rawValue) viewer \(peer): max_clients (\(settings.maxClients)) reached\(more)",
                               metadata: ["camd_event": "client_refused", "camd_client": "\(peer)"])
            }
            return
        }
        // Options are best effort: a viewer whose socket refuses them is still served.
        try? Socket.setNoDelay(socket)
        if settings.sendLowWatermark > 0 { try? Socket.setNotSentLowWatermark(socket, bytes: settings.sendLowWatermark) }
        if settings.sendBuffer > 0 { try? Socket.setSendBuffer(socket, bytes: settings.sendBuffer) }

        let now = Clock.monotonicNanos()
        let subscriber = Subscriber(id: nextID, socket: socket, peer: peer, proto: proto, now: now)
        nextID += 1
        do {
            subscriber.registration = try reactor.register(socket, interest: .read) { [unowned self, unowned subscriber] events in
                self.handle(events, for: subscriber)
            }
        } catch {
            logger.error("cannot watch viewer \(peer): \(error)")
            socket.close()
            return
        }
        subscribers[subscriber.id] = subscriber
        closedTotals.accepted += 1
        if proto == .http {
            // HTTP speaks second: wait for the request (within request_timeout).
            subscriber.phase = .request
            subscriber.requestStartedAt = now
            logger.debug("http connection \(subscriber.id) from \(peer)")
            return
        }
        logConnect(subscriber, what: proto.rawValue)
        // The native protocol's server speaks first: send the newest frame at once.
        if let wire = currentWire(subscriber.proto), subscriber.machine.frameAvailable(wire, now: now) {
            pump(subscriber, now: now)
        }
    }

    // MARK: Fan-out

    /// The latest frame in a protocol's wire form, rebuilt only when the ring has a newer frame: one
    /// header (and trailer) per frame per protocol, shared by all its subscribers.
    func currentWire(_ proto: StreamProtocol) -> WireFrame? {
        guard let frame = ring.latest else { return nil }
        switch proto {
        case .native:
            if currentNative?.frame !== frame {
                currentNative = WireFrame(frame: frame, header: NativeFrameHeader(frame: frame).encoded())
            }
            return currentNative
        case .http:
            if currentHTTP?.frame !== frame {
                currentHTTP = WireFrame(frame: frame, header: HTTPMessages.partHeader(frame), trailer: HTTPMessages.crlf)
            }
            return currentHTTP
        }
    }

    /// The capture thread published a frame: every idle subscriber starts sending it; busy ones will
    /// pick up the newest when they finish the frame they are on.
    public func frameAvailable() {
        guard ring.latest != nil else { return }
        let now = Clock.monotonicNanos()
        for subscriber in subscribers.values
        where subscriber.phase == .frames && subscriber.machine.isIdle && !subscriber.draining {
            guard let wire = currentWire(subscriber.proto) else { continue }
            if mayStart(wire, subscriber, now: now), subscriber.machine.frameAvailable(wire, now: now) {
                pump(subscriber, now: now)
            }
        }
    }

    /// Unsent bytes a new frame may queue behind. Above this the subscriber first waits for the kernel
    /// to drain: a frame started behind a backlog reaches a slow viewer late (at 200 KB/s, 64 KiB is 0.3 s).
    var boundaryUnsent: Int {
        settings.sendLowWatermark > 0 ? min(settings.sendLowWatermark, 16384) : 16384
    }

    /// Whether an idle subscriber may start `wire` now. If its socket still holds more than
    /// `boundaryUnsent` bytes of the previous frame, it waits for EPOLLOUT (with TCP_NOTSENT_LOWAT
    /// lowered to that boundary) and takes the newest frame then.
    func mayStart(_ wire: WireFrame, _ subscriber: Subscriber, now: UInt64) -> Bool {
        guard wire.frame.sequence > subscriber.machine.lastSequence else { return false }
        // Before the first frame there is nothing queued; skip the ioctl.
        let unsent = subscriber.machine.framesSent == 0 ? 0 : Socket.unsentBytes(subscriber.socket)
        if unsent > boundaryUnsent {
            if !subscriber.draining {
                subscriber.draining = true
                subscriber.drainUnsent = unsent
                subscriber.drainProgressAt = now
                try? Socket.setNotSentLowWatermark(subscriber.socket, bytes: boundaryUnsent)
                setInterest(subscriber, [.read, .write])
            }
            return false
        }
        if subscriber.draining {
            subscriber.draining = false
            try? Socket.setNotSentLowWatermark(subscriber.socket, bytes: settings.sendLowWatermark)
        }
        return true
    }

    /// Writes as much of the subscriber's frame as the socket takes; on completion moves to the newest frame.
    func pump(_ subscriber: Subscriber, now: UInt64) {
        while case .sending(let wire, let sent) = subscriber.machine.state {
            let result: IOResult<Int>
            do {
                result = try Socket.send(subscriber.socket, wire.header, wire.sendsPayload ? wire.frame.payload : [],
                                         wire.trailer, offset: sent)
            } catch {
                drop(subscriber, reason: error.errno == EPIPE || error.errno == ECONNRESET ? "connection reset" : "\(error)")
                return
            }
            switch result {
            case .wouldBlock:
                setInterest(subscriber, [.read, .write])
                return
            case .done(let count):
                if subscriber.machine.wrote(count, now: now), let newest = currentWire(subscriber.proto),
                   mayStart(newest, subscriber, now: now) {
                    _ = subscriber.machine.frameAvailable(newest, now: now)
                }
            }
        }
        setInterest(subscriber, subscriber.draining ? [.read, .write] : .read)
    }

    func setInterest(_ subscriber: Subscriber, _ interest: Interest) {
        // A viewer that half-closed has nothing more to read: watching for input would spin.
        let wanted = subscriber.inputClosed ? interest.subtracting(.read) : interest
        guard wanted != subscriber.interest, let registration = subscriber.registration else { return }
        do {
            try reactor.reregister(registration, interest: wanted)
            subscriber.interest = wanted
        } catch {
            drop(subscriber, reason: "\(error)")
        }
    }

    func handle(_ events: Events, for subscriber: Subscriber) {
        if events.contains(.error) || (events.contains(.hangup) && !events.contains(.readable)) {
            drop(subscriber, reason: "connection closed")
            return
        }
        if events.contains(.readable) {
            if subscriber.proto == .http && subscriber.phase != .frames {
                readRequest(subscriber)
            } else {
                readAndDiscard(subscriber)
            }
            guard subscribers[subscriber.id] != nil else { return }
        }
        if events.contains(.writable) && subscriber.response != nil {
            pumpResponse(subscriber, now: Clock.monotonicNanos())
            return
        }
        if events.contains(.writable) {
            let now = Clock.monotonicNanos()
            if subscriber.draining {
                // Writable with the lowered watermark: the previous frame has (nearly) left.
                if Socket.unsentBytes(subscriber.socket) <= boundaryUnsent {
                    subscriber.draining = false
                    try? Socket.setNotSentLowWatermark(subscriber.socket, bytes: settings.sendLowWatermark)
                }
                if !subscriber.draining, let wire = currentWire(subscriber.proto), subscriber.machine.isIdle {
                    _ = subscriber.machine.frameAvailable(wire, now: now)
                }
            }
            pump(subscriber, now: now)
        }
    }

    /// Native viewers have nothing to say: what they send is read and ignored, so garbage costs only
    /// the time to read it. End of input is a half-close; the viewer may still be reading.
    func readAndDiscard(_ subscriber: Subscriber) {
        for _ in 0..<16 {
            let result: IOResult<Int>
            do {
                result = try Socket.read(subscriber.socket, into: readScratch)
            } catch {
                drop(subscriber, reason: error.errno == ECONNRESET ? "connection reset" : "\(error)")
                return
            }
            switch result {
            case .wouldBlock:
                return
            case .done(0):
                subscriber.inputClosed = true
                setInterest(subscriber, subscriber.interest)
                return
            case .done(let count):
                if subscriber.bytesIgnored == 0 {
                    logger.notice("viewer \(subscriber.id) (\(subscriber.peer)) sent data on the \(subscriber.proto.rawValue) stream; ignoring it")
                }
                subscriber.bytesIgnored += count
            }
        }
    }

    // MARK: Timeouts, state, shutdown

    /// Periodic work (call every ~100 ms): stalled viewers, accept back-off.
    public func tick() {
        let now = Clock.monotonicNanos()
        resumeAccepting(now: now)
        expireHTTPRequests(now: now)
        for subscriber in subscribers.values where subscriber.draining {
            // Draining counts as progress while the kernel's unsent bytes go down.
            let unsent = Socket.unsentBytes(subscriber.socket)
            if unsent < subscriber.drainUnsent {
                subscriber.drainUnsent = unsent
                subscriber.drainProgressAt = now
            }
        }
        for subscriber in subscribers.values
        where subscriber.machine.isStalled(now: now, timeout: settings.clientTimeoutNanos)
            || (subscriber.draining && now - subscriber.drainProgressAt >= settings.clientTimeoutNanos) {
            closedTotals.timedOut += 1
            let seconds = Double(settings.clientTimeoutNanos) / 1e9
            drop(subscriber, reason: "timeout: accepted no data for \(seconds) s", level: .warning, event: "client_drop")
        }
    }

    func logConnect(_ subscriber: Subscriber, what: String) {
        logger.info("viewer \(subscriber.id) connected: \(subscriber.peer) (\(what)), \(subscribers.count) connected",
                    metadata: ["camd_event": "client_connect", "camd_client": "\(subscriber.peer)",
                               "camd_client_id": "\(subscriber.id)", "camd_protocol": "\(subscriber.proto.rawValue)"])
    }

    /// Closes a subscriber and logs it. `event` is client_disconnect when the viewer left, client_drop when
    /// camd disconnected it (timeout, kick).
    func drop(_ subscriber: Subscriber, reason: String, level: Logger.Level = .info, event: String = "client_disconnect") {
        guard subscribers.removeValue(forKey: subscriber.id) != nil else { return }
        if let registration = subscriber.registration { reactor.deregister(registration) }
        subscriber.socket.close()
        let machine = subscriber.machine
        closedTotals.framesSent += machine.framesSent
        closedTotals.framesDropped += machine.framesDropped
        closedTotals.bytesSent += machine.bytesSent
        let seconds = Double(Clock.monotonicNanos() - subscriber.connectedAt) / 1e9
        let duration = String(format1: seconds)
        logger.log(level: level, "viewer \(subscriber.id) disconnected: \(subscriber.peer) (\(subscriber.proto.rawValue)), \(reason); \(duration) s, \(machine.framesSent) frames sent, \(machine.framesDropped) dropped",
                   metadata: ["camd_event": "\(event)", "camd_client": "\(subscriber.peer)", "camd_client_id": "\(subscriber.id)",
                              "camd_protocol": "\(subscriber.proto.rawValue)", "camd_duration_s": "\(duration)",
                              "camd_frames_sent": "\(machine.framesSent)", "camd_frames_dropped": "\(machine.framesDropped)",
                              "camd_reason": "\(reason)"])
    }

    /// Disconnects one viewer by id; false if there is none.
    @discardableResult
    public func kick(_ id: UInt64, reason: String) -> Bool {
        guard let subscriber = subscribers[id] else { return false }
        drop(subscriber, reason: reason, level: .notice, event: "client_drop")
        return true
    }

    public var clientCount: Int { subscribers.count }

    public var clients: [ClientInfo] {
        let now = Clock.monotonicNanos()
        return subscribers.values.sorted { $0.id < $1.id }.map {
            ClientInfo(id: $0.id, peer: $0.peer, proto: $0.proto, connectedNanos: now - $0.connectedAt,
                       framesSent: $0.machine.framesSent, framesDropped: $0.machine.framesDropped,
                       bytesSent: $0.machine.bytesSent, isViewer: $0.phase == .frames)
        }
    }

    public var stats: StreamStats {
        var stats = closedTotals
        stats.clients = subscribers.count
        for subscriber in subscribers.values {
            stats.framesSent += subscriber.machine.framesSent
            stats.framesDropped += subscriber.machine.framesDropped
            stats.bytesSent += subscriber.machine.bytesSent
        }
        return stats
    }

    /// Closes every viewer and listener.
    public func close() {
        for subscriber in subscribers.values { drop(subscriber, reason: "server shutting down", level: .debug) }
        for listener in listeners {
            reactor.deregister(listener.registration)
            listener.socket.close()
        }
        listeners.removeAll()
    }
}

/// Logs the first event, then at most once per interval, reporting how many were suppressed.
struct RateLimitedLog {
    let intervalNanos: UInt64
    var lastLogged: UInt64?
    var suppressed = 0

    init(intervalNanos: UInt64) { self.intervalNanos = intervalNanos }

    /// nil: stay quiet. Otherwise: log now, mentioning this many suppressed since the last message.
    mutating func shouldLog(now: UInt64) -> Int? {
        if let last = lastLogged, now - last < intervalNanos {
            suppressed += 1
            return nil
        }
        lastLogged = now
        defer { suppressed = 0 }
        return suppressed
    }
}

extension String {
    /// One decimal place, without Foundation.
    public init(format1 value: Double) {
        let tenths = Int((value * 10).rounded())
        self = "\(tenths / 10).\(abs(tenths % 10))"
    }
}
