// HTTPServing: the HTTP side of StreamServer — requests, one-off responses (/snapshot, /state, /, errors)
// and turning a /stream request into a subscriber of the same fan-out as native viewers.
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem
import Frames
import Logging
import Reactor

/// A response being written: head and body, then either the next request, the stream, or close.
struct HTTPResponseInFlight {
    enum Then { case nextRequest, stream, close }
    var head: [UInt8]
    var body: [UInt8]
    var sent = 0
    var then: Then
    var progressAt: UInt64
    var total: Int { head.count + body.count }
}

/// The bytes camd's HTTP responses are made of.
public enum HTTPMessages {
    public static let boundary = "camdframe"
    static let crlf: [UInt8] = [0x0D, 0x0A]
    static let noStore = "Cache-Control: no-store, no-cache, must-revalidate, max-age=0\r\nPragma: no-cache\r\nExpires: 0\r\n"

    static func reason(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 408: return "Request Timeout"
        case 431: return "Request Header Fields Too Large"
        case 503: return "Service Unavailable"
        case 505: return "HTTP Version Not Supported"
        default: return "Error"
        }
    }

    static func head(_ status: Int, contentType: String, length: Int?, keepAlive: Bool, extra: String = "") -> [UInt8] {
        var text = "HTTP/1.1 \(status) \(reason(status))\r\nServer: camd\r\nContent-Type: \(contentType)\r\n"
        if let length { text += "Content-Length: \(length)\r\n" }
        text += noStore + "Access-Control-Allow-Origin: *\r\n" + extra
        text += keepAlive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n"
        return Array(text.utf8)
    }

    /// "1764000000.123456", as ustreamer sends X-Timestamp.
    static func timestamp(_ nanos: UInt64) -> String {
        let micros = String(nanos / 1000 % 1_000_000)
        return "\(nanos / 1_000_000_000)." + String(repeating: "0", count: 6 - micros.count) + micros
    }

    static func frameHeaders(_ frame: Frame) -> String {
        "X-Timestamp: \(timestamp(frame.timestampNanos))\r\nX-Sequence: \(frame.sequence)\r\n"
            + (frame.isPlaceholder ? "X-Placeholder: 1\r\n" : "")
    }

    /// One multipart part's header; the payload and a CRLF follow.
    static func partHeader(_ frame: Frame) -> [UInt8] {
        Array(("--\(boundary)\r\nContent-Type: image/jpeg\r\nContent-Length: \(frame.payload.count)\r\n"
            + frameHeaders(frame) + "\r\n").utf8)
    }

    static let streamHead: [UInt8] = Array(("HTTP/1.1 200 OK\r\nServer: camd\r\n"
        + "Content-Type: multipart/x-mixed-replace;boundary=\(boundary)\r\n" + noStore
        + "Access-Control-Allow-Origin: *\r\nConnection: close\r\n\r\n").utf8)
}

extension StreamServer {
    /// Reads what an HTTP client sent; parses once a whole head may be there.
    func readRequest(_ subscriber: Subscriber) {
        for _ in 0..<16 {
            let result: IOResult<Int>
            do {
                result = try Socket.read(subscriber.socket, into: readScratch)
            } catch {
                drop(subscriber, reason: error.errno == ECONNRESET ? "connection reset" : "\(error)", level: .debug)
                return
            }
            switch result {
            case .wouldBlock:
                if subscriber.phase == .request { processRequest(subscriber) }
                return
            case .done(0):
                drop(subscriber, reason: "connection closed", level: subscriber.phase == .request ? .debug : .info)
                return
            case .done(let count):
                // Bounded: a head larger than the limit is answered 431 without reading more of it.
                let room = HTTPRequestParser.maxHeadBytes + 4 - subscriber.requestBuffer.count
                guard room > 0 else {
                    if subscriber.phase == .request { processRequest(subscriber) } else {
                        drop(subscriber, reason: "too much pipelined input", level: .notice)
                    }
                    return
                }
                subscriber.requestBuffer.append(contentsOf: readScratch[0..<min(count, room)])
            }
        }
        if subscriber.phase == .request { processRequest(subscriber) }
    }

    func processRequest(_ subscriber: Subscriber) {
        let now = Clock.monotonicNanos()
        switch HTTPRequestParser().parse(subscriber.requestBuffer) {
        case .incomplete:
            return
        case .reject(let status, let reason):
            logger.info("http \(subscriber.peer): \(status) \(reason)")
            let extra = status == 405 ? "Allow: GET, HEAD\r\n" : ""
            respond(subscriber, status: status, type: "text/plain; charset=utf-8", body: Array("\(status) \(reason)\n".utf8),
                    keepAlive: false, extra: extra, now: now)
        case .request(let request, let consumed):
            subscriber.requestBuffer.removeFirst(consumed)
            route(request, subscriber, now: now)
        }
    }

