// LoadEngine: drives every client on one camd Reactor (epoll, one thread) through connect, warm-up and
// the measured window, then stops itself from a timer. Nothing here blocks; every run ends on time.
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem
import Reactor

struct LoadPlan {
    var target: SocketAddress
    var wire: WireProtocol
    var path: String
    var fastClients: Int
    var slowClients: Int
    /// Bytes per second each slow client reads.
    var slowRate: Int
    /// SO_RCVBUF asked for on slow clients' sockets (the kernel doubles it).
    var slowReceiveBuffer: Int
    /// A slow client reads only once it may read this many bytes (0: whatever the rate allows each tick).
    var slowChunk: Int
    /// New connections started per second; 0 starts them all at once.
    var connectRate: Double
    /// Settling time after the last connection was started, before measuring.
    var warmupNanos: UInt64
    var durationNanos: UInt64
    var serverPID: Int32?
    /// A closed client connects again this long after closing (0: it stays closed). Not churn clients.
    var reconnectNanos: UInt64 = 0
    /// Short-lived extra clients started per second during the whole run (0: none).
    var churnRate: Double = 0
    /// A churn client closes after a time drawn uniformly from 0 to twice this.
    var churnMeanLifeNanos: UInt64 = 1_000_000_000
    /// Every frame client 0 receives, one line each (see `FrameLog`).
    var frameLogPath: String?
    /// The source's frame rate (--source-fps): RTSP frame indexes come from RTP time in frame intervals.
    var sourceFPS: Double = 30
    /// RTSP: the longest wait after the ramp for every viewer to be playing before the warm-up starts.
    var playTimeoutNanos: UInt64 = 60_000_000_000
}

/// Churn clients' fate: each is connected, lives a random while and closes itself.
struct ChurnCounts {
    var started = 0
    /// No socket at all (EMFILE…).
    var unconnectable = 0
    var connected = 0
    /// Received at least one complete frame before its end.
    var withFrame = 0
    /// Closed by the server, reset, or failed before its own deadline.
    var endedEarly = 0
}

/// What one run measured, before any summarising.
struct LoadMeasurement {
    var clients: [LoadClient]
    var windowNanos: UInt64
    var fastLatencies: [Double]
    var slowLatencies: [Double]
    /// Slow clients: latency minus the frame's own transfer time (first to last byte) — the time the
    /// frame waited behind other bytes, i.e. the backlog.
    var slowWaits: [Double]
    var serverBefore: ProcessSample?
    var serverAfter: ProcessSample?
    var selfCPUNanos: UInt64
    var resyncs: Int
    /// Clients whose socket could not even be created, by kind, and the first such error.
    var unconnectableFast: Int
    var unconnectableSlow: Int
    var firstSocketError: String?
    var reconnects: Int
    /// Why clients (not churn) were closed before the end, when they reconnect and so end up open.
    var closeReasons: [String: Int]
    var churn: ChurnCounts
    var churnReasons: [String: Int]
    /// RTSP: viewers playing when the warm-up began, and seconds from the end of the ramp until then.
    var playingAtStart = 0
    var secondsToAllPlaying = 0.0
}

final class LoadEngine {
    private enum Phase { case ramp, warmup, measuring, done }

    /// The timer's period: token refills for slow clients and phase changes happen on this beat.
    private static let tickNanos: Int64 = 10_000_000
    /// Reads per readiness event before yielding to other clients.
    private static let readsPerEvent = 4

