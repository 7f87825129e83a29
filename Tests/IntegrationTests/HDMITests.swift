// HDMI capture: the real camd on the fake camera's HDMI mode (FAKE_V4L2_DV=1) — the source's DV timings decide the
// size and rate, a timings change is followed without dropping a viewer, and no signal is NO SIGNAL with its reason.
import CamdSystem
import Foundation
import JPEG
import Testing
import TestSupport
import Wire

/// An HTTP `/stream` viewer that hands back whole parts, parsed by camview's own multipart parser.
private final class StreamViewer {
    let client: NativeTestClient
    private var parser = MultipartStreamParser(framing: .http, keepPayload: true)
    private var parts: [MultipartPart] = []
    private var buffer = [UInt8](repeating: 0, count: 128 * 1024)

    init(port: UInt16) throws {
        client = try NativeTestClient(port: port)
        try client.send(Array("GET /stream HTTP/1.1\r\nHost: cam\r\n\r\n".utf8))
    }

    /// The next whole part; throws when camd closes the stream or nothing comes for 5 s (the socket's timeout).
    func readPart() throws -> MultipartPart {
        while parts.isEmpty {
            let n = buffer.withUnsafeMutableBytes { recv(client.socket.number, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("recv", errno: errno)
            }
            if n == 0 { throw TestFailure("camd closed the /stream connection") }
            var received: [MultipartPart] = []
            try buffer.withUnsafeBytes { raw in
                try parser.consume(UnsafeRawBufferPointer(rebasing: raw[0..<n])) { received.append($0) }
            }
            parts.append(contentsOf: received)
        }
        return parts.removeFirst()
    }
}

/// The fake camera as an HDMI receiver: YUYV (what camd encodes today), the source sending `signal` ("640x360@30",
/// "nosignal", "nolock", "range").
private func hdmiReceiver(_ signal: String) throws -> (FakeCamera, [String: String]) {
    let camera = try FakeCamera()
    camera.set("ok \(signal)")
    return (camera, camera.environment(["FAKE_V4L2_DV": "1", "FAKE_V4L2_FORMATS": "YUYV"]))
}

/// The fake's YUYV bars (white, red, green, blue) at the decoded picture's own width.
private func showsTheBars(_ rgb: [UInt8], width: Int, height: Int) -> Bool {
    let bars: [(Int, Int, Int)] = [(235, 235, 235), (235, 16, 16), (16, 235, 16), (16, 16, 235)]
    return bars.enumerated().allSatisfy { index, colour in
        let i = ((height / 2) * width + index * width / 4 + width / 8) * 3
        return abs(Int(rgb[i]) - colour.0) <= 28 && abs(Int(rgb[i + 1]) - colour.1) <= 28 && abs(Int(rgb[i + 2]) - colour.2) <= 28
    }
}

extension CamdIntegrationTests {
    @Test func hdmiTimingsSetTheSizeAndRateAndAChangeReachesConnectedViewersAtTheNewSize() throws {
        let (camera, environment) = try hdmiReceiver("640x360@30")
        // width, height and fps are the operator's for a camera; for an HDMI input the source decides.
        let camd = try CamdProcess(["--source", "v4l2:\(camera.device)", "--width", "320", "--height", "240", "--fps", "10"],
                                   environment: environment)
        let native = try NativeTestClient(port: camd.port)
        let first = try native.readFrame()
        #expect(!first.header.isPlaceholder)
        #expect(first.header.width == 640 && first.header.height == 360)
        let decoder = try JPEGDecoder()
        let picture = try decoder.decodeRGB(first.payload)
        #expect(picture.info == JPEGInfo(width: 640, height: 360))
        #expect(showsTheBars(picture.rgb, width: 640, height: 360))
        #expect(camera.requests.contains("S_DV_TIMINGS 640x360@30"), "\(camera.requests)")
        #expect(camera.requests.contains("S_FMT YUYV 640x360"), "the format is asked at the timings' size:\n\(camera.requests)")
        #expect(camd.log.contains("640x360 YUYV 30 fps (HDMI source 640x360p30; width, height and fps do not apply)"), "\(camd.log)")
        let state = try #require(camd.state())
        #expect(state["dv_timings"] as? String == "640x360p30", "\(state)")
        #expect(state["width"] as? Int == 640)
        let status = try runCommand(Binaries.path("camctl"), ["status", "--socket", camd.controlSocket])
        #expect(status.stdout.contains("hdmi       640x360p30 (the source's timings set size and rate)"), "\(status.stdout)")

        let http = try StreamViewer(port: camd.httpPort)
        let firstPart = try http.readPart()
        #expect(try decoder.decodeRGB(try #require(firstPart.payload)).info == JPEGInfo(width: 640, height: 360))

        // The source switches mode while both viewers watch.
        camera.set("ok 320x240@15")
        var last = first.header.sequence
        var frame = try native.readFrame()
        let deadline = Clock.monotonicNanos() + 10_000_000_000
        while frame.header.width != 320 && Clock.monotonicNanos() < deadline {
            #expect(!frame.header.isPlaceholder, "a timings change is followed without NO SIGNAL")
            #expect(frame.header.sequence > last)
            last = frame.header.sequence
            frame = try native.readFrame()
        }
        #expect(frame.header.width == 320 && frame.header.height == 240, "no frame at the new size within 10 s:\n\(camd.log)")
        #expect(frame.header.sequence > last, "sequences continue across the change")
        let resized = try decoder.decodeRGB(frame.payload)
        #expect(resized.info == JPEGInfo(width: 320, height: 240))
        #expect(showsTheBars(resized.rgb, width: 320, height: 240))

        var part = try http.readPart()
        while try decoder.info(try #require(part.payload)) != JPEGInfo(width: 320, height: 240) && Clock.monotonicNanos() < deadline {
            part = try http.readPart()
        }
        let httpPicture = try decoder.decodeRGB(try #require(part.payload))
        #expect(httpPicture.info == JPEGInfo(width: 320, height: 240), "the /stream viewer gets the new size")
        #expect(!part.isPlaceholder)

        // The new rate is the new timings' (15 fps), measured by capture timestamps over 16 frames.
        let stamps = try (0..<16).map { _ in try native.readFrame().header.timestampNanos }
        let fps = 15 / (Double(stamps.last! - stamps.first!) / 1e9)
        #expect(fps > 11 && fps < 19, "the 320x240p15 source delivered \(fps) fps")
        #expect(waitUntil(timeout: 5) { camd.state()?["dv_timings"] as? String == "320x240p15" }, "\(camd.state() ?? [:])")
        let log = camd.log
        #expect(log.components(separatedBy: "HDMI source changed: 640x360p30 → 320x240p15").count == 2, "logged once:\n\(log)")
        #expect(camera.requests.contains("S_DV_TIMINGS 320x240@15"))
        #expect(!log.contains("disconnect") && !log.contains("lost"), "no viewer dropped, no outage:\n\(log)")
        #expect(camd.stop() == 0)
    }

    @Test func hdmiWithoutSignalShowsNoSignalWithTheReasonAndRecoversWhenTheSourceReturns() throws {
        let (camera, environment) = try hdmiReceiver("nosignal")
        let camd = try CamdProcess(["--source", "v4l2:\(camera.device)"], environment: environment)
        let native = try NativeTestClient(port: camd.port)
        let first = try native.readFrame()
        #expect(first.header.isPlaceholder)
        let line = try camd.waitForLog(containing: "camera /dev/video-fake unavailable: no HDMI signal; showing NO SIGNAL", timeout: 5)
        #expect(line?.contains(" notice: ") == true, "an HDMI source that is off is not an error:\n\(camd.log)")
        #expect(line?.contains("up to every 1 s") == true, "\(line ?? camd.log)")
        var state = try #require(camd.state())
        #expect(state["source_state"] as? String == "no_signal")
        #expect(state["source_error"] as? String == "no HDMI signal", "\(state)")
        #expect(state["dv_timings"] == nil)

        // The source comes on: frames at its size within about the 1 s poll.
        camera.set("ok 640x360@30")
        var frame = try native.readFrame()
        let deadline = Clock.monotonicNanos() + 10_000_000_000
        while frame.header.isPlaceholder && Clock.monotonicNanos() < deadline { frame = try native.readFrame() }
        #expect(!frame.header.isPlaceholder && frame.header.width == 640 && frame.header.height == 360)
        #expect(try JPEGDecoder().info(frame.payload) == JPEGInfo(width: 640, height: 360))
        #expect(try camd.waitForLog(containing: "camera /dev/video-fake recovered after", timeout: 5) != nil, "\(camd.log)")

        // The source goes off while streaming: the event, NO SIGNAL at the last size, the reason in /state.
        camera.set("ok nosignal")
        while !frame.header.isPlaceholder && Clock.monotonicNanos() < deadline + 5_000_000_000 { frame = try native.readFrame() }
        #expect(frame.header.isPlaceholder)
        #expect(frame.header.width == 640 && frame.header.height == 360, "the placeholder keeps the source's last size")
        #expect(try JPEGDecoder().info(frame.payload) == JPEGInfo(width: 640, height: 360))
        #expect(try camd.waitForLog(containing: "camera /dev/video-fake lost: no HDMI signal; showing NO SIGNAL", timeout: 5) != nil,
                "\(camd.log)")
        state = try #require(camd.state())
        #expect(state["source_error"] as? String == "no HDMI signal", "\(state)")
        #expect(state["dv_timings"] == nil)

        // Each reason shows as it is (polled about once a second), and the viewer stays connected throughout.
        for (signal, reason) in [("nolock", "HDMI signal unstable (timings not locked)"),
                                 ("range", "HDMI timings out of range (the receiver cannot capture this mode)")] {
            camera.set("ok \(signal)")
            #expect(waitUntil(timeout: 10, interval: 0.1) { camd.state()?["source_error"] as? String == reason },
                    "\(signal): \(camd.state() ?? [:])")
            frame = try native.readFrame()
            #expect(frame.header.isPlaceholder)
        }
        // A new reason is logged once as a warning (at most one a second, so the quick "nolock" may be skipped).
        let reasonLine = try camd.waitForLog(containing: "now: HDMI timings out of range", timeout: 5)
        #expect(reasonLine?.contains(" warning: ") == true, "\(camd.log)")
        #expect(!camd.log.contains(" error: "), "nothing about a missing signal is an error:\n\(camd.log)")

        camera.set("ok 320x240@30")
        let back = Clock.monotonicNanos() + 10_000_000_000
        while frame.header.isPlaceholder && Clock.monotonicNanos() < back { frame = try native.readFrame() }
        #expect(!frame.header.isPlaceholder && frame.header.width == 320 && frame.header.height == 240)
        #expect(waitUntil(timeout: 5) { camd.state()?["dv_timings"] as? String == "320x240p30" }, "\(camd.state() ?? [:])")
        #expect(!camd.log.contains("disconnect"), "\(camd.log)")
        #expect(camd.stop() == 0)
    }
}
