// ConnectionMachine: one connection's whole life, without I/O. This is where a viewer's state changes, and why.
//
// StreamServer (the I/O driver) feeds it one input at a time — bytes read, end of input, bytes written, the
// socket became writable, a frame was published, a clock tick — and then carries out the actions it asks for,
// one at a time, from `nextAction()` until there are none: write these bytes, answer this request, offer the
// newest frame, set TCP_NOTSENT_LOWAT, watch for read/write, log a note, close. Time is always a parameter
// (`now`, monotonic nanoseconds), so unit tests drive every path with a fake clock and no sockets.
//
//   phase              what happens                                        leaves when
//   awaitingRequest    HTTP: bytes collect until a whole request head      a head parses (→ routing), a bad
//                      (bounded by HTTPRequestParser.maxHeadBytes)         one (→ responding 4xx, then close),
//                                                                          not HTTP (TLS) or end of input with
//                                                                          no whole request, request_timeout
//                                                                          (→ closed)
//   routing            HTTP: a request waits for the driver's answer       respond(_:now:) (→ responding)
//   responding         HTTP: a one-off response is written; further        written (→ awaitingRequest,
//                      requests are buffered (pipelining) up to the head   streaming or closed), not written
//                      limit, then input is not read until they are        within client_timeout (→ closed)
//                      answered (`inputRoom`)
//   streaming          frames, latest wins (native from the start, HTTP    end of output: error, kick, or one
//                      after /stream's head); input is read and ignored    frame not taken within client_timeout
//   closed             terminal: the driver closes the socket
//
// A peer that half-closes (end of input) is still answered: every whole request it sent before is, then the
// connection closes; a viewer may half-close and keep watching.
//
// While streaming, `frames` is idle or sending one frame. An idle viewer whose socket still holds more than
// `limits.boundaryUnsent` unsent bytes of the previous frame does not start the newest behind them: it
// drains first (TCP_NOTSENT_LOWAT lowered to the boundary, waiting for EPOLLOUT) and then takes the newest.
// That is the slow-viewer policy: change it here (frameAvailable, writable, tick). Fairness: a viewer must
// take each whole frame (sent and drained to the boundary) within client_timeout of its start, or it is
// dropped — a trickle reader cannot hold a viewer slot by accepting a few bytes a second.
import CamdSystem
import Frames
import Wire

/// The timeouts and socket thresholds a connection works with (from StreamSettings).
public struct ConnectionLimits: Equatable, Sendable {
    /// A frame or response not wholly taken by the peer within this long of its start closes the connection.
    public var clientTimeoutNanos: UInt64
    /// An HTTP request head must be complete within this long after the connection or the previous response.
    public var requestTimeoutNanos: UInt64
    /// TCP_NOTSENT_LOWAT while not draining (0: the kernel's default).
    public var sendLowWatermark: Int

    public init(clientTimeoutNanos: UInt64 = 10_000_000_000, requestTimeoutNanos: UInt64 = 5_000_000_000,
                sendLowWatermark: Int = 65536) {
        self.clientTimeoutNanos = clientTimeoutNanos
        self.requestTimeoutNanos = requestTimeoutNanos
        self.sendLowWatermark = sendLowWatermark
    }

    /// Unsent bytes a new frame may queue behind. Above this an idle viewer first waits for the kernel to
    /// send them: a frame started behind a backlog reaches a slow viewer late (at 200 KB/s, 64 KiB is 0.3 s).
    public var boundaryUnsent: Int { sendLowWatermark > 0 ? min(sendLowWatermark, 16384) : 16384 }
}

/// Which readiness the connection's socket should be watched for.
public struct ConnectionInterest: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let read = ConnectionInterest(rawValue: 1)
    public static let write = ConnectionInterest(rawValue: 2)
}

/// Bytes to write: `header`, `payload`, `trailer` as one sequence, from `offset` on.
public struct Outgoing {
    public var header: [UInt8]
    public var payload: [UInt8]
    public var trailer: [UInt8]
    public var offset: Int
}

/// A one-off HTTP response and what follows it on the connection.
public struct HTTPResponse: Equatable {
    public enum Then: Equatable, Sendable { case nextRequest, stream, close }
    public var head: [UInt8]
    public var body: [UInt8]
    public var then: Then