    private func route(_ request: HTTPRequest, _ subscriber: Subscriber, now: UInt64) {
        let head = request.method == .head
        guard authorize(request, subscriber, now: now) else { return }
        let action = request.path == "/" ? request.parameter("action") : nil
        switch (request.path, action) {
        case ("/stream", _), ("/", "stream"):
            if head {
                respond(subscriber, head: HTTPMessages.streamHead, body: [], then: .close, now: now)
            } else {
                logConnect(subscriber, what: "http /stream")
                respond(subscriber, head: HTTPMessages.streamHead, body: [], then: .stream, now: now)
            }
        case ("/snapshot", _), ("/", "snapshot"):
            guard let frame = ring.latest else {
                respond(subscriber, status: 503, type: "text/plain; charset=utf-8", body: Array("no frame yet\n".utf8),
                        keepAlive: request.keepAlive, extra: "Retry-After: 1\r\n", now: now, bodyless: head)
                return
            }
            let headBytes = HTTPMessages.head(200, contentType: "image/jpeg", length: frame.payload.count,
                                              keepAlive: request.keepAlive, extra: HTTPMessages.frameHeaders(frame))
            respond(subscriber, head: headBytes, body: head ? [] : frame.payload,
                    then: request.keepAlive ? .nextRequest : .close, now: now)
        case ("/state", _):
            respond(subscriber, status: 200, type: "application/json", body: stateProvider(), keepAlive: request.keepAlive,
                    now: now, bodyless: head)
        case ("/", nil):
            respond(subscriber, status: 200, type: "text/html; charset=utf-8", body: HTTPPage.index, keepAlive: request.keepAlive,
                    now: now, bodyless: head)
        default:
            respond(subscriber, status: 404, type: "text/plain; charset=utf-8", body: Array("404 not found: \(request.path)\n".utf8),
                    keepAlive: request.keepAlive, now: now, bodyless: head)
        }
    }

    /// Applies http_auth / http_token; answers 401 and returns false when the request may not proceed.
    private func authorize(_ request: HTTPRequest, _ subscriber: Subscriber, now: UInt64) -> Bool {
        if accessControl.policy != settings.access { accessControl = HTTPAccessControl(policy: settings.access) }
        let decision = accessControl.check(request, now: now)
        if decision == .allowed { return true }
        switch decision {
        case .denied(let who):
            if let suppressed = accessFailureLog.shouldLog(now: now) {
                let more = suppressed > 0 ? " (\(suppressed) more failures since the last message)" : ""
                logger.warning("http \(subscriber.peer): authentication failed (\(who)) for \(request.method.rawValue) \(request.path)\(more)",
                               metadata: ["camd_event": "auth_failed", "camd_client": "\(subscriber.peer)"])
            }
        case .throttled:
            if let suppressed = accessFailureLog.shouldLog(now: now) {
                let more = suppressed > 0 ? " (\(suppressed) more failures since the last message)" : ""
                let limit = HTTPAccessControl.verificationsPerSecond
                logger.warning("http \(subscriber.peer): credentials refused unchecked (over \(limit) new ones per second)\(more)")
            }
        case .missing, .allowed:
            logger.debug("http \(subscriber.peer): no credentials for \(request.path)")
        }
        respond(subscriber, status: 401, type: "text/plain; charset=utf-8", body: Array("401 unauthorized\n".utf8),
                keepAlive: request.keepAlive, extra: accessControl.challenge, now: now, bodyless: request.method == .head)
        return false
    }

    private func respond(_ subscriber: Subscriber, status: Int, type: String, body: [UInt8], keepAlive: Bool,
                         extra: String = "", now: UInt64, bodyless: Bool = false) {
        let head = HTTPMessages.head(status, contentType: type, length: body.count, keepAlive: keepAlive, extra: extra)
        respond(subscriber, head: head, body: bodyless ? [] : body, then: keepAlive ? .nextRequest : .close, now: now)
    }

    private func respond(_ subscriber: Subscriber, head: [UInt8], body: [UInt8], then: HTTPResponseInFlight.Then, now: UInt64) {
        subscriber.phase = .response
        subscriber.response = HTTPResponseInFlight(head: head, body: body, then: then, progressAt: now)
        pumpResponse(subscriber, now: now)
    }

    /// Writes the response in flight; when it is done, moves on to the next request, the stream, or close.
    func pumpResponse(_ subscriber: Subscriber, now: UInt64) {
        guard var response = subscriber.response else { return }
        while response.sent < response.total {
            let result: IOResult<Int>
            do {
                result = try Socket.send(subscriber.socket, response.head, response.body, [], offset: response.sent)
            } catch {
                drop(subscriber, reason: "connection reset", level: .debug)
                return
            }
            guard case .done(let count) = result else {
                subscriber.response = response
                setInterest(subscriber, [.read, .write])
                return
            }
            response.sent += count
            response.progressAt = now
        }
        subscriber.response = nil
        switch response.then {
        case .close:
            drop(subscriber, reason: "response sent", level: .debug)
        case .nextRequest:
            subscriber.phase = .request
            subscriber.requestStartedAt = now
            setInterest(subscriber, .read)
            if !subscriber.requestBuffer.isEmpty { processRequest(subscriber) }
        case .stream:
            subscriber.phase = .frames
            subscriber.requestBuffer = []
            subscriber.machine = SubscriberStateMachine(now: now)
            if let wire = currentWire(.http), subscriber.machine.frameAvailable(wire, now: now) {
                pump(subscriber, now: now)
            } else {
                setInterest(subscriber, .read)
            }
        }
    }

    /// Slowloris and stuck responses: a head not complete within request_timeout, or a response that
    /// accepted no bytes for client_timeout, closes the connection.
    func expireHTTPRequests(now: UInt64) {
        for subscriber in subscribers.values where subscriber.proto == .http {
            if subscriber.phase == .request, now - subscriber.requestStartedAt >= settings.requestTimeoutNanos {
                drop(subscriber, reason: "no complete request within request_timeout", level: subscriber.requestBuffer.isEmpty ? .debug : .info)
            } else if let response = subscriber.response, now - response.progressAt >= settings.clientTimeoutNanos {
                closedTotals.timedOut += 1
                drop(subscriber, reason: "timeout: response accepted no data", level: .warning, event: "client_drop")
            }
        }
    }
}
