// The real camd capture code against a fake UVC camera (Tests/FakeV4L2, LD_PRELOADed at the libv4l2 level).
import CamdSystem
import Foundation
import JPEG
import Testing
import TestSupport

/// One fake camera: its control file, its request log, and the JPEG it serves (without DHT, as UVC cameras send).
final class FakeCamera: @unchecked Sendable {
    let device = "/dev/video-fake"
    let directory = NSTemporaryDirectory() + "fakecam-\(UUID().uuidString)"
    var control: String { directory + "/control" }
    var requestLog: String { directory + "/requests.log" }
    var jpegPath: String { directory + "/frame.jpg" }
    let original: [UInt8]      // as the encoder made it, with tables
    let withoutTables: [UInt8] // what the camera sends

    init(width: Int = 320, height: Int = 240) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) { pixels[i * 3] = UInt8(i % width * 255 / width); pixels[i * 3 + 1] = 90; pixels[i * 3 + 2] = 200 }
        let encoder = try JPEGEncoder(quality: 85)
        original = try pixels.withUnsafeBytes { try encoder.encode(rgb: $0, width: width, height: height) }
        withoutTables = stripHuffmanTables(original)
        _ = FileManager.default.createFile(atPath: jpegPath, contents: Data(withoutTables))
        set("ok")
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    /// A character device node at `directory/name` (as /dev/null's numbers) standing in for the camera's node:
    /// it shows in /proc while held and has an owner and mode, and camd takes only character devices as cameras.
    func makeNode(_ name: String = "video-node", mode: mode_t = 0o660) throws -> String {
        let node = directory + "/" + name
        guard mknod(node, S_IFCHR | mode, dev_t((1 << 8) | 3)) == 0, chmod(node, mode) == 0 else {
            throw SystemError("mknod \(node)", errno: errno)
        }
        return node
    }

    func set(_ mode: String) {
        _ = FileManager.default.createFile(atPath: control, contents: Data((mode + "\n").utf8))
    }

    func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["LD_PRELOAD"] = Binaries.path("libFakeV4L2.so")
        env["FAKE_V4L2_DEVICE"] = device
        env["FAKE_V4L2_CONTROL"] = control
        env["FAKE_V4L2_JPEG"] = jpegPath
        env["FAKE_V4L2_LOG"] = requestLog
        for (key, value) in extra { env[key] = value }
        return env
    }

    var requests: String { (try? String(contentsOfFile: requestLog, encoding: .utf8)) ?? "" }
}

func stripHuffmanTables(_ jpeg: [UInt8]) -> [UInt8] { MJPEGRepair.removingHuffmanTables(jpeg) }

private func near(_ rgb: [UInt8], _ width: Int, x: Int, y: Int, _ expected: (Int, Int, Int), tolerance: Int = 28) -> Bool {
    let i = (y * width + x) * 3
    return abs(Int(rgb[i]) - expected.0) <= tolerance && abs(Int(rgb[i + 1]) - expected.1) <= tolerance
        && abs(Int(rgb[i + 2]) - expected.2) <= tolerance
}

extension CamdIntegrationTests {
    @Test func mjpegIsPassedThroughWithTheStandardHuffmanTablesInserted() throws {
        let camera = try FakeCamera()
        #expect(!MJPEGRepair.hasHuffmanTables(camera.withoutTables))
        let camd = try CamdProcess(["--source", "v4l2:\(camera.device)"], environment: camera.environment())
        let client = try NativeTestClient(port: camd.port)
        let frames = try (0..<10).map { _ in try client.readFrame() }
        let expected = MJPEGRepair.repair(camera.withoutTables)
        guard case .image(let repaired, insertedTables: true) = expected else { Issue.record("repair failed"); return }
        let decoder = try JPEGDecoder()
        for frame in frames {
            #expect(!frame.header.isPlaceholder)
            #expect(frame.payload == repaired, "passthrough bytes must be the camera's bytes plus the DHT segment")
            #expect(stripHuffmanTables(frame.payload) == camera.withoutTables)
            #expect(frame.header.width == 320 && frame.header.height == 240)
        }
        // The repaired image decodes to exactly what the original (encoded with the same standard tables) does.
        #expect(try decoder.decodeRGB(frames[0].payload).rgb == decoder.decodeRGB(camera.original).rgb)
        // Timestamps come from the driver's monotonic clock converted to realtime: close to now.
        let age = Double(Clock.realtimeNanos()) - Double(frames.last!.header.timestampNanos)
        #expect(age >= 0 && age < 1e9, "frame timestamp is \(age / 1e6) ms old")
        #expect(camd.log.contains("opened camera /dev/video-fake: Fake UVC Camera (driver fakev4l2, bus usb-fake-1); 320x240 MJPG 30 fps"))
        #expect(camd.stop() == 0)
    }

