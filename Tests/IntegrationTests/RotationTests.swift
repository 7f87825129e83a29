// rotate and flip through the real camd: an MJPEG camera (the fake one) turned losslessly — published size and
// where each quadrant's colour went — the test pattern turned as well, a live `camctl set rotate`, and bad values.
import CamdSystem
import Foundation
import JPEG
import Testing
import TestSupport

/// Top left red, top right green, bottom left blue, bottom right white.
private let quadrantColours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)]

/// A width×height JPEG of four coloured quadrants (4:2:0), as the fake camera sends it: without Huffman tables.
private func quadrantJPEG(width: Int, height: Int) throws -> [UInt8] {
    var pixels = [UInt8](repeating: 0, count: width * height * 3)
    for y in 0..<height {
        for x in 0..<width {
            let c = quadrantColours[(y < height / 2 ? 0 : 2) + (x < width / 2 ? 0 : 1)]
            let i = (y * width + x) * 3
            (pixels[i], pixels[i + 1], pixels[i + 2]) = (UInt8(c.0), UInt8(c.1), UInt8(c.2))
        }
    }
    let jpeg = try pixels.withUnsafeBytes { try JPEGEncoder(quality: 90).encode(rgb: $0, width: width, height: height) }
    return stripHuffmanTables(jpeg)
}

/// The quadrant colour (0-3) nearest to the pixel at (x, y), or nil if it is none of them.
private func quadrantColour(_ rgb: [UInt8], width: Int, x: Int, y: Int) -> Int? {
    let i = (y * width + x) * 3
    return quadrantColours.firstIndex { c in
        abs(Int(rgb[i]) - c.0) <= 40 && abs(Int(rgb[i + 1]) - c.1) <= 40 && abs(Int(rgb[i + 2]) - c.2) <= 40
    }
}

/// The colours at the centres of the output's quadrants, top left, top right, bottom left, bottom right.
private func quadrantsSeen(_ jpeg: [UInt8]) throws -> (width: Int, height: Int, colours: [Int?]) {
    let decoded = try JPEGDecoder().decodeRGB(jpeg)
    let (w, h) = (decoded.info.width, decoded.info.height)
    let colours = [(w / 4, h / 4), (3 * w / 4, h / 4), (w / 4, 3 * h / 4), (3 * w / 4, 3 * h / 4)].map {
        quadrantColour(decoded.rgb, width: w, x: $0.0, y: $0.1)
    }
    return (w, h, colours)
}

/// A fake MJPEG-only camera serving a 320×240 quadrant picture.
private func quadrantCamera() throws -> FakeCamera {
    let camera = try FakeCamera()
    _ = FileManager.default.createFile(atPath: camera.jpegPath, contents: Data(try quadrantJPEG(width: 320, height: 240)))
    return camera
}

/// The first live (not NO SIGNAL) frame whose header says `width`×`height`, within 15 s.
private func liveFrame(_ client: NativeTestClient, width: UInt16, height: UInt16) throws -> ReceivedFrame? {
    let deadline = Clock.monotonicNanos() + 15_000_000_000
    while Clock.monotonicNanos() < deadline {
        let frame = try client.readFrame()
        if !frame.header.isPlaceholder && frame.header.width == width && frame.header.height == height { return frame }
    }
    return nil
}

