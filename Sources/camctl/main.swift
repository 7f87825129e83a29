// camctl: ask a running camd what it is doing, through its control socket (docs in README, "camctl").
#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import CamdSystem
import Control
import Foundation
import Settings

struct Connection: ParsableArguments {
    @Option(help: ArgumentHelp("camd's control socket (control_socket).", valueName: "path"))
    var socket: String = ProcessInfo.processInfo.environment["CAMD_CONTROL_SOCKET"] ?? "/run/camd/control"

    @Flag(help: "Print camd's JSON reply as it is (one object per line), for scripts.")
    var json = false

    /// Sends one command; returns the reply object, or exits with a clear message.
    func send(_ command: String) -> [String: Any] {
        let socket: Descriptor
        do {
            socket = try UnixSocket.connect(path: self.socket)
        } catch {
            switch error.errno {
            case ENOENT, ECONNREFUSED:
                fail("camd is not running (no control socket at \(self.socket)); start it (systemctl start camd) or pass --socket PATH")
            case EACCES, EPERM:
                fail("permission denied: \(self.socket) — run as root, as camd's user, or as a member of its control_group")
            default:
                fail("cannot connect to \(self.socket): \(error.message)")
            }
        }
        defer { socket.close() }
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
        guard let end = reply.firstIndex(of: 0x0A) ?? (reply.isEmpty ? nil : reply.count) else {
            fail("camd closed the control connection without answering")
        }
        let text = String(decoding: reply[..<end], as: UTF8.self)
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else {
            fail("camd's reply is not a JSON object: \(text.prefix(200))")
        }
        if json { print(text) }
        if let error = object["error"] as? String {
            if !json { printError("camctl: \(error)") }
            Glibc.exit(1)
        }
        return object
    }
}

func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

func fail(_ message: String) -> Never {
    printError("camctl: \(message)")
    Glibc.exit(1)
}

/// Fixed-width columns, left-aligned, two spaces apart.
func table(_ header: [String], _ rows: [[String]]) -> String {
    let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
    func line(_ cells: [String]) -> String {
        zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
            .replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
    }
    return ([line(header)] + rows.map(line)).joined(separator: "\n")
}

func text(_ value: Any?) -> String {
    switch value {
    case nil, is NSNull: return "-"
    case let double as Double where double != double.rounded(): return String(format: "%.1f", double)
    case let value?: return "\(value)"
    }
}

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "What camd is doing: source, format, fps, viewers, uptime.")
    @OptionGroup var connection: Connection

    func run() {
        let s = connection.send("status")
        guard !connection.json else { return }
        let uptime = (s["uptime_seconds"] as? Double).map { seconds -> String in
            let t = Int(seconds)
            return t >= 3600 ? "\(t / 3600) h \(t % 3600 / 60) min" : t >= 60 ? "\(t / 60) min \(t % 60) s" : "\(t) s"
        } ?? "-"
        var lines: [[String]] = [
            ["source", "\(text(s["source"])) (\(text(s["source_state"])))"],
            ["format", text(s["source_format"] ?? s["format"])],
            ["picture", "\(text(s["width"]))x\(text(s["height"])) \(text(s["format"]))\((s["placeholder"] as? Bool) == true ? " (NO SIGNAL placeholder)" : "")"],
            ["fps", "\(text(s["fps"])) (target \(text(s["target_fps"])))"],
            ["viewers", "\(text(s["viewers"])) (\(text(s["clients_native"])) native, \(text(s["clients_http"])) http connections)"],
            ["frames", "\(text(s["frames_captured"])) captured, \(text(s["frames_invalid"])) invalid, \(text(s["frames_sent"])) sent, \(text(s["frames_dropped"])) skipped"],
            ["clients", "\(text(s["clients_accepted"])) served, \(text(s["clients_refused"])) refused, \(text(s["clients_timed_out"])) timed out"],
            ["uptime", uptime],
            ["version", text(s["version"])],
        ]
        if let error = s["source_error"] as? String { lines.insert(["last error", "\(error) (retry \(text(s["source_retries"])))"], at: 1) }
        if let note = s["config_status"] as? String { lines.append(["config", note]) }
        print(lines.map { $0[0].padding(toLength: 11, withPad: " ", startingAt: 0) + $0[1] }.joined(separator: "\n"))
    }
}

struct Clients: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The connected viewers.")
    @OptionGroup var connection: Connection

    func run() {
        let reply = connection.send("clients")
        guard !connection.json else { return }
        let clients = reply["clients"] as? [[String: Any]] ?? []
        if clients.isEmpty { print("no viewers connected"); return }
        let rows = clients.map { c -> [String] in
            let mb = (c["bytes_sent"] as? Double ?? 0) / 1e6
            return [text(c["id"]), text(c["peer"]), text(c["protocol"]), (c["streaming"] as? Bool) == true ? "stream" : "request",
                    String(format: "%.0f s", c["connected_seconds"] as? Double ?? 0), text(c["frames_sent"]),
                    text(c["frames_dropped"]), String(format: "%.1f", mb)]
        }
        print(table(["ID", "PEER", "PROTO", "STATE", "CONNECTED", "FRAMES", "SKIPPED", "MB"], rows))
    }
}

struct Kick: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Disconnect one viewer (ids are in camctl clients).")
    @OptionGroup var connection: Connection
    @Argument(help: "The viewer's id.") var id: UInt64

    func run() {
        _ = connection.send("kick \(id)")
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
    @Argument(help: "The new value.") var value: String

    func run() {
        let reply = connection.send("set \(key) \(value)")
        if !connection.json { print("\(text(reply["key"])): \(text(reply["previous"])) → \(text(reply["value"]))") }
    }
}

struct Reload: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Re-read camd's config file (as SIGHUP does); an invalid file changes nothing.")
    @OptionGroup var connection: Connection

    func run() {
        let reply = connection.send("reload")
        guard !connection.json else { return }
        let changes = reply["changes"] as? [String] ?? []
        print(changes.isEmpty ? "reloaded: no changes" : "reloaded:\n" + changes.map { "  " + $0 }.joined(separator: "\n"))
        let later = reply["restart_needed"] as? [String] ?? []
        if !later.isEmpty { print("take effect at the next start: " + later.joined(separator: ", ")) }
    }
}

struct CamCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "camctl",
        abstract: "Ask a running camd what it is doing, and change it.",
        discussion: """
        Talks to camd's control socket (default /run/camd/control, or $CAMD_CONTROL_SOCKET). Root, camd's \
        user and members of its control_group may use it. Exit status 0, or 1 with a message on stderr.
        """,
        subcommands: [Status.self, Clients.self, Kick.self, Set.self, Reload.self],
        defaultSubcommand: Status.self)
}

CamCtl.main()
