// Pixel formats end to end: the real camd on the fake camera in every raw format (rows padded), a /snapshot fetched
// with curl and decoded to the four bars; what `format = auto` picks; the one-line error for an unknown name;
// --list-formats' verdicts; and short raw frames, which are dropped without harm.
import CamdSystem
import Foundation
import JPEG
import Testing
import TestSupport

/// `format` name → the fourcc the fake camera lists.
private let rawFormats: [(name: String, fourcc: String)] = [
    ("yuyv", "YUYV"), ("uyvy", "UYVY"), ("yvyu", "YVYU"), ("nv12", "NV12"), ("nv21", "NV21"), ("nv16", "NV16"),
    ("yu12", "YU12"), ("yv12", "YV12"), ("grey", "GREY"), ("rgb24", "RGB3"), ("bgr24", "BGR3"), ("rgb565", "RGBP"),
    ("ba81", "BA81"), ("gbrg", "GBRG"), ("grbg", "GRBG"), ("rggb", "RGGB"),
]

/// The four bars (white, red, green, blue), each sampled at its centre, a third and two thirds down.
private func barsMismatch(_ jpeg: [UInt8], grey: Bool) throws -> String? {
    let decoded = try JPEGDecoder().decodeRGB(jpeg)
    let (w, h) = (decoded.info.width, decoded.info.height)
    let colours: [(Int, Int, Int)] = grey ? [(235, 235, 235), (81, 81, 81), (145, 145, 145), (41, 41, 41)]
        : [(235, 235, 235), (235, 16, 16), (16, 235, 16), (16, 16, 235)]
    for (bar, want) in colours.enumerated() {
        for y in [h / 3, 2 * h / 3] {
            let i = (y * w + (2 * bar + 1) * w / 8) * 3
            let got = (Int(decoded.rgb[i]), Int(decoded.rgb[i + 1]), Int(decoded.rgb[i + 2]))
            if abs(got.0 - want.0) > 24 || abs(got.1 - want.1) > 24 || abs(got.2 - want.2) > 24 {
                return "bar \(bar) at y \(y) is \(got), expected \(want)"
            }
        }
    }
    return nil
}

extension CamdIntegrationTests {
    @Test func everyRawFormatStreamsTheFourBarsWithPaddedRows() throws {
        let camera = try FakeCamera()
        for format in rawFormats {
            // 13 spare bytes per row: bytesperline is odd and larger than the pixels need.
            let camd = try CamdProcess(["--source", "v4l2:\(camera.device)", "--format", format.name],
                                       environment: camera.environment(["FAKE_V4L2_FORMATS": "MJPG,\(format.fourcc)", "FAKE_V4L2_PAD": "13"]))
            defer { camd.terminate() }
            let client = try NativeTestClient(port: camd.port)
            var frame = try client.readFrame()
            for _ in 0..<50 where frame.header.isPlaceholder { frame = try client.readFrame() }
            #expect(!frame.header.isPlaceholder, "\(format.name): \(camd.log)")
            #expect(camd.log.contains("640x480 \(format.fourcc) 30 fps, encoded at quality 80"), "\(format.name): \(camd.log)")
            let jpeg = try camd.curlSnapshot(timeout: 10)
            #expect(try JPEGDecoder().info(jpeg) == JPEGInfo(width: 640, height: 480))
            let mismatch = try barsMismatch(jpeg, grey: format.name == "grey")
            #expect(mismatch == nil, "\(format.name): \(mismatch ?? "")")
            #expect(camera.requests.contains("S_FMT \(format.fourcc) 640x480"))
            #expect(camd.stop() == 0)
        }
    }

