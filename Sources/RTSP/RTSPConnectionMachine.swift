// RTSPConnectionMachine: one RTSP connection's whole life, without I/O — requests, responses, its session, the RTP
// it is sent, timeouts. The driver (to come: beside StreamServer on the reactor) feeds it inputs — bytes read, end
// of input, bytes written, a clock tick, media becoming available, an access unit published, a credential
// decision — and carries out the actions it asks for from `nextAction()` until there are none.
//
//   request handling   one request at a time from the buffered bytes (pipelining allowed, bounded):
//                      parsed → (authorize, when access control is on and the method is not OPTIONS)
//                      → (wait for the media, when its first description is not there yet) → answered.
//   session            at most one per connection: none → ready (SETUP) → playing (PLAY) ⇄ ready (PAUSE)
//                      → none (TEARDOWN). 60 s (`sessionTimeout`) without a request or RTCP ends it and the
//                      connection; a connection without a session ends after as long without a request.
//   stream             playing over TCP: an access unit is taken when nothing is left to write (latest wins)
//                      and the viewer does not wait for a keyframe; a unit that finds the viewer busy is skipped
//                      and the viewer then waits for the next keyframe (an IDR: H.264 cannot skip a single
//                      picture). Over UDP every unit is sent as datagrams; UDP never pushes back.
//                      Output not taken within client_timeout closes the connection.
//
// Responses carry CSeq, Date and Server; errors the status RFC 2326 names: 400 malformed, 401 with the challenge,
// 404 unknown path, 405/501 methods, 454 Session Not Found, 455 Method Not Valid in This State, 461 Unsupported
// Transport, 503 media not available in time, 505 RTSP version.
import CamdSystem

public struct RTSPConnectionMachine {
    public enum SessionState: Equatable, Sendable { case ready, playing }

    public struct Session {
        public var id: String
        public var path: String
        public var transport: RTSPTransport
        public var state: SessionState
        /// The next RTP sequence number this viewer is sent.
        public var sequence: UInt16
        public var packetsSent: UInt32 = 0
        public var octetsSent: UInt32 = 0
        public var unitsSent = 0
        public var unitsSkipped = 0
        public var awaitingKeyframe = true
        /// The last unit sent (for sender reports): capture time and RTP timestamp.
        var lastSent: (captureNanos: UInt64, timestamp: UInt32)?
        var lastReportAt: UInt64?
    }

    public static let requestBufferLimit = RTSPRequestParser.maxHeadBytes + RTSPRequestParser.maxBodyBytes + 65_540
    /// Requests are answered only while less than this is waiting to be written: a peer that pipelines requests
    /// and reads nothing fills its own request buffer and then the socket (TCP pushes back), not camd's memory.
    public static let outputLimitForRequests = 65_536
    public static let publicMethods = "OPTIONS, DESCRIBE, SETUP, TEARDOWN, PLAY, PAUSE, GET_PARAMETER, SET_PARAMETER"

    public let settings: RTSPSettings
    /// The session id this connection's SETUP creates (random, from the driver).
    let sessionID: String
    /// Sequence number of the first RTP packet of the session (random, from the driver).
    let initialSequence: UInt16
    public private(set) var session: Session?
    public private(set) var media: [String: RTSPMedia] = [:]
    public private(set) var requestBuffer: [UInt8] = []
    public private(set) var isClosed = false

    private var parser = RTSPRequestParser()
    /// The request being handled (waiting for authorization or media), and since when.
    private var pending: Pending?

    private struct Pending {
        var request: RTSPRequest
        var since: UInt64
        var authorized: Bool
        var askedForMedia = false
    }
    /// What is left to write: `outbox[outboxHead...]`, the first from `outboxOffset` (a head index, not
    /// removeFirst: an access unit is hundreds of chunks).
    private var outbox: [ArraySlice<UInt8>] = []
    private var outboxHead = 0
    private var outboxOffset = 0
    /// Bytes in the outbox not yet written.
    public private(set) var outputBytes = 0
    /// When the output last made progress (or became non-empty).
    private var outputSince: UInt64 = 0
    private var writeBlocked = false
    private var closeAfterOutput: String?
    private var closing: String?
    private var actions: [RTSPAction] = []
    /// The last request or RTCP; a request's first byte (for the request timeout).
    private var lastActivity: UInt64
    private var requestStartedAt: UInt64?
    private var lastWall: UInt64

