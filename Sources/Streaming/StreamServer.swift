// StreamServer: the I/O driver. Listeners (accepting with back-off) and admission here; each connection's
// state lives in its ConnectionMachine, whose actions StreamServer+Connections carries out on the sockets;
// HTTPRoutes answers requests. The fan-out: every idle viewer is offered the latest frame as it is published.
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem
import Frames
import Logging
import Reactor
import Wire

public struct StreamSettings: Sendable, Equatable {
    /// Viewers at once (native, and HTTP /stream). Connections that are not viewers — waiting for a request,
    /// or being answered /state, /snapshot, the page — have a count of their own, as large, so a full house
    /// of viewers never turns them away.
    public var maxClients: Int
    /// Viewers, and as many other connections, from one address (0 = no limit per address).
    public var maxClientsPerAddress: Int
    /// A viewer that cannot take one whole frame within this long of its start is disconnected.
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
    /// Origins whose web pages may read camd's answers (CORS: Access-Control-Allow-Origin); "*" any. None by default.
    public var allowOrigins: [String]
    /// Reverse proxies whose X-Forwarded-For names the viewer (trusted_proxies); none by default, and from any
    /// other peer the header is ignored.
    public var trustedProxies: [AddressRange] = []

    /// What each connection machine works with.
    public var limits: ConnectionLimits {
        ConnectionLimits(clientTimeoutNanos: clientTimeoutNanos, requestTimeoutNanos: requestTimeoutNanos,
                         sendLowWatermark: sendLowWatermark)
    }

    public init(maxClients: Int = 512, maxClientsPerAddress: Int = 0, clientTimeoutNanos: UInt64 = 10_000_000_000,
                sendLowWatermark: Int = 65536, sendBuffer: Int = 0, requestTimeoutNanos: UInt64 = 5_000_000_000,
                access: HTTPAccessPolicy = .open, allowOrigins: [String] = []) {
        self.maxClients = maxClients
        self.maxClientsPerAddress = maxClientsPerAddress
        self.allowOrigins = allowOrigins
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
    /// RTSP 1.0: H.264 at /stream, RFC 2435 JPEG at /mjpeg (StreamServer+RTSP).
    case rtsp
}

/// One viewer, as the state and control socket report it.
public struct ClientInfo: Sendable, Equatable {
    public var id: UInt64
    /// The viewer's address: its socket's peer ("192.0.2.7:41234"), or the address a trusted proxy named.
    public var peer: String
    /// The trusted proxy the viewer came through (its socket's peer), when `peer` is a forwarded address.
    public var via: String?
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

/// One accepted socket and its machine.
final class Connection {
    let id: UInt64
    let socket: Descriptor
    var registration: RegistrationID?
    let peer: String
    /// The peer's host, what max_clients_per_ip counts by.
    let host: String
    /// The peer's address (nil: unknown), checked against trusted_proxies.
    let peerAddress: IPAddress?
    /// The viewer a trusted proxy named in X-Forwarded-For (StreamServer+Forwarded), for the latest request.
    var forwarded: IPAddress?
    /// The host whose viewer count holds this connection's viewer slot (max_clients_per_ip).
    var slotHost: String
    let connectedAt: UInt64
    var machine: ConnectionMachine
    /// Counted as a viewer (native from the start, HTTP from /stream) rather than as a request connection.
    var holdsViewerSlot = false

    init(id: UInt64, socket: Descriptor, peer: String, host: String, peerAddress: IPAddress? = nil, machine: ConnectionMachine, now: UInt64) {
        self.id = id
        self.socket = socket
        self.peer = peer
        self.host = host
        self.peerAddress = peerAddress
        slotHost = host
        self.machine = machine
        connectedAt = now
    }

