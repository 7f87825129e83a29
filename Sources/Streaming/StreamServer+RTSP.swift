// StreamServer+RTSP: the RTSP driver — RTSP connections on the same reactor as the other viewers, each with its
// RTSPConnectionMachine (Sources/RTSP), whose actions become sends, UDP datagrams, access checks, encoder demand and
// log lines here. The fan-out: every encoded access unit (/stream) and every new JPEG frame (/mjpeg) is packetised
// once and offered to every playing viewer, which adds only its 16-byte RTP header (RTSPConnectionMachine).
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem
import Frames
import H264
import Logging
import Reactor
import RTSP

/// Where /stream's H.264 comes from and how the RTSP server asks for it (set by the daemon).
public struct RTSPFeed {
    /// The encoded access units for /stream; nil when this camd has no H.264 (then only /mjpeg is served).
    public var units: AccessUnitRing?
    /// Starts (true) or stops (false) the encoder: true while at least one RTSP connection wants H.264.
    public var setEncoding: (Bool) -> Void
    /// A viewer waits for a keyframe (it joined, or fell behind): the encoder decides whether to force one.
    public var requestKeyframe: () -> Void
    /// The capture's frame rate, for the SDP's a=framerate.
    public var fps: Double

    public init(units: AccessUnitRing? = nil, fps: Double = 30, setEncoding: @escaping (Bool) -> Void = { _ in },
                requestKeyframe: @escaping () -> Void = {}) {
        self.units = units
        self.fps = fps
        self.setEncoding = setEncoding
        self.requestKeyframe = requestKeyframe
    }
}

/// One RTSP connection: its socket, its machine, and what it plays.
final class RTSPConnection {
    let id: UInt64
    let socket: Descriptor
    var registration: RegistrationID?
    let peer: String
    let host: String
    let address: SocketAddress?
    let connectedAt: UInt64
    var machine: RTSPConnectionMachine
    /// The path its session plays ("/stream", "/mjpeg"), nil while not playing.
    var playing: String? {
        didSet { if let playing { lastPlayed = playing } }
    }
    /// The path it played last (for its disconnect line).
    var lastPlayed: String?
    /// It asked for /stream's description or plays it: the encoder runs for it.
    var wantsH264 = false
    var watchingWrites = false
    var transport = "TCP"
    var unitsSent: UInt64 = 0
    var unitsSkipped: UInt64 = 0
    var bytesSent: UInt64 = 0
    var datagramsDropped: UInt64 = 0
    /// The counts before the current session (a TEARDOWN and a new SETUP start the machine's counts again).
    var sessionBase: (sent: UInt64, skipped: UInt64) = (0, 0)

    init(id: UInt64, socket: Descriptor, peer: String, host: String, address: SocketAddress?, machine: RTSPConnectionMachine, now: UInt64) {
        self.id = id
        self.socket = socket
        self.peer = peer
        self.host = host
        self.address = address
        self.machine = machine
        connectedAt = now
    }
}

/// The server's RTSP part: connections, the UDP sockets, the streams' descriptions and packetisers.
final class RTSPState {
    var connections: [UInt64: RTSPConnection] = [:]
    var feed = RTSPFeed()
    /// The shared RTP and RTCP sockets of UDP sessions (RTSPSettings.udpServerPorts), bound with the first listener.
    var udp: (rtp: Descriptor, rtcp: Descriptor, registrations: [RegistrationID], ports: (rtp: UInt16, rtcp: UInt16))?
    var h264Info: AccessUnitRing.StreamInfo?
    var h264Media: RTSPMedia?
    var jpegMedia: RTSPMedia?
    var h264Packetizer = H264Packetizer()
    let jpegPacketizer = JPEGPacketizer()
    /// The newest unit number taken from the feed's ring.
    var unitsSeen: UInt64 = 0
    /// The frame last offered to /mjpeg viewers.
    var lastJPEG: Frame?
    var encoding = false
    /// One SSRC per stream and one RTP clock for both (RTPPacket.swift): random per start.
    let h264SSRC = UInt32.random(in: 1...UInt32.max)
    let jpegSSRC = UInt32.random(in: 1...UInt32.max)
    let clock = RTPClock(offset: UInt32.random(in: 0...UInt32.max))
    var closedUnitsSent: UInt64 = 0
    var closedUnitsSkipped: UInt64 = 0
    var closedBytesSent: UInt64 = 0
    var datagramsDropped: UInt64 = 0
    var jpegRefusalLog = RateLimitedLog(intervalNanos: 60_000_000_000)
}

