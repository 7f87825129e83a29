// StreamCounters: the server's totals that only /metrics reports — refusals by limit, timeouts by kind,
// HTTP requests by route and status. Every label comes from a small fixed set, never from a peer's bytes.
import Wire

/// Which limit turned a connection or viewer away.
public enum RefusalLimit: String, Sendable, CaseIterable {
    case maxClients = "max_clients"
    case maxClientsPerIP = "max_clients_per_ip"
}

/// Why a new viewer or connection may not be taken.
struct Refusal: CustomStringConvertible {
    let limit: RefusalLimit
    let description: String
}

/// How a viewer ran out of client_timeout: it accepted nothing (idle), or too little (slow).
public enum TimeoutKind: String, Sendable, CaseIterable {
    case idle
    case slow
}

/// The routes /metrics counts requests by ("other" for every unknown path, so the set stays bounded).
public enum HTTPRouteName: String, Sendable, CaseIterable {
    case stream = "/stream"
    case snapshot = "/snapshot"
    case state = "/state"
    case metrics = "/metrics"
    case page = "/"
    case other
    /// Requests the parser refused (400, 405, 431, 505) before any route.
    case invalid
}

extension HTTPRouteName {
    /// The route a request names: camd's paths, and mjpg-streamer's `/?action=stream|snapshot`; `other` for the rest.
    /// HTTPRoutes answers by it and /metrics counts by it, so the two cannot disagree.
    init(_ request: HTTPRequest) {
        switch (request.path, request.path == "/" ? request.parameter("action") : nil) {
        case ("/stream", _), ("/", "stream"): self = .stream
        case ("/snapshot", _), ("/", "snapshot"): self = .snapshot
        case ("/state", _): self = .state
        case ("/metrics", _): self = .metrics
        case ("/", nil): self = .page
        default: self = .other
        }
    }
}

public struct HTTPRequestKey: Hashable, Sendable, Comparable {
    public var route: HTTPRouteName
    public var status: Int

    public static func < (a: Self, b: Self) -> Bool {
        (a.route.rawValue, a.status) < (b.route.rawValue, b.status)
    }
}

public struct StreamCounters: Sendable, Equatable {
    public var refused: [RefusalLimit: UInt64] = [:]
    public var timeouts: [TimeoutKind: UInt64] = [:]
    /// Responses by route and status: at most 7 routes × the dozen statuses camd sends.
    public var requests: [HTTPRequestKey: UInt64] = [:]
    /// Connections whose request head did not arrive within request_timeout.
    public var requestTimeouts: UInt64 = 0
    /// RTSP responses by status (camd_rtsp_requests_total).
    public var rtspRequests: [Int: UInt64] = [:]
}

extension StreamServer {
    func countRequest(_ route: HTTPRouteName, response: HTTPResponse) {
        counters.requests[HTTPRequestKey(route: route, status: Self.status(of: response.head)), default: 0] += 1
    }

    /// The status code of a response head ("HTTP/1.1 200 OK…" → 200), 0 if it has none.
    static func status(of head: [UInt8]) -> Int {
        guard head.count >= 12 else { return 0 }
        var status = 0
        for byte in head[9..<12] {
            guard byte >= 0x30 && byte <= 0x39 else { return 0 }
            status = status * 10 + Int(byte - 0x30)
        }
        return status
    }
}