    public init(head: [UInt8], body: [UInt8], then: Then) {
        self.head = head
        self.body = body
        self.then = then
    }
}

/// Why a connection ends, and how loudly that is logged.
public struct ConnectionClose: Equatable, Sendable {
    public enum Severity: Sendable { case debug, info, notice, warning }
    public var reason: String
    public var severity: Severity
    /// camd ended it (timeout): logged as client_drop rather than client_disconnect, and counted.
    public var timedOut: Bool

    /// The reason a connection gets when its request head is not complete within request_timeout.
    public static let requestTimeoutReason = "no complete request within request_timeout"

    public init(_ reason: String, _ severity: Severity, timedOut: Bool = false) {
        self.reason = reason
        self.severity = severity
        self.timedOut = timedOut
    }
}

/// Something worth a log line that does not end the connection.
public enum ConnectionNote: Equatable, Sendable {
    /// The connection became a viewer ("native", "http /stream").
    case streamStarted(String)
    /// The viewer sent bytes on the stream for the first time; they are read and ignored.
    case ignoringInput
    /// A request was refused before routing (400, 405, 431, 505); the response says why.
    case rejected(status: Int, reason: String)
    /// The peer is not speaking HTTP (a TLS handshake); the connection closes without an answer.
    case notHTTP(String)
}

public enum ConnectionAction {
    /// Send these bytes; report with `wrote(_:now:)` or `writeWouldBlock()`.
    case write(Outgoing)
    /// A complete request: answer it with `respond(_:now:)`.
    case route(HTTPRequest)
    /// Idle and streaming: offer the newest frame with `frameAvailable(_:now:unsent:)` (if there is one).
    case offerFrame
    case setLowWatermark(Int)
    case setInterest(ConnectionInterest)
    case note(ConnectionNote)
    /// Close the socket; the machine is finished.
    case close(ConnectionClose)
}

public struct ConnectionMachine {
    public enum Phase {
        case awaitingRequest(since: UInt64)
        case routing(HTTPRequest)
        /// The request waits for a live frame the capture is making (a snapshot while idle); the driver answers
        /// it with `respond` when the frame is there or its wait is over.
        case awaitingFrame(since: UInt64)
        case responding(ResponseInFlight)
        case streaming
        case closed
    }

    public struct ResponseInFlight {
        public var response: HTTPResponse
        public var sent = 0
        /// The last write that made progress (or the response's start).
        public var progressAt: UInt64
        public var startedAt: UInt64
        var total: Int { response.head.count + response.body.count }
    }

    /// An idle viewer waiting for its socket's unsent bytes to fall to the boundary.
    public struct Drain: Equatable {
        public var unsent: Int
        /// The last time `unsent` went down (or the drain's start).
        public var progressAt: UInt64
    }

    /// Request bytes buffered at most (pipelining); beyond, input is left in the socket until they are answered.
    public static let requestBufferLimit = HTTPRequestParser.maxHeadBytes
    /// Pipelined requests answered back to back before the connection yields the reactor to the others
    /// (it asks for EPOLLOUT, which comes back after every other ready socket has had its turn).
    public static let requestsPerTurn = 8

    public let proto: StreamProtocol
    public var limits: ConnectionLimits
    public private(set) var phase: Phase
    /// Sending frames (streaming only): latest wins, skips counted.
    public private(set) var frames: SubscriberStateMachine
    public private(set) var drain: Drain?
    /// The peer shut down its sending side; it may still be reading.
    public private(set) var inputClosed = false
    public private(set) var bytesIgnored = 0
    /// Request bytes read and not yet parsed (pipelining); bounded by `requestBufferLimit`.
    public private(set) var requestBuffer: [UInt8] = []
    /// Scans `requestBuffer` once, however the head trickles in.
    private var parser = HTTPRequestParser()
    /// Responses finished since this connection last gave the others a turn.
    private var answeredThisTurn = 0
    /// Waiting for its next turn (EPOLLOUT) before parsing the next pipelined request.
    public private(set) var yielding = false
    /// The last write hit a full socket: wait for `writable`.
    private var writeBlocked = false
    /// Became idle while streaming: ask the driver for the newest frame.
    private var wantsOffer = false
    private var notes: [ConnectionNote] = []
    private var closing: ConnectionClose?
    /// What the driver has applied (it registers the socket for reading and sets `limits.sendLowWatermark`).
    private var appliedInterest: ConnectionInterest = .read
    private var appliedLowWatermark: Int

