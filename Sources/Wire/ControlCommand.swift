// ControlCommand: one line of the control socket's protocol, parsed (sans-IO).

public enum ControlCommand: Equatable, Sendable {
    case status
    case clients
    case kick(id: UInt64)
    /// A live setting: the daemon checks that the key may be set live (its key table says which) and the
    /// value exactly like the config key of the same name.
    case set(key: String, value: String)
    case reload
    case help

    /// A line longer than this is refused (and the connection closed): no client can grow camd's memory.
    public static let maxLineBytes = 4096

    /// The `help` reply: each command and what it does; `settableKeys` are the keys `set` may change.
    public static func usage(settableKeys: [String]) -> [String: String] {
        [
            "status": "what camd is doing: source, format, fps, viewers, uptime",
            "clients": "the connected viewers: id, address, protocol, duration, frames sent and dropped",
            "kick <id>": "disconnect one viewer",
            "set <key> <value>": "change \(settableKeys.joined(separator: ", ")) now (validated like the config file)",
            "reload": "re-read the config file (as SIGHUP does)",
            "help": "this list",
        ]
    }

    /// Parses one command line (without its newline). Errors are the text of the `{"error": …}` reply.
    /// A line holding a control character (other than the tab and CR that separate words) is refused whole: a
    /// command's words reach the log and the reply, where an ESC or a line break must not.
    public static func parse(_ line: String) -> Result<ControlCommand, ControlCommandError> {
        if line.unicodeScalars.contains(where: isControlCharacter) {
            return .failure(ControlCommandError("control characters are not allowed in a command"))
        }
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
        guard let verb = words.first?.lowercased() else { return .failure(ControlCommandError("empty command; try help")) }
        let arguments = Array(words.dropFirst())
        func noArguments(_ command: ControlCommand) -> Result<ControlCommand, ControlCommandError> {
            arguments.isEmpty ? .success(command) : .failure(ControlCommandError("\(verb) takes no arguments"))
        }
        switch verb {
        case "status": return noArguments(.status)
        case "clients": return noArguments(.clients)
        case "reload": return noArguments(.reload)
        case "help": return noArguments(.help)
        case "kick":
            guard arguments.count == 1, let id = UInt64(arguments[0]) else {
                return .failure(ControlCommandError("usage: kick <id> (ids are in the clients list)"))
            }
            return .success(.kick(id: id))
        case "set":
            // Which keys may be set live is the daemon's to say (help lists them), not the parser's.
            guard arguments.count == 2 else {
                return .failure(ControlCommandError("usage: set <key> <value> (help lists the keys)"))
            }
            return .success(.set(key: arguments[0].lowercased(), value: arguments[1]))
        default:
            return .failure(ControlCommandError("unknown command \"\(verb)\"; commands: status, clients, kick, set, reload, help"))
        }
    }

    /// C0 controls but tab and CR, DEL, C1 controls.
    private static func isControlCharacter(_ scalar: Unicode.Scalar) -> Bool {
        (scalar.value < 0x20 && scalar != "\t" && scalar != "\r") || scalar.value == 0x7F || (0x80..<0xA0).contains(scalar.value)
    }
}

public struct ControlCommandError: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