extension CamdIntegrationTests {
    @Test func anMJPEGCameraRotated90IsPublishedTurnedAtItsTurnedSize() throws {
        let camera = try quadrantCamera()
        let camd = try CamdProcess(["--source", "v4l2:\(camera.device)", "--rotate", "90"],
                                   environment: camera.environment(["FAKE_V4L2_FORMATS": "MJPG"]))
        defer { camd.stop() }
        let client = try NativeTestClient(port: camd.port, timeout: 15)
        let frame = try #require(try liveFrame(client, width: 240, height: 320), "no 240x320 frame: \(camd.log.suffix(2000))")
        // Turned clockwise: the left column (red over blue) is now the top row, blue on the left.
        let seen = try quadrantsSeen(frame.payload)
        #expect(seen.width == 240 && seen.height == 320)
        #expect(seen.colours == [2, 0, 3, 1], "quadrants after rotate 90: \(seen.colours)")
        // /snapshot (curl, an outside client) is the same turned picture, and /state says its size.
        let path = camera.directory + "/snapshot.jpg"
        let curl = try runCommand(which("curl") ?? "/usr/bin/curl", ["-sf", "-o", path, "http://127.0.0.1:\(camd.httpPort)/snapshot"])
        #expect(curl.status == 0, "\(curl)")
        let snapshot = try quadrantsSeen(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        #expect(snapshot.width == 240 && snapshot.height == 320 && snapshot.colours == [2, 0, 3, 1])
        let state = try #require(camd.state())
        #expect(state["width"] as? Int == 240 && state["height"] as? Int == 320, "\(state)")
        #expect(camd.stop() == 0)
    }

    @Test func anMJPEGCameraFlippedHorizontallyIsMirrored() throws {
        let camera = try quadrantCamera()
        let camd = try CamdProcess(["--source", "v4l2:\(camera.device)", "--flip", "horizontal"],
                                   environment: camera.environment(["FAKE_V4L2_FORMATS": "MJPG"]))
        defer { camd.stop() }
        let client = try NativeTestClient(port: camd.port, timeout: 15)
        let frame = try #require(try liveFrame(client, width: 320, height: 240), "no 320x240 frame: \(camd.log.suffix(2000))")
        let seen = try quadrantsSeen(frame.payload)
        #expect(seen.width == 320 && seen.height == 240)
        #expect(seen.colours == [1, 0, 3, 2], "quadrants after flip horizontal: \(seen.colours)")
        #expect(camd.stop() == 0)
    }

    @Test func camctlSetRotateTurnsALiveCameraWithoutDroppingItsViewer() throws {
        let camera = try quadrantCamera()
        let camd = try CamdProcess(["--source", "v4l2:\(camera.device)"], environment: camera.environment(["FAKE_V4L2_FORMATS": "MJPG"]))
        defer { camd.stop() }
        let client = try NativeTestClient(port: camd.port, timeout: 15)
        let before = try #require(try liveFrame(client, width: 320, height: 240))
        #expect(try quadrantsSeen(before.payload).colours == [0, 1, 2, 3])
        let set = try runCommand(Binaries.path("camctl"), ["set", "rotate", "180", "--socket", camd.controlSocket])
        #expect(set.status == 0 && set.stdout.contains("180"), "\(set)")
        // The same connection: upside down now (the size stays 320x240, so look at the colours).
        let deadline = Clock.monotonicNanos() + 15_000_000_000
        var turned: [Int?] = []
        while Clock.monotonicNanos() < deadline {
            let frame = try client.readFrame()
            #expect(frame.header.sequence > before.header.sequence)
            if frame.header.isPlaceholder { continue }
            turned = try quadrantsSeen(frame.payload).colours
            if turned == [3, 2, 1, 0] { break }
        }
        #expect(turned == [3, 2, 1, 0], "after camctl set rotate 180: \(turned); \(camd.log.suffix(1500))")
        #expect(camd.stop() == 0)
    }

    @Test func theTestPatternIsTurnedToo() throws {
        let camd = try CamdProcess(["--rotate", "270", "--width", "320", "--height", "240"])
        defer { camd.stop() }
        let client = try NativeTestClient(port: camd.port)
        let frame = try client.readFrame()
        #expect(frame.header.width == 240 && frame.header.height == 320)
        #expect(try JPEGDecoder().info(frame.payload) == JPEGInfo(width: 240, height: 320))
        #expect(camd.stop() == 0)
    }

    @Test(arguments: [
        (["--rotate", "45"], "rotate = 45", "0, 90, 180 or 270"),
        (["--rotate", "-90"], "rotate = -90", "0, 90, 180 or 270"),
        (["--flip", "diagonal"], "flip = \"diagonal\"", "\"none\", \"horizontal\", \"vertical\""),
        (["--drop-same-frames", "-1"], "drop_same_frames = -1", "from 0 to 1000"),
        (["--drop-same-frames", "often"], "drop_same_frames = \"often\"", "from 0 to 1000"),
    ])
    func badTurnAndDropValuesExit78WithOneLineNamingTheKey(arguments: [String], expected: String, allowed: String) throws {
        let result = try runCommand(Binaries.path("camd"), arguments, timeout: 10)
        #expect(result.status == 78, "camd \(arguments) exited \(result.status): \(result.stderr)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "expected one line, got: \(result.stderr)")
        #expect(lines.first?.hasPrefix("camd: config error: \(expected)") == true && result.stderr.contains(allowed), "got: \(result.stderr)")
    }

    @Test func aRotateInTheConfigFileThatIsNotAQuarterTurnExits78() throws {
        let path = NSTemporaryDirectory() + "camd-rotate-\(UUID().uuidString).toml"
        try "rotate = 100\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try runCommand(Binaries.path("camd"), ["--config", path, "--check-config"], timeout: 10)
        #expect(result.status == 78 && result.stderr.contains("rotate = 100") && result.stderr.contains("0, 90, 180 or 270"),
                "\(result)")
    }
}
