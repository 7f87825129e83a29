// RTSP in the real camd: H.264 at /stream from one encoder that runs only while a viewer wants it, a viewer that
// stops reading skipping to the next keyframe while the others are untouched, RTP over UDP, /mjpeg, and the same
// access control and max_clients as HTTP. Real clients (ffprobe, ffmpeg, GStreamer, OpenCV, VLC): scripts/rtsp-test.sh.
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem
import Foundation
import Testing
import TestSupport

extension CamdIntegrationTests {
    static let rtspArguments = ["--rtsp-listen", "127.0.0.1:0", "--h264-encoder", "libx264", "--width", "320", "--height", "240",
                                "--fps", "30", "--h264-gop", "30"]

    private func h264(_ camd: CamdProcess) -> [String: Any]? { camd.state()?["h264"] as? [String: Any] }

    @Test func rtspStreamIsH264FromOneEncoderThatRunsOnlyWhileAViewerWantsIt() throws {
        let camd = try CamdProcess(Self.rtspArguments)
        #expect(camd.rtspPort != 0, "\(camd.log)")
        #expect(h264(camd)?["running"] as? Bool == false, "the encoder runs before any RTSP viewer")

        let first = try RTSPTestClient(port: camd.rtspPort, path: "/stream")
        let options = try first.request("OPTIONS")
        #expect(options.status == 200 && (options.header("public") ?? "").contains("DESCRIBE"))
        let sdp = try first.play()
        #expect(sdp.contains("a=rtpmap:96 H264/90000") && sdp.contains("sprop-parameter-sets=") && sdp.contains("packetization-mode=1"), "\(sdp)")
        // The first packet starts a keyframe with its parameter sets; then whole access units (marker bits), and a
        // sender report mapping RTP time to the capture's wall clock.
        var rtp: [InterleavedPacket] = []
        var senderReport: InterleavedPacket?
        while rtp.filter(\.marker).count < 30 {
            let packet = try first.readInterleaved()
            if packet.channel == 0 { rtp.append(packet) } else if packet.bytes.count > 1, packet.bytes[1] == 200 { senderReport = packet }
        }
        #expect(rtp.first?.nalType == 7, "first NAL type \(String(describing: rtp.first?.nalType))")
        #expect(rtp.allSatisfy { $0.payloadType == 96 })
        #expect(zip(rtp, rtp.dropFirst()).allSatisfy { $1.sequence == $0.sequence &+ 1 }, "RTP sequence numbers have a gap")
        let report = try #require(senderReport, "no RTCP sender report")
        let ntpSeconds = report.bytes[8..<12].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let unixSeconds = Double(ntpSeconds) - 2_208_988_800
        #expect(abs(unixSeconds - Double(Clock.realtimeNanos()) / 1e9) < 5, "sender report time \(unixSeconds)")

        // A second viewer shares the encoder: units come at the frame rate, not once per viewer.
        let second = try RTSPTestClient(port: camd.rtspPort, path: "/stream")
        try second.play()
        let before = try #require(h264(camd)?["units_out"] as? Int)
        let framesBefore = try #require(camd.state()?["sequence"] as? Int)
        var markers = 0
        while markers < 30 {
            if try second.readInterleaved().marker { markers += 1 }
            _ = try first.readInterleaved()
        }
        let state = try #require(camd.state())
        let units = try #require((state["h264"] as? [String: Any])?["units_out"] as? Int) - before
        let frames = try #require(state["sequence"] as? Int) - framesBefore
        #expect(units <= frames + 2, "\(units) units encoded for \(frames) frames with two viewers")
        #expect(state["clients_rtsp"] as? Int == 2 && state["viewers_rtsp"] as? Int == 2, "\(state)")

        // The encoder stops when the last H.264 viewer leaves.
        #expect(try first.request("TEARDOWN").status == 200)
        first.close()
        second.close()
        #expect(waitUntil(timeout: 20) { self.h264(camd)?["running"] as? Bool == false }, "\(String(describing: h264(camd)))")
        #expect(try camd.waitForLog(containing: "(rtsp /stream over TCP)", timeout: 5) != nil)
        #expect(camd.stop() == 0)
    }

