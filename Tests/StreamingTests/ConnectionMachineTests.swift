// A connection's whole life without sockets: the machine is driven by a fake driver and a fake clock —
// frames (latest wins), the frame-boundary drain, keep-alive, pipelining, half-close and timeouts.
import Frames
import Streaming
import Wire
import Testing

private func wire(_ sequence: UInt64, payload: Int = 100) -> WireFrame {
    let frame = Frame(sequence: sequence, timestampNanos: 0, width: 2, height: 2,
                      payload: [UInt8](repeating: UInt8(truncatingIfNeeded: sequence), count: payload))
    return WireFrame(frame: frame, header: NativeFrameHeader(frame: frame).encoded())
}

private func bytes(_ wire: WireFrame) -> [UInt8] { wire.header + wire.frame.payload + wire.trailer }

private let second: UInt64 = 1_000_000_000

/// The I/O driver's part, played without sockets: a socket that takes `room` bytes and then would block,
/// a kernel that reports `unsent` bytes, a ring whose newest frame is `newest`, and a router.
private struct FakeDriver {
    var machine: ConnectionMachine
    var room = Int.max
    var unsent = 0
    var newest: WireFrame?
    var written: [UInt8] = []
    var interest: ConnectionInterest = .read
    var lowWatermark: Int
    var notes: [ConnectionNote] = []
    var closed: ConnectionClose?
    var routed: [String] = []
    /// Requests to these paths are not answered at once: the machine waits for a frame (a snapshot while idle).
    var deferredPaths: Set<String> = []
    var deferred: HTTPRequest?
    var answer: (HTTPRequest) -> HTTPResponse = { request in
        let body = Array("page \(request.path)".utf8)
        return HTTPResponse(head: Array("HEAD \(request.path)|".utf8), body: body, then: request.keepAlive ? .nextRequest : .close)
    }

    init(_ proto: StreamProtocol, limits: ConnectionLimits = ConnectionLimits(), newest: WireFrame? = nil, now: UInt64 = 0) {
        machine = ConnectionMachine(proto: proto, limits: limits, now: now)
        lowWatermark = limits.sendLowWatermark
        self.newest = newest
    }

    var text: String { String(decoding: written, as: UTF8.self) }

    /// Carries out every action, as StreamServer does.
    mutating func run(now: UInt64) {
        var steps = 0
        while let action = machine.nextAction() {
            steps += 1
            precondition(steps < 10_000, "the machine never settles")
            switch action {
            case .write(let outgoing):
                let pending = Array((outgoing.header + outgoing.payload + outgoing.trailer)[outgoing.offset...])
                let count = min(room, pending.count)
                if count == 0 {
                    machine.writeWouldBlock()
                } else {
                    written += pending[0..<count]
                    if room != Int.max { room -= count }
                    machine.wrote(count, now: now)
                }
            case .route(let request):
                routed.append(request.path)
                if deferredPaths.contains(request.path) {
                    deferred = request
                    machine.awaitFrame(now: now)
                } else {
                    machine.respond(answer(request), now: now)
                }
            case .offerFrame:
                if let newest { machine.frameAvailable(newest, now: now, unsent: unsent) }
            case .setLowWatermark(let bytes):
                lowWatermark = bytes
            case .setInterest(let wanted):
                interest = wanted
            case .note(let note):
                notes.append(note)
            case .close(let why):
                closed = why
            }
        }
    }

    mutating func publish(_ frame: WireFrame, now: UInt64) {
        newest = frame
        if machine.isWaitingForFrame { machine.frameAvailable(frame, now: now, unsent: unsent) }
        run(now: now)
    }

    /// What the peer sent that is still in the socket: the driver reads only what the machine has room for.
    var inbox: [UInt8] = []
    var endOfInput = false

    /// The peer sends `text`; the driver reads as StreamServer does — chunks of at most 4096 bytes and at most
    /// `inputRoom` — while the machine wants input, and the rest stays in the socket (`inbox`).
    mutating func receive(_ text: String, now: UInt64) {
        inbox += Array(text.utf8)
        readInbox(now: now)
    }

