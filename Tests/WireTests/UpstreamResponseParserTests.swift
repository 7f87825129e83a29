// The network sources' response parser: the framings real upstreams use, and every bound a hostile one meets.
import Testing
import Wire

private let jpeg: [UInt8] = [0xFF, 0xD8, 0x01, 0x02, 0x0D, 0x0A, 0x2D, 0x2D, 0xFF, 0xD9]

private func parse(_ text: [UInt8], mode: UpstreamResponseParser.Mode = .stream, limits: UpstreamLimits = UpstreamLimits(),
                   chunk: Int = Int.max, finish: Bool = false) -> (parts: [UpstreamPart], failure: String?) {
    var parser = UpstreamResponseParser(mode: mode, limits: limits)
    var parts: [UpstreamPart] = []
    do throws(UpstreamFailure) {
        var index = 0
        while index < text.count {
            let end = min(text.count, index + chunk)
            try parser.consume(text[index..<end]) { parts.append($0) }
            index = end
        }
        if finish { try parser.finish { parts.append($0) } }
    } catch {
        return (parts, error.description)
    }
    return (parts, nil)
}

private let head = Array("HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace;boundary=b\r\n\r\n".utf8)

struct UpstreamResponseParserTests {
    @Test(arguments: [1, 3, 1000])
    func partsWithAndWithoutContentLengthInAnyChunking(chunk: Int) {
        let stream = head + Array("--b\r\nContent-Type: image/jpeg\r\nContent-Length: 10\r\nX-Sequence: 42\r\nX-Timestamp: 1700000000.5\r\n\r\n".utf8)
            + jpeg + Array("\r\n--b\r\nContent-Type: image/jpeg\r\n\r\n".utf8) + jpeg + Array("\r\n--b\r\n".utf8)
        let (parts, failure) = parse(stream, chunk: chunk)
        #expect(failure == nil)
        #expect(parts.map(\.payload) == [jpeg, jpeg], "the scanned part ends before CRLF--b, its own \\r\\n-- bytes kept")
        #expect(parts.first?.sequence == 42 && parts.first?.timestampNanos == 1_700_000_000_500_000_000)
    }

    @Test func headerlessMultipartLearnsItsBoundary() {
        let stream = Array("--ThisRandomString\r\nContent-Type: image/jpeg\r\nContent-Length: 10\r\n\r\n".utf8) + jpeg
            + Array("\r\n--ThisRandomString\r\nContent-Length: 10\r\n\r\n".utf8) + jpeg
        #expect(parse(stream).parts.count == 2)
    }

    @Test func chunkedCodingWithTheBoundaryOnlyInTheBody() {
        func chunk(_ bytes: [UInt8]) -> [UInt8] { Array(String(bytes.count, radix: 16).utf8) + [13, 10] + bytes + [13, 10] }
        let stream = Array("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n".utf8)
            + chunk(Array("--ffmpeg\r\nContent-type: image/jpeg\r\nContent-length: 10\r\n\r\n".utf8)) + chunk(jpeg + [13, 10])
        for size in [1, 7, 10_000] { #expect(parse(stream, chunk: size).parts.map(\.payload) == [jpeg]) }
    }

    @Test func snapshotWithLengthUntilCloseOrChunked() {
        let withLength = Array("HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 10\r\n\r\n".utf8) + jpeg
        #expect(parse(withLength, mode: .snapshot).parts.map(\.payload) == [jpeg])
        let untilClose = Array("HTTP/1.0 200 OK\r\nContent-Type: image/jpeg\r\n\r\n".utf8) + jpeg
        #expect(parse(untilClose, mode: .snapshot).parts.isEmpty)
        #expect(parse(untilClose, mode: .snapshot, finish: true).parts.map(\.payload) == [jpeg])
        let stream = head + Array("--b\r\n".utf8)
        #expect(parse(stream, mode: .snapshot).failure?.contains("use http:// instead of http+snapshot://") == true)
    }

    @Test func refusalsAndGarbageNameTheProblem() {
        #expect(parse(Array("HTTP/1.1 401 Unauthorized\r\n\r\n".utf8)).failure
            == "HTTP 401 Unauthorized (check the user and password or token in source)")
        #expect(parse(Array("HTTP/1.1 404 Not Found\r\n".utf8)).failure == "HTTP 404 Not Found")
        #expect(parse(Array("SSH-2.0-OpenSSH\r\n".utf8)).failure == "not an HTTP answer: SSH-2.0-OpenSSH")
        #expect(parse(Array("HTTP/1.1 503 \u{1B}[31mx\r\n".utf8)).failure == "HTTP 503 \\x1b[31mx")
        #expect(parse(Array("HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n".utf8)).failure
            == "Content-Type text/html is not a multipart stream")
        #expect(parse([], finish: true).failure == "the upstream closed the connection without answering")
    }

    @Test func everyBoundHolds() {
        var limits = UpstreamLimits()
        limits.maxPart = 100
        limits.maxSkipped = 500
        #expect(parse(Array("HTTP/1.0 200 OK\r\nX: ".utf8) + Array(repeating: 0x61, count: 5000)).failure == "header line longer than 4096 bytes")
        #expect(parse(Array("HTTP/1.0 200 OK\r\n".utf8) + Array(String(repeating: "X: 1\r\n", count: 65).utf8)).failure
            == "more than 64 response header lines")
        #expect(parse(head + Array("--b\r\nContent-Length: 101\r\n\r\n".utf8), limits: limits).failure
            == "part Content-Length 101 is larger than 100 bytes")
        for chunk in [1, 64, 10_000] {
            #expect(parse(head + Array("--b\r\n\r\n".utf8) + Array(repeating: 0, count: 300), limits: limits, chunk: chunk).failure
                == "image larger than 100 bytes without a boundary")
        }
        #expect(parse(head + Array(repeating: 0x78, count: 600) + [10], limits: limits).failure
            == "lost the multipart boundary: 601 bytes that are not a part")
        #expect(parse(Array("HTTP/1.0 200 OK\r\n\r\n".utf8) + Array(repeating: 0x41, count: 600) + [10], limits: limits).failure?
            .hasPrefix("no multipart boundary in the first 500 bytes") == true)
        #expect(parse(Array("HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace;boundary=\(String(repeating: "z", count: 201))\r\n".utf8)).failure
            == "multipart boundary longer than 200 bytes")
    }
}