    var proto: StreamProtocol { machine.proto }
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
    /// Applied to every connection as it changes (reload): limits at once, a new access policy for the next request.
    public var settings: StreamSettings {
        didSet {
            if settings.access != oldValue.access { accessControl = HTTPAccessControl(policy: settings.access) }
            if settings.limits != oldValue.limits {
                for connection in connections.values { connection.machine.limits = settings.limits }
            }
        }
    }
    let logger: Logger
    var listeners: [Listener] = []
    var connections: [UInt64: Connection] = [:]
    var nextID: UInt64 = 1
    var currentNative: WireFrame?
    var currentHTTP: WireFrame?
    /// The JSON served at /state (set by the daemon).
    public var stateProvider: () -> [UInt8] = { Array("{}".utf8) }
    /// The Prometheus text served at /metrics (set by the daemon).
    public var metricsProvider: () -> [UInt8] = { [] }
    /// Totals only /metrics reports (refusals by limit, timeouts by kind, requests by route and status).
    public internal(set) var counters = StreamCounters()
    var acceptPausedUntil: UInt64?
    var closedTotals = StreamStats()
    var refusalLog = RateLimitedLog(intervalNanos: 5_000_000_000)
    var acceptErrorLog = RateLimitedLog(intervalNanos: 5_000_000_000)
    var accessControl: HTTPAccessControl
    var accessFailureLog = RateLimitedLog(intervalNanos: 1_000_000_000)
    /// Unreadable X-Forwarded-For headers from trusted proxies (StreamServer+Forwarded).
    var forwardedLog = RateLimitedLog(intervalNanos: 5_000_000_000)
    /// Connect, disconnect and refused-request lines, aggregated beyond a few a second.
    var eventLog = ConnectionEventLog()
    /// Connections holding a viewer slot (the rest are request connections).
    var viewerCount = 0
    /// Viewers and request connections per peer host, for max_clients_per_ip.
    var perHost: [String: HostCount] = [:]
    /// Tells the capture thread whether anyone wants frames (idle mode): viewers coming and going, snapshots.
    public let demand: CaptureDemand
    /// Snapshot requests waiting for a live frame while the capture wakes from idle, by connection id.
    var snapshotWaits: [UInt64: SnapshotWait] = [:]
    /// How long a snapshot waits for a live frame before it is answered with the last one, marked stale.
    public static let snapshotWaitNanos: UInt64 = 3_000_000_000

    struct SnapshotWait {
        let request: HTTPRequest
        let deadline: UInt64
    }

    struct HostCount {
        var viewers = 0
        var requests = 0
    }
    /// RTSP connections, the UDP sockets and the streams they are sent (StreamServer+RTSP).
    let rtsp = RTSPState()
    /// One scratch buffer for reading what connections send; freed in deinit.
    let readScratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 16)

    public init(reactor: Reactor, ring: FrameRing, settings: StreamSettings, logger: Logger,
                demand: CaptureDemand = CaptureDemand()) {
        self.reactor = reactor
        self.ring = ring
        self.demand = demand
        self.settings = settings
        self.logger = logger
        accessControl = HTTPAccessControl(policy: settings.access)
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
        if proto == .rtsp { openRTSPDatagramSockets(near: bound) }
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
            admit(socket, peer: address, proto: proto)
        }
    }

    func pauseAccepting(_ error: SystemError) {
        guard acceptPausedUntil == nil else { return }
        let now = Clock.monotonicNanos()
        if let suppressed = acceptErrorLog.shouldLog(now: now) {
            let more = suppressed > 0 ? " (\(suppressed) more pauses since the last message)" : ""
            logger.error("accept: \(error); pausing new viewers for 100 ms at a time, \(connections.count) connected\(more)")
        }
        acceptPausedUntil = now + 100_000_000
        for listener in listeners { try? reactor.reregister(listener.registration, interest: []) }
    }

    func resumeAccepting(now: UInt64) {
        guard let until = acceptPausedUntil, now >= until else { return }
        acceptPausedUntil = nil
        for listener in listeners { try? reactor.reregister(listener.registration, interest: .read) }
    }