    private let plan: LoadPlan
    private let reactor: Reactor
    private var clients: [LoadClient] = []
    /// One receive buffer shared by all clients (everything is parsed in place, nothing kept).
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 64)
    private var phase = Phase.ramp
    private var startedAt: UInt64 = 0
    private var rampDoneAt: UInt64 = 0
    private var connectsStarted = 0
    private var windowStart: UInt64 = 0
    private var windowEnd: UInt64 = 0
    private var lastTick: UInt64 = 0
    private var fastLatencies: [Double] = []
    private var slowLatencies: [Double] = []
    private var slowWaits: [Double] = []
    private var serverBefore: ProcessSample?
    private var serverAfter: ProcessSample?
    private var selfCPUBefore: UInt64 = 0
    private var selfCPUAfter: UInt64 = 0
    private let request: [UInt8]
    private var unconnectableFast = 0
    private var unconnectableSlow = 0
    private var firstSocketError: String?
    /// Latency samples kept per kind: a soak of hours would otherwise hold hundreds of MB of them.
    private static let maxLatencySamples = 4_000_000
    private var reconnects = 0
    private var closeReasons: [String: Int] = [:]
    private var churnClients: [ObjectIdentifier: LoadClient] = [:]
    private var churnCredit = 0.0
    private var churn = ChurnCounts()
    private var churnReasons: [String: Int] = [:]
    private var frameLog: FrameLog?
    /// RTSP: when every open viewer was playing (or the play timeout passed), and how many were.
    private var allPlayingAt: UInt64?
    private var playingAtStart = 0

    init(plan: LoadPlan) throws(SystemError) {
        self.plan = plan
        reactor = try Reactor()
        request = Array("GET \(plan.path) HTTP/1.1\r\nHost: \(plan.target)\r\nUser-Agent: camload\r\nAccept: */*\r\n\r\n".utf8)
        if let path = plan.frameLogPath { frameLog = try FrameLog(path: path) }
    }

    deinit { scratch.deallocate() }

    func run() throws(SystemError) -> LoadMeasurement {
        startedAt = Clock.monotonicNanos()
        lastTick = startedAt
        try reactor.addTimer(intervalNanos: Self.tickNanos) { [unowned self] in self.tick() }
        // About one sample per frame at 30 fps; capped so a long run does not reserve gigabytes up front.
        let expected = Double(plan.fastClients) * 30 * (Double(plan.durationNanos) / 1e9 + 1)
        fastLatencies.reserveCapacity(Int(min(expected, 4_000_000)))
        if plan.connectRate <= 0 { startConnections(upTo: totalClients, now: startedAt) }
        try reactor.run()

        let resyncs = clients.reduce(0) { $0 + $1.multipart.resyncs }
        if getenv("CAMLOAD_DEBUG") != nil {
            for client in clients {
                printError("client \(client.index): frames \(client.framesTotal) window \(client.windowFrames) bytes \(client.windowBytes) resyncs \(client.multipart.resyncs) outcome \(String(describing: client.outcome))")
            }
        }
        for client in clients where client.isOpen { close(client) }
        for client in churnClients.values { close(client) }
        churnClients.removeAll()
        frameLog = nil
        return LoadMeasurement(clients: clients, windowNanos: windowEnd - windowStart, fastLatencies: fastLatencies,
                               slowLatencies: slowLatencies, slowWaits: slowWaits, serverBefore: serverBefore, serverAfter: serverAfter,
                               selfCPUNanos: selfCPUAfter &- selfCPUBefore, resyncs: resyncs,
                               unconnectableFast: unconnectableFast, unconnectableSlow: unconnectableSlow,
                               firstSocketError: firstSocketError, reconnects: reconnects, closeReasons: closeReasons,
                               churn: churn, churnReasons: churnReasons, playingAtStart: playingAtStart,
                               secondsToAllPlaying: allPlayingAt.map { Double($0 - rampDoneAt) / 1e9 } ?? 0)
    }

    // MARK: Connecting

    private var totalClients: Int { plan.fastClients + plan.slowClients }

    /// Starts connections until `count` have been started; slow clients are spread among the fast ones.
    private func startConnections(upTo count: Int, now: UInt64) {
        while connectsStarted < min(count, totalClients) {
            let index = connectsStarted
            connectsStarted += 1
            connect(index: index, isSlow: isSlowClient(index))
        }
        if connectsStarted == totalClients && phase == .ramp {
            rampDoneAt = now
            phase = .warmup
        }
    }

    /// Every k-th client is slow, so a connect ramp brings both kinds in evenly.
    private func isSlowClient(_ index: Int) -> Bool {
        guard plan.slowClients > 0 else { return false }
        let before = index * plan.slowClients / totalClients
        let after = (index + 1) * plan.slowClients / totalClients
        return after > before
    }

    private func connect(index: Int, isSlow: Bool) {
        let socket: Descriptor
        do {
            socket = try Socket.connectNonBlocking(to: plan.target)
        } catch {
            // No socket at all (EMFILE, EADDRNOTAVAIL…): counted as a failed client with 0 fps.
            recordUnconnectable(isSlow: isSlow, error: error)
            return
        }
        let client = LoadClient(index: index, isSlow: isSlow, socket: socket, wire: plan.wire)
        clients.append(client)
        register(client)
    }

    private func register(_ client: LoadClient) {
        if client.isSlow && plan.slowReceiveBuffer > 0 {
            // A small receive buffer keeps the kernel from reading ahead on the slow client's behalf.
            try? Socket.setReceiveBuffer(client.socket, bytes: plan.slowReceiveBuffer)
        }
        do {
            // Weak: a churn client is forgotten once closed, and nothing may call into it after that.
            client.registration = try reactor.register(client.socket, interest: .write) { [unowned self, weak client] events in
                guard let client else { return }
                self.handle(events, client)
            }
        } catch {
            client.registration = nil
            fail(client, .connectFailed("\(error)"))
        }
    }

    /// A closed client whose reconnect time has come connects again on a new socket.
    private func reconnectDueClients(now: UInt64) {
        for client in clients where !client.isOpen {
            guard let due = client.reconnectDue, due <= now else { continue }
            let socket: Descriptor
            do {
                socket = try Socket.connectNonBlocking(to: plan.target)
            } catch {
                closeReasons["reconnect: \(error)", default: 0] += 1
                client.reconnectDue = now + plan.reconnectNanos
                continue
            }
            reconnects += 1
            client.reconnected(on: socket, wire: plan.wire)
            register(client)
        }
    }

    /// Starts the churn clients due by now: each lives a random time, then closes itself.
    private func churnTick(now: UInt64, elapsedNanos: UInt64) {
        churnCredit += plan.churnRate * Double(elapsedNanos) / 1e9
        while churnCredit >= 1 {
            churnCredit -= 1
            churn.started += 1
            let socket: Descriptor
            do {
                socket = try Socket.connectNonBlocking(to: plan.target)
            } catch {
                churn.unconnectable += 1
                churnReasons["socket: \(error)", default: 0] += 1
                continue
            }
            let client = LoadClient(index: -1, isSlow: false, isChurn: true, socket: socket, wire: plan.wire)
            client.deadline = now + UInt64(Double.random(in: 0...2) * Double(plan.churnMeanLifeNanos))
            churnClients[ObjectIdentifier(client)] = client
            register(client)
        }
        for client in churnClients.values where client.deadline <= now {
            if client.framesTotal > 0 { churn.withFrame += 1 }
            close(client)
        }
    }

    private func recordUnconnectable(isSlow: Bool, error: SystemError) {
        if isSlow { unconnectableSlow += 1 } else { unconnectableFast += 1 }
        if firstSocketError == nil { firstSocketError = "\(error)" }
    }

    private func connected(_ client: LoadClient) {
        if let error = Socket.pendingError(client.socket) {
            fail(client, .connectFailed(error.message))
            return
        }
        client.phase = .streaming
        if client.isChurn { churn.connected += 1 }
        if client.index == 0, let frameLog {
            frameLog.connected(local: (try? Socket.localAddress(client.socket)).map { "\($0)" } ?? "?")
        }
        if plan.wire == .multipart {
            guard send(client, request, what: "the HTTP request") else { return }
        }
        if plan.wire == .rtsp {
            var viewer = RTSPViewer(url: "rtsp://\(plan.target)\(plan.path)", fps: plan.sourceFPS)
            let first = viewer.start()
            client.rtsp = viewer
            guard send(client, first, what: "the RTSP OPTIONS request") else { return }
        }
        if client.isSlow && Int(client.tokens) < max(plan.slowChunk, 1) {
            pause(client)
        } else {
            setInterest(client, .read)
        }
    }

    /// Writes a small request whole, or fails the client.
    private func send(_ client: LoadClient, _ bytes: [UInt8], what: String) -> Bool {
        let sent: IOResult<Int>
        do {
            sent = try bytes.withUnsafeBytes { raw throws(SystemError) in try Socket.write(client.socket, raw) }
        } catch {
            fail(client, .connectFailed("sending \(what): \(error)"))
            return false
        }
        guard case .done(let count) = sent, count == bytes.count else {
            fail(client, .connectFailed("\(what) did not fit in the socket buffer"))
            return false
        }
        return true
    }

    // MARK: Events

    private func handle(_ events: Events, _ client: LoadClient) {
        guard client.isOpen else { return }
        if case .connecting = client.phase {
            connected(client)
            return
        }
        if events.contains(.error) {
            fail(client, .disconnected(Socket.pendingError(client.socket)?.message ?? "socket error"))
            return
        }
        if events.contains(.readable) || events.contains(.hangup) {
            readAvailable(client)
        }
    }

    private func readAvailable(_ client: LoadClient) {
        for _ in 0..<Self.readsPerEvent {
            var limit = scratch.count
            if client.isSlow {
                let allowed = Int(client.tokens)
                if allowed < max(plan.slowChunk, 1) {
                    pause(client)
                    return
                }
                limit = min(limit, allowed)
            }
            let result: IOResult<Int>
            do {
                result = try Socket.read(client.socket, into: UnsafeMutableRawBufferPointer(rebasing: scratch[0..<limit]))
            } catch {
                fail(client, .disconnected("\(error)"))
                return
            }
            switch result {
            case .wouldBlock:
                return
            case .done(0):
                fail(client, .disconnected("closed by the server"))
                return
            case .done(let count):
                if client.isSlow { client.tokens -= Double(count) }
                consume(client, UnsafeRawBufferPointer(rebasing: scratch[0..<count]))
                guard client.isOpen else { return }
                if count < limit { return }
            }
        }
    }

    private func consume(_ client: LoadClient, _ bytes: UnsafeRawBufferPointer) {
        let realtime = Clock.realtimeNanos()
        let measuring = phase == .measuring
        let log = client.index == 0 ? frameLog : nil
        if measuring { client.windowBytes += bytes.count }
        if client.atFrameBoundary(plan.wire) { client.frameStartRealtime = realtime }
        do {
            switch plan.wire {
            case .native:
                try client.native.consume(bytes) { header, _ in
                    log?.frame(realtime: realtime, sequence: header.sequence, timestampNanos: header.timestampNanos,
                               placeholder: header.isPlaceholder, length: Int(header.length))
                    record(client.frameReceived(length: Int(header.length), sequence: header.sequence,
                                                timestampNanos: header.timestampNanos, realtime: realtime,
                                                measuring: measuring), slow: client.isSlow)
                }
            case .rtsp:
                consumeRTSP(client, bytes, realtime: realtime, measuring: measuring, log: log)
            case .multipart, .multipartRaw:
                try client.multipart.consume(bytes) { part in
                    log?.frame(realtime: realtime, sequence: part.sequence ?? 0, timestampNanos: part.timestampNanos ?? 0,
                               placeholder: part.isPlaceholder, length: part.length)
                    record(client.frameReceived(length: part.length, sequence: part.sequence,
                                                timestampNanos: part.timestampNanos, realtime: realtime,
                                                measuring: measuring), slow: client.isSlow)
                }
            }
        } catch {
            fail(client, .protocolError("\(error)"))
        }
    }

    private func consumeRTSP(_ client: LoadClient, _ bytes: UnsafeRawBufferPointer, realtime: UInt64, measuring: Bool, log: FrameLog?) {
        let next: [UInt8]?
        do {
            next = try client.rtsp?.consume(bytes, realtime: realtime) { unit in
                log?.frame(realtime: unit.firstPacketRealtime, sequence: unit.frameIndex, timestampNanos: unit.captureNanos ?? 0,
                           placeholder: false, length: unit.payloadBytes)
                // Latency: the capture time (RTCP SR mapping) to the receive time of the unit's first packet.
                record(client.frameReceived(length: unit.payloadBytes, sequence: unit.frameIndex,
                                            timestampNanos: unit.captureNanos, realtime: unit.firstPacketRealtime,
                                            measuring: measuring), slow: client.isSlow)
            }
        } catch {
            fail(client, .protocolError("\(error)"))
            return
        }
        if let next { _ = send(client, next, what: "an RTSP request") }
    }

    private func record(_ sample: (latency: Double, transfer: Double)?, slow: Bool) {
        guard let sample else { return }
        guard fastLatencies.count < Self.maxLatencySamples, slowLatencies.count < Self.maxLatencySamples else { return }
        if slow {
            slowLatencies.append(sample.latency)
            slowWaits.append(sample.latency - sample.transfer)
        } else {
            fastLatencies.append(sample.latency)
        }
    }

    // MARK: Slow clients' pacing

    private func pause(_ client: LoadClient) {
        guard !client.readPaused else { return }
        client.readPaused = true
        setInterest(client, [])
    }

    private func resume(_ client: LoadClient) {
        guard client.readPaused else { return }
        client.readPaused = false
        setInterest(client, .read)
    }

    private func setInterest(_ client: LoadClient, _ interest: Interest) {
        guard let registration = client.registration else { return }
        do {
            try reactor.reregister(registration, interest: interest)
        } catch {
            fail(client, .disconnected("\(error)"))
        }
    }

    // MARK: Timer: refills, phases, the end

    private func tick() {
        let now = Clock.monotonicNanos()
        if plan.slowClients > 0 {
            let rate = Double(plan.slowRate)
            let earned = rate * Double(now - lastTick) / 1e9
            // At most two ticks' worth (or one chunk) may accumulate, so the rate holds over any interval.
            let cap = max(rate * 2 * Double(Self.tickNanos) / 1e9, Double(plan.slowChunk), 1)
            for client in clients where client.isSlow && client.isOpen {
                client.tokens = min(client.tokens + earned, cap)
                if case .streaming = client.phase, client.readPaused, Int(client.tokens) >= max(plan.slowChunk, 1) {
                    resume(client)
                }
            }
        }
        let elapsed = now - lastTick
        lastTick = now
        if phase != .done {
            if plan.reconnectNanos > 0 { reconnectDueClients(now: now) }
            if plan.churnRate > 0 { churnTick(now: now, elapsedNanos: elapsed) }
        }
        switch phase {
        case .ramp:
            let due = min(Double(now - startedAt) / 1e9 * plan.connectRate + 1, Double(totalClients))
            startConnections(upTo: Int(due), now: now)
        case .warmup where rtspReady(now):
            for client in clients where client.isOpen {
                if case .connecting = client.phase, !client.isChurn { fail(client, .connectFailed("not connected by the end of the warm-up")) }
            }
            serverBefore = plan.serverPID.flatMap(ProcessSample.init(pid:))
            selfCPUBefore = ProcessSample.selfCPUNanos()
            windowStart = Clock.monotonicNanos()
            phase = .measuring
        case .measuring where now >= windowStart + plan.durationNanos:
            windowEnd = Clock.monotonicNanos()
            selfCPUAfter = ProcessSample.selfCPUNanos()
            serverAfter = plan.serverPID.flatMap(ProcessSample.init(pid:))
            phase = .done
            reactor.stop()
        default:
            break
        }
    }

    /// The warm-up is over: --warmup seconds after the ramp, and with RTSP after every open viewer is playing
    /// (PLAY answered) or --play-timeout seconds after the ramp, whichever is first.
    private func rtspReady(_ now: UInt64) -> Bool {
        guard plan.wire == .rtsp else { return now >= rampDoneAt + plan.warmupNanos }
        if allPlayingAt == nil {
            let playing = clients.filter { $0.rtsp?.stage == .streaming }.count
            let open = clients.filter(\.isOpen).count
            if playing == open || now >= rampDoneAt + plan.playTimeoutNanos {
                allPlayingAt = now
                playingAtStart = playing
            } else {
                return false
            }
        }
        return now >= allPlayingAt! + plan.warmupNanos
    }

    // MARK: Closing

    private func fail(_ client: LoadClient, _ outcome: LoadClient.Outcome) {
        guard client.isOpen else { return }
        client.outcome = outcome
        let reason: String
        switch outcome {
        case .connectFailed(let why): reason = "connect: \(why)"
        case .protocolError(let why): reason = "protocol: \(why)"
        case .disconnected(let why): reason = "disconnected: \(why)"
        }
        if client.index == 0, let frameLog { frameLog.closed(reason: reason) }
        if client.isChurn {
            churn.endedEarly += 1
            if client.framesTotal > 0 { churn.withFrame += 1 }
            churnReasons[reason, default: 0] += 1
        } else if plan.reconnectNanos > 0 && phase != .done {
            closeReasons[reason, default: 0] += 1
            client.reconnectDue = Clock.monotonicNanos() + plan.reconnectNanos
        }
        close(client)
    }

    private func close(_ client: LoadClient) {
        if let registration = client.registration {
            reactor.deregister(registration)
            client.registration = nil
        }
        client.phase = .closed
        client.socket.close()
        if client.isChurn { churnClients[ObjectIdentifier(client)] = nil }
    }
}