    /// A new connection: native viewers stream at once (the server speaks first); HTTP waits for a request.
    public init(proto: StreamProtocol, limits: ConnectionLimits, now: UInt64) {
        self.proto = proto
        self.limits = limits
        appliedLowWatermark = limits.sendLowWatermark
        frames = SubscriberStateMachine(now: now)
        switch proto {
        case .native:
            phase = .streaming
            wantsOffer = true
            notes.append(.streamStarted("native"))
        case .http, .rtsp:
            // RTSP connections have their own machine (RTSPConnectionMachine); never built here.
            phase = .awaitingRequest(since: now)
        }
    }

    public var isStreaming: Bool {
        if case .streaming = phase { return true }
        return false
    }

    public var isClosed: Bool {
        if case .closed = phase { return true }
        return false
    }

    /// Streaming, idle and not draining: the fan-out offers it each new frame.
    public var isWaitingForFrame: Bool { isStreaming && frames.isIdle && drain == nil }

    /// How many bytes the driver may read now and hand to `received`: requests wait in the socket while
    /// the buffer is full of pipelined ones (TCP pushes back on the peer); a viewer's input is read and dropped.
    public var inputRoom: Int {
        switch phase {
        case .awaitingRequest, .routing, .awaitingFrame, .responding: return max(0, Self.requestBufferLimit - requestBuffer.count)
        case .streaming: return Int.max
        case .closed: return 0
        }
    }

    // MARK: Inputs

    /// Bytes the peer sent.
    public mutating func received(_ bytes: some Collection<UInt8>, now: UInt64) {
        switch phase {
        case .closed:
            return
        case .streaming:
            if bytesIgnored == 0 { notes.append(.ignoringInput) }
            bytesIgnored += bytes.count
        case .awaitingRequest, .routing, .awaitingFrame, .responding:
            // The driver reads at most `inputRoom`; more is its mistake, and the bound holds regardless.
            guard bytes.count <= inputRoom else {
                close(ConnectionClose("more pipelined input than the request buffer holds", .notice))
                return
            }
            requestBuffer.append(contentsOf: bytes)
            // New input starts a new turn, unless the connection is waiting for its next one.
            if !yielding { answeredThisTurn = 0 }
            if case .awaitingRequest = phase { parseRequest(now: now) }
        }
    }

    /// The peer shut down its sending side (read returned 0).
    public mutating func receivedEnd() {
        switch phase {
        case .closed:
            return
        case .streaming, .routing, .awaitingFrame, .responding:
            // A viewer may half-close and keep reading; a request already read is still answered
            // (`printf 'GET /snapshot HTTP/1.0\r\n\r\n' | nc -N`), and so is every whole one behind it.
            inputClosed = true
        case .awaitingRequest:
            inputClosed = true
            // Yielding: the buffered requests are still answered on its next turn.
            if !yielding {
                close(ConnectionClose(requestBuffer.isEmpty ? "connection closed" : "connection closed within a request", .debug))
            }
        }
    }

    /// The kernel took `count` bytes of the `.write` last asked for.
    public mutating func wrote(_ count: Int, now: UInt64) {
        switch phase {
        case .responding(var flight):
            flight.sent += count
            if count > 0 { flight.progressAt = now }
            phase = .responding(flight)
            if flight.sent >= flight.total { finish(flight.response.then, now: now) }
        case .streaming:
            if frames.wrote(count, now: now) { wantsOffer = true }
        case .awaitingRequest, .routing, .awaitingFrame, .closed:
            return
        }
    }

    /// The socket took nothing: wait for it to become writable.
    public mutating func writeWouldBlock() {
        writeBlocked = true
    }

