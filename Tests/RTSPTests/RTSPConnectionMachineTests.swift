// RTSPConnectionMachine through whole sessions as ffmpeg, VLC (live555) and GStreamer send them (the ffmpeg and
// GStreamer requests are captured from ffmpeg 5.1 and GStreamer 1.22 against rtsp-harness), its errors, access
// control, timeouts and the latest-wins delivery of RTP.
@testable import RTSP
import Testing

struct RTSPConnectionMachineTests {
    static let ua = "User-Agent: Lavf59.27.100\r\n"

    /// A keyframe access unit of `packets` packets (payload bytes 0, 1, 2…).
    static func unit(keyframe: Bool, packets: Int = 2, timestamp: UInt32 = 90_000, capture: UInt64 = 1_796_000_000_000_000_000) -> RTPAccessUnit {
        let list = (0..<packets).map { RTPPacket(marker: $0 == packets - 1, payload: [UInt8(keyframe ? 0x65 : 0x41), UInt8($0)]) }
        return RTPAccessUnit(packets: list, timestamp: timestamp, captureNanos: capture, isKeyframe: keyframe, payloadType: 96)
    }

    @Test func ffmpegSessionOverTCPGetsSDPTransportAndInterleavedRTP() throws {
        var peer = RTSPTestPeer()
        let options = try peer.answer("OPTIONS rtsp://127.0.0.1:8554/stream RTSP/1.0\r\nCSeq: 1\r\n\(Self.ua)\r\n")
        #expect(options.status == 200)
        #expect(options.headers["cseq"] == "1")
        #expect(options.headers["public"]?.contains("DESCRIBE") == true)
        #expect(options.headers["server"] == "camd")
        #expect(options.headers["date"]?.hasSuffix(" GMT") == true)

        let describe = try peer.answer("DESCRIBE rtsp://127.0.0.1:8554/stream RTSP/1.0\r\nAccept: application/sdp\r\nCSeq: 2\r\n\(Self.ua)\r\n")
        #expect(describe.status == 200)
        #expect(describe.headers["content-base"] == "rtsp://127.0.0.1:8554/stream/")
        #expect(describe.headers["content-type"] == "application/sdp")
        #expect(describe.body.contains("m=video 0 RTP/AVP 96\r\n"))
        #expect(describe.body.contains("a=rtpmap:96 H264/90000\r\n"))
        #expect(describe.body.contains("a=fmtp:96 packetization-mode=1;profile-level-id=42C01E;sprop-parameter-sets=Z0LAHtkAoEf+yA==,aM48gA==\r\n"))
        #expect(describe.body.contains("a=control:trackID=0\r\n"))
        #expect(describe.body.contains("a=framerate:30\r\n"))
        #expect(describe.body.contains("a=x-dimensions:320,240\r\n"))
        #expect(describe.body.contains("a=range:npt=0-\r\n"))

        let setup = try peer.answer("SETUP rtsp://127.0.0.1:8554/stream/trackID=0 RTSP/1.0\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nCSeq: 3\r\n\(Self.ua)\r\n")
        #expect(setup.status == 200)
        #expect(setup.headers["session"] == "5E55A1;timeout=60")
        #expect(setup.headers["transport"] == "RTP/AVP/TCP;unicast;interleaved=0-1;ssrc=C0FFEE01;mode=\"PLAY\"")

        let play = try peer.answer("PLAY rtsp://127.0.0.1:8554/stream/ RTSP/1.0\r\nRange: npt=0.000-\r\nCSeq: 4\r\n\(Self.ua)Session: 5E55A1\r\n\r\n")
        #expect(play.status == 200)
        #expect(play.headers["rtp-info"]?.hasPrefix("url=rtsp://127.0.0.1:8554/stream/trackID=0;seq=1000;rtptime=") == true)
        #expect(play.headers["range"] == "npt=0.000-")
        #expect(peer.streams == ["start /stream"])
        #expect(peer.keyframeRequests == 1)

        // A P-frame before the first IDR is skipped; the IDR goes out as `$` frames with this session's sequence.
        peer.machine.accessUnit(Self.unit(keyframe: false), now: peer.now)
        peer.run()
        #expect(peer.frames().isEmpty)
        peer.machine.accessUnit(Self.unit(keyframe: true), now: peer.now)
        peer.run()
        let frames = peer.frames()
        #expect(frames.map(\.channel) == [0, 0, 1])
        let first = frames[0].payload
        #expect(first[0] == 0x80 && first[1] == 96)               // V=2, no marker, PT 96
        #expect(Int(first[2]) << 8 | Int(first[3]) == 1000)       // RTP-Info's seq
        #expect(Array(first[8..<12]) == [0xC0, 0xFF, 0xEE, 0x01])
        #expect(Array(first[12...]) == [0x65, 0])
        #expect(frames[1].payload[1] == 0x80 | 96)                // marker on the unit's last packet
        #expect(Int(frames[1].payload[2]) << 8 | Int(frames[1].payload[3]) == 1001)
        #expect(frames[2].payload[1] == 200)                      // the first unit brings a sender report

        let teardown = try peer.answer("TEARDOWN rtsp://127.0.0.1:8554/stream/ RTSP/1.0\r\nCSeq: 5\r\n\(Self.ua)Session: 5E55A1\r\n\r\n")
        #expect(teardown.status == 200)
        #expect(peer.streams == ["start /stream", "stop /stream"])
        #expect(peer.machine.session == nil)
    }

