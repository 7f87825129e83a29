// StreamReader: camview's reader thread. It owns the socket: connects, reads as fast as the server sends,
// splits the stream into frames (native or HTTP multipart), records them, and publishes each one to the
// FrameMailbox — never waiting for the display. When a stream that had worked goes away it says so and
// reconnects with backoff; a stream that never worked (refused, not camd, 401) ends with the reason.
import CamdSystem
import JPEG
import Wire
import Locking
import Synchronization

public struct ReaderOptions: Sendable {
    /// Seconds to wait for a connection, and the longest silence before a connection counts as lost
    /// (camd sends placeholder frames when its camera is gone, so silence means the link is broken).
    public var timeout: Double = 5
    /// Reconnect after losing a stream that had worked (otherwise end with the reason).
    public var reconnect = true
    /// First retry delay; doubles per attempt up to `maxBackoff`.
    public var backoff: Double = 0.25
    public var maxBackoff: Double = 4
    /// A complete Authorization header value ("Basic …") for http:// sources.
    public var authorization: String?
    /// Stop after publishing this many frames (--frames), so the count is exact whatever the display does.
    public var frameLimit: Int?

    public init() {}
}

public final class StreamReader: Sendable {
    public let url: StreamURL
    private let options: ReaderOptions
    private let mailbox: FrameMailbox
    private let recorder: MJPEGRecorder?
    private let stopSignal: EventCounter
    private let stopping = Atomic<Bool>(false)
    private let thread = LockedValue<OSThread?>(nil)
    private let published = Atomic<Int>(0)

    public init(url: StreamURL, options: ReaderOptions, mailbox: FrameMailbox, recorder: MJPEGRecorder?) throws(SystemError) {
        self.url = url
        self.options = options
        self.mailbox = mailbox
        self.recorder = recorder
        stopSignal = try EventCounter()
    }

    public func start() throws(SystemError) {
        let started = try OSThread.spawn(name: "camview-reader") { [self] in run() }
        thread.withLock { $0 = started }
    }