    /// The socket is writable again. `unsent` is its unsent byte count (asked only while draining).
    public mutating func writable(now: UInt64, unsent: @autoclosure () -> Int) {
        writeBlocked = false
        if yielding {
            // Its turn again: the next pipelined requests.
            yielding = false
            answeredThisTurn = 0
            if case .awaitingRequest = phase { parseRequest(now: now) }
        }
        if drain != nil, unsent() <= limits.boundaryUnsent {
            // The previous frame has (nearly) left: take the newest now.
            drain = nil
            wantsOffer = true
        }
    }

    /// A frame is on offer (published, or asked for with `.offerFrame`). An idle streaming viewer starts it if it
    /// is newer than the last one started — unless its socket still holds more than the boundary of unsent
    /// bytes (asked through `unsent`, not before the first frame), in which case it drains first.
    public mutating func frameAvailable(_ wire: WireFrame, now: UInt64, unsent: @autoclosure () -> Int) {
        guard isWaitingForFrame else { return }
        wantsOffer = false
        guard wire.frame.sequence > frames.lastSequence else { return }
        let queued = frames.framesSent == 0 ? 0 : unsent()
        if queued > limits.boundaryUnsent {
            drain = Drain(unsent: queued, progressAt: now)
            return
        }
        _ = frames.frameAvailable(wire, now: now)
    }

    /// Periodic check (about every 100 ms). `unsent` is asked only while draining.
    public mutating func tick(now: UInt64, unsent: @autoclosure () -> Int) {
        switch phase {
        case .awaitingRequest(let since):
            if now >= since, now - since >= limits.requestTimeoutNanos {
                close(ConnectionClose(ConnectionClose.requestTimeoutReason, requestBuffer.isEmpty ? .debug : .info))
            }
        case .responding(let flight):
            if now >= flight.startedAt, now - flight.startedAt >= limits.clientTimeoutNanos {
                close(overdueClose(now: now, lastProgress: flight.progressAt, what: "a response"))
            }
        case .streaming:
            if var waiting = drain {
                // Draining counts as progress while the kernel's unsent bytes go down.
                let left = unsent()
                if left < waiting.unsent {
                    waiting.unsent = left
                    waiting.progressAt = now
                    drain = waiting
                }
            }
            // One whole frame — its bytes written and drained from the socket to the boundary — within
            // client_timeout of its start: the frame in flight, or while draining the last one started.
            let timeout = limits.clientTimeoutNanos
            let frameStart = frames.frameStartedAt
            let overdue = frames.isOverdue(now: now, timeout: timeout)
                || (drain != nil && now >= frameStart && now - frameStart >= timeout)
            guard overdue else { return }
            let lastProgress = drain?.progressAt ?? frames.lastProgress
            close(overdueClose(now: now, lastProgress: lastProgress, what: "a frame"))
        case .routing, .awaitingFrame, .closed:
            return
        }
    }

    /// Why a frame or response not taken within client_timeout ends the connection: a peer that has accepted
    /// nothing for most of that time is stuck; one that kept accepting a little is too slow (a trickle reader).
    private func overdueClose(now: UInt64, lastProgress: UInt64, what: String) -> ConnectionClose {
        let idle = now >= lastProgress ? now - lastProgress : 0
        let timeout = Format.fixed(Double(limits.clientTimeoutNanos) / 1e9, 1, bareWhole: true)
        let reason = idle * 2 >= limits.clientTimeoutNanos
            ? "timeout: accepted no data for \(Format.fixed(Double(idle) / 1e9, 1)) s"
            : "too slow: \(what) took longer than client_timeout (\(timeout) s)"
        return ConnectionClose(reason, .warning, timedOut: true)
    }

    /// The driver's answer to `.route`.
    public mutating func respond(_ response: HTTPResponse, now: UInt64) {
        switch phase {
        case .routing, .awaitingFrame, .awaitingRequest:
            if response.then == .stream { notes.append(.streamStarted("http /stream")) }
            phase = .responding(ResponseInFlight(response: response, progressAt: now, startedAt: now))
        case .responding, .streaming, .closed:
            return
        }
    }