    /// Takes a new connection within its count (viewers for native, request connections for HTTP) and the
    /// peer's share, sets its socket options and starts its machine.
    func admit(_ socket: Descriptor, peer address: SocketAddress?, proto: StreamProtocol) {
        if proto == .rtsp { return admitRTSP(socket, peer: address) }
        let peer = address.map { "\($0)" } ?? "unknown"
        let host = address?.hostText ?? "unknown"
        // A trusted proxy carries many viewers: its request connections are not limited per address (its viewers
        // are, by the address it names, when they take a viewer slot).
        let perAddress = !(proto == .http && address.map { settings.trustedProxies.containsAddress(IPAddress($0)) } == true)
        if let full = proto == .native ? viewerRefusal(host: host) : requestRefusal(host: host, perAddress: perAddress) {
            refuse(socket, peer: peer, proto: proto, why: full)
            return
        }
        setViewerSocketOptions(socket)

        let now = Clock.monotonicNanos()
        let connection = Connection(id: nextID, socket: socket, peer: peer, host: host, peerAddress: address.map(IPAddress.init),
                                    machine: ConnectionMachine(proto: proto, limits: settings.limits, now: now), now: now)
        nextID += 1
        do {
            connection.registration = try reactor.register(socket, interest: .read) { [unowned self, unowned connection] events in
                self.handle(events, for: connection)
            }
        } catch {
            logger.error("cannot watch viewer \(peer): \(error)")
            socket.close()
            return
        }
        connections[connection.id] = connection
        closedTotals.accepted += 1
        if proto == .native {
            connection.holdsViewerSlot = true
            viewerCount += 1
            demand.viewersChanged(to: viewerCount, now: now)
            perHost[host, default: HostCount()].viewers += 1
        } else {
            perHost[host, default: HostCount()].requests += 1
            if logger.logLevel <= .debug, eventLog.admit(.connect, now: now) {
                logger.debug("http connection \(connection.id) from \(peer)")
            }
        }
        // The native protocol's server speaks first: its machine asks for the newest frame at once.
        run(connection, now: now)
    }

    /// TCP_NODELAY, send_lowat and send_buffer on a new connection's socket. Best effort: a viewer whose socket
    /// refuses them is still served.
    func setViewerSocketOptions(_ socket: Descriptor) {
        try? Socket.setNoDelay(socket)
        if settings.sendLowWatermark > 0 { try? Socket.setNotSentLowWatermark(socket, bytes: settings.sendLowWatermark) }
        if settings.sendBuffer > 0 { try? Socket.setSendBuffer(socket, bytes: settings.sendBuffer) }
    }

    /// Why a new viewer from `host` may not have a slot, or nil when it may.
    func viewerRefusal(host: String) -> Refusal? {
        if viewerCount >= settings.maxClients {
            return Refusal(limit: .maxClients, description: "max_clients (\(settings.maxClients)) reached")
        }
        let perAddress = settings.maxClientsPerAddress
        if perAddress > 0, perHost[host, default: HostCount()].viewers >= perAddress {
            return Refusal(limit: .maxClientsPerIP, description: "max_clients_per_ip (\(perAddress)) reached for \(host)")
        }
        return nil
    }

    /// Why a new request connection from `host` may not be taken, or nil when it may.
    func requestRefusal(host: String, perAddress limited: Bool = true) -> Refusal? {
        if connections.count - viewerCount >= settings.maxClients {
            return Refusal(limit: .maxClients, description: "\(settings.maxClients) request connections open (max_clients)")
        }
        let perAddress = settings.maxClientsPerAddress
        if limited, perAddress > 0, perHost[host, default: HostCount()].requests >= perAddress {
            return Refusal(limit: .maxClientsPerIP,
                           description: "max_clients_per_ip (\(perAddress)) request connections open from \(host)")
        }
        return nil
    }