    public init(settings: RTSPSettings, sessionID: String, initialSequence: UInt16, now: RTSPTime) {
        self.settings = settings
        self.sessionID = sessionID
        self.initialSequence = initialSequence
        lastActivity = now.monotonic
        lastWall = now.wallNanos
    }

    public var isPlaying: Bool { session?.state == .playing }
    /// Bytes the driver may read now: requests wait in the socket while the buffer is full.
    public var inputRoom: Int { isClosed ? 0 : max(0, Self.requestBufferLimit - requestBuffer.count) }
    public var hasOutput: Bool { outboxHead < outbox.count }
    /// The last write found the socket full: watch it for EPOLLOUT and call `writable`.
    public var waitingForWritable: Bool { writeBlocked && hasOutput }

    // MARK: Inputs

    public mutating func received(_ bytes: some Collection<UInt8>, now: RTSPTime) {
        guard !isClosed, closing == nil else { return }
        lastWall = now.wallNanos
        guard bytes.count <= inputRoom else {
            close("more input than the request buffer holds")
            return
        }
        if requestBuffer.isEmpty, !bytes.isEmpty { requestStartedAt = now.monotonic }
        requestBuffer.append(contentsOf: bytes)
        process(now: now)
    }

    /// The peer shut down its sending side: an RTSP client that does so is gone.
    public mutating func receivedEnd() {
        close("connection closed")
    }

    public mutating func wrote(_ count: Int, now: RTSPTime) {
        outputBytes -= min(count, outputBytes)
        var left = count
        if count > 0 { outputSince = now.monotonic }
        while left > 0, outboxHead < outbox.count {
            let remaining = outbox[outboxHead].count - outboxOffset
            if left >= remaining {
                left -= remaining
                outboxHead += 1
                outboxOffset = 0
            } else {
                outboxOffset += left
                left = 0
            }
        }
        if outboxHead == outbox.count {
            outbox.removeAll(keepingCapacity: true)
            outboxHead = 0
        }
        if outbox.isEmpty, let reason = closeAfterOutput { close(reason) }
        // Requests held back by a full outbox go on.
        if pending == nil, !requestBuffer.isEmpty { process(now: now) }
    }

    public mutating func writeWouldBlock() { writeBlocked = true }

    public mutating func writable(now: RTSPTime) { writeBlocked = false }

    /// A path's media description is known (or changed): a waiting DESCRIBE or SETUP goes on.
    public mutating func mediaAvailable(path: String, _ description: RTSPMedia, now: RTSPTime) {
        media[path] = description
        if let waiting = pending, waiting.authorized { handle(waiting.request, now: now) }
        process(now: now)
    }

    /// The driver's answer to `.authorize`.
    public mutating func accessDecided(_ decision: RTSPAccessDecision, now: RTSPTime) {
        guard let waiting = pending, !waiting.authorized else { return }
        switch decision {
        case .allowed:
            pending?.authorized = true
            handle(waiting.request, now: now)
        case .denied(let who):
            actions.append(.note(.authenticationFailed(who: who, path: LogText.escaped(waiting.request.path))))
            answer(waiting.request, 401, extra: settings.challenge, now: now)
        case .missing, .throttled:
            answer(waiting.request, 401, extra: settings.challenge, now: now)
        }
        process(now: now)
    }

    /// RTCP arrived from the peer (over UDP; interleaved RTCP is read from the bytes).
    public mutating func rtcpReceived(now: RTSPTime) {
        lastActivity = now.monotonic
    }

