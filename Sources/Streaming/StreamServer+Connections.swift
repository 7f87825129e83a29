// StreamServer+Connections: the I/O half of each connection — socket events become ConnectionMachine inputs,
// and the machine's actions become sends, reregistrations, socket options, log lines and closes.
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem
import Frames
import Logging
import Reactor
import Wire

extension StreamServer {
    func handle(_ events: Events, for connection: Connection) {
        if events.contains(.error) || (events.contains(.hangup) && !events.contains(.readable)) {
            drop(connection, reason: "connection closed")
            return
        }
        if events.contains(.readable) {
            readInput(connection)
            guard connections[connection.id] != nil else { return }
        }
        if events.contains(.writable) {
            let now = Clock.monotonicNanos()
            connection.machine.writable(now: now, unsent: Socket.unsentBytes(connection.socket))
            run(connection, now: now)
        }
    }

    /// Reads what the peer sent (bounded per wake-up, and by what its machine has room for: pipelined requests
    /// beyond that wait in the socket) and hands each chunk to its machine.
    func readInput(_ connection: Connection) {
        readBounded(connection.socket, room: { connection.machine.inputRoom }, failed: { error in
            drop(connection, reason: error.errno == ECONNRESET ? "connection reset" : "\(error)",
                 level: connection.machine.isStreaming ? .info : .debug)
        }) { bytes, now in
            guard let bytes else {
                connection.machine.receivedEnd()
                run(connection, now: now)
                return false
            }
            connection.machine.received(bytes, now: now)
            run(connection, now: now)
            return connections[connection.id] != nil
        }
    }

    /// Reads from a peer into the scratch buffer: at most 16 reads per wake-up, each at most `room()` bytes (what its
    /// machine can take; 0 stops). `received` gets each chunk, or nil at the end of input, with the time it was read,
    /// and says whether to read on; `failed` gets a read error (the caller closes the connection).
    func readBounded(_ socket: Descriptor, room: () -> Int, failed: (SystemError) -> Void,
                     received: (UnsafeRawBufferPointer?, UInt64) -> Bool) {
        for _ in 0..<16 {
            let room = min(readScratch.count, room())
            guard room > 0 else { return }
            let result: IOResult<Int>
            do {
                result = try Socket.read(socket, into: UnsafeMutableRawBufferPointer(rebasing: readScratch[0..<room]))
            } catch {
                failed(error)
                return
            }
            let now = Clock.monotonicNanos()
            switch result {
            case .wouldBlock:
                return
            case .done(0):
                _ = received(nil, now)
                return
            case .done(let count):
                guard received(UnsafeRawBufferPointer(rebasing: readScratch[0..<count]), now) else { return }
            }
        }
    }

    /// Carries out the machine's actions until it has none left (or the connection is closed).
    func run(_ connection: Connection, now: UInt64) {
        while let action = connection.machine.nextAction() {
            switch action {
            case .write(let outgoing):
                let result: IOResult<Int>
                do {
                    result = try Socket.send(connection.socket, outgoing.header, outgoing.payload, outgoing.trailer,
                                             offset: outgoing.offset)
                } catch {
                    if connection.machine.isStreaming {
                        drop(connection, reason: error.errno == EPIPE || error.errno == ECONNRESET ? "connection reset" : "\(error)")
                    } else {
                        drop(connection, reason: "connection reset", level: .debug)
                    }
                    return
                }
                switch result {
                case .wouldBlock: connection.machine.writeWouldBlock()
                case .done(let count): connection.machine.wrote(count, now: now)
                }
            case .route(let request):
                noteForwarding(request, connection)
                if let response = route(request, connection, now: now) {
                    connection.machine.respond(response, now: now)
                } else {
                    // A snapshot while the capture wakes from idle: answered with the first live frame (frameAvailable)
                    // or, after snapshotWaitNanos, with the last one (tick).
                    connection.machine.awaitFrame(now: now)
                    snapshotWaits[connection.id] = SnapshotWait(request: request, deadline: now + Self.snapshotWaitNanos)
                }
            case .offerFrame:
                if let wire = currentWire(connection.proto) {
                    connection.machine.frameAvailable(wire, now: now, unsent: Socket.unsentBytes(connection.socket))
                }
            case .setLowWatermark(let bytes):
                try? Socket.setNotSentLowWatermark(connection.socket, bytes: bytes)
            case .setInterest(let wanted):
                guard let registration = connection.registration else { continue }
                var interest: Interest = []
                if wanted.contains(.read) { interest.insert(.read) }
                if wanted.contains(.write) { interest.insert(.write) }
                do {
                    try reactor.reregister(registration, interest: interest)
                } catch {
                    drop(connection, reason: "\(error)")
                    return
                }
            case .note(let note):
                log(note, connection)
            case .close(let why):
                if why.timedOut {
                    closedTotals.timedOut += 1
                    // The machine's two client_timeout reasons (overdueClose): "timeout: accepted no data…", "too slow: …".
                    counters.timeouts[why.reason.hasPrefix("too slow") ? .slow : .idle, default: 0] += 1
                } else if why.reason == ConnectionClose.requestTimeoutReason {
                    counters.requestTimeouts += 1
                }
                drop(connection, reason: why.reason, level: Self.level(why.severity),
                     event: why.timedOut ? "client_drop" : "client_disconnect")
                return
            }
        }
    }

