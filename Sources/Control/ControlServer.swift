// ControlServer: the operator's Unix socket on the reactor — one command per line in, one JSON object
// per line out; the peer's credentials checked before anything is read.
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem
import FoundationEssentials
import Logging
import Reactor
import Wire

/// Who may use the control socket beyond root and camd's own user.
public struct ControlAccess: Sendable, Equatable {
    /// Members of this group (primary or supplementary) may connect.
    public var gid: UInt32?
    public var groupName: String?
    public init(gid: UInt32?, groupName: String?) {
        self.gid = gid
        self.groupName = groupName
    }

    public func allows(_ peer: PeerCredentials, ownUID: UInt32) -> Bool {
        if peer.uid == 0 || peer.uid == ownUID { return true }
        if let gid { return peer.isMember(of: gid) }
        return false
    }
}

public final class ControlServer {
    /// Answers one command for one peer with one reply line (a JSON object and "\n").
    public typealias Responder = (ControlCommand, PeerCredentials) -> [UInt8]

    final class Connection {
        let socket: Descriptor
        let peer: PeerCredentials
        var registration: RegistrationID?
        var input: [UInt8] = []
        var output: [UInt8] = []
        var closeAfterOutput = false
        init(socket: Descriptor, peer: PeerCredentials) {
            self.socket = socket
            self.peer = peer
        }
    }

    public let path: String
    private let reactor: Reactor
    private let listener: Descriptor
    private var registration: RegistrationID?
    private let access: ControlAccess
    private let logger: Logger
    private let respond: Responder
    private var connections: [ObjectIdentifier: Connection] = [:]
    private let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 16)
    /// At most this many operators at once; more are closed at accept.
    static let maxConnections = 16

    /// Listens on `path` (mode 0660, group `access.gid`) and serves commands through `respond`.
    public init(path: String, access: ControlAccess, reactor: Reactor, logger: Logger,
                respond: @escaping Responder) throws(SystemError) {
        self.path = path
        self.access = access
        self.reactor = reactor
        self.logger = logger
        self.respond = respond
        listener = try UnixSocket.listen(path: path, mode: 0o660, gid: access.gid)
        do {
            registration = try reactor.register(listener, interest: .read) { [unowned self] _ in self.acceptAll() }
        } catch {
            listener.close()
            unlink(path)
            throw error
        }
    }

    deinit { scratch.deallocate() }

    /// Stops listening, closes every connection and removes the socket file.
    public func close() {
        for connection in connections.values { drop(connection) }
        if let registration { reactor.deregister(registration) }
        registration = nil
        if listener.isOpen {
            listener.close()
            unlink(path)
        }
    }

    private func acceptAll() {
        for _ in 0..<16 {
            guard case .done(let (socket, _))? = try? Socket.accept(listener) else { return }
            guard let peer = UnixSocket.peerCredentials(socket) else {
                socket.close()
                continue
            }
            guard access.allows(peer, ownUID: getuid()) else {
                let group = access.groupName.map { " or in group \($0)" } ?? ""
                logger.warning("control: refused \(peer): not root, camd's user\(group)",
                               metadata: ["camd_event": "control_denied", "camd_uid": "\(peer.uid)"])
                // One try, never a wait: a refused peer gets what fits in the socket buffer.
                _ = try? Socket.send(socket, Self.errorLine("permission denied: uid \(peer.uid) is not root, camd's user\(group)"))
                socket.close()
                continue
            }
            guard connections.count < Self.maxConnections else {
                logger.warning("control: refused \(peer): \(Self.maxConnections) control connections open")
                socket.close()
                continue
            }
            let connection = Connection(socket: socket, peer: peer)
            do {
                connection.registration = try reactor.register(socket, interest: .read) { [unowned self, unowned connection] events in
                    self.handle(events, connection)
                }
            } catch {
                socket.close()
                continue
            }
            connections[ObjectIdentifier(connection)] = connection
            logger.debug("control: connection from \(peer)")
        }
    }

    private func handle(_ events: Events, _ connection: Connection) {
        if events.contains(.readable) || events.contains(.hangup) || events.contains(.error) {
            readCommands(connection)
        }
        guard connections[ObjectIdentifier(connection)] != nil else { return }
        if events.contains(.writable) { flush(connection) }
    }

    private func readCommands(_ connection: Connection) {
        while true {
            guard let result = try? Socket.read(connection.socket, into: scratch) else {
                drop(connection)
                return
            }
            switch result {
            case .wouldBlock:
                return
            case .done(0):
                // The operator closed its side; answer what was asked, then close.
                if !connection.input.isEmpty { execute(String(decoding: connection.input, as: UTF8.self), connection) }
                connection.input = []
                connection.closeAfterOutput = true
                flush(connection)
                return
            case .done(let count):
                connection.input.append(contentsOf: scratch[0..<count])
                while let newline = connection.input.firstIndex(of: 0x0A) {
                    let line = String(decoding: connection.input[..<newline], as: UTF8.self)
                    connection.input.removeSubrange(...newline)
                    execute(line, connection)
                }
                if connection.input.count > ControlCommand.maxLineBytes {
                    connection.output += Self.errorLine("command longer than \(ControlCommand.maxLineBytes) bytes")
                    connection.input = []
                    connection.closeAfterOutput = true
                    flush(connection)
                    return
                }
                flush(connection)
                guard connections[ObjectIdentifier(connection)] != nil else { return }
            }
        }
    }

    private func execute(_ line: String, _ connection: Connection) {
        if line.allSatisfy({ $0 == " " || $0 == "\r" || $0 == "\t" }) { return }
        switch ControlCommand.parse(line) {
        case .failure(let error):
            connection.output += Self.errorLine(error.description)
        case .success(let command):
            switch command {
            case .status, .clients, .help: break
            default: logger.notice("control (\(connection.peer)): \(LogText.escaped(line.trimmingWhitespace(\.isWhitespace)))")
            }
            connection.output += respond(command, connection.peer)
        }
    }

    private func flush(_ connection: Connection) {
        while !connection.output.isEmpty {
            switch try? Socket.send(connection.socket, connection.output) {
            case .done(let sent):
                connection.output.removeFirst(sent)
            case .wouldBlock:
                // A reader that stopped reading may hold at most one big reply, not a growing backlog.
                if connection.output.count > 4 << 20 { drop(connection); return }
                if let registration = connection.registration { try? reactor.reregister(registration, interest: [.read, .write]) }
                return
            case nil:
                drop(connection)
                return
            }
        }
        if let registration = connection.registration { try? reactor.reregister(registration, interest: .read) }
        if connection.closeAfterOutput { drop(connection) }
    }

    private func drop(_ connection: Connection) {
        guard connections.removeValue(forKey: ObjectIdentifier(connection)) != nil else { return }
        if let registration = connection.registration { reactor.deregister(registration) }
        connection.socket.close()
    }

    /// `{"error":"…"}` and a newline.
    public static func errorLine(_ message: String) -> [UInt8] {
        jsonLine(ErrorReply(error: message))
    }

    /// Any Encodable as one compact JSON line.
    public static func jsonLine<T: Encodable>(_ value: T) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var bytes = (try? encoder.encode(value)).map { Array($0) } ?? Array("{\"error\":\"encoding failed\"}".utf8)
        bytes.append(0x0A)
        return bytes
    }
}
