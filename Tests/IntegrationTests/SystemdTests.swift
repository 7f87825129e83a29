// camd under systemd, with the test acting as systemd: sd_notify messages on a NOTIFY_SOCKET, the
// watchdog, and socket activation through systemd's own systemd-socket-activate.
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem
import Foundation
import Testing
import TestSupport

extension CamdIntegrationTests {
    @Test func camdTellsSystemdReadyStatusWatchdogReloadingAndStopping() throws {
        let camera = try FakeCamera()
        let notify = try NotifySocket()
        let camd = try CamdProcess(["--source", "v4l2:\(camera.device)"],
                                   environment: camera.environment(["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "1000000"]))
        // READY=1 is the first message, once the listeners are bound and the first frame is out.
        let ready = try #require(notify.wait(for: "READY=1", timeout: 5), "\(notify.messages)")
        #expect(ready == 0, "\(notify.messages.map(\.message))")
        #expect(notify.messages[0].message.contains("STATUS=streaming 320x240 MJPEG"), "\(notify.messages[0].message)")
        let viewer = try NativeTestClient(port: camd.port)
        _ = try viewer.readFrame()
        // STATUS follows what camd does: the viewer shows up within a few seconds.
        #expect(notify.wait(for: "1 viewer", timeout: 4) != nil, "\(notify.messages.map(\.message))")

        // Watchdog: WATCHDOG_USEC = 1 s, so a ping every 0.5 s while the capture thread runs.
        let windowStart = Clock.monotonicNanos()
        usleep(2_600_000)
        let pings = notify.messages.filter { $0.message == "WATCHDOG=1" && $0.at >= windowStart }.map(\.at)
        // About every 0.5 s; what systemd needs is that no gap reaches WATCHDOG_USEC, even on a loaded machine.
        #expect((3...7).contains(pings.count), "\(pings.count) pings in 2.6 s")
        for (a, b) in zip(pings, pings.dropFirst()) {
            #expect(b - a >= 400_000_000 && b - a < 1_000_000_000, "pings \(Double(b - a) / 1e6) ms apart")
        }

        // A driver stuck inside DQBUF stalls the capture thread: the pings stop (systemd would restart camd).
        camera.set("hang")
        let hungAt = Clock.monotonicNanos()
        #expect(try camd.waitForLog(containing: "withholding watchdog pings", timeout: 3) != nil, "\(camd.log)")
        usleep(1_500_000)
        let late = notify.messages.filter { $0.message == "WATCHDOG=1" && $0.at > hungAt + 700_000_000 }
        #expect(late.isEmpty, "\(late.count) pings while the capture thread was stuck")
        camera.set("ok")
        let resumedFrom = notify.messages.count
        #expect(notify.wait(for: "WATCHDOG=1", after: resumedFrom, timeout: 3) != nil, "pings resume when capture does")

        // SIGHUP: RELOADING=1, then READY=1 again (here the reload itself fails: camd has no config file).
        let beforeHUP = notify.messages.count
        kill(camd.pid, SIGHUP)
        let reloading = try #require(notify.wait(for: "RELOADING=1", after: beforeHUP, timeout: 3))
        #expect(notify.wait(for: "READY=1", after: reloading + 1, timeout: 3) != nil)

        // SIGTERM: STOPPING=1, exit 0.
        let beforeTERM = notify.messages.count
        #expect(camd.stop() == 0)
        #expect(notify.wait(for: "STOPPING=1", after: beforeTERM, timeout: 2) != nil, "\(notify.messages.map(\.message))")
    }

    @Test(.enabled(if: which("systemd-socket-activate") != nil || ProcessInfo.processInfo.environment["CI"] != nil,
                   "needs systemd-socket-activate (package systemd)"))
    func socketActivationServesAViewerThatConnectedBeforeCamdStarted() throws {
        let native = try freePort(), http = try freePort()
        // systemd-socket-activate listens, and starts camd with both sockets at the first connection.
        let camd = try CamdProcess(["--width", "320", "--height", "240"], listen: false,
                                   wrapper: [which("systemd-socket-activate")!, "-l", "127.0.0.1:\(native)",
                                             "-l", "127.0.0.1:\(http)", "--fdname=native:http"])
        usleep(300_000)
        #expect(!camd.log.contains("native viewers"), "camd must not run before the first connection")
        let viewer = try NativeTestClient(port: native, timeout: 10)
        let frame = try viewer.readFrame()
        #expect(frame.isJPEG && frame.header.width == 320)
        #expect(try camd.waitForLog(containing: "native viewers: tcp://127.0.0.1:\(native) (from systemd)", timeout: 3) != nil, "\(camd.log)")
        #expect(camd.log.contains("http viewers: http://127.0.0.1:\(http)/ (stream: /stream, snapshot: /snapshot, state: /state) (from systemd)"))
        let snapshot = try httpExchange(port: http, "HEAD /snapshot HTTP/1.1\r\nHost: cam\r\nConnection: close\r\n\r\n")
        #expect(snapshot.hasPrefix("HTTP/1.1 200 OK"), "\(snapshot)")
        // It bound nothing of its own (the defaults 0.0.0.0:9999 and :8080 stay free).
        #expect(!camd.log.contains("viewers: tcp://0.0.0.0") && !camd.log.contains("viewers: http://0.0.0.0"))
        #expect(camd.stop() == 0)
    }
}
