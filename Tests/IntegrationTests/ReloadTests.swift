// Reload (SIGHUP and camctl reload) against the real camd: live settings with viewers connected on the
// same sockets, listeners re-bound, capture restarted for a new source, a bad file rejected.
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem
import Foundation
import Locking
import Testing
import TestSupport

/// What one viewer saw: (sequence, width, arrival) per frame, until `seconds` pass or the server closes.
private final class Recorder: @unchecked Sendable {
    let frames = LockedValue<[(sequence: UInt64, width: UInt16, at: UInt64)]>([])
    let error = LockedValue<String?>(nil)
    private var thread: Thread?

    init(port: UInt16, seconds: Double) throws {
        let end = Clock.monotonicNanos() + UInt64(seconds * 1e9)
        let thread = Thread { [self] in
            do {
                let client = try NativeTestClient(port: port)
                defer { client.close() }
                while Clock.monotonicNanos() < end {
                    let frame = try client.readFrame()
                    frames.withLock { $0.append((frame.header.sequence, frame.header.width, Clock.monotonicNanos())) }
                }
            } catch {
                self.error.withLock { $0 = "\(error)" }
            }
        }
        thread.start()
        self.thread = thread
    }

    /// Whether the viewer finished (its time ran out, or the server closed) within `timeout` seconds.
    func waitDone(timeout: Double) -> Bool {
        waitUntil(timeout: timeout, interval: 0.05) { thread?.isFinished != false }
    }

    func count(after start: UInt64, before end: UInt64) -> Int { frames.withLock { $0.filter { $0.at >= start && $0.at < end }.count } }

    /// When the first and the latest frame arrived (monotonic), if any came.
    var span: (first: UInt64, last: UInt64)? { frames.withLock { frames in frames.first.map { ($0.at, frames.last!.at) } } }
}