    /// Turns a connection away at accept: HTTP is told 503 (Retry-After) in one best-effort send — the request
    /// is not read, what has arrived of it is discarded so the close is a FIN, not a reset — native is closed.
    func refuse(_ socket: Descriptor, peer: String, proto: StreamProtocol, why: Refusal) {
        if proto == .http {
            _ = try? Socket.read(socket, into: readScratch)
            _ = HTTPMessages.busy.withUnsafeBytes { try? Socket.write(socket, $0) }
            try? Socket.shutdownWrite(socket)
        }
        socket.close()
        noteRefusal("\(proto.rawValue) connection", peer: peer, why: why)
    }

    /// Counts a refusal and logs it (at most one line per 5 s, saying how many were not logged).
    func noteRefusal(_ what: String, peer: String, why: Refusal) {
        closedTotals.refused += 1
        counters.refused[why.limit, default: 0] += 1
        if let suppressed = refusalLog.shouldLog(now: Clock.monotonicNanos()) {
            let more = suppressed > 0 ? " (\(suppressed) more refused since the last message)" : ""
            logger.warning("refused \(what) from \(peer): \(why)\(more)",
                           metadata: ["camd_event": "client_refused", "camd_client": "\(peer)"])
        }
    }

    /// A request connection becomes a viewer (HTTP /stream): it moves from one count to the other.
    func takeViewerSlot(_ connection: Connection) {
        guard !connection.holdsViewerSlot else { return }
        connection.holdsViewerSlot = true
        viewerCount += 1
        demand.viewersChanged(to: viewerCount, now: Clock.monotonicNanos())
        perHost[connection.host, default: HostCount()].requests -= 1
        if perHost[connection.host]?.viewers == 0, perHost[connection.host]?.requests == 0 { perHost[connection.host] = nil }
        connection.slotHost = connection.viewerHost
        perHost[connection.slotHost, default: HostCount()].viewers += 1
    }

    /// A connection is gone: its slot is free.
    func releaseSlot(_ connection: Connection) {
        let host = connection.holdsViewerSlot ? connection.slotHost : connection.host
        var count = perHost[host, default: HostCount()]
        if connection.holdsViewerSlot {
            viewerCount -= 1
            demand.viewersChanged(to: viewerCount, now: Clock.monotonicNanos())
            count.viewers -= 1
        } else {
            count.requests -= 1
        }
        perHost[host] = count.viewers <= 0 && count.requests <= 0 ? nil : count
    }

    // MARK: Fan-out