    /// Logs a note. Connects and refused requests share the connection-event budget (a flood becomes one
    /// summary line); every outside byte in a line is escaped.
    func log(_ note: ConnectionNote, _ connection: Connection) {
        let now = Clock.monotonicNanos()
        switch note {
        case .streamStarted(let what):
            guard eventLog.admit(.connect, now: now) else { return }
            logger.info("viewer \(connection.id) connected: \(connection.shown) (\(what)), \(viewerCount) viewers",
                        metadata: connection.clientMetadata.merging(["camd_event": "client_connect",
                                   "camd_client_id": "\(connection.id)", "camd_protocol": "\(connection.proto.rawValue)"]) { $1 })
        case .ignoringInput:
            logger.notice("viewer \(connection.id) (\(connection.peer)) sent data on the \(connection.proto.rawValue) stream; ignoring it")
        case .rejected(let status, let reason):
            counters.requests[HTTPRequestKey(route: .invalid, status: status), default: 0] += 1
            guard eventLog.admit(.request, now: now) else { return }
            logger.info("http \(connection.peer): \(status) \(LogText.escaped(reason))",
                        metadata: ["camd_event": "request_rejected", "camd_client": "\(connection.peer)"])
        case .notHTTP(let reason):
            guard eventLog.admit(.request, now: now) else { return }
            logger.info("http \(connection.peer): \(LogText.escaped(reason)); closed",
                        metadata: ["camd_event": "request_rejected", "camd_client": "\(connection.peer)"])
        }
    }

    static func level(_ severity: ConnectionClose.Severity) -> Logger.Level {
        switch severity {
        case .debug: return .debug
        case .info: return .info
        case .notice: return .notice
        case .warning: return .warning
        }
    }

    /// Closes a connection and logs it. `event` is client_disconnect when the viewer left, client_drop when
    /// camd disconnected it (timeout, kick).
    /// Lines at info and below share the connection-event budget; notices, warnings and errors are always logged.
    func drop(_ connection: Connection, reason: String, level: Logger.Level = .info, event: String = "client_disconnect") {
        guard connections.removeValue(forKey: connection.id) != nil else { return }
        snapshotWaits[connection.id] = nil
        if let registration = connection.registration { reactor.deregister(registration) }
        connection.socket.close()
        releaseSlot(connection)
        let frames = connection.machine.frames
        closedTotals.framesSent += frames.framesSent
        closedTotals.framesDropped += frames.framesDropped
        closedTotals.bytesSent += frames.bytesSent
        let now = Clock.monotonicNanos()
        if level <= .info, logger.logLevel <= level, !eventLog.admit(.disconnect, now: now) { return }
        let seconds = Double(now - connection.connectedAt) / 1e9
        let duration = Format.fixed(seconds, 1)
        logger.log(level: level, "viewer \(connection.id) disconnected: \(connection.shown) (\(connection.proto.rawValue)), \(reason); \(duration) s, \(frames.framesSent) frames sent, \(frames.framesDropped) dropped",
                   metadata: connection.clientMetadata.merging(["camd_event": "\(event)", "camd_client_id": "\(connection.id)",
                              "camd_protocol": "\(connection.proto.rawValue)", "camd_duration_s": "\(duration)",
                              "camd_frames_sent": "\(frames.framesSent)", "camd_frames_dropped": "\(frames.framesDropped)",
                              "camd_reason": "\(reason)"]) { $1 })
    }
}