extension CamdIntegrationTests {
    @Test func reloadAppliesChangesWithViewersConnectedAndABadFileChangesNothing() throws {
        let native = try freePort(), http1 = try freePort(), http2 = try freePort()
        let path = NSTemporaryDirectory() + "reload-\(UUID().uuidString).toml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        func write(_ text: String) throws {
            try ("listen = \"127.0.0.1:\(native)\"\nstats_interval = 0\n" + text).write(toFile: path, atomically: true, encoding: .utf8)
        }
        try write("http_listen = \"127.0.0.1:\(http1)\"\nfps = 30\nwidth = 320\nheight = 240\n")
        let camd = try CamdProcess(["--config", path], listen: false)
        #expect(try camd.waitForLog(containing: "native viewers: tcp://127.0.0.1:\(native)", timeout: 10) != nil, "\(camd.log)")
        let viewer = try Recorder(port: native, seconds: 9)
        // The rate before the reload is counted over the second before it: let a full one pass with frames.
        #expect(waitUntil(timeout: 10) { viewer.span.map { $0.last - $0.first > 1_400_000_000 } ?? false },
                "the viewer received frames for \(viewer.span.map { Double($0.last - $0.first) / 1e9 } ?? 0) s; \(viewer.error.withLock { $0 } ?? "")")

        // fps and the HTTP listener change; the viewer stays on its socket.
        try write("http_listen = \"127.0.0.1:\(http2)\"\nfps = 15\nwidth = 320\nheight = 240\nclient_timeout = 4\n")
        kill(camd.pid, SIGHUP)
        let applied = try #require(try camd.waitForLog(containing: "reload (SIGHUP):", timeout: 3), "\(camd.log)")
        #expect(applied.contains("fps 30 → 15") && applied.contains("client_timeout 10 → 4"), "\(applied)")
        #expect(applied.contains("http listening on 127.0.0.1:\(http2)") && applied.contains("no longer listening on 127.0.0.1:\(http1)"))
        let reloadedAt = Clock.monotonicNanos()
        #expect(try httpExchange(port: http2, "GET /state HTTP/1.1\r\nHost: cam\r\nConnection: close\r\n\r\n").contains("\"target_fps\":15"))
        #expect(throws: (any Error).self, "the old HTTP port is closed") { _ = try NativeTestClient(port: http1) }

        // A bad file is rejected and the running configuration kept.
        try write("http_listen = \"127.0.0.1:\(http2)\"\nfps = \"fast\"\n")
        kill(camd.pid, SIGHUP)
        let rejected = try camd.waitForLog(containing: "reload (SIGHUP) rejected", timeout: 3)
        #expect(rejected?.contains("fps = \"fast\": must be a number") == true, "\(camd.log)")
        #expect(camd.process.isRunning)
        // A TOML syntax slip (which once aborted camd in its TOML library) is rejected the same way, with file,
        // line and column, and camctl reload says so with exit 1.
        try write("http_listen = \"127.0.0.1:\(http2)\"\n[\n")
        let slip = try runCommand(Binaries.path("camctl"), ["reload", "--socket", camd.controlSocket])
        #expect(slip.status == 1 && slip.stderr.contains("TOML syntax: \(path) line 4, column 2: expected a key"), "\(slip)")
        #expect(camd.process.isRunning)
        let status = try runCommand(Binaries.path("camctl"), ["status", "--socket", camd.controlSocket])
        #expect(status.stdout.contains("config     config rejected at") && status.stdout.contains("line 4, column 2"), "\(status)")

        // A new picture size restarts capture only (through camctl reload this time), once the rate after the first
        // reload has been seen for the whole second it is counted over.
        #expect(waitUntil(timeout: 10) { (viewer.span?.last ?? 0) >= reloadedAt + 1_500_000_000 },
                "no frame 1.5 s after the reload; \(viewer.error.withLock { $0 } ?? "")")
        let beforeSizeChange = Clock.monotonicNanos()
        try write("http_listen = \"127.0.0.1:\(http2)\"\nfps = 15\nwidth = 640\nheight = 480\nclient_timeout = 4\n")
        let reload = try runCommand(Binaries.path("camctl"), ["reload", "--socket", camd.controlSocket])
        #expect(reload.status == 0 && reload.stdout.contains("capture restarted: source=testpattern 640x480"), "\(reload)")

        #expect(viewer.waitDone(timeout: 12), "the viewer is still reading")
        #expect(viewer.error.withLock { $0 } == nil, "the viewer was disconnected: \(viewer.error.withLock { $0 } ?? "")")
        let frames = viewer.frames.withLock { $0 }
        // One connection throughout: sequences strictly increase and never skip more than one frame.
        let gaps = zip(frames, frames.dropFirst()).map { $1.sequence - $0.sequence }
        #expect(!gaps.isEmpty && gaps.allSatisfy { $0 >= 1 && $0 <= 2 }, "sequence steps: \(Set(gaps))")
        let longest = zip(frames, frames.dropFirst()).map { Double($1.at - $0.at) / 1e6 }.max() ?? 0
        #expect(longest < 400, "longest pause between frames \(longest) ms")
        // The rate follows fps: ~30 before, ~15 after the reload.
        let before = viewer.count(after: reloadedAt - 1_000_000_000, before: reloadedAt)
        let after = viewer.count(after: reloadedAt + 500_000_000, before: reloadedAt + 1_500_000_000)
        #expect((26...34).contains(before) && (12...18).contains(after), "\(before) frames/s before, \(after) after")
        #expect(frames.first?.width == 320 && frames.last?.width == 640)
        #expect(frames.contains { $0.at > beforeSizeChange && $0.width == 640 })
        #expect(camd.stop() == 0)
    }
}

extension CamdIntegrationTests {
    @Test func aReloadThatNeedsARestartSaysSoUntilTheFileMatchesTheRunningDaemonAgain() throws {
        let path = NSTemporaryDirectory() + "reload-\(UUID().uuidString).toml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "log_level = \"info\"\n".write(toFile: path, atomically: true, encoding: .utf8)
        let notify = try NotifySocket()
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = notify.path
        let camd = try CamdProcess(["--config", path], environment: environment)
        #expect(notify.wait(for: "READY=1", timeout: 10) != nil)

        try "log_level = \"debug\"\n".write(toFile: path, atomically: true, encoding: .utf8)
        let reload = try runCommand(Binaries.path("camctl"), ["reload", "--socket", camd.controlSocket])
        #expect(reload.status == 0 && reload.stdout.contains("take effect at the next start: log_level"), "\(reload)")
        let status = try runCommand(Binaries.path("camctl"), ["status", "--socket", camd.controlSocket])
        #expect(status.stdout.contains("config     reloaded at") && status.stdout.contains("restart needed for log_level"), "\(status)")
        // systemctl status shows the same words (STATUS=, sent with READY=1 after the reload).
        #expect(notify.wait(for: "restart needed for log_level", timeout: 5) != nil, "\(notify.messages.map(\.message))")

        // Back to what the daemon runs: nothing left to say.
        try "log_level = \"info\"\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try runCommand(Binaries.path("camctl"), ["reload", "--socket", camd.controlSocket]).status == 0)
        let after = try runCommand(Binaries.path("camctl"), ["status", "--socket", camd.controlSocket])
        #expect(!after.stdout.contains("config "), "\(after)")
        #expect(camd.stop() == 0)
    }
}