    @Test func vlcSessionOverUDPSendsDatagramsToTheClientPorts() throws {
        var settings = RTSPSettings()
        settings.udpServerPorts = (6970, 6971)
        var peer = RTSPTestPeer(settings: settings)
        let vlc = "User-Agent: LibVLC/3.0.18 (LIVE555 Streaming Media v2021.08.24)\r\n"
        #expect(peer.request("OPTIONS rtsp://cam:8554/stream RTSP/1.0\r\nCSeq: 2\r\n\(vlc)\r\n")?.status == 200)
        #expect(peer.request("DESCRIBE rtsp://cam:8554/stream RTSP/1.0\r\nCSeq: 3\r\n\(vlc)Accept: application/sdp\r\n\r\n")?.status == 200)
        let setup = try peer.answer("SETUP rtsp://cam:8554/stream/trackID=0 RTSP/1.0\r\nCSeq: 4\r\n\(vlc)Transport: RTP/AVP;unicast;client_port=55000-55001\r\n\r\n")
        #expect(setup.headers["transport"] == "RTP/AVP;unicast;client_port=55000-55001;server_port=6970-6971;ssrc=C0FFEE01;mode=\"PLAY\"")
        #expect(peer.request("PLAY rtsp://cam:8554/stream/ RTSP/1.0\r\nCSeq: 5\r\n\(vlc)Session: 5E55A1\r\nRange: npt=0.000-\r\n\r\n")?.status == 200)
        peer.machine.accessUnit(Self.unit(keyframe: true, packets: 3), now: peer.now)
        peer.run()
        #expect(peer.datagrams.map(\.port) == [55000, 55000, 55000, 55001])
        // UDP never pushes back: the next unit goes out whatever the TCP connection holds.
        peer.socketFull = true
        peer.machine.accessUnit(Self.unit(keyframe: false, packets: 1), now: peer.now)
        peer.run()
        #expect(peer.datagrams.count == 5)
        peer.unblock()
        #expect(peer.request("GET_PARAMETER rtsp://cam:8554/stream/ RTSP/1.0\r\nCSeq: 6\r\n\(vlc)Session: 5E55A1\r\n\r\n")?.status == 200)
        #expect(peer.request("TEARDOWN rtsp://cam:8554/stream/ RTSP/1.0\r\nCSeq: 7\r\n\(vlc)Session: 5E55A1\r\n\r\n")?.status == 200)
    }

