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

/// Tests/Fixtures/still-320x240-gop10.h264: a still picture (testsrc's first second), 20 frames, an IDR every 10 —
/// `ffmpeg -f lavfi -i "testsrc=size=320x240:rate=1,fps=30" -frames:v 20 -c:v libx264 -profile:v baseline -g 10
/// -keyint_min 10 -sc_threshold 0 -bf 0 -threads 1 -x264-params repeat-headers=1 -pix_fmt yuv420p still-320x240-gop10.h264`.
/// Most of its pictures decode identically, so drop_same_frames holds their JPEG frames back.
private var stillStream: String {
    URL(fileURLWithPath: fixtureStream).deletingLastPathComponent().appendingPathComponent("still-320x240-gop10.h264").path
}

/// The next access unit of an RTSP /stream (RTP over TCP): single NAL units and FU-A fragments put back together as
/// Annex-B, up to the packet with the marker bit.
private func nextAccessUnit(_ rtsp: RTSPTestClient) throws -> [UInt8] {
    var unit: [UInt8] = []
    while true {
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
        if packet.marker { return unit }
    }
}

/// NAL units without their start codes, in order.
private func nal(_ bytes: [UInt8]) -> [[UInt8]] {
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

/// The slices (IDR and non-IDR NAL units) of an access unit, and whether it is a keyframe.
private func slices(_ unit: [UInt8]) -> (slices: [[UInt8]], keyframe: Bool) {
    let slices = nal(unit).filter { $0.first.map { $0 & 0x1F == 5 || $0 & 0x1F == 1 } ?? false }
    return (slices, slices.contains { $0[0] & 0x1F == 5 })
}

/// The real camd on the fake camera in its H.264 mode (`stream`), 320x240, with `extra` config lines and RTSP on a
/// port of its own; the caller terminates it.
private func camdOnH264Camera(_ stream: String, config extra: String = "") throws -> (FakeCamera, CamdProcess) {
    let camera = try FakeCamera()
    let config = camera.directory + "/camd.toml"
    try "source = \"v4l2:\(camera.device)\"\nformat = \"H264\"\nwidth = 320\nheight = 240\n\(extra)"
        .write(toFile: config, atomically: true, encoding: .utf8)
    let camd = try CamdProcess(["--config", config, "--rtsp-listen", "127.0.0.1:0"],
                               environment: camera.environment(["FAKE_V4L2_H264": stream]))
    return (camera, camd)
}

extension CamdIntegrationTests {
    /// With only RTSP /stream viewers (for idle_after), a camera's own H.264 goes to them undecoded and no JPEG is
    /// made — the capture publishes nothing while the units keep coming whole; a snapshot then gets a fresh picture
    /// (the decoder starts again at the camera's next IDR), and a JPEG viewer keeps pictures coming.
    @Test func onlyRTSPViewersOfACamerasH264CostNoDecodeAndASnapshotBringsPicturesBack() throws {
        let (_, camd) = try camdOnH264Camera(fixtureStream, config: "idle_after = 1\n")
        defer { camd.terminate() }
        let state = { camd.state() ?? [:] }
        let number = { (key: String) -> UInt64 in (state()[key] as? NSNumber)?.uint64Value ?? 0 }
        #expect(state()["pictures_paused"] as? Bool == false, "\(state())")
        let rtsp = try RTSPTestClient(port: camd.rtspPort, path: "/stream")
        defer { rtsp.close() }
        _ = try rtsp.play()
        #expect(waitUntil(timeout: 20, interval: 0.1) { state()["pictures_paused"] as? Bool == true }, "\(camd.log)")
        #expect(camd.log.contains("pictures paused: only H.264 viewers for 1 s (idle_after)"), "\(camd.log)")
        #expect(state()["idle"] as? Bool == false)
        let captured = number("frames_captured")
        let fixtureSlices = Set(nal([UInt8](try Data(contentsOf: URL(fileURLWithPath: fixtureStream))))
                                    .filter { $0[0] & 0x1F == 5 || $0[0] & 0x1F == 1 })
        // Two whole GOPs of the camera's own units (an IDR every 30), while no picture is made.
        var keyframes = 0, between = 0
        while keyframes < 3 {
            let (found, keyframe) = slices(try nextAccessUnit(rtsp))
            #expect(found.allSatisfy(fixtureSlices.contains), "a slice that is not the camera's")
            if keyframe {
                if keyframes > 0 { #expect(between == 29, "\(between) units between two IDRs, the camera sent 29") }
                keyframes += 1
                between = 0
            } else {
                between += 1
            }
        }
        #expect(number("frames_captured") == captured, "pictures were made while paused")
        #expect(state()["pictures_paused"] as? Bool == true)
        let status = try runCommand(Binaries.path("camctl"), ["status", "--socket", camd.controlSocket], timeout: 15)
        #expect(status.stdout.contains("pictures   paused: only RTSP H.264 viewers") && status.stdout.contains("0 http, 1 rtsp connections"),
                "\(status.stdout)")

        // A snapshot wants a picture: a fresh one (after the pause, not marked stale) of the camera's picture.
        let sequenceBefore = number("sequence")
        let snapshot = try curlSnapshotWithHeaders(port: camd.httpPort)
        #expect(snapshot.status == 0 && snapshot.headers["x-stale"] == nil, "\(snapshot.headers)")
        #expect((snapshot.headers["x-sequence"].flatMap { UInt64($0) } ?? 0) > sequenceBefore, "\(snapshot.headers)")
        #expect(try JPEGDecoder().info(snapshot.body) == JPEGInfo(width: 320, height: 240))
        #expect(waitUntil(timeout: 20, interval: 0.1) { camd.log.contains("pictures resumed after") }, "\(camd.log)")
        // A native viewer keeps pictures coming for as long as it watches, and RTSP goes on whole beside it.
        let client = try NativeTestClient(port: camd.port)
        var last: UInt64 = 0
        for _ in 0..<45 {
            let frame = try client.readFrame()
            #expect(frame.header.sequence > last && frame.header.width == 320)
            last = frame.header.sequence
        }
        #expect(state()["pictures_paused"] as? Bool == false)
        #expect(camd.stop() == 0)
    }

    /// RTSP viewers of a camera's own H.264 get every unit it sends, whatever the JPEG side drops (here
    /// drop_same_frames holding back a still picture's repeats; on a slow box the JPEG encoders' latest-wins input):
    /// between two IDRs, all nine of the fixture's P units. Damaged units never go out, and neither do the units
    /// after a frame the driver lost (its sequence numbers jump): RTSP resumes at the camera's next IDR, and /state
    /// counts the units held back.
    @Test func aCamerasH264ReachesRTSPWholeWhateverTheJPEGSideDropsAndResumesAtAnIDRAfterDamage() throws {
        let (camera, camd) = try camdOnH264Camera(stillStream, config: "drop_same_frames = 100\n")
        defer { camd.terminate() }
        let fixtureSlices = Set(nal([UInt8](try Data(contentsOf: URL(fileURLWithPath: stillStream))))
                                    .filter { $0[0] & 0x1F == 5 || $0[0] & 0x1F == 1 })
        let rtsp = try RTSPTestClient(port: camd.rtspPort, path: "/stream")
        defer { rtsp.close() }
        _ = try rtsp.play()

        // Whole GOPs: from an IDR, nine P units, then the next IDR; three GOPs in a row.
        var unit = try nextAccessUnit(rtsp)
        #expect(slices(unit).keyframe, "the first unit is not a keyframe")
        for gop in 0..<3 {
            var between = 0
            while true {
                unit = try nextAccessUnit(rtsp)
                let (found, keyframe) = slices(unit)
                #expect(found.allSatisfy(fixtureSlices.contains), "a slice that is not the camera's")
                if keyframe { break }
                between += 1
            }
            #expect(between == 9, "GOP \(gop): \(between) units between two IDRs, the camera sent 9")
        }
        // The JPEG side did drop frames meanwhile (else this test would prove nothing).
        #expect(waitUntil(timeout: 20, interval: 0.1) { (camd.state()?["frames_unchanged"] as? Int ?? 0) > 0 }, "\(camd.state() ?? [:])")

        // Damaged units (each cut in half) are refused, never sent; once whole units come back, RTSP resumes at the
        // camera's next IDR.
        camera.set("truncate")
        #expect(waitUntil(timeout: 20, interval: 0.1) { (camd.state()?["frames_invalid"] as? Int ?? 0) > 10 }, "\(camd.log)")
        camera.set("ok")
        var afterDamage: [Bool] = []
        for _ in 0..<60 {
            let (found, keyframe) = slices(try nextAccessUnit(rtsp))
            #expect(found.allSatisfy(fixtureSlices.contains), "a damaged or foreign slice went out")
            afterDamage.append(keyframe)
        }
        let skippedUnits = { (camd.state()?["h264"] as? [String: Any])?["camera_units_skipped"] as? Int ?? 0 }
        let skipped = skippedUnits()
        #expect(skipped > 0, "\(camd.state()?["h264"] ?? "no h264")")
        // Every GOP that went out after the damage is whole: nine P units between IDRs.
        let keyframes = afterDamage.indices.filter { afterDamage[$0] }
        for (a, b) in zip(keyframes, keyframes.dropFirst()) { #expect(b - a == 10, "\(afterDamage)") }

        // The driver loses frames (a busy bus: its sequence numbers jump, one unit in two never arrives): what
        // follows a loss is held back to the next IDR, so a GOP goes out whole or not at all — runs of nine P units
        // between IDRs, or IDRs alone, never a GOP with a unit missing.
        camera.set("drop")
        #expect(waitUntil(timeout: 20, interval: 0.1) { skippedUnits() > skipped + 10 }, "\(camd.state()?["h264"] ?? "no h264")")
        camera.set("ok")
        var run: Int?
        var runs: [Int] = []
        for _ in 0..<60 {
            let (found, keyframe) = slices(try nextAccessUnit(rtsp))
            #expect(found.allSatisfy(fixtureSlices.contains), "a foreign slice went out")
            if keyframe {
                if let run { runs.append(run) }
                run = 0
            } else if let current = run {
                run = current + 1
            }
        }
        #expect(runs.contains(9) && runs.allSatisfy { $0 == 9 || $0 == 0 }, "P units between IDRs: \(runs)")
        #expect(camd.stop() == 0)
    }

    @Test func aCamerasOwnH264IsDecodedForJPEGViewersAndCorruptUnitsAreCountedNotFatal() throws {
        let (camera, camd) = try camdOnH264Camera(fixtureStream)
        defer { camd.terminate() }

        // RTSP viewers get the camera's own H.264, not re-encoded: the units are the fixture's, byte for byte (the
        // fixture repeats its SPS and PPS at every IDR, so a keyframe unit is sent as the camera made it).
        let rtsp = try RTSPTestClient(port: camd.rtspPort, path: "/stream")
        let sdp = try rtsp.play()
        #expect(sdp.contains("H264/90000") && sdp.contains("a=x-dimensions:320,240"), "\(sdp)")
        let units = try (0..<5).map { _ in try nextAccessUnit(rtsp) }
        let stream = [UInt8](try Data(contentsOf: URL(fileURLWithPath: fixtureStream)))
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
