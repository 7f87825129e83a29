// ControlFuzz: a control-socket client's bytes, cut into lines as ControlServer cuts them, each parsed as a command.
import Wire

enum ControlFuzz {
    static func check(_ bytes: [UInt8]) throws(FuzzFailure) {
        for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) where line.count <= ControlCommand.maxLineBytes {
            let text = String(decoding: line, as: UTF8.self)
            switch ControlCommand.parse(text) {
            case .failure(let error):
                // The text of the {"error": …} reply, and what camctl prints.
                try require(!error.description.isEmpty && !hasControlCharacter(error.description), "control-error-control-character",
                            error.description.debugDescription)
            case .success(let command):
                // A command's words reach the log ("control (PEER): set fps 30"), /state and the reply.
                if case .set(let key, let value) = command {
                    try require(!hasControlCharacter(key) && !hasControlCharacter(value), "control-command-control-character",
                                "\(command) from \(shown(line))")
                }
                // Written back as an operator would type it, the command parses to itself. Tabs between the words:
                // a space followed by a combining mark is one Character, not a separator (found by this target).
                let again = ControlCommand.parse(written(command))
                try require(again == .success(command), "control-round-trip", "\(command) written as \(written(command).debugDescription) parses as \(again)")
            }
        }
    }

    static func written(_ command: ControlCommand) -> String {
        switch command {
        case .status: "status"
        case .clients: "clients"
        case .reload: "reload"
        case .help: "help"
        case .kick(let id): "kick\t\(id)"
        case .set(let key, let value): "set\t\(key)\t\(value)"
        }
    }
}