    @Test func yuyvFramesAreEncodedAndDecodeToTheCamerasColours() throws {
        let camera = try FakeCamera()
        let camd = try CamdProcess(["--source", "v4l2:\(camera.device)", "--format", "yuyv", "--width", "1000", "--height", "700", "--fps", "25"],
                                   environment: camera.environment())
        let client = try NativeTestClient(port: camd.port)
        let frame = try client.readFrame()
        let decoded = try JPEGDecoder().decodeRGB(frame.payload)
        // The camera adjusted 1000x700 to its nearest size, and 25 fps to 30; camd uses and logs what it set.
        #expect(decoded.info == JPEGInfo(width: 640, height: 480))
        #expect(camd.log.contains("640x480 YUYV 30 fps (asked for 1000x700 at 25 fps), encoded at quality 80"), "\(camd.log)")
        #expect(camera.requests.contains("S_FMT YUYV 1000x700") && camera.requests.contains("S_PARM 25 -> 30"))
        // Four bars: white, red, green, blue.
        let bars: [(Int, Int, Int)] = [(235, 235, 235), (235, 16, 16), (16, 235, 16), (16, 16, 235)]
        for (index, colour) in bars.enumerated() {
            #expect(near(decoded.rgb, 640, x: index * 160 + 80, y: 240, colour), "bar \(index)")
        }
        let rate = try (0..<30).map { _ in try client.readFrame().header.timestampNanos }
        let fps = 29 / (Double(rate.last! - rate.first!) / 1e9)
        #expect(fps > 26 && fps < 34, "YUYV path delivered \(fps) fps")
        #expect(camd.stop() == 0)
    }

    @Test func anUnpluggedCameraBecomesNoSignalPlaceholdersAndRecoversWithoutDisconnectingViewers() throws {
        let camera = try FakeCamera()
        let camd = try CamdProcess(["--source", "v4l2:\(camera.device)", "--device-retry-max", "0.5"], environment: camera.environment())
        let clients = try (0..<3).map { _ in try NativeTestClient(port: camd.port) }
        for client in clients { _ = try client.readFrame() }
        camera.set("unplug")
        var sawPlaceholder = false
        var last = [UInt64](repeating: 0, count: clients.count)
        let decoder = try JPEGDecoder()
        for _ in 0..<3 {
            for (index, client) in clients.enumerated() {
                var frame = try client.readFrame()
                while !frame.header.isPlaceholder { last[index] = frame.header.sequence; frame = try client.readFrame() }
                #expect(frame.header.sequence > last[index])
                last[index] = frame.header.sequence
                #expect(try decoder.decodeRGB(frame.payload).info == JPEGInfo(width: 320, height: 240))
                sawPlaceholder = true
            }
        }
        #expect(sawPlaceholder)
        camera.set("ok")
        for (index, client) in clients.enumerated() {
            var frame = try client.readFrame()
            while frame.header.isPlaceholder { frame = try client.readFrame() }
            #expect(frame.header.sequence > last[index], "sequences continue across the outage")
            #expect(stripHuffmanTables(frame.payload) == camera.withoutTables)
        }
        let log = camd.log
        #expect(log.components(separatedBy: "camera /dev/video-fake lost: VIDIOC_DQBUF: No such device").count == 2, "logged once:\n\(log)")
        #expect(log.contains("camera /dev/video-fake recovered after"))
        #expect(!log.contains("disconnected"), "no viewer was disconnected:\n\(log)")
        #expect(camd.stop() == 0)
    }

    @Test func aSilentCameraIsNoticedAfterTheDeviceTimeout() throws {
        let camera = try FakeCamera()
        let camd = try CamdProcess(["--source", "v4l2:\(camera.device)", "--device-timeout", "1"], environment: camera.environment())
        let client = try NativeTestClient(port: camd.port)
        _ = try client.readFrame()
        camera.set("stall")
        let stalledAt = Date()
        var frame = try client.readFrame()
        while !frame.header.isPlaceholder { frame = try client.readFrame() }
        let noticed = Date().timeIntervalSince(stalledAt)
        #expect(noticed >= 0.9 && noticed < 2.5, "placeholder after \(noticed) s with device_timeout 1")
        #expect(try camd.waitForLog(containing: "no frame for 1 s (device_timeout)", timeout: 2) != nil)
        camera.set("ok")
        while frame.header.isPlaceholder { frame = try client.readFrame() }
        #expect(camd.stop() == 0)
    }