    /// An access unit of the playing session's path. Taken when nothing is left to write (TCP) and the viewer
    /// does not wait for a keyframe; otherwise skipped.
    public mutating func accessUnit(_ unit: RTPAccessUnit, now: RTSPTime) {
        guard !isClosed, closing == nil, var current = session, current.state == .playing, let description = media[current.path] else { return }
        if case .interleaved = current.transport, hasOutput {
            current.unitsSkipped += 1
            if !current.awaitingKeyframe { actions.append(.requestKeyframe(path: current.path)) }
            current.awaitingKeyframe = true
            session = current
            return
        }
        if current.awaitingKeyframe, !unit.isKeyframe {
            current.unitsSkipped += 1
            session = current
            return
        }
        current.awaitingKeyframe = false
        switch current.transport {
        case .interleaved(let rtp, let rtcp):
            var headers: [UInt8] = []
            headers.reserveCapacity(16 * unit.packets.count)
            for packet in unit.packets {
                RTPHeader.writeInterleaved(into: &headers, channel: rtp, length: 12 + packet.payload.count)
                RTPHeader.write(into: &headers, marker: packet.marker, payloadType: unit.payloadType, sequence: current.sequence,
                                timestamp: unit.timestamp, ssrc: description.ssrc)
                current.sequence &+= 1
            }
            var chunks: [ArraySlice<UInt8>] = []
            for (i, packet) in unit.packets.enumerated() {
                chunks.append(headers[(16 * i)..<(16 * i + 16)])
                chunks.append(packet.payload[...])
            }
            count(unit, in: &current, now: now)
            enqueue(chunks, now: now)
            if let report = senderReport(&current, now: now, force: current.unitsSent == 1) {
                var framed: [UInt8] = []
                RTPHeader.writeInterleaved(into: &framed, channel: rtcp, length: report.count)
                enqueue([framed[...], report[...]], now: now)
            }
        case .udp(let rtpPort, let rtcpPort):
            var datagrams: [RTSPDatagram] = []
            for packet in unit.packets {
                var header: [UInt8] = []
                RTPHeader.write(into: &header, marker: packet.marker, payloadType: unit.payloadType, sequence: current.sequence,
                                timestamp: unit.timestamp, ssrc: description.ssrc)
                current.sequence &+= 1
                datagrams.append(RTSPDatagram(chunks: [header[...], packet.payload[...]], port: rtpPort))
            }
            count(unit, in: &current, now: now)
            if let report = senderReport(&current, now: now, force: current.unitsSent == 1) {
                datagrams.append(RTSPDatagram(chunks: [report[...]], port: rtcpPort))
            }
            actions.append(.sendDatagrams(datagrams))
        }
        session = current
    }

    /// Units of the playing path were lost before this viewer could be offered them (the driver fell behind the
    /// encoder): decoding cannot go on from the next unit, so the viewer waits for a keyframe.
    public mutating func unitsMissed() {
        guard var current = session, current.state == .playing, !current.awaitingKeyframe else { return }
        current.awaitingKeyframe = true
        session = current
        actions.append(.requestKeyframe(path: current.path))
    }

    /// Periodic check (about every 100 ms): timeouts.
    public mutating func tick(now: RTSPTime) {
        guard !isClosed, closing == nil else { return }
        let t = now.monotonic
        if hasOutput, t >= outputSince, t - outputSince >= settings.clientTimeoutNanos {
            close("timeout: accepted no data for \(settings.clientTimeoutNanos / 1_000_000_000) s")
            return
        }
        if let waiting = pending, waiting.authorized, t >= waiting.since, t - waiting.since >= settings.mediaTimeoutNanos {
            answer(waiting.request, 503, extra: "Retry-After: 5\r\n", now: now)
            process(now: now)
            return
        }
        if pending == nil, !requestBuffer.isEmpty, let started = requestStartedAt, t >= started, t - started >= settings.requestTimeoutNanos {
            close("no complete request within request_timeout")
            return
        }
        let idle = UInt64(settings.sessionTimeoutSeconds) * 1_000_000_000
        if t >= lastActivity, t - lastActivity >= idle {
            close(session == nil ? "idle: no request for \(settings.sessionTimeoutSeconds) s"
                                 : "session timeout: no request or RTCP for \(settings.sessionTimeoutSeconds) s")
        }
    }

    // MARK: Actions

    public mutating func nextAction() -> RTSPAction? {
        if isClosed { return nil }
        if !actions.isEmpty { return actions.removeFirst() }
        if let closing {
            isClosed = true
            return .close(reason: closing)
        }
        if !writeBlocked, hasOutput {
            return .write(RTSPOutgoing(chunks: Array(outbox[outboxHead..<min(outboxHead + 64, outbox.count)]), offset: outboxOffset))
        }
        return nil
    }

    // MARK: Requests

