// camctl: ask a running camd what it is doing, through its control socket (docs in README, "camctl").
#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import CamdSystem
import FoundationEssentials
import Settings
import Wire

struct Connection: ParsableArguments {
    @Option(help: ArgumentHelp("camd's control socket (control_socket). Default: $CAMD_CONTROL_SOCKET, else the instance's, else /run/camd/control.", valueName: "path"))
    var socket: String?

    // Completes the names of instances that run or are configured.
    @Option(help: ArgumentHelp("Talk to camd@NAME.service, at /run/camd/NAME.control. Default: $CAMD_INSTANCE; camctl instances lists them.", valueName: "name"),
            completion: .shellCommand("ls /run/camd /etc/camd 2>/dev/null | sed -n 's/\\.\\(control\\|toml\\)$//p' | grep -vx camd | sort -u"))
    var instance: String?

    @Flag(help: "Print camd's JSON reply as it is (one object per line), for scripts.")
    var json = false

    func validate() throws {
        if socket != nil && instance != nil { throw ValidationError("--socket and --instance name two ways to the same thing: give one") }
        if let instance, let problem = Instance.problem(with: instance) { throw ValidationError("--instance \(instance): \(problem)") }
    }

    /// The instance talked to: --instance, else $CAMD_INSTANCE unless a socket path was given.
    var instanceName: String? {
        if let instance { return instance }
        if socket != nil || Instance.environment("CAMD_CONTROL_SOCKET") != nil { return nil }
        return Instance.environment("CAMD_INSTANCE")
    }

    /// --socket, --instance, $CAMD_CONTROL_SOCKET, $CAMD_INSTANCE, the default camd's: the first given wins.
    var path: String {
        if let socket { return socket }
        if let name = instanceName {
            if let problem = Instance.problem(with: name) { fail("CAMD_INSTANCE=\(name): \(problem)") }
            return Instance.socket(name)
        }
        return Instance.environment("CAMD_CONTROL_SOCKET") ?? Instance.defaultSocket
    }

    /// Sends one command and decodes camd's reply as `Reply`, or exits with a clear message (an `{"error": …}`
    /// reply is printed and exits 1).
    func send<Reply: Decodable>(_ command: String, expecting: Reply.Type) -> Reply {
        let path = self.path
        let socket: Descriptor
        do {
            socket = try UnixSocket.connect(path: path)
        } catch {
            switch error.errno {
            case ENOENT, ECONNREFUSED:
                let unit = instanceName.map { "camd@\($0)" } ?? "camd"
                fail("camd is not running (no control socket at \(path)); start it (systemctl start \(unit)) or pass --socket PATH")
            case EACCES, EPERM:
                fail("permission denied: \(path) — run as root, as camd's user, or as a member of its control_group")
            default:
                fail("cannot connect to \(path): \(error.message)")
            }
        }
        defer { socket.close() }
        guard let reply = exchange(command, on: socket) else {
            fail("camd closed the control connection without answering")
        }
        let end = reply.firstIndex(of: 0x0A) ?? reply.count
        let line = Data(reply[..<end])
        if json { print(String(decoding: line, as: UTF8.self)) }
        let decoder = JSONDecoder()
        if let error = try? decoder.decode(ErrorReply.self, from: line) {
            if !json { printError("camctl: \(error.error)") }
            Glibc.exit(1)
        }
        do {
            return try decoder.decode(Reply.self, from: line)
        } catch {
            fail("camd's reply is not what \(command.split(separator: " ").first ?? "") answers: \(String(decoding: line.prefix(200), as: UTF8.self))")
        }
    }
}

/// Sends one command line on a connected control socket and reads camd's reply until it closes (or 10 s
/// pass); nil when nothing came back.
func exchange(_ command: String, on socket: Descriptor) -> [UInt8]? {
    // A failed send shows as no reply below.
    try? Socket.sendAll(socket, Array((command + "\n").utf8))
    try? Socket.shutdownWrite(socket)
    try? Socket.setReceiveTimeout(socket, seconds: 10)
    var reply: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    // Until camd closes, or the timeout (a would-block) or an error ends the wait.
    while case .done(let count)? = try? Socket.read(socket, into: &buffer), count > 0 {
        reply += buffer[0..<count]
    }
    return reply.isEmpty ? nil : reply
}