extension StreamServer {
    /// Where /stream's units come from (the daemon sets it before listening).
    public var rtspFeed: RTSPFeed {
        get { rtsp.feed }
        set { rtsp.feed = newValue }
    }

    /// Binds an RTSP listener (with the first, the UDP sockets for RTP and RTCP: StreamServer.adopt). Returns its address.
    @discardableResult
    public func listen(rtsp address: SocketAddress) throws(SystemError) -> SocketAddress {
        try listen(address, proto: .rtsp)
    }

    /// The UDP server ports offered to RTSP clients (nil: RTP over UDP is not available).
    public var rtspUDPPorts: (rtp: UInt16, rtcp: UInt16)? { rtsp.udp?.ports }

    /// The UDP sockets for RTP and RTCP on the RTSP listener's host, bound once (a failure only means clients are
    /// offered RTP over TCP alone).
    func openRTSPDatagramSockets(near address: SocketAddress) {
        guard rtsp.udp == nil else { return }
        do {
            let rtp = try Socket.bindDatagram(on: address.withPort(0))
            let rtcp: Descriptor
            do { rtcp = try Socket.bindDatagram(on: address.withPort(0)) } catch { rtp.close(); throw error }
            let ports = (try Socket.localAddress(rtp).port, try Socket.localAddress(rtcp).port)
            // Both are read: RTCP receiver reports keep a UDP session alive; anything on the RTP port is drained.
            let rtpRegistration = try reactor.register(rtp, interest: .read) { [unowned self, unowned rtp] _ in
                self.readDatagrams(rtp, isRTCP: false)
            }
            let rtcpRegistration = try reactor.register(rtcp, interest: .read) { [unowned self, unowned rtcp] _ in
                self.readDatagrams(rtcp, isRTCP: true)
            }
            rtsp.udp = (rtp, rtcp, [rtpRegistration, rtcpRegistration], ports)
        } catch {
            logger.warning("rtsp: no UDP sockets for RTP (\(error)); clients are offered RTP over TCP only")
        }
    }

    // MARK: Accepting

    /// A new RTSP connection takes a viewer slot at once (an RTSP connection exists to play a stream), within
    /// max_clients and max_clients_per_ip like a native viewer; refused ones are closed.
    func admitRTSP(_ socket: Descriptor, peer address: SocketAddress?) {
        let peer = address.map { "\($0)" } ?? "unknown"
        let host = address?.hostText ?? "unknown"
        if let full = viewerRefusal(host: host) {
            socket.close()
            noteRefusal("rtsp connection", peer: peer, why: full)
            return
        }
        setViewerSocketOptions(socket)
        let now = Clock.monotonicNanos()
        let sessionID = String(UInt64.random(in: 1...UInt64.max), radix: 16, uppercase: true)
        var machine = RTSPConnectionMachine(settings: rtspSettings, sessionID: sessionID,
                                            initialSequence: UInt16.random(in: 0...UInt16.max), now: rtspTime(now))
        if let media = rtsp.h264Media { machine.mediaAvailable(path: "/stream", media, now: rtspTime(now)) }
        if let media = rtsp.jpegMedia { machine.mediaAvailable(path: "/mjpeg", media, now: rtspTime(now)) }
        let connection = RTSPConnection(id: nextID, socket: socket, peer: peer, host: host, address: address, machine: machine, now: now)
        nextID += 1
        do {
            connection.registration = try reactor.register(socket, interest: .read) { [unowned self, unowned connection] events in
                self.handleRTSP(events, for: connection)
            }
        } catch {
            logger.error("cannot watch rtsp viewer \(peer): \(error)")
            socket.close()
            return
        }
        rtsp.connections[connection.id] = connection
        closedTotals.accepted += 1
        viewerCount += 1
        demand.viewersChanged(to: viewerCount, now: now)
        perHost[host, default: HostCount()].viewers += 1
        if logger.logLevel <= .debug, eventLog.admit(.connect, now: now) {
            logger.debug("rtsp connection \(connection.id) from \(peer)")
        }
    }