    @Test func truncatedCameraFramesAreDroppedNeverSent() throws {
        let camera = try FakeCamera()
        let camd = try CamdProcess(["--source", "v4l2:\(camera.device)", "--stats-interval", "0.5"], environment: camera.environment())
        let client = try NativeTestClient(port: camd.port)
        _ = try client.readFrame()
        /// The most truncated frames a summary line (every 0.5 s) has counted so far.
        func invalidCounted() -> Int {
            camd.log.split(separator: "\n").compactMap { line -> Int? in
                guard let range = line.range(of: " invalid,") else { return nil }
                return Int(line[..<range.lowerBound].split(separator: " ").last ?? "")
            }.max() ?? 0
        }
        camera.set("truncate")
        #expect(waitUntil(timeout: 10, interval: 0.1) { invalidCounted() >= 10 },
                "only \(invalidCounted()) truncated frames counted:\n\(camd.log)")
        camera.set("ok")
        let deadline = Date().addingTimeInterval(1.5)
        while Date() < deadline {
            let frame = try client.readFrame()
            #expect(frame.isJPEG && (frame.header.isPlaceholder || stripHuffmanTables(frame.payload) == camera.withoutTables))
        }
        #expect(camd.stop() == 0)
    }

    @Test func controlsAreAppliedAtOpenAndUnknownNamesListTheDevicesControls() throws {
        let camera = try FakeCamera()
        let camd = try CamdProcess(["--source", "v4l2:\(camera.device)", "--control", "brightness=200", "--control", "white_balance_temperature=5000"],
                                   environment: camera.environment())
        _ = try NativeTestClient(port: camd.port).readFrame()
        #expect(camera.requests.contains("S_CTRL 9963776 200"), "\(camera.requests)")   // V4L2_CID_BRIGHTNESS
        #expect(camera.requests.contains("S_CTRL 9963802 5000"))                        // V4L2_CID_WHITE_BALANCE_TEMPERATURE
        #expect(camd.log.contains("controls brightness=200 white_balance_temperature=5000"))
        #expect(camd.stop() == 0)

        let bad = try CamdProcess(["--source", "v4l2:\(camera.device)", "--control", "zoom=3"], environment: camera.environment())
        let line = try bad.waitForLog(containing: "unknown control 'zoom'", timeout: 5)
        #expect(line?.contains("(this device has: brightness, contrast, white_balance_temperature)") == true, "\(bad.log)")
        #expect(bad.stop() == 0)
    }

    @Test(arguments: [
        ([:], "/dev/video-missing", "/dev/video-missing: no such device (is the camera plugged in?)"),
        (["FAKE_V4L2_OPEN_ERRNO": "13"], "/dev/video-fake", "/dev/video-fake: permission denied"),
        (["FAKE_V4L2_CAPS": "output"], "/dev/video-fake", "/dev/video-fake: not a video capture device (Fake UVC Camera, driver fakev4l2)"),
        (["FAKE_V4L2_CAPS": "nostream"], "/dev/video-fake", "/dev/video-fake: the device does not support streaming I/O"),
    ])
    func eachOpenErrorIsOneClearLineNamingTheDevice(environment: [String: String], device: String, message: String) throws {
        let camera = try FakeCamera()
        let result = try runCommand(Binaries.path("camd"), ["--list-formats", device], environment: camera.environment(environment))
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("camd: \(message)"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test func listFormatsDescribesTheCameraLikeV4L2Ctl() throws {
        let camera = try FakeCamera()
        let result = try runCommand(Binaries.path("camd"), ["--list-formats", camera.device], environment: camera.environment())
        #expect(result.status == 0, "\(result.stderr)")
        let out = result.stdout
        #expect(out.contains("/dev/video-fake: Fake UVC Camera (driver fakev4l2, bus usb-fake-1)"))
        #expect(out.contains("[0] 'MJPG' (Motion-JPEG) — passed through"))
        #expect(out.contains("[1] 'YUYV' (YUYV 4:2:2) — encoded by camd"))
        #expect(out.contains("640x480  fps: 30, 15, 5"))
        #expect(out.contains("brightness (0…255)"))
        #expect(out.contains("in use: not by any program camd can see"))
    }

    @Test func aCameraThatIsAbsentAtStartIsWaitedFor() throws {
        let camera = try FakeCamera()
        camera.set("unplug")
        let camd = try CamdProcess(["--source", "v4l2:\(camera.device)", "--device-retry-max", "0.5"], environment: camera.environment())
        let client = try NativeTestClient(port: camd.port)
        let first = try client.readFrame()
        #expect(first.header.isPlaceholder)
        #expect(try camd.waitForLog(containing: "camera /dev/video-fake unavailable: no such device (is the camera plugged in?); showing NO SIGNAL", timeout: 2) != nil, "\(camd.log)")
        camera.set("ok")
        var frame = try client.readFrame()
        while frame.header.isPlaceholder { frame = try client.readFrame() }
        #expect(frame.header.sequence > first.header.sequence)
        #expect(camd.stop() == 0)
    }
}
