// StreamServer+Forwarded: the viewer behind a trusted reverse proxy (trusted_proxies). Each request from a trusted
// proxy names its viewer in X-Forwarded-For (ForwardedFor); logs, `clients` and max_clients_per_ip's viewer count
// then use that address, with the proxy's own beside it. From any other peer the header is ignored.
import CamdSystem
import Logging
import Wire

extension Connection {
    /// The viewer's address as logs and `clients` name it: the forwarded one ("203.0.113.7"), else the peer
    /// ("192.0.2.7:41234").
    var viewer: String { forwarded?.hostText ?? peer }

    /// The host a viewer slot counts against for max_clients_per_ip: the forwarded viewer's, else the peer's.
    var viewerHost: String { forwarded?.hostText ?? host }

    /// For a log line: "203.0.113.7 via 127.0.0.1:41234" behind a trusted proxy, else the peer.
    var shown: String { forwarded.map { "\($0.hostText) via \(peer)" } ?? peer }

    /// The journal fields naming the client: camd_client (the viewer) and, behind a proxy, camd_proxy.
    var clientMetadata: Logger.Metadata {
        var fields: Logger.Metadata = ["camd_client": "\(viewer)"]
        if forwarded != nil { fields["camd_proxy"] = "\(peer)" }
        return fields
    }
}

extension StreamServer {
    /// Reads the viewer's address from a request, before it is answered: only when the peer is a trusted proxy,
    /// and only while the connection is not yet a viewer (a stream's viewer never changes). An unreadable header
    /// leaves the peer's address (logged, at most one line per 5 s).
    func noteForwarding(_ request: HTTPRequest, _ connection: Connection) {
        guard !connection.holdsViewerSlot else { return }
        connection.forwarded = nil
        let trusted = settings.trustedProxies
        guard !trusted.isEmpty, let peer = connection.peerAddress, trusted.containsAddress(peer) else { return }
        switch ForwardedFor.viewer(request.headers["x-forwarded-for"], trusted: trusted) {
        case .viewer(let address):
            connection.forwarded = address
        case .absent:
            break
        case .malformed(let why):
            if let suppressed = forwardedLog.shouldLog(now: Clock.monotonicNanos()) {
                let more = suppressed > 0 ? " (\(suppressed) more since the last message)" : ""
                logger.notice("http \(connection.peer): X-Forwarded-For from a trusted proxy not used: \(why); the viewer is logged as the proxy\(more)",
                              metadata: ["camd_event": "forwarded_for_invalid", "camd_client": "\(connection.peer)"])
            }
        }
    }
}