    private mutating func process(now: RTSPTime) {
        while pending == nil, closing == nil, closeAfterOutput == nil, !requestBuffer.isEmpty, outputBytes < Self.outputLimitForRequests {
            switch parser.resume(requestBuffer) {
            case .incomplete:
                return
            case .interleaved(let channel, let payload, let consumed):
                requestBuffer.removeFirst(consumed)
                parser = RTSPRequestParser()
                if case .interleaved(_, let rtcp) = session?.transport, channel == rtcp, RTCP.isClientReport(payload) {
                    lastActivity = now.monotonic
                }
            case .reject(let status, let reason, let cseq):
                actions.append(.note(.rejected(status: status, reason: reason)))
                requestBuffer = []
                enqueue(response(status, cseq: cseq, extra: "", now: now), now: now)
                closeAfterOutput = "request refused (\(status))"
            case .request(let request, let consumed):
                requestBuffer.removeFirst(consumed)
                parser = RTSPRequestParser()
                requestStartedAt = requestBuffer.isEmpty ? nil : now.monotonic
                lastActivity = now.monotonic
                let needsCheck = settings.accessControlled && request.method != "OPTIONS"
                pending = Pending(request: request, since: now.monotonic, authorized: !needsCheck)
                if needsCheck {
                    actions.append(.authorize(request))
                } else {
                    handle(request, now: now)
                }
            }
        }
    }

