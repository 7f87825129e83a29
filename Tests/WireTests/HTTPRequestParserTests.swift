// The HTTP request parser on ordinary and hostile inputs.
import Wire
import Testing

private func parse(_ text: String) -> HTTPRequestParser.Outcome {
    HTTPRequestParser().parse(Array(text.utf8))
}

struct HTTPRequestParserTests {
    @Test func parsesAnOrdinaryRequest() {
        let text = "GET /stream?action=stream&x=1 HTTP/1.1\r\nHost: cam\r\nUser-Agent: curl/7.88\r\n\r\nGET /next"
        guard case .request(let request, let consumed) = parse(text) else { Issue.record("not parsed"); return }
        #expect(request.method == .get && request.path == "/stream" && request.query == "action=stream&x=1")
        #expect(request.parameter("action") == "stream" && request.parameter("y") == nil)
        #expect(request.headers["host"] == "cam" && request.headers["user-agent"] == "curl/7.88")
        #expect(request.keepAlive)
        #expect(consumed == text.utf8.count - "GET /next".utf8.count, "pipelined bytes are left for the next request")
    }

    @Test func keepAliveFollowsVersionAndConnectionHeader() {
        guard case .request(let a, _) = parse("GET / HTTP/1.0\r\n\r\n"),
              case .request(let b, _) = parse("HEAD / HTTP/1.1\r\nHost: cam\r\nConnection: close\r\n\r\n"),
              case .request(let c, _) = parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n") else {
            Issue.record("not parsed"); return
        }
        #expect(!a.keepAlive && !b.keepAlive && c.keepAlive)
        #expect(b.method == .head)
    }

    @Test func anIncompleteHeadAsksForMore() {
        #expect(parse("GET /stream HTTP/1.1\r\nHost: x\r\n") == .incomplete)
        #expect(parse("") == .incomplete)
    }

    @Test(arguments: [
        ("POST /stream HTTP/1.1\r\n\r\n", 405),
        ("DELETE / HTTP/1.1\r\n\r\n", 405),
        ("get / HTTP/1.1\r\n\r\n", 400),
        ("GET /stream\r\n\r\n", 400),
        ("GET stream HTTP/1.1\r\n\r\n", 400),
        ("GET / HTTP/2.0\r\n\r\n", 505),
        ("GET / FOO/1.1\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nNoColonHere\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\n: empty\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", 400),
        ("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("\r\n\r\n", 400),
        // Strict where leniency lets a peer confuse or stall the server (issue 12).
        ("GET / HTTP/1.1\r\nHost: cam\r\nX-A: a\u{0}b\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: a\r\n X-Folded: b\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n", 400),
        ("GET /caf\u{e9} HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        ("GET / HTTP/1.1\u{1b}]0;owned\u{7}\r\nHost: a\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 400),
        ("GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505),
    ])
    func rejectsMalformedRequestsWithTheRightStatus(text: String, status: Int) {
        guard case .reject(let got, _) = parse(text) else { Issue.record("accepted: \(text.debugDescription)"); return }
        #expect(got == status, "\(text.debugDescription)")
    }

    @Test func oversizedHeadsAre431WithoutWaitingForTheEnd() {
        let huge = "GET / HTTP/1.1\r\nX-Long: " + String(repeating: "a", count: 9000)
        guard case .reject(431, _) = parse(huge) else { Issue.record("not 431"); return }
        let many = "GET / HTTP/1.1\r\n" + (0..<100).map { "X-\($0): y\r\n" }.joined() + "\r\n"
        guard case .reject(431, _) = parse(many) else { Issue.record("not 431 for 100 headers"); return }
    }

    @Test(arguments: [
        ("GET / HTTP/1.1\nHost: cam\n", 400, "bare LF"),
        ("GET /\r\n", 400, "HTTP/0.9"),
        ("GET / HTTP/1.1\u{1b}]0;", 400, "0x1B"),
        ("GET / HTTP/1.1\r\nX: a\u{0}", 400, "0x00"),
        ("GET / HTTP/1.1\rX", 400, "CR without LF"),
    ])
    func aHeadThatCanNoLongerBeValidIsRejectedBeforeItEnds(text: String, status: Int, reason: String) {
        guard case .reject(let got, let why) = parse(text) else { Issue.record("not rejected: \(text.debugDescription)"); return }
        #expect(got == status && why.contains(reason), "\(why)")
        #expect(!why.unicodeScalars.contains { $0.value < 0x20 || $0.value >= 0x7F }, "the reason is safe to log: \(why.debugDescription)")
    }

    @Test func aTLSClientHelloIsNotHTTPFromItsFirstByte() {
        #expect(HTTPRequestParser().parse([0x16]) == .notHTTP(reason: "TLS handshake on a plain-HTTP port (use http://, not https://)"))
        #expect(HTTPRequestParser().parse([0x16, 0x03, 0x01, 0x00, 0xF4, 0x01]).isNotHTTP)
    }

    @Test func strictButNotFussy() {
        // HTTP/1.0 needs no Host; a header value may hold tabs and UTF-8; absolute-form targets are accepted.
        guard case .request(let old, _) = parse("GET /state HTTP/1.0\r\n\r\n"),
              case .request(let utf8, _) = parse("GET / HTTP/1.1\r\nHost: cam\r\nUser-Agent: k\u{e4}se\tbrowser\r\n\r\n"),
              case .request(let absolute, _) = parse("GET http://cam:8080/stream?x=1 HTTP/1.1\r\nHost: cam:8080\r\n\r\n") else {
            Issue.record("not parsed"); return
        }
        #expect(old.path == "/state")
        #expect(utf8.headers["user-agent"] == "k\u{e4}se\tbrowser")
        #expect(absolute.path == "/stream" && absolute.query == "x=1")
    }

    @Test func aHeadTrickledByteByByteIsScannedOnceAndParsesTheSame() {
        let text = Array("GET /stream?a=1 HTTP/1.1\r\nHost: cam\r\nAccept: */*\r\n\r\n".utf8)
        var parser = HTTPRequestParser()
        var buffer: [UInt8] = []
        var outcome = HTTPRequestParser.Outcome.incomplete
        for byte in text {
            buffer.append(byte)
            outcome = parser.resume(buffer)
            if case .request = outcome { break }
            #expect(outcome == .incomplete)
        }
        #expect(outcome == HTTPRequestParser().parse(text))
        #expect(buffer.count == text.count)
    }

    @Test func binaryGarbageIsRejected() {
        var garbage: [UInt8] = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        garbage += Array("\r\n\r\n".utf8)
        guard case .reject(let status, _) = HTTPRequestParser().parse(garbage) else { Issue.record("accepted garbage"); return }
        #expect(status == 400)
    }
}

extension HTTPRequestParser.Outcome {
    var isNotHTTP: Bool {
        if case .notHTTP = self { return true }
        return false
    }
}