    /// The machine settings from the server's: timeouts, access control, the UDP ports, the paths served.
    var rtspSettings: RTSPSettings {
        var machine = RTSPSettings()
        machine.requestTimeoutNanos = settings.requestTimeoutNanos
        machine.clientTimeoutNanos = settings.clientTimeoutNanos
        machine.udpServerPorts = rtsp.udp?.ports
        machine.accessControlled = !settings.access.isOpen
        machine.challenge = accessControl.challenge
        machine.paths = rtsp.feed.units == nil ? ["/mjpeg"] : ["/stream", "/mjpeg"]
        return machine
    }

    func rtspTime(_ monotonic: UInt64) -> RTSPTime { RTSPTime(monotonic: monotonic, wallNanos: Clock.realtimeNanos()) }

    // MARK: Socket events

    func handleRTSP(_ events: Events, for connection: RTSPConnection) {
        if events.contains(.error) || (events.contains(.hangup) && !events.contains(.readable)) {
            dropRTSP(connection, reason: "connection closed")
            return
        }
        if events.contains(.readable) {
            readRTSP(connection)
            guard rtsp.connections[connection.id] != nil else { return }
        }
        if events.contains(.writable) {
            let now = Clock.monotonicNanos()
            connection.machine.writable(now: rtspTime(now))
            runRTSP(connection, now: now)
        }
    }

    /// Reads requests (and interleaved RTCP), bounded per wake-up and by the room the machine has.
    func readRTSP(_ connection: RTSPConnection) {
        readBounded(connection.socket, room: { connection.machine.inputRoom }, failed: { error in
            dropRTSP(connection, reason: error.errno == ECONNRESET ? "connection reset" : "\(error)")
        }) { bytes, now in
            guard let bytes else {
                connection.machine.receivedEnd()
                runRTSP(connection, now: now)
                return false
            }
            connection.machine.received(bytes, now: rtspTime(now))
            runRTSP(connection, now: now)
            return rtsp.connections[connection.id] != nil
        }
    }

    /// UDP: RTCP receiver reports keep their session alive; other datagrams are read and dropped.
    func readDatagrams(_ socket: Descriptor, isRTCP: Bool) {
        for _ in 0..<64 {
            guard case .done(let (_, sender))? = try? Socket.receiveDatagram(socket, into: readScratch) else { return }
            guard isRTCP, let sender else { continue }
            let now = rtspTime(Clock.monotonicNanos())
            for connection in rtsp.connections.values where connection.address?.hostText == sender.hostText {
                if case .udp(_, let rtcpPort)? = connection.machine.session?.transport, rtcpPort == sender.port {
                    connection.machine.rtcpReceived(now: now)
                }
            }
        }
    }

    // MARK: Actions

    /// Carries out the machine's actions until it has none left (or the connection is gone).
    func runRTSP(_ connection: RTSPConnection, now: UInt64) {
        while let action = connection.machine.nextAction() {
            switch action {
            case .write(let outgoing):
                let result: IOResult<Int>
                do {
                    result = try Socket.send(connection.socket, chunks: outgoing.chunks, offset: outgoing.offset)
                } catch {
                    dropRTSP(connection, reason: error.errno == EPIPE || error.errno == ECONNRESET ? "connection reset" : "\(error)")
                    return
                }
                switch result {
                case .wouldBlock:
                    connection.machine.writeWouldBlock()
                case .done(let count):
                    connection.bytesSent += UInt64(count)
                    connection.machine.wrote(count, now: rtspTime(now))
                }
            case .authorize(let request):
                let decision = accessControl.check(authorization: request.headers["authorization"], token: request.parameter("token"), now: now)
                switch decision {
                case .allowed: connection.machine.accessDecided(.allowed, now: rtspTime(now))
                case .missing: connection.machine.accessDecided(.missing, now: rtspTime(now))
                case .denied(let who): connection.machine.accessDecided(.denied(who: who), now: rtspTime(now))
                case .throttled:
                    if let suppressed = accessFailureLog.shouldLog(now: now) {
                        let more = suppressed > 0 ? " (\(suppressed) more failures since the last message)" : ""
                        logger.warning("rtsp \(connection.peer): credentials refused unchecked (over \(HTTPAccessControl.verificationsPerSecond) new ones per second)\(more)")
                    }
                    connection.machine.accessDecided(.throttled, now: rtspTime(now))
                }
            case .wantMedia(let path):
                if path == "/stream" {
                    connection.wantsH264 = true
                    updateEncoding()
                } else {
                    // /mjpeg's description comes with the next frame: make sure the capture makes one.
                    demand.touch(now: now)
                    if connection.wantsH264 {
                        connection.wantsH264 = false
                        updateEncoding()
                    }
                }
            case .startStream(let path):
                connection.playing = path
                // A viewer of /mjpeg needs pictures even if it described /stream first.
                if connection.wantsH264 != (path == "/stream") {
                    connection.wantsH264 = path == "/stream"
                    updateEncoding()
                }
            case .stopStream(let path):
                connection.playing = nil
                if path == "/stream" {
                    connection.wantsH264 = false
                    updateEncoding()
                }
            case .requestKeyframe(let path):
                if path == "/stream" { rtsp.feed.requestKeyframe() }
            case .sendDatagrams(let datagrams):
                sendDatagrams(datagrams, for: connection)
            case .note(let note):
                logRTSP(note, connection, now: now)
            case .close(let reason):
                let timedOut = reason.hasPrefix("timeout") || reason.hasPrefix("session timeout") || reason.hasPrefix("idle")
                if timedOut { closedTotals.timedOut += 1 }
                dropRTSP(connection, reason: reason, level: timedOut ? .notice : .info, event: timedOut ? "client_drop" : "client_disconnect")
                return
            }
        }
        // Watch for writability only while output waits for it.
        let wantsWrites = connection.machine.waitingForWritable
        if wantsWrites != connection.watchingWrites, let registration = connection.registration {
            connection.watchingWrites = wantsWrites
            do {
                try reactor.reregister(registration, interest: wantsWrites ? [.read, .write] : .read)
            } catch {
                dropRTSP(connection, reason: "\(error)")
            }
        }
    }

