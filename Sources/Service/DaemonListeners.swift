// DaemonListeners: the viewers' listening sockets — the ones systemd passed (socket activation), the ones camd
// bound itself, and re-binding those on reload without touching connected viewers.
import CamdSystem
import Logging
import Settings
import Streaming

struct DaemonListeners {
    private let server: StreamServer
    private let logger: Logger
    /// Protocols whose listeners systemd passed in: camd does not bind or rebind those itself.
    private(set) var activated: Set<StreamProtocol> = []
    /// Configured address → the address actually bound (they differ for port 0), per protocol.
    private var bound: [StreamProtocol: [(configured: SocketAddress, actual: SocketAddress)]] = [:]

    init(server: StreamServer, logger: Logger) {
        self.server = server
        self.logger = logger
    }

    /// The config key that lists a protocol's addresses.
    static func key(_ proto: StreamProtocol) -> String {
        switch proto {
        case .native: return "listen"
        case .http: return "http_listen"
        case .rtsp: return "rtsp_listen"
        }
    }

    /// A protocol's configured addresses.
    static func addresses(_ proto: StreamProtocol, in config: Config) -> [SocketAddress] {
        switch proto {
        case .native: return config.listen
        case .http: return config.httpListen
        case .rtsp: return config.rtspListen
        }
    }

    /// The listener keys whose sockets systemd passed (a reload cannot rebind them).
    var activatedKeys: Set<String> { Set(activated.map(Self.key)) }

    /// Takes the sockets systemd passed (socket activation) and binds the configured addresses for every
    /// protocol systemd passed none for. The addresses are logged once all are bound: when one cannot be
    /// (a port in use), the error is the first thing said and every socket taken so far is closed.
    mutating func bind(_ config: Config) throws {
        var lines: [(StreamProtocol, SocketAddress, String)] = []
        do {
            for (socket, name) in SystemdNotifier.passedListeners() {
                let proto: StreamProtocol
                switch name {
                case "native": proto = .native
                case "http": proto = .http
                case "rtsp": proto = .rtsp
                default:
                    // Unnamed: match the port against the configured addresses.
                    let address = try? Socket.localAddress(socket)
                    if let address, config.listen.contains(where: { $0.port == address.port }) { proto = .native }
                    else if let address, config.httpListen.contains(where: { $0.port == address.port }) { proto = .http }
                    else if let address, config.rtspListen.contains(where: { $0.port == address.port }) { proto = .rtsp }
                    else {
                        let text = "ignoring a socket passed by systemd named \"\(LogText.escaped(name))\" (\(address.map { "\($0)" } ?? "?")): "
                            + "name it native, http or rtsp with FileDescriptorName="
                        logger.warning("\(text)")
                        socket.close()
                        continue
                    }
                }
                let address = try server.adopt(socket, proto: proto)
                activated.insert(proto)
                lines.append((proto, address, " (from systemd)"))
            }
            for proto in [StreamProtocol.native, .http, .rtsp] where !activated.contains(proto) {
                for address in Self.addresses(proto, in: config) {
                    let actual = try Self.naming(proto, address) { () throws(SystemError) in try server.listen(address, proto: proto) }
                    bound[proto, default: []].append((address, actual))
                    lines.append((proto, actual, ""))
                }
            }
        } catch {
            server.close()
            throw error
        }
        for (proto, address, note) in lines { log(proto, address, note: note) }
    }

    /// A listener that cannot be bound is reported with its key ("http_listen = 0.0.0.0:8080: bind: Address already
    /// in use"), so the operator of several camds (camd@NAME instances) knows which file and line to change.
    static func naming<T>(_ proto: StreamProtocol, _ address: SocketAddress, _ body: () throws(SystemError) -> T) throws(SystemError) -> T {
        do {
            return try body()
        } catch {
            let call = error.call.hasPrefix("bind ") ? "bind" : error.call
            throw SystemError("\(key(proto)) = \(address): \(call)", errno: error.errno)
        }
    }

    /// Re-binds the listeners of `key` ("listen" or "http_listen") to its addresses in `config`: new addresses
    /// first (a failure keeps the old set), then the ones no longer configured are closed. Connected viewers
    /// are not touched. Returns reload's change lines.
    mutating func rebind(_ key: String, to config: Config) throws(SystemError) -> [String] {
        let proto: StreamProtocol = key == Self.key(.native) ? .native : key == Self.key(.rtsp) ? .rtsp : .http
        let wanted = Self.addresses(proto, in: config)
        var current = bound[proto] ?? []
        var added: [(SocketAddress, SocketAddress)] = []
        for address in wanted where !current.contains(where: { $0.configured == address }) {
            do throws(SystemError) {
                added.append((address, try server.listen(address, proto: proto)))
            } catch {
                server.closeListeners(proto, keeping: server.addresses(proto).filter { a in !added.contains { $0.1 == a } })
                throw error
            }
        }
        let removed = current.filter { !wanted.contains($0.configured) }
        server.closeListeners(proto, keeping: server.addresses(proto).filter { a in !removed.contains { $0.actual == a } })
        current.removeAll { entry in removed.contains { $0.configured == entry.configured } }
        current += added.map { (configured: $0.0, actual: $0.1) }
        bound[proto] = current
        for (_, actual) in added { log(proto, actual, note: "") }
        return added.map { "\(proto.rawValue) listening on \($0.1)" } + removed.map { "\(proto.rawValue) no longer listening on \($0.actual)" }
    }

    private func log(_ proto: StreamProtocol, _ address: SocketAddress, note: String) {
        switch proto {
        case .native: logger.info("native viewers: tcp://\(address)\(note)")
        case .http: logger.info("http viewers: http://\(address)/ (stream: /stream, snapshot: /snapshot, state: /state)\(note)")
        case .rtsp:
            let udp = server.rtspUDPPorts.map { "; RTP over UDP from ports \($0.rtp)-\($0.rtcp) or TCP" } ?? "; RTP over TCP"
            if server.rtspFeed.units == nil {
                logger.info("rtsp viewers: rtsp://\(address)/mjpeg (JPEG; no H.264 in this build\(udp))\(note)")
            } else {
                logger.info("rtsp viewers: rtsp://\(address)/stream (H.264; JPEG: /mjpeg\(udp))\(note)")
            }
        }
    }
}