/// One line per event of client 0, for the soak's canary: `c MONO LOCAL-ADDRESS` when it connects,
/// `f MONO REALTIME SEQUENCE CAPTURE-TIMESTAMP PLACEHOLDER LENGTH` per complete frame, `x MONO REASON` when
/// it is closed. Times in ns (CLOCK_MONOTONIC, CLOCK_REALTIME); flushed per line so a killed run keeps its data.
final class FrameLog {
    private let file: UnsafeMutablePointer<FILE>

    init(path: String) throws(SystemError) {
        guard let file = fopen(path, "w") else { throw SystemError("fopen \(path)", errno: errno) }
        self.file = file
    }

    deinit { fclose(file) }

    func connected(local: String) { put("c \(Clock.monotonicNanos()) \(local)") }

    func frame(realtime: UInt64, sequence: UInt64, timestampNanos: UInt64, placeholder: Bool, length: Int) {
        put("f \(Clock.monotonicNanos()) \(realtime) \(sequence) \(timestampNanos) \(placeholder ? 1 : 0) \(length)")
    }

    func closed(reason: String) { put("x \(Clock.monotonicNanos()) \(String(reason.map { $0 == "\n" ? " " : $0 }))") }

    private func put(_ line: String) {
        fputs(line + "\n", file)
        fflush(file)
    }
}

func printError(_ message: String) {
    let line = Array((message + "\n").utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}
