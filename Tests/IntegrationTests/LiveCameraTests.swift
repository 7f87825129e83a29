// Routine operations on a live camera (the fake UVC camera, which refuses a second owner of its queue as
// uvcvideo and vivid do): camctl set and reloads of every camera key, a hundred times in a row, with a viewer
// connected; another program holding the camera named; permission problems explained from the node's mode.
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem
import Foundation
import Testing
import TestSupport

/// The camera keys a reload can change, written as a config file.
private struct CameraConfig {
    var format = "yuyv"
    var width = 320
    var height = 240
    var fps = 30
    var buffers = 4
    var brightness = 100

    func text(device: String, native: UInt16) -> String {
        """
        source = "v4l2:\(device)"
        listen = "127.0.0.1:\(native)"
        http_listen = []
        stats_interval = 0
        device_retry_max = 0.5
        format = "\(format)"
        width = \(width)
        height = \(height)
        fps = \(fps)
        buffers = \(buffers)
        controls = { brightness = \(brightness) }

        """
    }

    /// What the fake camera delivers for this configuration (its MJPEG frames are always the test JPEG's size).
    var expectedWidth: UInt16 { format == "mjpeg" ? 320 : UInt16(width) }
}

private func openDescriptors(_ pid: Int32) -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
}

extension CamdIntegrationTests {
    @Test func aLiveCameraTakesAHundredReconfigurationsWithoutLosingItsViewerOrADescriptor() throws {
        let camera = try FakeCamera()
        let native = try freePort()
        let path = camera.directory + "/camd.toml"
        var config = CameraConfig()
        func write() throws {
            try config.text(device: camera.device, native: native).write(toFile: path, atomically: true, encoding: .utf8)
        }
        try write()
        let camd = try CamdProcess(["--config", path], listen: false, environment: camera.environment())
        let control = camd.controlSocket
        #expect(try camd.waitForLog(containing: "opened camera", timeout: 10) != nil, "\(camd.log)")
        let viewer = try NativeTestClient(port: native, timeout: 15)
        defer { viewer.close() }
        var last = try viewer.readFrame().header.sequence

        /// The camera has been opened `opens` times: a restart has really reopened it (a frame still in flight from
        /// before a restart must not count as the restarted camera's, or the next step would stop a capture that
        /// never reached its open). Then the viewer, still on its first socket, gets live (not NO SIGNAL) frames of
        /// the expected width.
        func streamsLive(_ step: String, opens: Int) throws {
            let deadline = Clock.monotonicNanos() + 15_000_000_000
            // Frames are read while waiting, so the viewer keeps up and is never dropped as too slow.
            var opened = false
            while true {
                if !opened { opened = camera.requests.split(separator: "\n").filter { $0.hasPrefix("OPEN") }.count >= opens }
                let frame = try viewer.readFrame()
                #expect(frame.header.sequence > last, "sequences continue (\(step))")
                last = frame.header.sequence
                if opened && !frame.header.isPlaceholder && frame.header.width == config.expectedWidth { return }
                if Clock.monotonicNanos() > deadline {
                    Issue.record("opened \(opened ? "" : "fewer than ")\(opens) times; no live \(config.expectedWidth)-wide frame after \(step):\n\(camd.log.suffix(2000))")
                    return
                }
            }
        }
        try streamsLive("start", opens: 1)
        let baseline = openDescriptors(camd.pid)

        for step in 0..<100 {
            let what: String
            switch step % 5 {
            case 0:
                config.fps = config.fps == 30 ? 15 : 30
                what = "camctl set fps \(config.fps)"
                let set = try runCommand(Binaries.path("camctl"), ["set", "fps", "\(config.fps)", "--socket", control])
                #expect(set.status == 0, "\(what): \(set)")
                try write()  // so that the next reload keeps it
            case 1:
                (config.width, config.height) = config.width == 320 ? (640, 480) : (320, 240)
                what = "reload size \(config.width)x\(config.height)"
            case 2:
                config.format = config.format == "yuyv" ? "mjpeg" : "yuyv"
                what = "reload format \(config.format)"
            case 3:
                config.buffers = config.buffers == 4 ? 3 : 4
                what = "reload buffers \(config.buffers)"
            default:
                config.brightness = config.brightness == 100 ? 120 : 100
                what = "reload controls brightness \(config.brightness)"
            }
            if step % 5 != 0 {
                try write()
                let reload = try runCommand(Binaries.path("camctl"), ["reload", "--socket", control])
                #expect(reload.status == 0 && reload.stdout.contains("capture restarted"), "step \(step), \(what): \(reload)")
            }
            try streamsLive("step \(step): \(what)", opens: step + 2)
        }

        #expect(openDescriptors(camd.pid) == baseline, "descriptors after 100 reconfigurations")
        let log = camd.log
        #expect(!log.contains("busy") && !log.contains("unavailable") && !log.contains("disconnected"), "\(log.suffix(3000))")
        // The fake never saw two handles at once: each reopen came after the close.
        let opens = camera.requests.split(separator: "\n").filter { $0.hasPrefix("OPEN") }
        #expect(opens.count == 101 && opens.allSatisfy { $0.hasSuffix("(1 open)") }, "\(opens.count) opens: \(opens.filter { !$0.hasSuffix("(1 open)") })\n\(camd.log.suffix(1500))")
        #expect(camera.requests.contains("S_CTRL 9963776 120"), "controls were applied on reopen")
        #expect(camd.stop() == 0)
    }