    /// UDP datagrams to the client's RTP or RTCP port, from the matching server socket. A full socket buffer drops
    /// the datagram: UDP viewers never push back on anyone.
    func sendDatagrams(_ datagrams: [RTSPDatagram], for connection: RTSPConnection) {
        guard let udp = rtsp.udp, let address = connection.address,
              case .udp(_, let rtcpPort)? = connection.machine.session?.transport else { return }
        for datagram in datagrams {
            let socket = datagram.port == rtcpPort ? udp.rtcp : udp.rtp
            switch try? Socket.sendDatagram(socket, chunks: datagram.chunks, to: address.withPort(datagram.port)) {
            case .done(let count)?: connection.bytesSent += UInt64(count)
            default: connection.datagramsDropped += 1
            }
        }
    }

    /// The encoder runs while any connection wants H.264.
    func updateEncoding() {
        let h264Viewers = rtsp.connections.values.reduce(0) { $0 + ($1.wantsH264 ? 1 : 0) }
        // Viewers of H.264 alone need no pictures: a camera's own H.264 is then not decoded for them.
        demand.h264OnlyViewersChanged(to: h264Viewers, now: Clock.monotonicNanos())
        let wanted = h264Viewers > 0
        guard wanted != rtsp.encoding else { return }
        rtsp.encoding = wanted
        // Drawn from the ring's newest: a restarted encoder's units are offered from its first (an IDR).
        if wanted, let units = rtsp.feed.units { rtsp.unitsSeen = units.publishedCount }
        rtsp.feed.setEncoding(wanted)
    }

    func logRTSP(_ note: RTSPNote, _ connection: RTSPConnection, now: UInt64) {
        switch note {
        case .answered(let method, let path, let status):
            counters.rtspRequests[status, default: 0] += 1
            if logger.logLevel <= .debug { logger.debug("rtsp \(connection.peer): \(method) \(path) \(status)") }
        case .rejected(let status, let reason):
            counters.rtspRequests[status, default: 0] += 1
            guard eventLog.admit(.request, now: now) else { return }
            logger.info("rtsp \(connection.peer): \(status) \(LogText.escaped(reason))",
                        metadata: ["camd_event": "request_rejected", "camd_client": "\(connection.peer)"])
        case .authenticationFailed(let who, let path):
            if let suppressed = accessFailureLog.shouldLog(now: now) {
                let more = suppressed > 0 ? " (\(suppressed) more failures since the last message)" : ""
                logger.warning("rtsp \(connection.peer): authentication failed (\(LogText.escaped(who))) for \(path)\(more)",
                               metadata: ["camd_event": "auth_failed", "camd_client": "\(connection.peer)"])
            }
        case .sessionStarted(_, let path, let transport):
            connection.transport = transport
            connection.sessionBase = (connection.unitsSent, connection.unitsSkipped)
            guard eventLog.admit(.connect, now: now) else { return }
            logger.info("viewer \(connection.id) connected: \(connection.peer) (rtsp \(path) over \(transport)), \(viewerCount) viewers",
                        metadata: ["camd_event": "client_connect", "camd_client": "\(connection.peer)",
                                   "camd_client_id": "\(connection.id)", "camd_protocol": "rtsp"])
        case .sessionEnded(_, let reason):
            if logger.logLevel <= .debug { logger.debug("rtsp viewer \(connection.id): session ended (\(LogText.escaped(reason)))") }
        }
    }