    /// The latest frame in a protocol's wire form, rebuilt only when the ring has a newer frame: one
    /// header (and trailer) per frame per protocol, shared by all its viewers.
    /// Nil while the latest frame predates the capture's idling: a viewer's first frame is a live one.
    func currentWire(_ proto: StreamProtocol) -> WireFrame? {
        guard let frame = ring.latest, !demand.isStale(sequence: frame.sequence) else { return nil }
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
        case .rtsp:
            // RTSP viewers are sent packetised units (StreamServer+RTSP), never wire frames.
            return nil
        }
    }

    /// The capture thread published a frame: every idle viewer is offered it; busy ones will ask for the
    /// newest when they finish the frame they are on.
    public func frameAvailable() {
        let now = Clock.monotonicNanos()
        // Also the H.264 encoder's wake-up: its new units go out to RTSP viewers.
        deliverRTSP(now: now)
        guard let latest = ring.latest else { return }
        if !snapshotWaits.isEmpty, !demand.isStale(sequence: latest.sequence) { answerSnapshotWaits(now: now, expiredOnly: false) }
        for connection in connections.values where connection.machine.isWaitingForFrame {
            guard let wire = currentWire(connection.proto) else { continue }
            connection.machine.frameAvailable(wire, now: now, unsent: Socket.unsentBytes(connection.socket))
            run(connection, now: now)
        }
    }

    // MARK: Timeouts, state, shutdown

    /// Periodic work (call every ~100 ms): timeouts, accept back-off.
    public func tick() {
        let now = Clock.monotonicNanos()
        resumeAccepting(now: now)
        if let summary = eventLog.summary(now: now) {
            logger.info("\(summary)", metadata: ["camd_event": "client_summary"])
        }
        if !snapshotWaits.isEmpty { answerSnapshotWaits(now: now, expiredOnly: true) }
        for connection in connections.values {
            connection.machine.tick(now: now, unsent: Socket.unsentBytes(connection.socket))
            run(connection, now: now)
        }
        tickRTSP(now: now)
    }

    /// Answers the snapshots waiting for a live frame (all of them: one has come), or those whose wait is over
    /// (`expiredOnly`: with the last frame, marked stale).
    func answerSnapshotWaits(now: UInt64, expiredOnly: Bool) {
        for (id, wait) in snapshotWaits where !expiredOnly || now >= wait.deadline {
            snapshotWaits[id] = nil
            guard let connection = connections[id], connection.machine.isAwaitingFrame else { continue }
            let response = snapshot(wait.request)
            countRequest(.snapshot, response: response)
            connection.machine.respond(response, now: now)
            run(connection, now: now)
        }
    }

    /// Disconnects one viewer by id; false if there is none.
    @discardableResult
    public func kick(_ id: UInt64, reason: String) -> Bool {
        if let connection = rtsp.connections[id] {
            dropRTSP(connection, reason: reason, level: .notice, event: "client_drop")
            return true
        }
        guard let connection = connections[id] else { return false }
        drop(connection, reason: reason, level: .notice, event: "client_drop")
        return true
    }

    public var clientCount: Int { connections.count + rtsp.connections.count }

    /// Connections by kind, counted in one pass without building `clients` (/state asks on every request).
    /// Viewers (streaming) are counted by protocol too; an HTTP connection between requests is not a viewer.
    public var connectionCounts: (viewers: Int, native: Int, http: Int, nativeViewers: Int, httpViewers: Int, rtsp: Int, rtspViewers: Int) {
        var native = 0, nativeViewers = 0, httpViewers = 0
        for connection in connections.values {
            let streaming = connection.machine.isStreaming
            if connection.proto == .native {
                native += 1
                if streaming { nativeViewers += 1 }
            } else if streaming {
                httpViewers += 1
            }
        }
        let rtspViewers = rtsp.connections.values.reduce(0) { $0 + ($1.playing == nil ? 0 : 1) }
        return (nativeViewers + httpViewers + rtspViewers, native, connections.count - native, nativeViewers, httpViewers,
                rtsp.connections.count, rtspViewers)
    }

    public var clients: [ClientInfo] {
        let now = Clock.monotonicNanos()
        let streaming = connections.values.map {
            ClientInfo(id: $0.id, peer: $0.viewer, via: $0.forwarded == nil ? nil : $0.peer, proto: $0.proto, connectedNanos: now - $0.connectedAt,
                       framesSent: $0.machine.frames.framesSent, framesDropped: $0.machine.frames.framesDropped,
                       bytesSent: $0.machine.frames.bytesSent, isViewer: $0.machine.isStreaming)
        }
        return (streaming + rtspClients).sorted { $0.id < $1.id }
    }

    public var stats: StreamStats {
        var stats = closedTotals
        stats.clients = connections.count + rtsp.connections.count
        for connection in connections.values {
            stats.framesSent += connection.machine.frames.framesSent
            stats.framesDropped += connection.machine.frames.framesDropped
            stats.bytesSent += connection.machine.frames.bytesSent
        }
        for connection in rtsp.connections.values {
            stats.framesSent += connection.unitsSent
            stats.framesDropped += connection.unitsSkipped
            stats.bytesSent += connection.bytesSent
        }
        return stats
    }

    /// Closes every viewer and listener.
    public func close() {
        for connection in connections.values { drop(connection, reason: "server shutting down", level: .debug) }
        closeRTSP()
        for listener in listeners {
            reactor.deregister(listener.registration)
            listener.socket.close()
        }
        listeners.removeAll()
    }
}