    @Test func anotherProgramHoldingTheCameraIsNamedAndCamdStreamsOnceItLetsGo() throws {
        let camera = try FakeCamera()
        // A device node that exists, so that the holder shows in /proc; the fake locks it like a queue owner.
        let node = try camera.makeNode()
        let holder = Process()
        // One process that opens the node and locks it as the fake's queue owner does (flock(1) would leave a child).
        holder.executableURL = URL(fileURLWithPath: try #require(which("python3")))
        holder.arguments = ["-c", "import fcntl, sys, time; f = open(sys.argv[1]); fcntl.flock(f, fcntl.LOCK_EX); "
                            + "print('locked', flush=True); time.sleep(60)", node]
        let said = Pipe()
        holder.standardOutput = said
        try holder.run()
        defer { if holder.isRunning { kill(holder.processIdentifier, SIGKILL) } }
        // Start camd only once the lock is held (the read returns when the holder says so, or when it dies).
        #expect(String(decoding: said.fileHandleForReading.availableData, as: UTF8.self).hasPrefix("locked"))

        let camd = try CamdProcess(["--source", "v4l2:\(node)", "--device-retry-max", "0.5"],
                                   environment: camera.environment(["FAKE_V4L2_DEVICE": node]))
        let busy = try #require(try camd.waitForLog(containing: "unavailable", timeout: 10), "\(camd.log)")
        #expect(busy.contains("VIDIOC_S_FMT: device busy: the camera is in use by python3 (pid \(holder.processIdentifier))"), "\(busy)")
        let viewer = try NativeTestClient(port: camd.port)
        defer { viewer.close() }
        #expect(try viewer.readFrame().header.isPlaceholder, "NO SIGNAL while the other program has it")
        let state = try httpExchange(port: camd.httpPort, "GET /state HTTP/1.0\r\n\r\n")
        #expect(state.contains("in use by python3"), "\(state)")

        // A second open may still query the camera, and says the same as the status line.
        let listing = try runCommand(Binaries.path("camd"), ["--list-formats", node], environment: camera.environment(["FAKE_V4L2_DEVICE": node]))
        #expect(listing.status == 0 && listing.stdout.contains("in use: by python3 (pid \(holder.processIdentifier))"), "\(listing)")

        // SIGKILL: Foundation's Process leaves SIGTERM blocked in its children.
        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        #expect(try camd.waitForLog(containing: "recovered after", timeout: 10) != nil, "\(camd.log)")
        var frame = try viewer.readFrame()
        while frame.header.isPlaceholder { frame = try viewer.readFrame() }
        #expect(frame.header.width == 320)
        #expect(camd.stop() == 0)
    }

    @Test func aCameraNodeCamdMayNotOpenIsExplainedFromItsOwnerGroupAndMode() throws {
        let camera = try FakeCamera()
        // root:root 0600 is what a node looks like without udev's video rule; the fake refuses like the kernel.
        let node = try camera.makeNode(mode: 0o600)
        let camd = try CamdProcess(["--source", "v4l2:\(node)", "--device-retry-max", "0.5"],
                                   environment: camera.environment(["FAKE_V4L2_DEVICE": node, "FAKE_V4L2_OPEN_ERRNO": "\(EACCES)"]))
        let line = try #require(try camd.waitForLog(containing: "unavailable", timeout: 10), "\(camd.log)")
        let uid = geteuid()
        if uid == 0 {
            // root may open anything by mode: the refusal must come from elsewhere, and camd says so.
            #expect(line.contains("permission denied although \(node) is root:root 0600") && line.contains("something else refuses it"), "\(line)")
        } else {
            #expect(line.contains("is root:root 0600") && line.contains("udev rule"), "\(line)")
        }
        #expect(!line.contains("add camd's user to the 'video' group"), "no guessing: \(line)")
        #expect(camd.stop() == 0)
    }

    @Test func eachChangeOfWhyTheCameraIsAwayIsLoggedOnceAsAWarning() throws {
        let camera = try FakeCamera()
        camera.set("unplug")
        let camd = try CamdProcess(["--source", "v4l2:\(camera.device)", "--device-retry-max", "0.25"], environment: camera.environment())
        let first = try #require(try camd.waitForLog(containing: "unavailable: no such device", timeout: 10), "\(camd.log)")
        #expect(first.contains(" error: "))
        // The same cause on every retry: it stays one line. Wait for retries by the state, not the clock.
        var retries = 0
        _ = try waitUntil(timeout: 15, interval: 0.05) {
            let state = try httpExchange(port: camd.httpPort, "GET /state HTTP/1.0\r\n\r\n")
            retries = Int(state.components(separatedBy: "\"source_retries\":").dropFirst().first?.prefix { $0.isNumber } ?? "") ?? 0
            return retries >= 4
        }
        #expect(retries >= 4)
        // A new cause: the node is there now but refuses camd. One warning, with the new reason.
        camera.set("denied")
        let changed = try #require(try camd.waitForLog(containing: "still unavailable", timeout: 10), "\(camd.log)")
        #expect(changed.contains(" warning: ") && changed.contains("permission denied"), "\(changed)")
        camera.set("ok")
        #expect(try camd.waitForLog(containing: "recovered after", timeout: 10) != nil, "\(camd.log)")
        let log = camd.log
        #expect(log.components(separatedBy: "no such device").count == 2, "no such device logged once:\n\(log)")
        #expect(log.components(separatedBy: "still unavailable").count == 2, "permission denied logged once:\n\(log)")
        #expect(!log.contains("libv4l2"), "nothing raw from libv4l2")
        #expect(camd.stop() == 0)
    }
}