    /// The media path a request URL names, and whether it names the track: "/stream", "/stream/",
    /// "/stream/trackID=0" → "/stream".
    func resolve(_ path: String) -> (path: String, track: Bool)? {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed.removeLast() }
        if settings.paths.contains(String(trimmed)) { return (String(trimmed), false) }
        guard let slash = trimmed.lastIndex(of: "/"), trimmed[trimmed.index(after: slash)...] == RTSPMedia.trackControl else { return nil }
        var base = trimmed[..<slash]
        while base.count > 1, base.hasSuffix("/") { base.removeLast() }
        return settings.paths.contains(String(base)) ? (String(base), true) : nil
    }

    /// Answers an authorized request (or leaves it pending for its media).
    private mutating func handle(_ request: RTSPRequest, now: RTSPTime) {
        let sessionHeader = request.headers["session"].map { String($0.split(separator: ";").first ?? "").trimmingWhitespace() }
        if let given = sessionHeader, !given.isEmpty, given != session?.id, request.method != "OPTIONS" {
            answer(request, 454, now: now)
            return
        }
        switch request.method {
        case "OPTIONS":
            answer(request, 200, extra: "Public: \(Self.publicMethods)\r\n", now: now)
        case "DESCRIBE":
            guard let (path, _) = resolve(request.path) else { return answer(request, 404, now: now) }
            guard let description = media[path] else { return waitForMedia(path, request, now: now) }
            let base = request.url.hasSuffix("/") ? request.url : request.url + "/"
            let body = Array(description.sdp(sessionID: UInt64(initialSequence) << 16 | 1).utf8)
            answer(request, 200, extra: "Content-Base: \(base)\r\nContent-Type: application/sdp\r\n", body: body, now: now)
        case "SETUP":
            setup(request, now: now)
        case "PLAY":
            guard var current = session else { return answer(request, sessionHeader == nil ? 455 : 454, now: now) }
            guard let (path, _) = resolve(request.path), path == current.path else { return answer(request, 404, now: now) }
            guard let description = media[path] else { return waitForMedia(path, request, now: now) }
            let trackURL = trackURL(request.url)
            let rtptime = description.clock.timestamp(captureNanos: now.wallNanos)
            let info = "RTP-Info: url=\(trackURL);seq=\(current.sequence);rtptime=\(rtptime)\r\nRange: npt=0.000-\r\n"
            if current.state == .ready {
                current.state = .playing
                current.awaitingKeyframe = true
                session = current
                actions.append(.startStream(path: path))
                actions.append(.requestKeyframe(path: path))
            }
            answer(request, 200, extra: info, now: now)
        case "PAUSE":
            guard var current = session else { return answer(request, sessionHeader == nil ? 455 : 454, now: now) }
            if current.state == .playing {
                current.state = .ready
                session = current
                actions.append(.stopStream(path: current.path))
            }
            answer(request, 200, now: now)
        case "TEARDOWN":
            guard let current = session else { return answer(request, sessionHeader == nil ? 455 : 454, now: now) }
            if current.state == .playing { actions.append(.stopStream(path: current.path)) }
            actions.append(.note(.sessionEnded(id: current.id, reason: "TEARDOWN")))
            session = nil
            answer(request, 200, now: now)
        case "GET_PARAMETER", "SET_PARAMETER":
            // Keep-alives (ffmpeg, VLC, GStreamer send one empty); camd has no parameters to get or set.
            answer(request, request.body.isEmpty ? 200 : 451, now: now)
        case "ANNOUNCE", "RECORD", "REDIRECT":
            answer(request, 405, extra: "Allow: \(Self.publicMethods)\r\n", now: now)
        default:
            answer(request, 501, extra: "Public: \(Self.publicMethods)\r\n", now: now)
        }
    }

    private mutating func setup(_ request: RTSPRequest, now: RTSPTime) {
        guard let (path, _) = resolve(request.path) else { return answer(request, 404, now: now) }
        guard let header = request.headers["transport"] else { return answer(request, 400, now: now) }
        if let current = session, current.path != path || current.state == .playing {
            // One session per connection, one track per session: a second stream, or a new transport while playing.
            return answer(request, 455, now: now)
        }
        guard let description = media[path] else { return waitForMedia(path, request, now: now) }
        let transport: RTSPTransport
        switch RTSPTransport.choose(header, udpAvailable: settings.udpServerPorts != nil) {
        case .transport(let chosen): transport = chosen
        case .unsupported: return answer(request, 461, now: now)
        case .malformed: return answer(request, 400, now: now)
        }
        let isNew = session == nil
        session = Session(id: sessionID, path: path, transport: transport, state: .ready,
                          sequence: session?.sequence ?? initialSequence)
        if isNew {
            let shown: String
            switch transport {
            case .interleaved: shown = "TCP"
            case .udp: shown = "UDP"
            }
            actions.append(.note(.sessionStarted(id: sessionID, path: path, transport: shown)))
        }
        answer(request, 200, extra: "Transport: \(transport.header(ssrc: description.ssrc, serverPorts: settings.udpServerPorts))\r\n", now: now)
    }

    private mutating func waitForMedia(_ path: String, _ request: RTSPRequest, now: RTSPTime) {
        // Asked once per request; `mediaAvailable` or the media timeout answers it.
        guard pending?.askedForMedia == false else { return }
        pending?.askedForMedia = true
        actions.append(.wantMedia(path: path))
    }

    /// The track's control URL for RTP-Info: the request URL if it names the track, else it with "/trackID=0".
    private func trackURL(_ url: String) -> String {
        if url.hasSuffix(RTSPMedia.trackControl) || url.hasSuffix(RTSPMedia.trackControl + "/") { return url }
        return (url.hasSuffix("/") ? url : url + "/") + RTSPMedia.trackControl
    }

    /// Queues the response to the pending request and goes on with the next one.
    private mutating func answer(_ request: RTSPRequest, _ status: Int, extra: String = "", body: [UInt8] = [], now: RTSPTime) {
        var headers = extra
        if let current = session, status < 300 || status == 455 {
            headers += "Session: \(current.id);timeout=\(settings.sessionTimeoutSeconds)\r\n"
        }
        actions.append(.note(.answered(method: request.method, path: LogText.escaped(request.path, limit: 200), status: status)))
        enqueue(response(status, cseq: request.cseq, extra: headers, body: body, now: now), now: now)
        pending = nil
    }

    // MARK: Output

    private mutating func enqueue(_ chunks: [ArraySlice<UInt8>], now: RTSPTime) {
        if !hasOutput { outputSince = now.monotonic }
        outbox += chunks.filter { !$0.isEmpty }
        outputBytes += chunks.reduce(0) { $0 + $1.count }
    }

    private func count(_ unit: RTPAccessUnit, in current: inout Session, now: RTSPTime) {
        current.packetsSent &+= UInt32(truncatingIfNeeded: unit.packets.count)
        current.octetsSent &+= UInt32(truncatingIfNeeded: unit.payloadBytes)
        current.unitsSent += 1
        current.lastSent = (unit.captureNanos, unit.timestamp)
    }

    /// A sender report when one is due (the first unit, then every `senderReportIntervalNanos`).
    private func senderReport(_ current: inout Session, now: RTSPTime, force: Bool) -> [UInt8]? {
        guard let last = current.lastSent, let description = media[current.path] else { return nil }
        if !force, let at = current.lastReportAt, now.monotonic < at + settings.senderReportIntervalNanos { return nil }
        current.lastReportAt = now.monotonic
        return RTCP.senderReport(ssrc: description.ssrc, captureNanos: last.captureNanos, rtpTimestamp: last.timestamp,
                                 packets: current.packetsSent, octets: current.octetsSent, cname: settings.cname)
    }

    private mutating func close(_ reason: String) {
        guard closing == nil, !isClosed else { return }
        if let current = session {
            if current.state == .playing { actions.append(.stopStream(path: current.path)) }
            actions.append(.note(.sessionEnded(id: current.id, reason: reason)))
            session = nil
        }
        closing = reason
    }
}