    /// The peer shuts down its sending side after what it sent.
    mutating func halfClose(now: UInt64) {
        endOfInput = true
        readInbox(now: now)
    }

    mutating func readInbox(now: UInt64) {
        while !machine.isClosed {
            let room = min(4096, machine.inputRoom)
            if inbox.isEmpty {
                if endOfInput, room > 0 {
                    machine.receivedEnd()
                    run(now: now)
                }
                return
            }
            guard room > 0 else { return }
            let chunk = Array(inbox.prefix(room))
            inbox.removeFirst(chunk.count)
            machine.received(chunk, now: now)
            run(now: now)
        }
    }

    mutating func tick(now: UInt64) {
        machine.tick(now: now, unsent: unsent)
        run(now: now)
    }

    mutating func writable(now: UInt64) {
        machine.writable(now: now, unsent: unsent)
        run(now: now)
        // Input the machine had no room for is read once it has (StreamServer: EPOLLIN is watched again).
        readInbox(now: now)
    }
}

struct ConnectionMachineTests {
    // MARK: Frames

    @Test func aNativeViewerIsSentTheNewestFrameAsSoonAsItConnects() {
        let first = wire(7)
        var driver = FakeDriver(.native, newest: first)
        driver.run(now: 0)
        #expect(driver.notes == [.streamStarted("native")])
        #expect(driver.written == bytes(first))
        #expect(driver.machine.frames.framesSent == 1)
        #expect(driver.interest == .read)
        #expect(driver.machine.isWaitingForFrame)
    }

    @Test func aBusyViewerFinishesItsFrameThenTakesTheNewestCountingTheSkipped() {
        var driver = FakeDriver(.native)
        driver.run(now: 0)
        driver.room = 50
        driver.publish(wire(1), now: 1)
        #expect(driver.written.count == 50)
        #expect(driver.interest == [.read, .write], "a blocked write waits for EPOLLOUT")
        driver.publish(wire(2), now: 2)
        driver.publish(wire(3), now: 3)
        #expect(driver.written.count == 50, "frames published mid-frame do not interrupt it")

        driver.room = .max
        driver.writable(now: 4)
        #expect(driver.written == bytes(wire(1)) + bytes(wire(3)))
        #expect(driver.machine.frames.framesSent == 2)
        #expect(driver.machine.frames.framesDropped == 1)
        #expect(driver.interest == .read)
    }

    @Test func aViewerWithABacklogDrainsToTheBoundaryBeforeStartingTheNewestFrame() {
        let limits = ConnectionLimits(sendLowWatermark: 65536)
        var driver = FakeDriver(.native, limits: limits)
        driver.run(now: 0)
        driver.publish(wire(1), now: 0)
        #expect(driver.machine.frames.framesSent == 1)

        // The kernel still holds 40 000 bytes of frame 1: frame 2 waits, the watermark drops to the boundary.
        driver.unsent = 40_000
        driver.publish(wire(2), now: 1)
        #expect(driver.written == bytes(wire(1)))
        #expect(driver.machine.drain?.unsent == 40_000)
        #expect(driver.machine.drain?.progressAt == 1)
        #expect(driver.lowWatermark == limits.boundaryUnsent)
        #expect(driver.interest == [.read, .write])

        driver.unsent = 20_000
        driver.writable(now: 2)
        #expect(driver.machine.drain != nil, "still above the boundary")
        driver.publish(wire(3), now: 3)

        driver.unsent = limits.boundaryUnsent
        driver.writable(now: 4)
        #expect(driver.machine.drain == nil)
        #expect(driver.lowWatermark == 65536, "the normal watermark is back")
        #expect(driver.written == bytes(wire(1)) + bytes(wire(3)), "the newest frame, not the one that found the backlog")
        #expect(driver.interest == .read)
    }

