// Several camds on one box: camctl --instance / $CAMD_INSTANCE reach each by name, camctl instances lists
// running, stopped and crashed ones, and a second camd on a taken port says which key to change.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import TestSupport

/// A box's layout in a scratch directory: run/ stands for /run/camd, etc/ for /etc/camd.
private struct Box {
    let root = NSTemporaryDirectory() + "camd-box-\(UUID().uuidString.prefix(8))"
    var run: String { root + "/run" }
    var etc: String { root + "/etc" }

    init() throws {
        try FileManager.default.createDirectory(atPath: root + "/run", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/etc", withIntermediateDirectories: true)
    }

    /// camd as camd@NAME.service starts it: its config file and its socket by name.
    func start(_ name: String, config: String) throws -> CamdProcess {
        try Data(config.utf8).write(to: URL(fileURLWithPath: "\(etc)/\(name).toml"))
        return try CamdProcess(["--config", "\(etc)/\(name).toml", "--control-socket", "\(run)/\(name).control"])
    }

    func camctl(_ arguments: [String], instance: String? = nil) throws -> CommandResult {
        var environment = ProcessInfo.processInfo.environment
        environment["CAMD_RUN_DIR"] = run
        environment["CAMD_CONFIG_DIR"] = etc
        environment["CAMD_CONTROL_SOCKET"] = nil
        environment["CAMD_INSTANCE"] = instance
        return try runCommand(Binaries.path("camctl"), arguments, timeout: 15, environment: environment)
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }
}

/// The line of `table` whose first column is `name`, split into its columns (two or more spaces apart).
private func row(_ name: String, in table: String) -> [String]? {
    table.split(separator: "\n").map(String.init).first { $0.hasPrefix(name + " ") }.map {
        $0.components(separatedBy: "  ").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}

extension CamdIntegrationTests {
    @Test func camctlReachesEachInstanceByNameAndListsThemAll() throws {
        let box = try Box()
        defer { box.remove() }
        let a = try box.start("a", config: "fps = 5\nwidth = 320\nheight = 240\n")
        let b = try box.start("b", config: "fps = 7\nwidth = 160\nheight = 120\n")
        // Configured but never started; its source is only what the file says.
        try Data("source = \"v4l2:/dev/video7\"\n".utf8).write(to: URL(fileURLWithPath: box.etc + "/c.toml"))

        let statusA = try box.camctl(["status", "--instance", "a"])
        #expect(statusA.status == 0 && statusA.stdout.contains("(target 5)") && statusA.stdout.contains("320x240"), "\(statusA)")
        let statusB = try box.camctl(["status"], instance: "b")
        #expect(statusB.status == 0 && statusB.stdout.contains("(target 7)") && statusB.stdout.contains("160x120"), "\(statusB)")
        // Before the subcommand too (systemctl's habit), and with the default subcommand, status.
        #expect(try box.camctl(["--instance", "a", "status"]).stdout.contains("(target 5)"))
        #expect(try box.camctl(["--instance", "b"]).stdout.contains("(target 7)"))
        // --instance beats $CAMD_INSTANCE; --socket and --instance together are refused; a name is no path.
        #expect(try box.camctl(["status", "--instance", "a"], instance: "b").stdout.contains("(target 5)"))
        let both = try box.camctl(["status", "--instance", "a", "--socket", box.run + "/b.control"])
        #expect(both.status != 0 && both.stderr.contains("give one"), "\(both)")
        let path = try box.camctl(["status", "--instance", "../b"])
        #expect(path.status != 0 && path.stderr.contains("an instance name is"), "\(path)")

        // A viewer on b, so the listing's counts are b's own.
        let viewer = try NativeTestClient(port: b.port)
        _ = try viewer.readFrame()
        let listing = try box.camctl(["instances"])
        #expect(listing.status == 0, "\(listing)")
        #expect(row("a", in: listing.stdout)?.prefix(5) == ["a", "camd@a.service", "running", "testpattern (streaming)", "0"], "\(listing.stdout)")
        #expect(row("b", in: listing.stdout)?.prefix(5) == ["b", "camd@b.service", "running", "testpattern (streaming)", "1"], "\(listing.stdout)")
        #expect(row("c", in: listing.stdout)?.prefix(4) == ["c", "camd@c.service", "stopped", "v4l2:/dev/video7"], "\(listing.stdout)")
        #expect(!listing.stdout.contains("(default)"), "no camd.toml, no control: no default camd\n\(listing.stdout)")

        // Killed (no chance to remove its socket): listed as stopped, and camctl says how to start it.
        a.terminate()
        let afterKill = try box.camctl(["instances", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(afterKill.stdout.utf8)) as? [String: Any], "\(afterKill)")
        let entries = try #require(object["instances"] as? [[String: Any]])
        #expect(entries.map { $0["name"] as? String } == ["a", "b", "c"])
        #expect(entries[0]["state"] as? String == "stopped" && (entries[0]["note"] as? String ?? "").contains("stale"), "\(entries[0])")
        #expect(entries[1]["state"] as? String == "running" && entries[1]["viewers"] as? Int == 1, "\(entries[1])")
        let gone = try box.camctl(["status", "--instance", "a"])
        #expect(gone.status == 1 && gone.stderr.contains("camd is not running") && gone.stderr.contains("systemctl start camd@a"), "\(gone)")
        viewer.close()
        b.terminate()
    }

    @Test func aSecondCamdOnATakenPortNamesTheKey() throws {
        let first = try CamdProcess([])
        for (flag, port, key) in [("--http-listen", first.httpPort, "http_listen"), ("--listen", first.port, "listen")] {
            var arguments = ["--control-socket", NSTemporaryDirectory() + "camd-control-\(UUID().uuidString.prefix(8))"]
            arguments += flag == "--listen" ? ["--listen", "127.0.0.1:\(port)", "--http-listen", "127.0.0.1:0"]
                                            : ["--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:\(port)"]
            let second = try CamdProcess(arguments, listen: false)
            let status = second.waitForExit(timeout: 20)
            let log = second.log
            #expect(status != nil && status != 0, "\(log)")
            #expect(log.contains("\(key) = 127.0.0.1:\(port)") && log.contains("in use"), "\(log)")
        }
    }
}