func printError(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { bytes in _ = Glibc.write(2, bytes.baseAddress, bytes.count) }
}

func fail(_ message: String) -> Never {
    printError("camctl: \(message)")
    Glibc.exit(1)
}

extension String {
    /// Left-aligned in `width` characters: spaces added, or cut to that width.
    func padded(to width: Int) -> String {
        count >= width ? String(prefix(width)) : self + String(repeating: " ", count: width - count)
    }
}

/// Fixed-width columns, left-aligned, two spaces apart.
func table(_ header: [String], _ rows: [[String]]) -> String {
    let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
    func line(_ cells: [String]) -> String {
        let text = zip(cells, widths).map { $0.padded(to: $1) }.joined(separator: "  ")
        return String(text.reversed().drop(while: { $0 == " " }).reversed())
    }
    return ([line(header)] + rows.map(line)).joined(separator: "\n")
}

/// A number as camctl shows it: whole numbers bare ("30"), others with one decimal ("29.9").
func number(_ value: Double) -> String { Format.fixed(value, 1, bareWhole: true) }

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "What camd is doing: source, format, fps, viewers, uptime.")
    @OptionGroup var connection: Connection

    func run() {
        let s = connection.send("status", expecting: StatusReply.self)
        guard !connection.json else { return }
        let uptime: String = {
            let t = Int(s.uptime_seconds)
            return t >= 3600 ? "\(t / 3600) h \(t % 3600 / 60) min" : t >= 60 ? "\(t / 60) min \(t % 60) s" : "\(t) s"
        }()
        var lines: [[String]] = [
            ["source", "\(s.source) (\(s.source_state))"],
            ["format", s.source_format ?? s.format],
            ["picture", "\(s.width)x\(s.height) \(s.format)\(s.placeholder ? " (NO SIGNAL placeholder)" : "")"],
            ["fps", s.drop_same_frames > 0 ? "\(number(s.fps)) sent, \(number(s.capture_fps)) captured (target \(number(s.target_fps)); drop_same_frames \(s.drop_same_frames))"
                                           : "\(number(s.fps)) (target \(number(s.target_fps)))"],
            ["viewers", "\(s.viewers) (\(s.clients_native) native, \(s.clients_http) http\(s.clients_rtsp.map { ", \($0) rtsp" } ?? "") connections)"],
            ["frames", "\(s.frames_captured) captured, \(s.frames_invalid) invalid, \(s.frames_sent) sent, \(s.frames_dropped) skipped"
                + (s.frames_unchanged > 0 ? ", \(s.frames_unchanged) unchanged (not published)" : "")],
            ["clients", "\(s.clients_accepted) served, \(s.clients_refused) refused, \(s.clients_timed_out) timed out"],
            ["uptime", uptime],
            ["version", s.version],
        ]
        if let idle = s.idle_seconds {
            lines.insert(["idle", "for \(Format.fixed(idle, 0)) s: no viewer, no frames made (camera: \(s.idle_camera))"], at: 1)
        }
        if s.pictures_paused == true {
            lines.insert(["pictures", "paused: only RTSP H.264 viewers, the camera's H.264 goes to them undecoded (no JPEG made)"], at: 1)
        }
        if let timings = s.dv_timings { lines.insert(["hdmi", "\(timings) (the source's timings set size and rate)"], at: 2) }
        if let error = s.source_error { lines.insert(["last error", "\(error) (retry \(s.source_retries))"], at: 1) }
        if let note = s.config_status { lines.append(["config", note]) }
        print(lines.map { $0[0].padded(to: 11) + $0[1] }.joined(separator: "\n"))
    }
}