    @Test func aViewerMustTakeEachWholeFrameWithinTheClientTimeoutEvenWhileMakingProgress() {
        // Frame 1 started at 0; its bytes drain from the kernel slowly but steadily (a trickle reader).
        var driver = FakeDriver(.native, limits: ConnectionLimits(clientTimeoutNanos: 10 * second))
        driver.run(now: 0)
        driver.publish(wire(1), now: 0)
        driver.unsent = 60_000
        driver.publish(wire(2), now: 1 * second)
        #expect(driver.machine.drain != nil)
        for t in 2...9 {
            driver.unsent -= 1000
            driver.tick(now: UInt64(t) * second)
        }
        #expect(driver.closed == nil, "9 s after frame 1 started, within client_timeout")
        driver.unsent -= 1000
        driver.tick(now: 10 * second)
        #expect(driver.closed == ConnectionClose("too slow: a frame took longer than client_timeout (10 s)", .warning, timedOut: true),
                "still draining frame 1 at 10 s: progress does not keep a slot")
    }

    @Test func aDrainThatStallsIsATimeoutThatSaysSo() {
        var driver = FakeDriver(.native, limits: ConnectionLimits(clientTimeoutNanos: 10 * second))
        driver.run(now: 0)
        driver.publish(wire(1), now: 0)
        driver.unsent = 60_000
        driver.publish(wire(2), now: 0)
        driver.tick(now: 9 * second)
        #expect(driver.closed == nil)
        driver.tick(now: 10 * second)
        #expect(driver.closed == ConnectionClose("timeout: accepted no data for 10.0 s", .warning, timedOut: true))
    }

    @Test func aTrickleReaderOfOneFrameIsDroppedAtTheClientTimeout() {
        // 100 KB frame, 1 KB taken every second: progress every second, but the frame would take 100 s.
        var driver = FakeDriver(.native, limits: ConnectionLimits(clientTimeoutNanos: 10 * second))
        driver.run(now: 0)
        driver.room = 1000
        driver.publish(wire(1, payload: 100_000), now: 0)
        for t in 1...9 {
            driver.room = 1000
            driver.writable(now: UInt64(t) * second)
            driver.tick(now: UInt64(t) * second)
        }
        #expect(driver.closed == nil)
        driver.room = 1000
        driver.writable(now: 10 * second)
        driver.tick(now: 10 * second)
        #expect(driver.closed?.reason == "too slow: a frame took longer than client_timeout (10 s)")
        #expect(driver.closed?.timedOut == true)
    }

    @Test func aFrameThatAcceptsNoBytesForTheClientTimeoutClosesTheViewer() {
        var driver = FakeDriver(.native, limits: ConnectionLimits(clientTimeoutNanos: 10 * second))
        driver.run(now: 0)
        driver.room = 10
        driver.publish(wire(1), now: 0)
        driver.room = 10
        driver.writable(now: 6 * second)
        driver.tick(now: 10 * second - 1)
        #expect(driver.closed == nil)
        driver.tick(now: 10 * second)
        #expect(driver.closed?.reason == "too slow: a frame took longer than client_timeout (10 s)",
                "the write at 6 s was progress, but the frame is not through at 10 s")
        #expect(driver.closed?.timedOut == true)
        #expect(driver.machine.isClosed)
        #expect(driver.machine.nextAction() == nil, "closed is final")
    }

    @Test func anIdleViewerIsNeverTimedOut() {
        var driver = FakeDriver(.native, limits: ConnectionLimits(clientTimeoutNanos: 1 * second))
        driver.run(now: 0)
        driver.publish(wire(1), now: 0)
        driver.tick(now: 3600 * second)
        #expect(driver.closed == nil)
    }

    @Test func aViewerThatHalfClosesKeepsReceivingFramesWithoutWatchingForInput() {
        var driver = FakeDriver(.native)
        driver.run(now: 0)
        driver.machine.receivedEnd()
        driver.run(now: 1)
        #expect(driver.interest == [])
        #expect(driver.closed == nil)
        driver.publish(wire(1), now: 2)
        #expect(driver.written == bytes(wire(1)))
    }

    @Test func bytesSentOnAStreamAreIgnoredAndNotedOnce() {
        var driver = FakeDriver(.native)
        driver.run(now: 0)
        driver.receive("hello", now: 1)
        driver.receive("again", now: 2)
        #expect(driver.notes == [.streamStarted("native"), .ignoringInput])
        #expect(driver.machine.bytesIgnored == 10)
        #expect(driver.closed == nil)
    }

    @Test func aChangedWatermarkReachesAConnectionThatIsAlreadyOpen() {
        var driver = FakeDriver(.native, limits: ConnectionLimits(sendLowWatermark: 65536))
        driver.run(now: 0)
        driver.machine.limits.sendLowWatermark = 32768
        driver.run(now: 1)
        #expect(driver.lowWatermark == 32768)
    }

    // MARK: HTTP

    @Test func pipelinedKeepAliveRequestsAreAnsweredInOrder() {
        var driver = FakeDriver(.http)
        driver.run(now: 0)
        driver.receive("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n", now: 1)
        #expect(driver.routed == ["/a", "/b"])
        #expect(driver.text == "HEAD /a|page /aHEAD /b|page /b")
        #expect(driver.closed == nil)
        driver.receive("GET /c HTTP/1.1\r\nHost: x\r\n\r\n", now: 2)
        #expect(driver.routed == ["/a", "/b", "/c"])
    }

    @Test func aRequestPipelinedBehindABlockedResponseWaitsForIt() {
        var driver = FakeDriver(.http)
        driver.run(now: 0)
        driver.room = 5
        driver.receive("GET /a HTTP/1.1\r\nHost: x\r\n\r\n", now: 1)
        #expect(driver.interest == [.read, .write])
        driver.receive("GET /b HTTP/1.1\r\nHost: x\r\n\r\n", now: 2)
        #expect(driver.routed == ["/a"], "the second request waits for the first response")
        driver.room = .max
        driver.writable(now: 3)
        #expect(driver.routed == ["/a", "/b"])
        #expect(driver.text == "HEAD /a|page /aHEAD /b|page /b")
        #expect(driver.interest == .read)
    }

    @Test func anHTTP10RequestIsAnsweredAndTheConnectionClosed() {
        var driver = FakeDriver(.http)
        driver.run(now: 0)
        driver.receive("GET /x HTTP/1.0\r\n\r\n", now: 1)
        #expect(driver.text == "HEAD /x|page /x")
        #expect(driver.closed == ConnectionClose("response sent", .debug))
    }

    @Test func aRequestFollowedByEndOfInputIsAnsweredBeforeTheClose() {
        var driver = FakeDriver(.http)
        driver.run(now: 0)
        driver.receive("GET /x HTTP/1.1\r\nHost: x\r\n\r\n", now: 1)
        driver.machine.receivedEnd()
        driver.run(now: 1)
        #expect(driver.text == "HEAD /x|page /x")
        #expect(driver.closed == ConnectionClose("connection closed", .debug))
    }

    @Test func endOfInputBeforeAWholeRequestClosesQuietly() {
        var driver = FakeDriver(.http)
        driver.run(now: 0)
        driver.receive("GET /x HT", now: 1)
        driver.machine.receivedEnd()
        driver.run(now: 1)
        #expect(driver.routed.isEmpty)
        #expect(driver.written.isEmpty)
        #expect(driver.closed == ConnectionClose("connection closed within a request", .debug))
    }

    @Test func aRequestHeadNotCompleteWithinTheRequestTimeoutClosesTheConnection() {
        var idle = FakeDriver(.http, limits: ConnectionLimits(requestTimeoutNanos: 5 * second))
        idle.run(now: 0)
        idle.tick(now: 5 * second - 1)
        #expect(idle.closed == nil)
        idle.tick(now: 5 * second)
        #expect(idle.closed == ConnectionClose("no complete request within request_timeout", .debug))

        var slowloris = FakeDriver(.http, limits: ConnectionLimits(requestTimeoutNanos: 5 * second))
        slowloris.run(now: 0)
        slowloris.receive("GET / HTTP/1.1\r\n", now: 1 * second)
        slowloris.receive("X-a: b\r\n", now: 4 * second)
        slowloris.tick(now: 5 * second)
        #expect(slowloris.closed == ConnectionClose("no complete request within request_timeout", .info),
                "the timeout runs from the connection, not from the last byte")
    }

    @Test func theRequestTimeoutRestartsAfterEachResponse() {
        var driver = FakeDriver(.http, limits: ConnectionLimits(requestTimeoutNanos: 5 * second))
        driver.run(now: 0)
        driver.receive("GET /a HTTP/1.1\r\nHost: x\r\n\r\n", now: 4 * second)
        driver.tick(now: 8 * second)
        #expect(driver.closed == nil)
        driver.tick(now: 9 * second)
        #expect(driver.closed?.reason == "no complete request within request_timeout")
    }

    @Test func aResponseThatAcceptsNoBytesForTheClientTimeoutIsDropped() {
        var driver = FakeDriver(.http, limits: ConnectionLimits(clientTimeoutNanos: 10 * second))
        driver.run(now: 0)
        driver.room = 0
        driver.receive("GET /a HTTP/1.1\r\nHost: x\r\n\r\n", now: 1 * second)
        driver.tick(now: 10 * second)
        #expect(driver.closed == nil)
        driver.tick(now: 11 * second)
        #expect(driver.closed == ConnectionClose("timeout: accepted no data for 10.0 s", .warning, timedOut: true))
    }

    @Test func aMalformedRequestIsAnswered400AndClosed() {
        var driver = FakeDriver(.http)
        driver.run(now: 0)
        driver.receive("BREW /pot HTTP/1.1\r\n\r\n", now: 1)
        #expect(driver.routed.isEmpty)
        guard case .rejected(let status, _)? = driver.notes.first else {
            Issue.record("no rejection noted: \(driver.notes)")
            return
        }
        #expect(status == 405)
        #expect(driver.text.hasPrefix("HTTP/1.1 405 Method Not Allowed\r\n"))
        #expect(driver.text.contains("Allow: GET, HEAD\r\n"))
        #expect(driver.closed == ConnectionClose("response sent", .debug))
    }

    @Test func anOversizedRequestHeadIsAnswered431WithoutReadingItAll() {
        var driver = FakeDriver(.http)
        driver.run(now: 0)
        driver.receive("GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 9000), now: 1)
        #expect(driver.text.hasPrefix("HTTP/1.1 431 "))
        #expect(driver.inbox.count >= 9000 + 19 - 8192, "the rest was never read")
        #expect(driver.closed?.reason == "response sent")
    }

    @Test func pipelinedRequestsBeyondTheBufferWaitInTheSocketAndAreAllAnswered() {
        // 300 requests in one write, 25 bytes each: 7,500 bytes plus a Host line each, well over 8 KiB.
        var driver = FakeDriver(.http)
        driver.run(now: 0)
        driver.room = 0
        let one = "GET /state HTTP/1.1\r\nHost: cam\r\n\r\n"
        driver.receive(String(repeating: one, count: 300), now: 1)
        #expect(driver.machine.requestBuffer.count <= ConnectionMachine.requestBufferLimit)
        #expect(driver.interest == .write, "a full buffer is not read into; the response waits for the socket")
        #expect(!driver.inbox.isEmpty)
        for t in 2..<2000 where driver.routed.count < 300 && driver.closed == nil {
            driver.room = 1 << 20
            driver.writable(now: UInt64(t))
        }
        #expect(driver.routed.count == 300)
        #expect(driver.closed == nil)
        #expect(driver.text.components(separatedBy: "HEAD /state|page /state").count - 1 == 300)
        #expect(driver.inbox.isEmpty && driver.machine.requestBuffer.isEmpty)
        #expect(driver.interest == .read)
    }

    @Test func aPipelinedFloodYieldsTheReactorEveryFewRequests() {
        var driver = FakeDriver(.http)
        driver.run(now: 0)
        let one = "GET /state HTTP/1.1\r\nHost: cam\r\n\r\n"
        driver.receive(String(repeating: one, count: 20), now: 1)
        #expect(driver.routed.count == ConnectionMachine.requestsPerTurn, "one turn's worth, then the others' turn")
        #expect(driver.machine.yielding && driver.interest == [.read, .write], "it asks for EPOLLOUT to come back")
        driver.writable(now: 2)
        #expect(driver.routed.count == 2 * ConnectionMachine.requestsPerTurn)
        driver.halfClose(now: 3)
        #expect(driver.closed == nil, "the requests already buffered are still answered")
        driver.writable(now: 4)
        #expect(driver.routed.count == 20)
        #expect(driver.closed == ConnectionClose("connection closed", .debug))
    }

    @Test func aRequestFollowedAtOnceByAHalfCloseIsAnswered() {
        // printf 'GET /snapshot HTTP/1.0\r\n\r\n' | nc -N: the request and the end of input in one read.
        var driver = FakeDriver(.http)
        driver.run(now: 0)
        driver.room = 5
        driver.inbox = Array("GET /snapshot HTTP/1.0\r\n\r\n".utf8)
        driver.halfClose(now: 1)
        #expect(driver.routed == ["/snapshot"])
        #expect(driver.closed == nil, "the response is still being written")
        driver.room = .max
        driver.writable(now: 2)
        #expect(driver.text == "HEAD /snapshot|page /snapshot")
        #expect(driver.closed == ConnectionClose("response sent", .debug))

        // HTTP/1.1 keep-alive: both pipelined requests are answered, then the connection closes.
        var keepAlive = FakeDriver(.http)
        keepAlive.run(now: 0)
        keepAlive.inbox = Array("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        keepAlive.halfClose(now: 1)
        #expect(keepAlive.routed == ["/a", "/b"])
        #expect(keepAlive.text == "HEAD /a|page /aHEAD /b|page /b")
        #expect(keepAlive.closed == ConnectionClose("connection closed", .debug))
    }

    @Test func aTLSHandshakeIsClosedAtItsFirstByteWithoutAnAnswer() {
        var driver = FakeDriver(.http)
        driver.run(now: 0)
        driver.receive("\u{16}\u{03}\u{01}\u{02}\u{00}\u{01}", now: 1)
        #expect(driver.written.isEmpty)
        guard case .notHTTP(let why)? = driver.notes.first else { Issue.record("\(driver.notes)"); return }
        #expect(why.contains("TLS"))
        #expect(driver.closed?.reason.contains("TLS") == true)
    }

    @Test func aStreamRequestTurnsTheConnectionIntoAViewer() {
        var driver = FakeDriver(.http, newest: wire(4))
        driver.answer = { _ in HTTPResponse(head: Array("STREAM|".utf8), body: [], then: .stream) }
        driver.run(now: 0)
        #expect(!driver.machine.isStreaming)
        driver.receive("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n", now: 1)
        #expect(driver.notes == [.streamStarted("http /stream")])
        #expect(driver.machine.isStreaming)
        #expect(driver.written == Array("STREAM|".utf8) + bytes(wire(4)))
        driver.publish(wire(5), now: 2)
        #expect(driver.machine.frames.framesSent == 2)
        driver.receive("ignored", now: 3)
        #expect(driver.notes.last == .ignoringInput)
    }

    @Test func aRequestWaitingForAFrameIsAnsweredWhenTheDriverRespondsAndThePipelinedOnesFollowInOrder() {
        var driver = FakeDriver(.http, limits: ConnectionLimits(clientTimeoutNanos: 10 * second, requestTimeoutNanos: 2 * second))
        driver.deferredPaths = ["/snapshot"]
        driver.receive("GET /snapshot HTTP/1.1\r\nHost: c\r\n\r\nGET /state HTTP/1.1\r\nHost: c\r\n\r\n", now: 0)
        #expect(driver.machine.isAwaitingFrame && driver.written.isEmpty && driver.routed == ["/snapshot"])
        // Waiting is the driver's to end: no request timeout, and the pipelined request is not routed before it.
        driver.tick(now: 5 * second)
        #expect(driver.closed == nil && driver.machine.isAwaitingFrame && driver.routed == ["/snapshot"])
        // The peer half-closes meanwhile: both requests are still answered, then the connection closes.
        driver.halfClose(now: 5 * second)
        #expect(driver.closed == nil)
        let request = driver.deferred!
        driver.machine.respond(driver.answer(request), now: 6 * second)
        driver.run(now: 6 * second)
        #expect(driver.text == "HEAD /snapshot|page /snapshotHEAD /state|page /state")
        #expect(driver.routed == ["/snapshot", "/state"])
    }
}
