// Instances: where camd@NAME's control socket and config live, and `camctl instances`, which lists every camd
// on this box — running (a control socket that answers) or not (a config file only).
#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import CamdSystem
import FoundationEssentials
import Settings
import Wire

/// camd.service is the box's default camd (/etc/camd/camd.toml, /run/camd/control); camd@NAME.service reads
/// /etc/camd/NAME.toml and serves /run/camd/NAME.control (systemd/camd@.service sets both).
enum Instance {
    static let defaultSocket = "/run/camd/control"
    /// $CAMD_RUN_DIR and $CAMD_CONFIG_DIR move them (a test, or an install with another SYSCONFDIR).
    static var runDirectory: String { environment("CAMD_RUN_DIR") ?? "/run/camd" }
    static var configDirectory: String { environment("CAMD_CONFIG_DIR") ?? "/etc/camd" }

    static func socket(_ name: String) -> String { runDirectory + "/" + name + ".control" }
    static func config(_ name: String) -> String { configDirectory + "/" + name + ".toml" }

    /// Why `name` cannot be an instance's name, or nil. A name is a file name in /etc/camd and /run/camd and a
    /// systemd instance that needs no escaping: letters, digits, `-`, `_`, `.`, `:`, not starting with `.` or `-`.
    static func problem(with name: String) -> String? {
        let allowed = name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0)
            || ("0"..."9").contains($0) || "-_.:".unicodeScalars.contains($0) }
        guard !name.isEmpty, name.count <= 64, allowed, !name.hasPrefix("."), !name.hasPrefix("-") else {
            return "an instance name is 1-64 letters, digits, '-', '_', '.' or ':' (not first: '.' or '-'), like garage"
        }
        return nil
    }

    static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
    }
}

/// One camd found on the box, as `camctl instances --json` prints it.
struct InstanceEntry: Codable {
    /// nil for camd.service.
    var name: String?
    var unit: String
    /// "running" (its control socket answered), "stopped", or "no access" (it runs, but not for this user).
    var state: String
    var control_socket: String
    var config: String?
    var source: String?
    var source_state: String?
    var viewers: Int?
    /// Why the state is not "running", or why the source is not known.
    var note: String?
}

struct InstancesReply: Codable {
    var instances: [InstanceEntry]
}

struct Instances: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the camd instances on this box: running ones with their source and viewers, stopped ones with their config.",
        discussion: """
        camd.service is listed as (default); camd@NAME.service as NAME, found by its control socket \
        /run/camd/NAME.control (running) or its config /etc/camd/NAME.toml (not running). $CAMD_RUN_DIR and \
        $CAMD_CONFIG_DIR replace /run/camd and /etc/camd.
        """)

    @Flag(help: "Print one JSON object {\"instances\": [...]}, for scripts.")
    var json = false

    func run() {
        let entries = Self.find().map(Self.describe)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            guard let data = try? encoder.encode(InstancesReply(instances: entries)) else { fail("cannot encode the listing") }
            print(String(decoding: data, as: UTF8.self))
            return
        }
        if entries.isEmpty {
            print("no camd here: no control socket in \(Instance.runDirectory), no config in \(Instance.configDirectory)")
            return
        }
        // A NOTE column only when something needs one.
        let notes = entries.contains { $0.note != nil }
        let rows = entries.map { e -> [String] in
            let source = e.source.map { s in e.source_state.map { "\(s) (\($0))" } ?? s } ?? "-"
            return [e.name ?? "(default)", e.unit, e.state, source, e.viewers.map { "\($0)" } ?? "-",
                    e.config ?? "-"] + (notes ? [e.note ?? ""] : [])
        }
        print(table(["NAME", "UNIT", "STATE", "SOURCE", "VIEWERS", "CONFIG"] + (notes ? ["NOTE"] : []), rows))
    }

    /// (name, socket if present, config if present), the default camd first, then by name.
    static func find() -> [(name: String?, socket: String?, config: String?)] {
        var sockets: [String: String] = [:], configs: [String: String] = [:]
        let run = Instance.runDirectory, etc = Instance.configDirectory
        for file in list(run) where isSocket(run + "/" + file) {
            if file == "control" { sockets[""] = run + "/control" }
            else if file.hasSuffix(".control") { sockets[String(file.dropLast(8))] = run + "/" + file }
        }
        for file in list(etc) where file.hasSuffix(".toml") {
            let name = String(file.dropLast(5))
            configs[name == "camd" ? "" : name] = etc + "/" + file
        }
        let names = Swift.Set(sockets.keys).union(configs.keys).filter { $0.isEmpty || Instance.problem(with: $0) == nil }
        return names.sorted().map { ($0.isEmpty ? nil : $0, sockets[$0], configs[$0]) }
    }

    /// The names in `directory`; none if it does not exist. Unreadable (a user outside group camd): camctl says so.
    static func list(_ directory: String) -> [String] {
        do {
            return try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            if access(directory, F_OK) != 0 { return [] }
            fail("cannot read \(directory): permission denied — run as root or as a member of group camd")
        }
    }

    static func isSocket(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFSOCK
    }

    static func describe(_ found: (name: String?, socket: String?, config: String?)) -> InstanceEntry {
        let socket = found.socket ?? found.name.map(Instance.socket) ?? Instance.defaultSocket
        var entry = InstanceEntry(name: found.name, unit: found.name.map { "camd@\($0).service" } ?? "camd.service",
                                  state: "stopped", control_socket: socket, config: found.config)
        if found.socket != nil {
            do {
                let connection = try UnixSocket.connect(path: socket)
                defer { connection.close() }
                let line = (exchange("status", on: connection) ?? []).prefix { $0 != 0x0A }
                if let status = try? JSONDecoder().decode(StatusReply.self, from: Data(line)) {
                    entry.state = "running"
                    entry.source = status.source
                    entry.source_state = status.source_state
                    entry.viewers = status.viewers
                    return entry
                }
                entry.state = "no access"
                entry.note = (try? JSONDecoder().decode(ErrorReply.self, from: Data(line)))?.error ?? "no answer to status"
                return entry
            } catch {
                switch error.errno {
                case ECONNREFUSED: entry.note = "stale control socket: camd ended without removing it"
                case EACCES, EPERM:
                    entry.state = "no access"
                    entry.note = "permission denied: run as root or as a member of its control_group"
                    return entry
                default: entry.note = error.message
                }
            }
        }
        // Not running: what it would stream, from its config.
        if let config = found.config {
            do {
                entry.source = "\(try ConfigLoader.load(path: config).source)"
            } catch {
                entry.note = entry.note ?? "\(error)"
            }
        }
        return entry
    }
}