    @Test func gstreamerAlternativesPickTheFirstServableTransport() throws {
        var peer = RTSPTestPeer()
        let gst = "User-Agent: GStreamer/1.22.0\r\nDate: Thu, 03 Dec 2026 15:21:20 GMT\r\n"
        #expect(peer.request("DESCRIBE rtsp://127.0.0.1:18554/stream RTSP/1.0\r\nCSeq: 2\r\n\(gst)Accept: application/sdp\r\n\r\n")?.status == 200)
        // UDP first (camd has no UDP ports here), then TCP.
        let setup = try peer.answer("SETUP rtsp://127.0.0.1:18554/stream/trackID=0 RTSP/1.0\r\nCSeq: 3\r\n\(gst)Transport: RTP/AVP;unicast;client_port=50000-50001;mode=\"PLAY\",RTP/AVP/TCP;unicast;interleaved=0-1;mode=\"PLAY\"\r\n\r\n")
        #expect(setup.status == 200)
        #expect(setup.headers["transport"]?.hasPrefix("RTP/AVP/TCP;unicast;interleaved=0-1") == true)
        #expect(peer.request("PLAY rtsp://127.0.0.1:18554/stream/ RTSP/1.0\r\nCSeq: 4\r\n\(gst)Range: npt=0-\r\nSession: 5E55A1\r\n\r\n")?.status == 200)
        #expect(peer.request("PAUSE rtsp://127.0.0.1:18554/stream/ RTSP/1.0\r\nCSeq: 5\r\n\(gst)Session: 5E55A1\r\n\r\n")?.status == 200)
        #expect(peer.streams == ["start /stream", "stop /stream"])
        // Paused: no RTP.
        peer.machine.accessUnit(Self.unit(keyframe: true), now: peer.now)
        peer.run()
        #expect(peer.frames().isEmpty)
    }

    @Test func controlURLsWithQueryAndTrailingSlashResolve() {
        var settings = RTSPSettings()
        settings.paths = ["/stream", "/mjpeg"]
        let machine = RTSPConnectionMachine(settings: settings, sessionID: "1", initialSequence: 0,
                                            now: RTSPTime(monotonic: 0, wallNanos: 0))
        for (url, path, track) in [("rtsp://h/stream", "/stream", false), ("rtsp://h/stream/", "/stream", false),
                                   ("rtsp://h:8554/stream/trackID=0", "/stream", true),
                                   ("rtsp://h/stream?token=x/trackID=0", "/stream", true),     // ffmpeg, live555: base + control
                                   ("rtsp://h/stream/trackID=0?token=x/", "/stream", true),    // GStreamer: path, control, query
                                   ("rtsp://h/mjpeg/trackID=0/", "/mjpeg", true)] {
            let split = RTSPRequestParser.splitURL(url)
            let resolved = split.flatMap { machine.resolve($0.path) }
            #expect(resolved?.path == path && resolved?.track == track, "\(url)")
        }
        #expect(RTSPRequestParser.splitURL("rtsp://h/stream?token=x/trackID=0")?.query == "token=x")
        #expect(machine.resolve("/other") == nil)
        #expect(machine.resolve("/stream/trackID=1") == nil)
    }

    @Test func errorsCarryTheRFCStatusAndCSeq() {
        var peer = RTSPTestPeer()
        #expect(peer.request("DESCRIBE rtsp://h/nothing RTSP/1.0\r\nCSeq: 7\r\n\r\n").map { [$0.status, Int($0.headers["cseq"] ?? "") ?? 0] } == [404, 7])
        #expect(peer.request("PLAY rtsp://h/stream RTSP/1.0\r\nCSeq: 8\r\n\r\n")?.status == 455)
        #expect(peer.request("PLAY rtsp://h/stream RTSP/1.0\r\nCSeq: 9\r\nSession: nope\r\n\r\n")?.status == 454)
        #expect(peer.request("SETUP rtsp://h/stream/trackID=0 RTSP/1.0\r\nCSeq: 10\r\nTransport: RTP/AVP;multicast\r\n\r\n")?.status == 461)
        #expect(peer.request("SETUP rtsp://h/stream/trackID=0 RTSP/1.0\r\nCSeq: 11\r\nTransport: RTP/AVP;unicast;client_port=5000-5001\r\n\r\n")?.status == 461)
        #expect(peer.request("SETUP rtsp://h/stream/trackID=0 RTSP/1.0\r\nCSeq: 12\r\n\r\n")?.status == 400)
        #expect(peer.request("RECORD rtsp://h/stream RTSP/1.0\r\nCSeq: 13\r\n\r\n")?.status == 405)
        #expect(peer.request("FROB rtsp://h/stream RTSP/1.0\r\nCSeq: 14\r\n\r\n")?.status == 501)
        #expect(peer.request("SET_PARAMETER rtsp://h/stream RTSP/1.0\r\nCSeq: 15\r\nContent-Length: 9\r\n\r\nfoo: bar\n")?.status == 451)
        #expect(peer.request("OPTIONS * RTSP/1.0\r\nCSeq: 16\r\n\r\n")?.status == 200)
        #expect(peer.closedReason == nil)
        // A malformed request is answered and the connection closed.
        let bad = peer.request("OPTIONS rtsp://h/stream RTSP/2.0\r\nCSeq: 17\r\n\r\n")
        #expect(bad?.status == 505)
        #expect(bad?.headers["cseq"] == "17")
        #expect(peer.closedReason == "request refused (505)")
    }