    @Test func autoPicksTheCamerasJPEGThenTheCheapestNativeFormat() throws {
        let camera = try FakeCamera()
        let camd = try CamdProcess(["--source", "v4l2:\(camera.device)"],
                                   environment: camera.environment(["FAKE_V4L2_FORMATS": "RGB3,YUYV,GREY,NV12,H264"]))
        defer { camd.terminate() }
        let client = try NativeTestClient(port: camd.port)
        var frame = try client.readFrame()
        for _ in 0..<50 where frame.header.isPlaceholder { frame = try client.readFrame() }
        #expect(camd.log.contains("640x480 NV12 30 fps, encoded at quality 80"), "\(camd.log)")
        #expect(try barsMismatch(frame.payload, grey: false) == nil)
        #expect(camd.stop() == 0)
        // The same choice without streaming: --list-formats says what camd would use, for several devices.
        let cases: [(formats: String, flags: [String], expected: String)] = [
            ("YUYV,MJPG,NV12", [], "camd would use: 'MJPG' under format = \"auto\""),
            ("RGB3,YUYV,GREY,NV12,H264", [], "camd would use: 'NV12' under format = \"auto\""),
            ("GREY,BA81", [], "camd would use: 'BA81' under format = \"auto\""),          // colour before grey
            ("GREY", [], "camd would use: 'GREY' under format = \"auto\""),
            ("*YU12,*NV12,RGB3", [], "camd would use: 'RGB3' under format = \"auto\""),  // native before emulated
            ("H264,*YU12", [], "camd would use: 'YU12' under format = \"auto\""),        // emulated when nothing native is usable
            ("RGB3,YUYV", ["--format", "rgb24"], "camd would use: 'RGB3' under format = \"rgb24\""),
            ("YU12", ["--format", "i420"], "camd would use: 'YU12' under format = \"yu12\""),
            ("YUYV", ["--format", "gray"], "camd would use: nothing — format = \"grey\" matches no usable format here"),
        ]
        for c in cases {
            let result = try runCommand(Binaries.path("camd"), ["--list-formats", camera.device] + c.flags,
                                        environment: camera.environment(["FAKE_V4L2_FORMATS": c.formats]))
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains(c.expected), "\(c.formats) \(c.flags):\n\(result.stdout)")
        }
    }

    @Test func listFormatsSaysHowEachFormatIsTreatedAndWhatCamdCannotUse() throws {
        let camera = try FakeCamera()
        let result = try runCommand(Binaries.path("camd"), ["--list-formats", camera.device],
                                    environment: camera.environment(["FAKE_V4L2_FORMATS": "H264,*YU12,UYVY,GREY"]))
        #expect(result.status == 0, "\(result.stderr)")
        let out = result.stdout
        #expect(out.contains("[0] 'H264' (H.264) — passed through to RTSP and decoded for JPEG viewers, only with format = \"h264\""), "\(out)")
        #expect(out.contains("[1] 'YU12' (Planar YUV 4:2:0) — encoded by camd (4:2:0), emulated by libv4l2"), "\(out)")
        #expect(out.contains("[2] 'UYVY' (UYVY 4:2:2) — encoded by camd (4:2:2)"), "\(out)")
        #expect(out.contains("[3] 'GREY' (8-bit Greyscale) — encoded by camd (greyscale)"), "\(out)")
        #expect(out.contains("camd would use: 'UYVY' under format = \"auto\"\n") && !out.contains("camd cannot use"), "\(out)")
    }

    @Test func anUnknownFormatNameIsOneLineListingTheNamesAndExit78() throws {
        let result = try runCommand(Binaries.path("camd"), ["--format", "nv13", "--check-config"], timeout: 10)
        #expect(result.status == 78, "\(result.stderr)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(lines.first?.hasPrefix("camd: config error: format = \"nv13\"") == true, "\(result.stderr)")
        for name in ["\"auto\"", "\"mjpeg\"", "\"yuyv\"", "\"nv12\"", "\"yu12\"", "\"grey\"", "\"rgb565\"", "\"ba81\"", "\"rggb\""] {
            #expect(result.stderr.contains(name), "\(name) missing: \(result.stderr)")
        }
        // The aliases are accepted and shown by their canonical name.
        let alias = try runCommand(Binaries.path("camd"), ["--format", "i420", "--check-config"], timeout: 10)
        #expect(alias.status == 0, "\(alias.stderr)")
    }

    @Test func shortRawFramesAreDroppedAndCountedUntilWholeOnesComeBack() throws {
        let camera = try FakeCamera()
        camera.set("truncate")
        let camd = try CamdProcess(["--source", "v4l2:\(camera.device)", "--format", "nv12"],
                                   environment: camera.environment(["FAKE_V4L2_FORMATS": "NV12", "FAKE_V4L2_PAD": "5"]))
        defer { camd.terminate() }
        // Half frames: each is refused (never read past), counted, and the daemon keeps serving.
        var invalid = 0
        #expect(waitUntil(timeout: 10, interval: 0.1) {
            invalid = (camd.state()?["frames_invalid"] as? Int) ?? 0
            return invalid >= 10
        }, "frames_invalid \(invalid): \(camd.log)")
        // Nothing but NO SIGNAL pictures was published from them.
        let state = camd.state()
        #expect(state?["sequence"] as? Int == 0 || state?["placeholder"] as? Bool == true, "\(String(describing: state))")
        camera.set("ok")
        let client = try NativeTestClient(port: camd.port)
        var frame = try client.readFrame()
        for _ in 0..<100 where frame.header.isPlaceholder { frame = try client.readFrame() }
        #expect(!frame.header.isPlaceholder)
        #expect(try barsMismatch(frame.payload, grey: false) == nil)
        #expect(camd.stop() == 0)
    }
}