    /// Asks the reader to stop (from any thread); it leaves any blocking wait at once.
    public func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        stopSignal.signal()
    }

    public func join() {
        let running = thread.withLock { thread -> OSThread? in
            defer { thread = nil }
            return thread
        }
        running?.join()
    }

    private var isStopping: Bool { stopping.load(ordering: .sequentiallyConsistent) }

    // MARK: - The thread

    private enum SessionEnd {
        case stopped
        case lost(String)
        case fatal(String)
    }

    private func run() {
        var everStreamed = false
        var attempt = 0
        while !isStopping {
            var streamed = false
            let end = session(streamed: &streamed)
            if streamed { everStreamed = true; attempt = 0 }
            switch end {
            case .stopped:
                mailbox.update(.ended(failure: nil))
                return
            case .fatal(let reason):
                mailbox.update(.ended(failure: reason))
                return
            case .lost(let reason):
                guard everStreamed, options.reconnect else {
                    mailbox.update(.ended(failure: reason))
                    return
                }
                attempt += 1
                mailbox.update(.reconnecting(attempt: attempt, reason: reason))
                var delay = options.backoff
                for _ in 1..<min(attempt, 16) { delay *= 2 }
                if waitForStop(seconds: min(delay, options.maxBackoff)) {
                    mailbox.update(.ended(failure: nil))
                    return
                }
            }
        }
        mailbox.update(.ended(failure: nil))
    }

    /// True when asked to stop before `seconds` passed.
    private func waitForStop(seconds: Double) -> Bool {
        _ = try? Poll.wait(stopSignal.fd, for: .readable, timeoutMilliseconds: Int32(seconds * 1000))
        return isStopping
    }

    /// One connection, from connect to its end.
    private func session(streamed: inout Bool) -> SessionEnd {
        let socket: Descriptor
        do {
            socket = try url.connect(timeout: options.timeout)
        } catch {
            return .lost("cannot connect to \(url): \(error)")
        }
        defer { socket.close() }
        if isStopping { return .stopped }

        var framing: Framing
        switch url.scheme {
        case .tcp:
            framing = .native(NativeStreamParser(keepPayload: true))
        case .http:
            if let failure = send(url.httpRequest(authorization: options.authorization), on: socket) {
                return .lost("cannot send the request to \(url): \(failure)")
            }
            framing = .multipart(MultipartStreamParser(framing: .http, keepPayload: true))
        }
        let decoder = try? JPEGDecoder()
        var localSequence: UInt64 = 0
        var receivedAny = false
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        while true {
            let ready: Bool
            do {
                ready = try Poll.wait([(socket.number, .readable), (stopSignal.fd, .readable)],
                                      timeoutMilliseconds: Int32(options.timeout * 1000)) != nil
            } catch {
                return .lost("\(error)")
            }
            if isStopping { return .stopped }
            if !ready {
                let hint = url.scheme == .tcp && !receivedAny ? " (if this is camd's HTTP port, use http://\(url.host):\(url.port)/stream)" : ""
                return .lost("no data from \(url) for \(Format.fixed(options.timeout, 0)) s\(hint)")
            }
            let count: Int
            do {
                guard case .done(let received) = try Socket.read(socket, into: &buffer) else { continue }
                count = received
            } catch {
                return .lost("connection to \(url) failed: \(error.message)")
            }
            if count > 0 && !receivedAny {
                receivedAny = true
                if url.scheme == .http, buffer.starts(with: NativeFrameHeader.magic) {
                    return .fatal("\(url) answered in camd's native protocol, not HTTP: use tcp://\(url.host):\(url.port)")
                }
            }
            if count == 0 {
                return .lost(streamed || framing.isBetweenFrames ? "\(url) closed the connection"
                                                               : "\(url) closed the connection in the middle of a frame")
            }
            var problem: SessionEnd?
            let received = Clock.realtimeNanos()
            func publish(_ frame: ViewFrame) {
                guard problem == nil, !isStopping else { return }
                guard JPEGScanner.isCompleteImage(frame.jpeg) else {
                    // Never a good frame on this connection: not a camera stream. After good ones: a damaged
                    // connection, worth a fresh one.
                    let reason = "malformed stream from \(self.url): frame \(frame.sequence) is not a complete JPEG"
                    problem = streamed ? .lost(reason) : .fatal(reason)
                    return
                }
                if let recorder = self.recorder, let failure = recorder.write(frame) {
                    problem = .fatal(failure)
                    return
                }
                streamed = true
                mailbox.update(.streaming)  // a no-op while it is already
                mailbox.publish(frame)
                let count = published.add(1, ordering: .relaxed).newValue
                if let limit = options.frameLimit, count >= limit { problem = .stopped }
            }
            let failure: String? = buffer.withUnsafeBytes { raw -> String? in
                let bytes = UnsafeRawBufferPointer(rebasing: raw[0..<count])
                switch framing {
                case .native(var parser):
                    do {
                        try parser.consume(bytes) { header, payload in
                            publish(ViewFrame(jpeg: payload ?? [], width: Int(header.width), height: Int(header.height),
                                              sequence: header.sequence, captureNanos: header.timestampNanos,
                                              receivedNanos: received, isPlaceholder: header.isPlaceholder))
                        }
                    } catch {
                        let hint = raw.starts(with: Array("HTTP/".utf8)) ? " (this is an HTTP server: use http://\(url.host):\(url.port)/stream)" : ""
                        return "malformed stream from \(url): \(error)\(hint)"
                    }
                    framing = .native(parser)
                case .multipart(var parser):
                    do {
                        try parser.consume(bytes) { part in
                            let jpeg = part.payload ?? []
                            let info = jpeg.isEmpty ? nil : try? decoder?.info(jpeg)
                            localSequence += 1
                            publish(ViewFrame(jpeg: jpeg, width: info?.width ?? 0, height: info?.height ?? 0,
                                              sequence: part.sequence ?? localSequence, captureNanos: part.timestampNanos ?? 0,
                                              receivedNanos: received, isPlaceholder: part.isPlaceholder))
                        }
                    } catch {
                        var reason = "\(error)"
                        if let status = parser.responseStatus, status.contains(" 401") {
                            reason = "\(status) — camd's http_auth/http_token is on: set CAMVIEW_AUTH=USER:PASSWORD or add ?token=… to the URL"
                        }
                        return "\(url): \(reason)"
                    }
                    framing = .multipart(parser)
                }
                return nil
            }
            if let failure { return streamed ? .lost(failure) : .fatal(failure) }
            if let problem { return problem }
        }
    }

    private enum Framing {
        case native(NativeStreamParser)
        case multipart(MultipartStreamParser)

        var isBetweenFrames: Bool {
            switch self {
            case .native(let parser): parser.isAtFrameBoundary
            case .multipart(let parser): parser.isBetweenParts
            }
        }
    }

    /// Writes a small request on the non-blocking socket; nil when sent, else the reason.
    private func send(_ bytes: [UInt8], on socket: Descriptor) -> String? {
        var sent = 0
        while sent < bytes.count {
            do {
                switch try Socket.send(socket, bytes, offset: sent) {
                case .done(let count):
                    sent += count
                case .wouldBlock:
                    if try Poll.wait(socket.number, for: .writable, timeoutMilliseconds: Int32(options.timeout * 1000)) == nil {
                        return "timed out"
                    }
                }
            } catch {
                return error.message
            }
        }
        return nil
    }
}