    @Test func accessControlAsksTheDriverForEveryRequestButOPTIONS() throws {
        var settings = RTSPSettings()
        settings.accessControlled = true
        settings.challenge = "WWW-Authenticate: Basic realm=\"camd\"\r\n"
        var peer = RTSPTestPeer(settings: settings)
        peer.access = .missing
        #expect(peer.request("OPTIONS rtsp://h/stream RTSP/1.0\r\nCSeq: 1\r\n\r\n")?.status == 200)
        #expect(peer.authorized.isEmpty)
        let refused = try peer.answer("DESCRIBE rtsp://h/stream RTSP/1.0\r\nCSeq: 2\r\n\r\n")
        #expect(refused.status == 401)
        #expect(refused.headers["www-authenticate"] == "Basic realm=\"camd\"")
        peer.access = .denied(who: "user \"x\"")
        #expect(peer.request("DESCRIBE rtsp://h/stream RTSP/1.0\r\nCSeq: 3\r\nAuthorization: Basic eDp5\r\n\r\n")?.status == 401)
        #expect(peer.notes.contains(.authenticationFailed(who: "user \"x\"", path: "/stream")))
        peer.access = .allowed
        #expect(peer.request("DESCRIBE rtsp://h/stream?token=abc RTSP/1.0\r\nCSeq: 4\r\n\r\n")?.status == 200)
        // The driver sees the request whole: the token parameter and the Authorization header.
        #expect(peer.authorized.last?.parameter("token") == "abc")
        #expect(peer.authorized[1].headers["authorization"] == "Basic eDp5")
    }

    @Test func describeWaitsForMediaThenTimesOutWith503() {
        var peer = RTSPTestPeer(media: [:])
        peer.send("DESCRIBE rtsp://h/stream RTSP/1.0\r\nCSeq: 1\r\n\r\nOPTIONS rtsp://h/stream RTSP/1.0\r\nCSeq: 2\r\n\r\n")
        #expect(peer.nextResponse() == nil)
        // The pipelined OPTIONS waits behind the DESCRIBE.
        peer.advance(seconds: 2)
        #expect(peer.nextResponse() == nil)
        peer.machine.mediaAvailable(path: "/stream", RTSPTestPeer.h264, now: peer.now)
        peer.run()
        #expect(peer.nextResponse()?.status == 200)
        #expect(peer.nextResponse()?.headers["cseq"] == "2")

        var late = RTSPTestPeer(media: [:])
        late.send("DESCRIBE rtsp://h/mjpeg RTSP/1.0\r\nCSeq: 1\r\n\r\n")
        late.advance(seconds: 5)
        #expect(late.nextResponse()?.status == 503)
    }

    @Test func pipelinedRequestsAndInterleavedRTCPAreReadInOrder() throws {
        var peer = RTSPTestPeer()
        peer.send("SETUP rtsp://h/stream/trackID=0 RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n")
        #expect(peer.nextResponse()?.status == 200)
        // An RTCP receiver report on channel 1, split across reads, between two requests.
        let rr: [UInt8] = [0x80, 201, 0, 1, 0, 0, 0, 1]
        let bytes = Array("GET_PARAMETER rtsp://h/stream RTSP/1.0\r\nCSeq: 2\r\nSession: 5E55A1\r\n\r\n".utf8) + [0x24, 1, 0, 8] + rr
            + Array("GET_PARAMETER rtsp://h/stream RTSP/1.0\r\nCSeq: 3\r\nSession: 5E55A1\r\n\r\n".utf8)
        peer.send(Array(bytes[0..<75]))
        peer.send(Array(bytes[75...]))
        #expect(peer.nextResponse()?.headers["cseq"] == "2")
        #expect(peer.nextResponse()?.headers["cseq"] == "3")
    }