    /// The driver will answer the request being routed later, when a live frame exists (`respond`).
    public mutating func awaitFrame(now: UInt64) {
        guard case .routing = phase else { return }
        phase = .awaitingFrame(since: now)
    }

    public var isAwaitingFrame: Bool {
        if case .awaitingFrame = phase { return true }
        return false
    }

    // MARK: Actions

    /// The next thing the driver must do; nil when there is nothing until the next input.
    public mutating func nextAction() -> ConnectionAction? {
        if case .closed = phase { return nil }
        if !notes.isEmpty { return .note(notes.removeFirst()) }
        if let closing {
            phase = .closed
            return .close(closing)
        }
        if case .routing(let request) = phase { return .route(request) }
        let lowWatermark = drain == nil ? limits.sendLowWatermark : limits.boundaryUnsent
        if lowWatermark != appliedLowWatermark {
            appliedLowWatermark = lowWatermark
            return .setLowWatermark(lowWatermark)
        }
        if !writeBlocked, let outgoing { return .write(outgoing) }
        if wantsOffer {
            wantsOffer = false
            if isWaitingForFrame { return .offerFrame }
        }
        let interest = desiredInterest
        if interest != appliedInterest {
            appliedInterest = interest
            return .setInterest(interest)
        }
        return nil
    }

    /// What is left to write now, if anything.
    var outgoing: Outgoing? {
        switch phase {
        case .responding(let flight):
            guard flight.sent < flight.total else { return nil }
            return Outgoing(header: flight.response.head, payload: flight.response.body, trailer: [], offset: flight.sent)
        case .streaming:
            guard case .sending(let wire, let sent) = frames.state else { return nil }
            return Outgoing(header: wire.header, payload: wire.sendsPayload ? wire.frame.payload : [], trailer: wire.trailer, offset: sent)
        case .awaitingRequest, .routing, .awaitingFrame, .closed:
            return nil
        }
    }

    var desiredInterest: ConnectionInterest {
        var interest: ConnectionInterest = .read
        switch phase {
        case .responding:
            if writeBlocked { interest.insert(.write) }
        case .awaitingRequest:
            if yielding { interest.insert(.write) }
        case .streaming:
            if writeBlocked || drain != nil { interest.insert(.write) }
        case .routing, .awaitingFrame, .closed:
            break
        }
        // A peer that half-closed has nothing more to say: watching for input would spin. A full request
        // buffer is not read into until its requests are answered.
        if inputClosed || inputRoom == 0 { interest.remove(.read) }
        return interest
    }

    // MARK: Transitions

    private mutating func close(_ why: ConnectionClose) {
        if closing == nil { closing = why }
    }

    private mutating func parseRequest(now: UInt64) {
        if yielding { return }
        switch parser.resume(requestBuffer) {
        case .incomplete:
            if inputClosed {
                close(ConnectionClose(requestBuffer.isEmpty ? "connection closed" : "connection closed within a request", .debug))
            }
        case .reject(let status, let reason):
            notes.append(.rejected(status: status, reason: reason))
            requestBuffer = []
            respond(HTTPResponse.text(status, "\(status) \(reason)\n", keepAlive: false,
                                      extra: status == 405 ? "Allow: GET, HEAD\r\n" : ""), now: now)
        case .notHTTP(let reason):
            notes.append(.notHTTP(reason))
            requestBuffer = []
            close(ConnectionClose(reason, .debug))
        case .request(let request, let consumed):
            requestBuffer.removeFirst(consumed)
            parser = HTTPRequestParser()
            phase = .routing(request)
        }
    }

    private mutating func finish(_ then: HTTPResponse.Then, now: UInt64) {
        switch then {
        case .close:
            close(ConnectionClose("response sent", .debug))
        case .nextRequest:
            phase = .awaitingRequest(since: now)
            answeredThisTurn += 1
            // A flood of pipelined requests must not keep the reactor from every other viewer.
            if answeredThisTurn >= Self.requestsPerTurn, !requestBuffer.isEmpty { yielding = true }
            parseRequest(now: now)
        case .stream:
            phase = .streaming
            requestBuffer = []
            frames = SubscriberStateMachine(now: now)
            wantsOffer = true
        }
    }
}
