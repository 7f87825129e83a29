// A camera that sends H.264 itself (V4L2_PIX_FMT_H264), end to end: the real camd with `format = "H264"` on the fake
// camera in its H.264 mode (FAKE_V4L2_H264: the committed 320x240 libx264 stream, one access unit per buffer).
// vivid has no H.264 output, so this path is tested on the fake only.
import Foundation
import JPEG
import Testing
import TestSupport

/// Tests/Fixtures/testsrc-320x240.h264 (how it was made: Tests/H264EncodingTests/H264DecoderTests.swift).
private var fixtureStream: String {
    var url = URL(fileURLWithPath: #filePath)
    url.deleteLastPathComponent()
    url.deleteLastPathComponent()
    return url.appendingPathComponent("Fixtures/testsrc-320x240.h264").path
}

extension CamdIntegrationTests {
    @Test func aCamerasOwnH264IsDecodedForJPEGViewersAndCorruptUnitsAreCountedNotFatal() throws {
        let camera = try FakeCamera()
        let config = camera.directory + "/camd.toml"
        try "source = \"v4l2:\(camera.device)\"\nformat = \"H264\"\nwidth = 320\nheight = 240\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let environment = camera.environment(["FAKE_V4L2_H264": fixtureStream])
        let camd = try CamdProcess(["--config", config, "--rtsp-listen", "127.0.0.1:0"], environment: environment)
        defer { camd.terminate() }

        // RTSP viewers get the camera's own H.264, not re-encoded: the units are the fixture's, byte for byte (the
        // fixture repeats its SPS and PPS at every IDR, so a keyframe unit is sent as the camera made it).
        let rtsp = try RTSPTestClient(port: camd.rtspPort, path: "/stream")
        let sdp = try rtsp.play()
        #expect(sdp.contains("H264/90000") && sdp.contains("a=x-dimensions:320,240"), "\(sdp)")
        var unit: [UInt8] = []
        var units: [[UInt8]] = []
        while units.count < 5 {
            let packet = try rtsp.readInterleaved()
            guard packet.channel == 0 else { continue }
            let payload = Array(packet.bytes[12...])
            if payload[0] & 0x1F == 28 {
                // FU-A: the NAL header from the indicator's top bits and the header's type; then the fragment.
                if payload[1] & 0x80 != 0 { unit += [0, 0, 0, 1, payload[0] & 0xE0 | payload[1] & 0x1F] }
                unit += payload[2...]
            } else {
                unit += [0, 0, 0, 1] + payload
            }
            if packet.marker {
                units.append(unit)
                unit = []
            }
        }
        let stream = [UInt8](try Data(contentsOf: URL(fileURLWithPath: fixtureStream)))
        let nal = { (bytes: [UInt8]) -> [[UInt8]] in
            // NAL units without their start codes, in order.
            var found: [[UInt8]] = []
            var start: Int?
            var i = 0
            while i + 3 <= bytes.count {
                if bytes[i] == 0, bytes[i + 1] == 0, bytes[i + 2] == 1 {
                    if let s = start { found.append(Array(bytes[s..<(i > 0 && bytes[i - 1] == 0 ? i - 1 : i)])) }
                    start = i + 3
                    i += 3
                } else { i += 1 }
            }
            if let s = start { found.append(Array(bytes[s...])) }
            return found
        }
        let fixtureNALs = nal(stream)
        #expect(units.first.map { nal($0).first?.first.map { $0 & 0x1F } } == 7, "the first unit does not start with an SPS")
        for received in units {
            for unitNAL in nal(received) where unitNAL.first.map({ $0 & 0x1F }) == 5 || unitNAL.first.map({ $0 & 0x1F }) == 1 {
                #expect(fixtureNALs.contains(unitNAL), "a slice that is not the camera's")
            }
        }
        #expect((camd.state()?["h264"] as? [String: Any])?["encoder"] as? String == "camera")
        rtsp.close()

        // MJPEG viewers get the camera's pictures as JPEGs: testsrc's colour bars (magenta, then yellow, near the top).
        let jpeg = try camd.curlSnapshot(timeout: 20)
        let decoded = try JPEGDecoder().decodeRGB(jpeg)
        #expect(decoded.info == JPEGInfo(width: 320, height: 240))
        let pixel = { (x: Int, y: Int) -> [Int] in (0..<3).map { Int(decoded.rgb[(y * 320 + x) * 3 + $0]) } }
        let magenta = pixel(100, 30), yellow = pixel(180, 30)
        #expect(magenta[0] > 170 && magenta[1] < 90 && magenta[2] > 170, "\(magenta)")
        #expect(yellow[0] > 170 && yellow[1] > 170 && yellow[2] < 90, "\(yellow)")
        #expect(camera.requests.contains("S_FMT H264 320x240"), "\(camera.requests)")
        #expect(camd.log.contains("320x240 H264 30 fps, passthrough to RTSP, decoded for JPEG viewers at quality 80"), "\(camd.log)")
        let state = camd.state()
        #expect(state?["source_format"] as? String == "320x240 H264 30 fps (passthrough)", "\(state ?? [:])")

        // Frames keep coming, each a whole 320x240 JPEG, in order.
        let client = try NativeTestClient(port: camd.port)
        var last: UInt64 = 0
        for _ in 0..<30 {
            let frame = try client.readFrame()
            #expect(!frame.header.isPlaceholder && frame.header.width == 320 && frame.header.height == 240)
            #expect(frame.header.sequence > last)
            last = frame.header.sequence
            #expect(try JPEGDecoder().info(frame.payload) == JPEGInfo(width: 320, height: 240))
        }
        #expect(camd.state()?["frames_invalid"] as? Int == 0)

        // Half units (damaged transfers): counted as invalid, the daemon keeps serving, and the camera's next IDR
        // brings pictures back.
        camera.set("truncate")
        #expect(waitUntil(timeout: 20, interval: 0.1) { (camd.state()?["frames_invalid"] as? Int ?? 0) > 10 }, "\(camd.log)")
        camera.set("ok")
        let invalidBefore = camd.state()?["frames_invalid"] as? Int ?? 0
        var recovered = 0
        for _ in 0..<200 where recovered < 10 {
            let frame = try client.readFrame()
            if frame.header.sequence > last && !frame.header.isPlaceholder { recovered += 1 }
            last = frame.header.sequence
        }
        #expect(recovered == 10)
        // Past the camera's next IDR, whole units decode again: the count stops growing.
        let invalidAfter = camd.state()?["frames_invalid"] as? Int ?? -1
        #expect(invalidAfter >= invalidBefore)
        for _ in 0..<30 { _ = try client.readFrame() }
        #expect(camd.state()?["frames_invalid"] as? Int == invalidAfter, "\(camd.log)")
        #expect(camd.log.contains("an H.264 unit did not decode"), "\(camd.log)")
        #expect(camd.stop() == 0)

        // `auto` never takes the camera's H.264, even listed first: MJPEG, else a raw format.
        for (formats, expected) in [("MJPG,YUYV,H264", "'MJPG'"), ("H264,YUYV", "'YUYV'")] {
            let listing = try runCommand(Binaries.path("camd"), ["--list-formats", camera.device],
                                         environment: camera.environment(["FAKE_V4L2_H264": fixtureStream, "FAKE_V4L2_FORMATS": formats]))
            #expect(listing.stdout.contains("camd would use: \(expected) under format = \"auto\""), "\(listing.stdout)")
            #expect(listing.stdout.contains("'H264' (H.264) — passed through to RTSP and decoded for JPEG viewers, only with format = \"h264\"\n      320x240"),
                    "\(listing.stdout)")
        }
    }
}