    @Test func sessionEndsAfterSixtySecondsWithoutRequestOrRTCP() {
        var peer = RTSPTestPeer()
        _ = peer.request("SETUP rtsp://h/stream/trackID=0 RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP/TCP;interleaved=0-1\r\n\r\n")
        _ = peer.request("PLAY rtsp://h/stream RTSP/1.0\r\nCSeq: 2\r\nSession: 5E55A1\r\n\r\n")
        peer.advance(seconds: 50)
        // RTCP counts as liveness.
        peer.send([0x24, 1, 0, 8, 0x80, 201, 0, 1, 0, 0, 0, 1])
        peer.advance(seconds: 50)
        #expect(peer.closedReason == nil)
        peer.advance(seconds: 10.1)
        #expect(peer.closedReason?.hasPrefix("session timeout") == true)
        #expect(peer.streams == ["start /stream", "stop /stream"])
        // The unfinished request timeout is separate and shorter.
        var slow = RTSPTestPeer()
        slow.send("OPTIONS rtsp://h/stream RTSP/1.0\r\n")
        slow.advance(seconds: 5)
        #expect(slow.closedReason == "no complete request within request_timeout")
    }

    @Test func aBusyTCPViewerSkipsToTheNextKeyframe() {
        var peer = RTSPTestPeer()
        _ = peer.request("SETUP rtsp://h/stream/trackID=0 RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP/TCP;interleaved=0-1\r\n\r\n")
        _ = peer.request("PLAY rtsp://h/stream RTSP/1.0\r\nCSeq: 2\r\nSession: 5E55A1\r\n\r\n")
        peer.socketFull = true
        peer.machine.accessUnit(Self.unit(keyframe: true, timestamp: 1), now: peer.now)
        peer.run()
        // Still unwritten: the P-frames find it busy and are skipped, so is the next after it drains.
        peer.machine.accessUnit(Self.unit(keyframe: false, timestamp: 2), now: peer.now)
        peer.unblock()
        peer.machine.accessUnit(Self.unit(keyframe: false, timestamp: 3), now: peer.now)
        peer.machine.accessUnit(Self.unit(keyframe: true, timestamp: 4), now: peer.now)
        peer.run()
        let rtp = peer.frames().filter { $0.channel == 0 }
        #expect(rtp.map { $0.payload[7] } == [1, 1, 4, 4])
        // Consecutive sequence numbers across the skip: no false packet loss.
        #expect(rtp.map { Int($0.payload[2]) << 8 | Int($0.payload[3]) } == [1000, 1001, 1002, 1003])
        #expect(peer.machine.session?.unitsSkipped == 2)
        #expect(peer.keyframeRequests == 2)
    }

    @Test func aViewerThatTakesNothingIsClosedAfterClientTimeout() {
        var peer = RTSPTestPeer()
        _ = peer.request("SETUP rtsp://h/stream/trackID=0 RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP/TCP;interleaved=0-1\r\n\r\n")
        _ = peer.request("PLAY rtsp://h/stream RTSP/1.0\r\nCSeq: 2\r\nSession: 5E55A1\r\n\r\n")
        peer.socketFull = true
        peer.machine.accessUnit(Self.unit(keyframe: true), now: peer.now)
        peer.run()
        peer.advance(seconds: 9.9)
        #expect(peer.closedReason == nil)
        peer.advance(seconds: 0.2)
        #expect(peer.closedReason?.hasPrefix("timeout") == true)
    }

    @Test func twoViewersSendTheSameSharedPayloadBytes() throws {
        // Packetised once: what each viewer writes is its own 16-byte header in front of the unit's payload storage.
        var first = RTSPTestPeer(), second = RTSPTestPeer()
        for n in 0..<2 {
            var peer = n == 0 ? first : second
            _ = peer.request("SETUP rtsp://h/stream/trackID=0 RTSP/1.0\r\nCSeq: 1\r\nTransport: RTP/AVP/TCP;interleaved=0-1\r\n\r\n")
            _ = peer.request("PLAY rtsp://h/stream RTSP/1.0\r\nCSeq: 2\r\nSession: 5E55A1\r\n\r\n")
            if n == 0 { first = peer } else { second = peer }
        }
        let unit = Self.unit(keyframe: true, packets: 3)
        var payloadAddresses: [[UnsafePointer<UInt8>?]] = []
        for n in 0..<2 {
            var machine = n == 0 ? first.machine : second.machine
            machine.accessUnit(unit, now: first.now)
            var writes: [RTSPOutgoing] = []
            while let action = machine.nextAction() {
                if case .write(let outgoing) = action {
                    writes.append(outgoing)
                    machine.wrote(outgoing.count, now: first.now)
                }
            }
            let chunks = try #require(writes.first?.chunks)
            // header, payload, header, payload, header, payload, then the sender report's two chunks.
            #expect(chunks.count == 8)
            #expect(chunks[0].count == 16 && chunks[2].count == 16)
            payloadAddresses.append([1, 3, 5].map { i in chunks[i].withUnsafeBufferPointer { $0.baseAddress } })
        }
        let shared = unit.packets.map { packet in packet.payload.withUnsafeBufferPointer { $0.baseAddress } }
        #expect(payloadAddresses[0] == shared)
        #expect(payloadAddresses[1] == shared)
    }