    /// Closes an RTSP connection, frees its slot and logs it like any viewer's end.
    func dropRTSP(_ connection: RTSPConnection, reason: String, level: Logger.Level = .info, event: String = "client_disconnect") {
        guard rtsp.connections.removeValue(forKey: connection.id) != nil else { return }
        if let registration = connection.registration { reactor.deregister(registration) }
        connection.socket.close()
        rtsp.closedUnitsSent += connection.unitsSent
        rtsp.closedUnitsSkipped += connection.unitsSkipped
        rtsp.closedBytesSent += connection.bytesSent
        rtsp.datagramsDropped += connection.datagramsDropped
        closedTotals.framesSent += connection.unitsSent
        closedTotals.framesDropped += connection.unitsSkipped
        closedTotals.bytesSent += connection.bytesSent
        viewerCount -= 1
        let now = Clock.monotonicNanos()
        demand.viewersChanged(to: viewerCount, now: now)
        var count = perHost[connection.host, default: HostCount()]
        count.viewers -= 1
        perHost[connection.host] = count.viewers <= 0 && count.requests <= 0 ? nil : count
        if connection.wantsH264 { updateEncoding() }
        if level <= .info, logger.logLevel <= level, !eventLog.admit(.disconnect, now: now) { return }
        let duration = Format.fixed(Double(now - connection.connectedAt) / 1e9, 1)
        let what = connection.lastPlayed.map { "rtsp \($0) over \(connection.transport)" } ?? "rtsp"
        logger.log(level: level, "viewer \(connection.id) disconnected: \(connection.peer) (\(what)), \(LogText.escaped(reason)); \(duration) s, \(connection.unitsSent) frames sent, \(connection.unitsSkipped) dropped",
                   metadata: ["camd_event": "\(event)", "camd_client": "\(connection.peer)", "camd_client_id": "\(connection.id)",
                              "camd_protocol": "rtsp", "camd_duration_s": "\(duration)",
                              "camd_frames_sent": "\(connection.unitsSent)", "camd_frames_dropped": "\(connection.unitsSkipped)",
                              "camd_reason": "\(LogText.escaped(reason))"])
    }

    // MARK: Fan-out

    /// New units from the encoder and a new frame for /mjpeg: packetised once, offered to every playing viewer.
    /// Nothing at all without an RTSP connection (the encoder runs only for one; MJPEG-only users pay nothing here).
    func deliverRTSP(now: UInt64) {
        guard !rtsp.connections.isEmpty else { return }
        if let units = rtsp.feed.units {
            if let info = units.info, info != rtsp.h264Info {
                rtsp.h264Info = info
                let media = RTSPMedia(codec: .h264(info.parameterSets), width: info.width,
                                      height: info.height, fps: info.fps, ssrc: rtsp.h264SSRC, clock: rtsp.clock)
                rtsp.h264Media = media
                announce(media, path: "/stream", now: now)
            }
            let batch = units.units(after: rtsp.unitsSeen)
            if let last = batch.entries.last { rtsp.unitsSeen = last.number }
            let viewers = rtsp.connections.values.filter { $0.playing == "/stream" }
            if batch.missed { for viewer in viewers { viewer.machine.unitsMissed() } }
            if !viewers.isEmpty {
                for entry in batch.entries {
                    let unit = entry.unit
                    let packets = rtsp.h264Packetizer.packetize(unit.nalUnits.map { unit.bytes[$0] },
                                                                timestamp: rtsp.clock.timestamp(captureNanos: unit.timestampNanos),
                                                                captureNanos: unit.timestampNanos)
                    offer(packets, to: viewers, now: now)
                }
            }
        }
        deliverJPEG(now: now)
    }

