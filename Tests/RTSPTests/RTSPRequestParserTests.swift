// RTSPRequestParser: good, malformed and oversized requests, bodies, interleaved frames, trickled input.
@testable import RTSP
import Testing

struct RTSPRequestParserTests {
    func parse(_ text: String) -> RTSPRequestParser.Outcome { RTSPRequestParser().parse(Array(text.utf8)) }

    func status(_ text: String) -> Int? {
        if case .reject(let status, _, _) = parse(text) { return status }
        return nil
    }

    @Test func aRequestParsesWithItsHeadersAndCSeq() throws {
        let text = "SETUP rtsp://cam:8554/stream/trackID=0?token=abc RTSP/1.0\r\nCSeq: 3\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nUser-Agent: Lavf59.27.100\r\n\r\n"
        guard case .request(let request, let consumed) = parse(text) else { Issue.record("\(parse(text))"); return }
        #expect(consumed == text.utf8.count)
        #expect(request.method == "SETUP")
        #expect(request.path == "/stream/trackID=0")
        #expect(request.parameter("token") == "abc")
        #expect(request.cseq == "3")
        #expect(request.headers["transport"] == "RTP/AVP/TCP;unicast;interleaved=0-1")
        #expect(request.headers["user-agent"] == "Lavf59.27.100")
    }

    @Test func aBodyIsReadByContentLengthEvenWhenItTrickles() {
        let text = "SET_PARAMETER rtsp://cam/stream RTSP/1.0\r\nCSeq: 9\r\nContent-Length: 5\r\n\r\nhello"
        let bytes = Array(text.utf8)
        var parser = RTSPRequestParser()
        for end in 1..<bytes.count {
            #expect(parser.resume(Array(bytes[0..<end])) == .incomplete, "after \(end) bytes")
        }
        guard case .request(let request, let consumed) = parser.resume(bytes) else { Issue.record("no request"); return }
        #expect(request.body == Array("hello".utf8))
        #expect(consumed == bytes.count)
    }

    @Test func interleavedFramesAreRecognisedAtAMessageBoundary() {
        #expect(RTSPRequestParser().parse([0x24, 1, 0, 3, 9, 8]) == .incomplete)
        #expect(RTSPRequestParser().parse([0x24, 1, 0, 3, 9, 8, 7, 0x4F]) == .interleaved(channel: 1, payload: [9, 8, 7], consumed: 7))
    }

    @Test func malformedRequestsGetTheirStatus() {
        #expect(status("OPTIONS rtsp://cam/stream RTSP/1.0\r\n\r\n") == 400)                      // no CSeq
        #expect(status("OPTIONS rtsp://cam/stream RTSP/1.0\r\nCSeq: x1\r\n\r\n") == 400)
        #expect(status("OPTIONS rtsp://cam/stream RTSP/1.0\r\nCSeq: 1\r\nCSeq: 2\r\n\r\n") == 400)
        #expect(status("OPTIONS rtsp://cam/stream RTSP/2.0\r\nCSeq: 1\r\n\r\n") == 505)
        #expect(status("GET /stream HTTP/1.1\r\nCSeq: 1\r\n\r\n") == 400)
        #expect(status("OPTIONS http://cam/stream RTSP/1.0\r\nCSeq: 1\r\n\r\n") == 400)
        #expect(status("DESCRIBE * RTSP/1.0\r\nCSeq: 1\r\n\r\n") == 400)
        #expect(status("OPTIONS rtsp://cam/stream RTSP/1.0\nCSeq: 1\n\n") == 400)                 // bare LF
        #expect(status("OPTIONS rtsp://cam/stream RTSP/1.0\r\nCSeq: 1\r\n folded\r\n\r\n") == 400)
        #expect(status("OPTIONS rtsp://cam/\u{1B}[2J RTSP/1.0\r\nCSeq: 1\r\n\r\n") == 400)
        #expect(status("options rtsp://cam/stream RTSP/1.0\r\nCSeq: 1\r\n\r\n") == 400)
        #expect(status("SET_PARAMETER rtsp://cam/stream RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 4097\r\n\r\n") == 413)
        #expect(status("SET_PARAMETER rtsp://cam/stream RTSP/1.0\r\nCSeq: 1\r\nContent-Length: -1\r\n\r\n") == 400)
        #expect(status("\u{16}\u{03}\u{01}") == 400)
        // The CSeq of a request with a bad line is echoed.
        if case .reject(_, _, let cseq) = parse("OPTIONS rtsp://cam/stream RTSP/9.9\r\nCSeq: 41\r\n\r\n") { #expect(cseq == "41") }
    }

    @Test func oversizedHeadsAreRefused() {
        let many = (0..<65).map { "X-\($0): y\r\n" }.joined()
        #expect(status("OPTIONS rtsp://cam/stream RTSP/1.0\r\nCSeq: 1\r\n\(many)\r\n") == 431)
        let long = "OPTIONS rtsp://cam/stream RTSP/1.0\r\nCSeq: 1\r\nX: " + String(repeating: "a", count: 9000)
        #expect(status(long) == 431)
        // Just under the limit without an end is still incomplete.
        #expect(parse(String(long.prefix(8000))) == .incomplete)
    }

    @Test func aHeadTrickledByteByByteIsScannedOnce() {
        let bytes = Array("PLAY rtsp://cam/stream RTSP/1.0\r\nCSeq: 4\r\nSession: 1\r\n\r\nOPTIONS".utf8)
        var parser = RTSPRequestParser()
        var outcome = RTSPRequestParser.Outcome.incomplete
        for end in 1...bytes.count {
            outcome = parser.resume(Array(bytes[0..<end]))
            if outcome != .incomplete { break }
        }
        guard case .request(let request, let consumed) = outcome else { Issue.record("\(outcome)"); return }
        #expect(request.method == "PLAY")
        #expect(consumed == bytes.count - "OPTIONS".utf8.count)
    }
}