    @Test func anRTSPViewerThatStopsReadingSkipsToAKeyframeAndTheOthersMissNothing() throws {
        let camd = try CamdProcess(Self.rtspArguments + ["--send-lowat", "4096", "--h264-bitrate", "4000000"])
        let steady = try RTSPTestClient(port: camd.rtspPort, path: "/stream")
        try steady.play()
        let stalled = try RTSPTestClient(port: camd.rtspPort, path: "/stream", receiveBuffer: 4096)
        try stalled.play()
        // The stalled viewer reads nothing until camd has skipped units for it; the steady one reads all along.
        var steadyTimestamps: [UInt32] = []
        let stalledSince = Clock.monotonicNanos()
        while (camd.state()?["frames_dropped"] as? Int ?? 0) < 10 {
            for _ in 0..<20 {
                let packet = try steady.readInterleaved()
                if packet.channel == 0, packet.marker { steadyTimestamps.append(packet.timestamp) }
            }
            try #require(Clock.monotonicNanos() - stalledSince < 60_000_000_000, "camd never skipped a unit for the stalled viewer")
        }
        // Every unit reached the steady viewer: consecutive timestamps one frame (3000 ticks at 30 fps) apart, give or
        // take the capture's jitter — never a skipped frame's 6000.
        let steps = zip(steadyTimestamps, steadyTimestamps.dropFirst()).map { $1 &- $0 }
        #expect(steps.allSatisfy { $0 < 5000 }, "the steady viewer missed units: steps \(steps.filter { $0 >= 5000 })")

        // The stalled viewer reads again: after what was queued, the next unit after the gap is a keyframe.
        var last: UInt32?
        var resumed: InterleavedPacket?
        while resumed == nil {
            let packet = try stalled.readInterleaved()
            guard packet.channel == 0 else { continue }
            if let last, packet.timestamp &- last > 6000, packet.timestamp != last { resumed = packet }
            last = packet.timestamp
        }
        #expect(resumed?.nalType == 7 || resumed?.nalType == 5, "after skipping, the viewer resumed on NAL type \(String(describing: resumed?.nalType))")
        #expect(camd.stop() == 0)
    }

    @Test func rtspOverUDPAndTheMJPEGPath() throws {
        let camd = try CamdProcess(Self.rtspArguments)
        let rtpSocket = try UDPTestSocket()
        let rtcpSocket = try UDPTestSocket()
        let viewer = try RTSPTestClient(port: camd.rtspPort, path: "/stream")
        try viewer.play(udpClientPorts: (rtpSocket.port, rtcpSocket.port))
        var packets: [[UInt8]] = []
        while packets.count < 20, let datagram = try rtpSocket.receive() { packets.append(datagram) }
        #expect(packets.count == 20, "\(packets.count) RTP datagrams over UDP")
        #expect(packets.first.map { $0[1] & 0x7F } == 96 && packets.first.map { $0[12] & 0x1F } == 7)
        #expect(try rtcpSocket.receive().map { $0[1] } == 200, "no sender report on the RTCP port")
        #expect(try viewer.request("TEARDOWN").status == 200)

        let jpeg = try RTSPTestClient(port: camd.rtspPort, path: "/mjpeg")
        let sdp = try jpeg.play()
        #expect(sdp.contains("m=video 0 RTP/AVP 26") && sdp.contains("a=x-dimensions:320,240"), "\(sdp)")
        var frames = 0
        while frames < 5 {
            let packet = try jpeg.readInterleaved()
            guard packet.channel == 0 else { continue }
            #expect(packet.payloadType == 26)
            if packet.marker { frames += 1 }
        }
        #expect(camd.stop() == 0)
    }

    @Test func rtspSharesHTTPsAccessControlAndMaxClients() throws {
        let camd = try CamdProcess(Self.rtspArguments + ["--max-clients", "1", "--config", try Self.writeConfig("http_token = \"s3cret-0123456789abcdef\"\n")])
        let anonymous = try RTSPTestClient(port: camd.rtspPort, path: "/mjpeg")
        let refused = try anonymous.request("DESCRIBE")
        #expect(refused.status == 401)
        #expect(try anonymous.request("OPTIONS").status == 200, "OPTIONS needs no credentials")
        anonymous.close()
        // /state needs the token too.
        func state() -> [String: Any]? {
            guard let answer = try? httpExchange(port: camd.httpPort, "GET /state?token=s3cret-0123456789abcdef HTTP/1.1\r\nHost: cam\r\nConnection: close\r\n\r\n"),
                  let body = answer.components(separatedBy: "\r\n\r\n").dropFirst().first else { return nil }
            return (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
        }
        #expect(waitUntil(timeout: 10) { state()?["clients_rtsp"] as? Int == 0 }, "\(String(describing: state()))")

        let allowed = try RTSPTestClient(port: camd.rtspPort, path: "/mjpeg?token=s3cret-0123456789abcdef")
        try allowed.play()
        // max_clients = 1: a second RTSP connection is turned away while the first holds the slot.
        let extra = try RTSPTestClient(port: camd.rtspPort, path: "/mjpeg?token=s3cret-0123456789abcdef", timeout: 5)
        #expect(throws: (any Error).self) { try extra.request("OPTIONS") }
        #expect(waitUntil(timeout: 10) { (state()?["clients_refused"] as? Int ?? 0) >= 1 })
        #expect(try allowed.readInterleaved().channel <= 1)
        #expect(camd.stop() == 0)
    }

    static func writeConfig(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "camd-rtsp-\(UUID().uuidString.prefix(8)).toml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}