struct Clients: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The connected viewers.")
    @OptionGroup var connection: Connection

    func run() {
        let clients = connection.send("clients", expecting: ClientsReply.self).clients
        guard !connection.json else { return }
        if clients.isEmpty { print("no viewers connected"); return }
        let rows = clients.map { c -> [String] in
            ["\(c.id)", c.via.map { "\(c.peer) via \($0)" } ?? c.peer, c.protocol, c.streaming ? "stream" : "request", Format.fixed(c.connected_seconds, 0) + " s",
             "\(c.frames_sent)", "\(c.frames_dropped)", Format.fixed(Double(c.bytes_sent) / 1e6, 1)]
        }
        print(table(["ID", "PEER", "PROTO", "STATE", "CONNECTED", "FRAMES", "SKIPPED", "MB"], rows))
    }
}

struct Kick: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Disconnect one viewer (ids are in camctl clients).")
    @OptionGroup var connection: Connection
    @Argument(help: "The viewer's id.") var id: UInt64

    func run() {
        _ = connection.send("kick \(id)", expecting: KickReply.self)
        if !connection.json { print("kicked viewer \(id)") }
    }
}

struct Set: ParsableCommand {
    /// The keys camd can change live, from the key table.
    static let keys = ConfigKey.settableLive.map(\.name).joined(separator: ", ")
    static let configuration = CommandConfiguration(
        abstract: "Change a setting now: \(keys).",
        discussion: "Checked like the config file's key of the same name. The config file is not changed: a reload or restart goes back to it.")
    @OptionGroup var connection: Connection
    @Argument(help: ArgumentHelp("One of \(keys).")) var key: String
    // A negative number is a value to check ("fps must be …"), not an option.
    @Argument(parsing: .allUnrecognized, help: ArgumentHelp("The new value.", valueName: "value")) var values: [String]
    var value: String { values.joined(separator: " ") }

    func validate() throws {
        guard !values.isEmpty else { throw ValidationError("Missing expected argument '<value>'") }
    }

    func run() {
        let reply = connection.send("set \(key) \(value)", expecting: SetReply.self)
        if !connection.json { print("\(reply.key): \(reply.previous) → \(reply.value)") }
    }
}

struct Reload: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Re-read camd's config file (as SIGHUP does); an invalid file changes nothing.")
    @OptionGroup var connection: Connection

    func run() {
        let reply = connection.send("reload", expecting: ChangeReply.self)
        guard !connection.json else { return }
        let changes = reply.changes
        print(changes.isEmpty ? "reloaded: no changes" : "reloaded:\n" + changes.map { "  " + $0 }.joined(separator: "\n"))
        let later = reply.restart_needed
        if !later.isEmpty { print("take effect at the next start: " + later.joined(separator: ", ")) }
    }
}

struct CamCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "camctl",
        abstract: "Ask a running camd what it is doing, and change it.",
        discussion: """
        Talks to camd's control socket (default /run/camd/control, or $CAMD_CONTROL_SOCKET); with --instance NAME \
        (or $CAMD_INSTANCE) to camd@NAME.service's, /run/camd/NAME.control. Root, camd's user and members of \
        its control_group may use it. Exit status 0, or 1 with a message on stderr.
        """,
        subcommands: [Status.self, Clients.self, Kick.self, Set.self, Reload.self, Instances.self],
        defaultSubcommand: Status.self)
}

/// `camctl --instance garage status` as well as `camctl status --instance garage`: the options that pick a camd
/// may come before the subcommand, as in systemctl's and journalctl's habit. ArgumentParser reads a subcommand's
/// options only after its name, so they are moved there.
func subcommandFirst(_ arguments: [String]) -> [String] {
    var leading: [String] = []
    var rest = arguments[...]
    while let first = rest.first {
        if (first == "--instance" || first == "--socket") && rest.count >= 2 {
            leading += rest.prefix(2)
            rest = rest.dropFirst(2)
        } else if first.hasPrefix("--instance=") || first.hasPrefix("--socket=") || first == "--json" {
            leading.append(first)
            rest = rest.dropFirst()
        } else {
            break
        }
    }
    guard !leading.isEmpty, let name = rest.first,
          CamCtl.configuration.subcommands.contains(where: { $0._commandName == name }) else { return arguments }
    return [name] + leading + rest.dropFirst()
}

CamCtl.main(subcommandFirst(Array(CommandLine.arguments.dropFirst())))
