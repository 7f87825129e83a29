// DaemonControl: the daemon's answers to control-socket commands (status, clients, kick, set, reload, help).
#if canImport(Glibc)
import Glibc
#endif
import Capture
import CamdSystem
import Control
import Logging
import Settings
import Streaming
import Wire

extension Daemon {
    /// One reply line for one control command.
    func answer(_ command: ControlCommand, from peer: PeerCredentials) -> [UInt8] {
        switch command {
        case .status:
            return stateJSON() + [0x0A]
        case .clients:
            let rows = server.clients.map {
                ClientRow(id: $0.id, peer: $0.peer, protocol: $0.proto.rawValue, streaming: $0.isViewer,
                          connected_seconds: (Double($0.connectedNanos / 1_000_000) / 1000), frames_sent: $0.framesSent,
                          frames_dropped: $0.framesDropped, bytes_sent: $0.bytesSent, via: $0.via)
            }
            return ControlServer.jsonLine(ClientsReply(clients: rows))
        case .kick(let id):
            guard server.kick(id, reason: "kicked by control (\(peer))") else {
                return ControlServer.errorLine("no client with id \(id) (see clients)")
            }
            return ControlServer.jsonLine(KickReply(kicked: id))
        case .set(let name, let value):
            guard let key = ConfigKey.named(name), key.isSettableLive else {
                return ControlServer.errorLine(ConfigKey.notSettableLive(name))
            }
            var candidate = config
            do throws(ConfigError) {
                try candidate.set(name, ConfigValue(flag: value))
                try candidate.validate()
            } catch {
                return ControlServer.errorLine("\(error)")
            }
            let previous = key.value(in: config)
            switch apply(candidate) {
            case .success:
                logger.notice("control: \(name) set to \(LogText.escaped(value)) (was \(previous))", metadata: ["camd_event": "set", "camd_key": "\(name)"])
                return ControlServer.jsonLine(SetReply(key: name, value: key.value(in: config), previous: previous))
            case .failure(let error):
                return ControlServer.errorLine(error.description)
            }
        case .reload:
            switch reload(trigger: "control socket") {
            case .success(let outcome): return ControlServer.jsonLine(ChangeReply(changes: outcome.changes, restart_needed: outcome.restartNeeded))
            case .failure(let error): return ControlServer.errorLine(error.description)
            }
        case .help:
            return ControlServer.jsonLine(HelpReply(commands: ControlCommand.usage(settableKeys: ConfigKey.settableLive.map(\.name))))
        }
    }
}