    /// /mjpeg: the newest live frame as RFC 2435, when it is new; its description when its size is new.
    func deliverJPEG(now: UInt64) {
        guard !rtsp.connections.isEmpty, let frame = ring.latest, frame !== rtsp.lastJPEG, !demand.isStale(sequence: frame.sequence) else { return }
        rtsp.lastJPEG = frame
        let header: JPEGPacketizer.Header
        do {
            header = try JPEGPacketizer.readHeader(frame.payload)
        } catch {
            if let suppressed = rtsp.jpegRefusalLog.shouldLog(now: now) {
                let more = suppressed > 0 ? " (\(suppressed) more since)" : ""
                logger.warning("rtsp /mjpeg: frame \(frame.sequence) cannot be sent as RFC 2435 JPEG: \(error)\(more)")
            }
            return
        }
        if rtsp.jpegMedia?.width != header.width || rtsp.jpegMedia?.height != header.height {
            let media = RTSPMedia(codec: .jpeg, width: header.width, height: header.height, fps: rtsp.feed.fps,
                                  ssrc: rtsp.jpegSSRC, clock: rtsp.clock)
            rtsp.jpegMedia = media
            announce(media, path: "/mjpeg", now: now)
        }
        let viewers = rtsp.connections.values.filter { $0.playing == "/mjpeg" }
        guard !viewers.isEmpty,
              let packets = try? rtsp.jpegPacketizer.packetize(frame.payload, timestamp: rtsp.clock.timestamp(captureNanos: frame.timestampNanos),
                                                               captureNanos: frame.timestampNanos) else { return }
        offer(packets, to: viewers, now: now)
    }

    /// A path's description is new or changed: every connection learns it (a DESCRIBE or SETUP waiting for it goes on).
    func announce(_ media: RTSPMedia, path: String, now: UInt64) {
        let time = rtspTime(now)
        for connection in rtsp.connections.values {
            connection.machine.mediaAvailable(path: path, media, now: time)
            runRTSP(connection, now: now)
        }
    }

    /// One packetised unit to every viewer playing its path (still connected: sending to one may have closed another).
    func offer(_ packets: RTPAccessUnit, to viewers: [RTSPConnection], now: UInt64) {
        let time = rtspTime(now)
        for viewer in viewers where rtsp.connections[viewer.id] != nil {
            viewer.machine.accessUnit(packets, now: time)
            countSession(viewer)
            runRTSP(viewer, now: now)
        }
    }

    /// The playing session's counts, as the connection's.
    func countSession(_ connection: RTSPConnection) {
        guard let session = connection.machine.session else { return }
        connection.unitsSent = connection.sessionBase.sent + UInt64(session.unitsSent)
        connection.unitsSkipped = connection.sessionBase.skipped + UInt64(session.unitsSkipped)
    }

    // MARK: Timeouts, state, shutdown

    func tickRTSP(now: UInt64) {
        let time = rtspTime(now)
        for connection in rtsp.connections.values {
            connection.machine.tick(now: time)
            runRTSP(connection, now: now)
        }
    }

    var rtspClients: [ClientInfo] {
        let now = Clock.monotonicNanos()
        return rtsp.connections.values.map {
            ClientInfo(id: $0.id, peer: $0.peer, via: nil, proto: .rtsp, connectedNanos: now - $0.connectedAt,
                       framesSent: $0.unitsSent, framesDropped: $0.unitsSkipped, bytesSent: $0.bytesSent, isViewer: $0.playing != nil)
        }
    }

    /// RTSP's part of the totals: units sent and skipped, bytes, by live and closed connections.
    var rtspTotals: (sent: UInt64, skipped: UInt64, bytes: UInt64, datagramsDropped: UInt64) {
        var totals = (rtsp.closedUnitsSent, rtsp.closedUnitsSkipped, rtsp.closedBytesSent, rtsp.datagramsDropped)
        for connection in rtsp.connections.values {
            totals.0 += connection.unitsSent
            totals.1 += connection.unitsSkipped
            totals.2 += connection.bytesSent
            totals.3 += connection.datagramsDropped
        }
        return totals
    }

    func closeRTSP() {
        for connection in Array(rtsp.connections.values) { dropRTSP(connection, reason: "server shutting down", level: .debug) }
        if let udp = rtsp.udp {
            for registration in udp.registrations { reactor.deregister(registration) }
            udp.rtp.close()
            udp.rtcp.close()
            rtsp.udp = nil
        }
    }
}

extension SocketAddress {
    /// The same host with another port.
    func withPort(_ port: UInt16) -> SocketAddress {
        switch self {
        case .v4(let host, _): return .v4(host: host, port: port)
        case .v6(let host, _): return .v6(host: host, port: port)
        }
    }
}