    @Test func mjpegIsDescribedAsPayloadType26() throws {
        let jpeg = RTSPMedia(codec: .jpeg, width: 640, height: 480, fps: 15, ssrc: 2, clock: RTPClock(offset: 0))
        var peer = RTSPTestPeer(media: ["/mjpeg": jpeg])
        let describe = try peer.answer("DESCRIBE rtsp://cam/mjpeg RTSP/1.0\r\nCSeq: 1\r\n\r\n")
        #expect(describe.body.contains("m=video 0 RTP/AVP 26\r\n"))
        #expect(describe.body.contains("a=rtpmap:26 JPEG/90000\r\n"))
        #expect(describe.body.contains("a=framerate:15\r\na=x-dimensions:640,480\r\n"))
        #expect(!describe.body.contains("fmtp"))
    }

    @Test func theDateHeaderIsRFC1123() {
        #expect(HTTPDate.format(unixNanos: 1_796_000_000 * 1_000_000_000) == "Mon, 30 Nov 2026 00:53:20 GMT")
        #expect(HTTPDate.format(unixNanos: 951_782_400 * 1_000_000_000) == "Tue, 29 Feb 2000 00:00:00 GMT")
    }

    @Test func aPeerThatPipelinesAndNeverReadsIsHeldBackNotBuffered() {
        var peer = RTSPTestPeer()
        peer.socketFull = true
        let options = Array("OPTIONS rtsp://h/stream RTSP/1.0\r\nCSeq: 1\r\n\r\n".utf8)
        var sent = 0
        while peer.machine.inputRoom >= options.count, sent < 10_000 {
            peer.send(options)
            sent += 1
        }
        // Answers stop once 64 KiB wait unwritten; then the request buffer fills and nothing more is read.
        #expect(sent < 10_000)
        #expect(peer.machine.outputBytes < RTSPConnectionMachine.outputLimitForRequests + 1024)
        #expect(peer.machine.inputRoom < options.count)
        // Once the peer reads, every request it sent is answered.
        peer.unblock()
        var answered = 0
        while peer.nextResponse() != nil { answered += 1 }
        #expect(answered == sent)
        #expect(peer.closedReason == nil)
    }

    @Test func transportSpecsAreReadStrictly() {
        typealias T = RTSPTransport
        #expect(T.choose("RTP/AVP/TCP;unicast", udpAvailable: false) == .transport(.interleaved(rtp: 0, rtcp: 1)))
        #expect(T.choose("RTP/AVP/TCP;unicast;interleaved=2-3", udpAvailable: false) == .transport(.interleaved(rtp: 2, rtcp: 3)))
        #expect(T.choose("RTP/AVP/UDP;unicast;client_port=5000", udpAvailable: true) == .transport(.udp(clientRTP: 5000, clientRTCP: 5001)))
        #expect(T.choose("RTP/AVP/TCP;interleaved=0-999", udpAvailable: false) == .malformed)
        #expect(T.choose("RTP/AVP;unicast;client_port=0-1", udpAvailable: true) == .malformed)
        #expect(T.choose("RTP/AVP;unicast;client_port=99999-100000", udpAvailable: true) == .malformed)
        #expect(T.choose("RTP/AVP/TCP;unicast;interleaved=0-1;mode=record", udpAvailable: false) == .unsupported("only mode=PLAY is served"))
        #expect(T.choose("RTP/SAVP;unicast", udpAvailable: true) == .unsupported("only RTP/AVP is served"))
        #expect(T.choose("RTP/AVP;multicast;ttl=127", udpAvailable: true) == .unsupported("multicast is not served"))
        #expect(T.choose("RTP/AVP/TCP; ;=x", udpAvailable: false) == .malformed)
    }
}
