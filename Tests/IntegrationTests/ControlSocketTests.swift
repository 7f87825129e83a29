// The control socket and camctl against the real camd: every command, bad commands, kicks, live
// settings, and peers that are not allowed in.
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem
import Foundation
import Testing
import TestSupport

private func camctl(_ arguments: [String], socket: String) throws -> CommandResult {
    try runCommand(Binaries.path("camctl"), arguments + ["--socket", socket], timeout: 15)
}

private func json(_ text: String) throws -> [String: Any] {
    let line = text.split(separator: "\n").first.map(String.init) ?? ""
    return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not JSON: \(text)")
}

/// Frames a viewer receives in `seconds`.
private func framesIn(_ seconds: Double, _ viewer: NativeTestClient) throws -> Int {
    let end = Clock.monotonicNanos() + UInt64(seconds * 1e9)
    var count = 0
    while Clock.monotonicNanos() < end {
        _ = try viewer.readFrame()
        count += 1
    }
    return count
}

extension CamdIntegrationTests {
    @Test func camctlReportsKicksAndChangesSettingsLive() throws {
        let camd = try CamdProcess(["--width", "320", "--height", "240", "--fps", "30"])
        let a = try NativeTestClient(port: camd.port), b = try NativeTestClient(port: camd.port)
        _ = try a.readFrame(); _ = try b.readFrame()

        let status = try camctl(["status"], socket: camd.controlSocket)
        #expect(status.status == 0 && status.stdout.contains("testpattern (streaming)") && status.stdout.contains("320x240"), "\(status)")
        let state = try json(try camctl(["status", "--json"], socket: camd.controlSocket).stdout)
        #expect(state["viewers"] as? Int == 2 && state["clients_native"] as? Int == 2, "\(state)")

        let clients = try json(try camctl(["clients", "--json"], socket: camd.controlSocket).stdout)["clients"] as? [[String: Any]] ?? []
        #expect(clients.count == 2)
        let table = try camctl(["clients"], socket: camd.controlSocket).stdout
        #expect(table.hasPrefix("ID") && table.contains("127.0.0.1:") && table.contains("native"), "\(table)")

        // kick disconnects exactly that viewer.
        let firstID = try #require(clients.first?["id"] as? Int)
        let kicked = try camctl(["kick", "\(firstID)"], socket: camd.controlSocket)
        #expect(kicked.status == 0 && kicked.stdout.contains("kicked viewer \(firstID)"))
        #expect(a.drainUntilClosed(timeout: 3), "the kicked viewer was not disconnected")
        #expect(try framesIn(0.5, b) >= 10, "the other viewer keeps receiving")
        #expect(camd.log.contains("viewer \(firstID) disconnected") && camd.log.contains("kicked by control (pid"))
        #expect(try camctl(["kick", "\(firstID)"], socket: camd.controlSocket).stderr.contains("no client with id \(firstID)"))

        // set fps changes the delivered rate, at once, without reconnecting.
        let set = try camctl(["set", "fps", "10"], socket: camd.controlSocket)
        #expect(set.status == 0 && set.stdout.contains("fps: 30 → 10"), "\(set)")
        // Counted by capture time, so frames still queued in the viewer's socket from before do not count.
        let from = Clock.realtimeNanos() + 300_000_000, to = from + 2_000_000_000
        var slower = 0
        while true {
            let frame = try b.readFrame()
            if frame.header.timestampNanos >= to { break }
            if frame.header.timestampNanos >= from { slower += 1 }
        }
        #expect((18...22).contains(slower), "\(slower) frames captured in 2 s at fps 10")
        #expect(try camctl(["set", "max_clients", "1"], socket: camd.controlSocket).status == 0)
        let refused = try NativeTestClient(port: camd.port)
        #expect(throws: (any Error).self) { try refused.readFrame() }

        // Bad values and bad commands get a clear error and change nothing.
        let bad = try camctl(["set", "quality", "0"], socket: camd.controlSocket)
        #expect(bad.status == 1 && bad.stderr.contains("quality = 0: must be an integer from 1 to 100"), "\(bad)")
        // A negative number is a value for camd to check, not an option for camctl to reject.
        let negative = try camctl(["set", "fps", "-3"], socket: camd.controlSocket)
        #expect(negative.status == 1 && negative.stderr.contains("fps = -3: must be a number from 0.1 to 240"), "\(negative)")
        #expect(try camctl(["set", "source", "v4l2:/dev/video9"], socket: camd.controlSocket).stderr.contains("cannot be set live"))
        if let socat = which("socat") {
            let raw = try runCommand(socat, ["-t", "2", "-", "UNIX-CONNECT:\(camd.controlSocket)"], timeout: 10,
                                     input: "launch rockets\nhelp\nstatus\n")
            let lines = raw.stdout.split(separator: "\n")
            #expect(lines.count == 3, "\(raw)")
            #expect(lines.first?.contains("{\"error\":\"unknown command \\\"launch\\\"") == true, "\(raw.stdout)")
            #expect(lines.dropFirst().first?.contains("\"commands\"") == true)
            #expect(lines.last?.contains("\"target_fps\":10") == true)
        }
        // A command line over 4 KiB is refused and the connection closed; camd carries on.
        let long = try runCommand("/bin/sh", ["-c", "head -c 10000 /dev/zero | tr '\\\\0' x | \(which("socat") ?? "cat") -t 2 - UNIX-CONNECT:\(camd.controlSocket)"])
        #expect(long.stdout.contains("longer than 4096 bytes") || which("socat") == nil, "\(long)")
        #expect(try framesIn(0.5, b) >= 3)
        #expect(camd.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: camd.controlSocket), "the socket file is removed at exit")
        let gone = try camctl(["status"], socket: camd.controlSocket)
        #expect(gone.status == 1 && gone.stderr.contains("camd is not running"), "\(gone)")
    }

