// HTTPRoutes: what camd answers to each HTTP request — /stream, /snapshot, /state, /metrics, / — after access control.
import CamdSystem
import Frames
import Logging
import Wire

extension StreamServer {
    /// The response to one request (a connection machine asked with `.route`), counted for /metrics; nil for a
    /// snapshot that waits for the live frame the capture is waking up to make (counted when answered).
    func route(_ request: HTTPRequest, _ connection: Connection, now: UInt64) -> HTTPResponse? {
        let route = HTTPRouteName(request)
        guard let response = answer(request, route, connection, now: now) else { return nil }
        countRequest(route, response: response)
        return response
    }

    private func answer(_ request: HTTPRequest, _ route: HTTPRouteName, _ connection: Connection, now: UInt64) -> HTTPResponse? {
        let head = request.method == .head
        let cors = corsHeaders(request)
        if let refusal = authorize(request, connection, now: now, cors: cors) { return refusal }
        switch route {
        case .stream:
            if head { return HTTPResponse(head: HTTPMessages.streamHead(extra: cors), body: [], then: .close) }
            // A viewer slot, or 503: only viewers count against max_clients, so /state and /snapshot are
            // answered however many viewers there are.
            if let full = viewerRefusal(host: connection.viewerHost) {
                noteRefusal("http viewer", peer: connection.shown, why: full)
                return .text(503, "503 too many viewers: \(full)\n", keepAlive: false, extra: "Retry-After: 5\r\n" + cors)
            }
            takeViewerSlot(connection)
            return HTTPResponse(head: HTTPMessages.streamHead(extra: cors), body: [], then: .stream)
        case .snapshot:
            // A snapshot is demand: an idle capture wakes, and runs on for idle_after.
            demand.touch(now: now)
            if let frame = ring.latest, demand.isStale(sequence: frame.sequence) { return nil }
            return snapshot(request)
        case .state:
            return .complete(200, type: "application/json", body: stateProvider(), keepAlive: request.keepAlive,
                             extra: cors, bodyless: head)
        case .metrics:
            return .complete(200, type: PrometheusText.contentType, body: metricsProvider(), keepAlive: request.keepAlive,
                             extra: cors, bodyless: head)
        case .page:
            return .complete(200, type: "text/html; charset=utf-8", body: HTTPPage.index, keepAlive: request.keepAlive, bodyless: head)
        case .other, .invalid:
            // The path is visible ASCII (the parser's check); the body is text/plain, never interpreted.
            return .text(404, "404 not found: \(request.path)\n", keepAlive: request.keepAlive, extra: cors, bodyless: head)
        }
    }

    /// The latest frame as a snapshot. A frame from before the capture idled (its wait for a live one ran out) is
    /// marked `X-Stale: 1`.
    func snapshot(_ request: HTTPRequest) -> HTTPResponse {
        let head = request.method == .head
        let cors = corsHeaders(request)
        guard let frame = ring.latest else {
            return .text(503, "no frame yet\n", keepAlive: request.keepAlive, extra: "Retry-After: 1\r\n" + cors, bodyless: head)
        }
        let stale = demand.isStale(sequence: frame.sequence) ? "X-Stale: 1\r\n" : ""
        return .complete(200, type: "image/jpeg", body: frame.payload, keepAlive: request.keepAlive,
                         extra: HTTPMessages.frameHeaders(frame) + stale + cors, bodyless: head)
    }

    /// CORS: none unless http_allow_origin names the page's origin (or is "*"): a page on another site may then
    /// read /state and /snapshot. Without it a browser shows the stream in <img> but no script can read a byte.
    func corsHeaders(_ request: HTTPRequest) -> String {
        let allowed = settings.allowOrigins
        guard !allowed.isEmpty else { return "" }
        if allowed.contains("*") { return "Access-Control-Allow-Origin: *\r\n" }
        // The echoed origin is one of the configured ones (checked visible ASCII), never the request's bytes.
        guard let origin = request.headers["origin"], let match = allowed.first(where: { $0 == origin }) else {
            return "Vary: Origin\r\n"
        }
        return "Access-Control-Allow-Origin: \(match)\r\nVary: Origin\r\n"
    }

    /// Applies http_auth / http_token: nil when the request may proceed, else the 401 to send.
    private func authorize(_ request: HTTPRequest, _ connection: Connection, now: UInt64, cors: String) -> HTTPResponse? {
        let decision = accessControl.check(request, now: now)
        if decision == .allowed { return nil }
        switch decision {
        case .denied(let who):
            if let suppressed = accessFailureLog.shouldLog(now: now) {
                let more = suppressed > 0 ? " (\(suppressed) more failures since the last message)" : ""
                logger.warning("http \(connection.shown): authentication failed (\(LogText.escaped(who))) for \(request.method.rawValue) \(LogText.escaped(request.path))\(more)",
                               metadata: connection.clientMetadata.merging(["camd_event": "auth_failed"]) { $1 })
            }
        case .throttled:
            if let suppressed = accessFailureLog.shouldLog(now: now) {
                let more = suppressed > 0 ? " (\(suppressed) more failures since the last message)" : ""
                let limit = HTTPAccessControl.verificationsPerSecond
                logger.warning("http \(connection.shown): credentials refused unchecked (over \(limit) new ones per second)\(more)")
            }
        case .missing, .allowed:
            logger.debug("http \(connection.shown): no credentials for \(LogText.escaped(request.path))")
        }
        return .text(401, "401 unauthorized\n", keepAlive: request.keepAlive, extra: accessControl.challenge + cors,
                     bodyless: request.method == .head)
    }
}

extension HTTPResponse {
    /// A complete response with a body (`bodyless`: HEAD, the head alone).
    static func complete(_ status: Int, type: String, body: [UInt8], keepAlive: Bool, extra: String = "",
                         bodyless: Bool = false) -> HTTPResponse {
        HTTPResponse(head: HTTPMessages.head(status, contentType: type, length: body.count, keepAlive: keepAlive, extra: extra),
                     body: bodyless ? [] : body, then: keepAlive ? .nextRequest : .close)
    }

    /// A plain-text response ("404 not found: /x\n").
    static func text(_ status: Int, _ text: String, keepAlive: Bool, extra: String = "", bodyless: Bool = false) -> HTTPResponse {
        complete(status, type: "text/plain; charset=utf-8", body: Array(text.utf8), keepAlive: keepAlive, extra: extra,
                 bodyless: bodyless)
    }
}