    @Test(.enabled(if: getuid() == 0 && which("setpriv") != nil, "needs root and setpriv to act as other users"))
    func theControlSocketLetsInRootTheGroupAndNobodyElse() throws {
        // nogroup (gid 65534) exists on Debian; user nobody's primary group is nogroup.
        let camd = try CamdProcess(["--control-group", "nogroup"])
        // camd logs its viewer listeners (which CamdProcess waits for) before it opens the control socket.
        #expect(try camd.waitForLog(containing: "control socket:", timeout: 10) != nil, "\(camd.log)")
        var st = stat()
        #expect(stat(camd.controlSocket, &st) == 0 && st.st_mode & 0o777 == 0o660 && st.st_gid == 65534)
        // A copy of camctl that any user can run (the build directory may sit under /root).
        let directory = NSTemporaryDirectory() + "camctl-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.copyItem(atPath: Binaries.path("camctl"), toPath: directory + "/camctl")
        func asUser(_ uid: Int, _ gid: Int) throws -> CommandResult {
            try runCommand(which("setpriv")!, ["--reuid=\(uid)", "--regid=\(gid)", "--clear-groups",
                                               directory + "/camctl", "status", "--json", "--socket", camd.controlSocket])
        }
        let member = try asUser(65534, 65534)
        #expect(member.status == 0 && member.stdout.contains("\"source_state\""), "a control_group member: \(member)")
        let stranger = try asUser(4242, 4242)
        #expect(stranger.status == 1 && stranger.stderr.contains("permission denied"), "\(stranger)")
        // Even if the file mode is opened up, camd checks the peer (SO_PEERCRED) itself.
        chmod(camd.controlSocket, 0o666)
        let checked = try asUser(4242, 4242)
        #expect(checked.status == 1 && checked.stdout.contains("permission denied: uid 4242"), "\(checked)")
        #expect(try camd.waitForLog(containing: "control: refused pid", timeout: 2)?.contains("uid 4242 gid 4242") == true)
        #expect(camd.stop() == 0)
    }
}
