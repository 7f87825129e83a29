// What an attacker on the LAN tried (issue 12), each against the real camd over real sockets: trickle readers
// holding viewer slots, a full house locking out /state, pipelined floods, a request and a half-close, terminal
// escapes in the log, connection floods, cross-origin reads, lenient parsing, and three small operator mistakes.
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem
import Foundation
import JPEG
import Testing
import TestSupport

/// A TCP connection to 127.0.0.1:`port` from the local address `source` (any 127.x.y.z is this machine).
private func connect(from source: String, to port: UInt16) throws -> NativeTestClient {
    let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var local = sockaddr_in()
    local.sin_family = sa_family_t(AF_INET)
    local.sin_addr.s_addr = inet_addr(source)
    var remote = sockaddr_in()
    remote.sin_family = sa_family_t(AF_INET)
    remote.sin_port = port.bigEndian
    remote.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    let connected = withUnsafePointer(to: &remote) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard bound == 0, connected == 0 else {
        let error = errno
        Glibc.close(fd)
        throw SystemError("connect from \(source)", errno: error)
    }
    return try NativeTestClient(adopting: Descriptor(taking: fd))
}

/// One GET /state on a new connection: the answer (or "" if none came).
private func connectAndAsk(_ port: UInt16) throws -> String {
    try httpExchange(port: port, "GET /state HTTP/1.1\r\nHost: cam\r\nConnection: close\r\n\r\n", wait: 5)
}

/// The bytes of camd's log that are neither printable ASCII nor a newline.
private func controlBytes(_ log: String) -> [UInt8] {
    log.utf8.filter { ($0 < 0x20 && $0 != 0x0A) || $0 >= 0x7F }
}

extension CamdIntegrationTests {
    // MARK: Fair slots

    @Test func aTrickleReaderIsDroppedWhenOneFrameTakesLongerThanTheClientTimeout() throws {
        // 1280×720 test-pattern frames are 60 KB and more; the trickle reader takes 4 KB every 0.1 s (40 KB/s),
        // always some progress — before issue 12 it was never dropped.
        let camd = try CamdProcess(["--fps", "10", "--width", "1280", "--height", "720", "--client-timeout", "1",
                                    "--send-lowat", "16384"])
        let trickle = try NativeTestClient(port: camd.port, receiveBuffer: 4096)
        let steady = try NativeTestClient(port: camd.port)
        var buffer = [UInt8](repeating: 0, count: 4096)
        var dropped = false
        for _ in 0..<300 where !dropped {
            let n = buffer.withUnsafeMutableBytes { recv(trickle.socket.number, $0.baseAddress, $0.count, 0) }
            dropped = n == 0 || (n < 0 && errno == ECONNRESET)
            _ = try steady.readFrame()
            usleep(100_000)
        }
        #expect(dropped, "the trickle reader kept its slot for 30 s")
        let line = try camd.waitForLog(containing: "too slow: a frame took longer than client_timeout (1 s)", timeout: 5)
        #expect(line != nil, "\(camd.log)")
        #expect(try steady.readFrame().isJPEG, "the steady viewer is untouched")
        #expect(camd.stop() == 0)
    }

    @Test func aFullHouseOfViewersDoesNotLockOutStateOrSnapshotAndRefusedStreamsGet503() throws {
        let camd = try CamdProcess(["--max-clients", "2", "--width", "320", "--height", "240"])
        let a = try NativeTestClient(port: camd.port), b = try NativeTestClient(port: camd.httpPort)
        _ = try a.readFrame()
        try b.send(Array("GET /stream HTTP/1.1\r\nHost: cam\r\n\r\n".utf8))
        #expect(waitUntil(timeout: 10) { (camd.state()?["viewers"] as? Int ?? 0) >= 2 }, "\(camd.state() ?? [:])")

        let state = try httpExchange(port: camd.httpPort, "GET /state HTTP/1.1\r\nHost: cam\r\nConnection: close\r\n\r\n")
        #expect(state.hasPrefix("HTTP/1.1 200 OK"), "\(state.prefix(200))")
        let snapshot = try httpExchange(port: camd.httpPort, "GET /snapshot HTTP/1.0\r\n\r\n")
        #expect(snapshot.hasPrefix("HTTP/1.1 200 OK") && snapshot.contains("Content-Type: image/jpeg"))
        let stream = try httpExchange(port: camd.httpPort, "GET /stream HTTP/1.1\r\nHost: cam\r\n\r\n")
        #expect(stream.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n") && stream.contains("Retry-After: 5\r\n")
                && stream.contains("max_clients (2) reached"), "\(stream.prefix(300))")
        // A native viewer has no way to be told: it is closed (a FIN, not a reset).
        let refused = try NativeTestClient(port: camd.port)
        #expect(refused.drainUntilClosed(timeout: 5))
        #expect(try camd.waitForLog(containing: "refused", timeout: 5) != nil)
        #expect(try a.readFrame().isJPEG)
        #expect(camd.stop() == 0)
    }

    @Test func aConnectionBeyondTheRequestCountIsTold503NotReset() throws {
        // max_clients 1: one request connection at a time besides the viewer. An idle one holds it.
        let camd = try CamdProcess(["--max-clients", "1", "--request-timeout", "60"])
        let idle = try NativeTestClient(port: camd.httpPort)
        // Once camd has accepted the idle connection, the next one is the one too many.
        #expect(waitUntil(timeout: 10) { (try? connectAndAsk(camd.httpPort))?.hasPrefix("HTTP/1.1 503 ") == true })
        let busy = try NativeTestClient(port: camd.httpPort, timeout: 10)
        try busy.send(Array("GET /state HTTP/1.1\r\nHost: cam\r\n\r\n".utf8))
        let answer = busy.receiveAll(wait: 10)
        #expect(answer.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n") && answer.contains("Retry-After: 5\r\n")
                && answer.hasSuffix("503 server is busy, try again later\n"), "\(answer.debugDescription)")
        idle.close()
        #expect(waitUntil(timeout: 10) { (try? connectAndAsk(camd.httpPort))?.hasPrefix("HTTP/1.1 200 OK") == true },
                "the count frees up when the idle connection goes")
        #expect(camd.stop() == 0)
    }

    @Test func maxClientsPerIPLimitsOneAddressAndNotTheOthers() throws {
        let camd = try CamdProcess(["--max-clients-per-ip", "1", "--width", "320", "--height", "240"])
        let first = try connect(from: "127.0.0.2", to: camd.httpPort)
        try first.send(Array("GET /stream HTTP/1.1\r\nHost: cam\r\n\r\n".utf8))
        #expect(waitUntil(timeout: 10) { (camd.state()?["clients_http"] as? Int ?? 0) >= 1 }, "\(camd.state() ?? [:])")
        let second = try connect(from: "127.0.0.2", to: camd.httpPort)
        try second.send(Array("GET /stream HTTP/1.1\r\nHost: cam\r\n\r\n".utf8))
        let refused = second.receiveAll(wait: 5)
        #expect(refused.hasPrefix("HTTP/1.1 503 ") && refused.contains("max_clients_per_ip (1) reached for 127.0.0.2"), "\(refused.prefix(300))")
        let other = try connect(from: "127.0.0.3", to: camd.port)
        #expect(try other.readFrame().isJPEG, "another address has its own share")
        #expect(camd.stop() == 0)
    }

    // MARK: Pipelining and half-close

    @Test func threeHundredPipelinedRequestsInOneWriteGetThreeHundredAnswers() throws {
        let camd = try CamdProcess(["--width", "320", "--height", "240"])
        let client = try NativeTestClient(port: camd.httpPort, timeout: 10)
        let one = "GET /state HTTP/1.1\r\nHost: cam\r\n\r\n"
        try client.send(Array((String(repeating: one, count: 299) + "GET /state HTTP/1.1\r\nHost: cam\r\nConnection: close\r\n\r\n").utf8))
        let answers = client.receiveAll(wait: 20)
        #expect(answers.components(separatedBy: "HTTP/1.1 200 OK\r\n").count - 1 == 300)
        #expect(!answers.contains("400 Bad Request"))
        #expect(camd.log.contains("no complete request") == false, "\(camd.log)")
        #expect(camd.stop() == 0)
    }

    @Test func aRequestFollowedAtOnceByAHalfCloseIsAnswered() throws {
        // printf 'GET /snapshot HTTP/1.0\r\n\r\n' | nc -N HOST 8080
        let camd = try CamdProcess(["--width", "640", "--height", "480"])
        #expect(waitUntil(timeout: 10) { camd.state()?["sequence"] as? Int ?? 0 > 0 })
        for request in ["GET /snapshot HTTP/1.0\r\n\r\n", "GET /snapshot HTTP/1.1\r\nHost: cam\r\n\r\n"] {
            let client = try NativeTestClient(port: camd.httpPort, timeout: 10)
            try client.send(Array(request.utf8))
            try Socket.shutdownWrite(client.socket)
            let answer = client.receiveAllBytes(wait: 10)
            guard let split = (0..<max(0, answer.count - 3)).first(where: { answer[$0..<($0 + 4)].elementsEqual([13, 10, 13, 10]) }) else {
                Issue.record("no head in \(answer.count) bytes"); continue
            }
            let head = String(decoding: answer[..<split], as: UTF8.self)
            #expect(head.hasPrefix("HTTP/1.1 200 OK"), "\(head)")
            let body = Array(answer[(split + 4)...])
            #expect(head.contains("Content-Length: \(body.count)\r\n"), "\(head) with \(body.count) bytes")
            #expect(try JPEGDecoder().decodeRGB(body).info == JPEGInfo(width: 640, height: 480))
        }
        #expect(camd.stop() == 0)
    }

    // MARK: Parsing

    @Test func lenientInputsAreRefusedAtOnceAndTLSIsClosed() throws {
        // request_timeout 60: an answer within the exchange's wait cannot be the timeout's.
        let camd = try CamdProcess(["--request-timeout", "60"])
        let cases: [(String, [UInt8])] = [
            ("LF-only", Array("GET /state HTTP/1.1\nHost: cam\n\n".utf8)),
            ("HTTP/0.9", Array("GET /\r\n".utf8)),
            ("NUL in a header value", Array("GET /state HTTP/1.1\r\nHost: cam\r\nX-A: a\u{0}b\r\n\r\n".utf8)),
            ("HTTP/1.1 without Host", Array("GET /state HTTP/1.1\r\n\r\n".utf8)),
            ("terminal escape in the version", Array("GET / HTTP/1.1\u{1b}]0;owned\u{7}\r\nHost: cam\r\n\r\n".utf8)),
            ("terminal escape in the method", Array("G\u{1b}[2JET / HTTP/1.1\r\nHost: cam\r\n\r\n".utf8)),
        ]
        for (name, request) in cases {
            let client = try NativeTestClient(port: camd.httpPort, timeout: 10)
            try client.send(request)
            let answer = client.receiveAll(wait: 10)
            #expect(answer.hasPrefix("HTTP/1.1 400 Bad Request\r\n"), "\(name): \(answer.prefix(120).debugDescription)")
        }
        // A TLS ClientHello (what curl https:// sends first): closed without an answer, and said so in the log.
        let hello: [UInt8] = [0x16, 0x03, 0x01, 0x00, 0xC8, 0x01, 0x00, 0x00, 0xC4, 0x03, 0x03] + [UInt8](repeating: 0x2A, count: 32)
        let tls = try NativeTestClient(port: camd.httpPort, timeout: 10)
        try tls.send(hello)
        #expect(tls.receiveAll(wait: 10).isEmpty)
        #expect(try camd.waitForLog(containing: "TLS handshake on a plain-HTTP port", timeout: 5) != nil, "\(camd.log)")
        if which("curl") != nil {
            let curl = try runCommand(which("curl")!, ["-sS", "-k", "--max-time", "10", "https://127.0.0.1:\(camd.httpPort)/state"])
            #expect(curl.status != 0 && curl.status != 28, "curl fails fast, not by its timeout: \(curl.status) \(curl.stderr)")
        }
        #expect(controlBytes(camd.log).isEmpty, "raw bytes in the log: \(controlBytes(camd.log))")
        #expect(camd.stop() == 0)
    }

    // MARK: Logs

    @Test func aConnectionFloodBecomesASummaryLineNotALogFlood() throws {
        let camd = try CamdProcess(["--width", "160", "--height", "120"])
        let before = camd.log.split(separator: "\n").count
        for _ in 0..<1500 {
            let client = try NativeTestClient(port: camd.port)
            client.close()
        }
        let summary = try camd.waitForLog(containing: "not logged one by one", timeout: 30)
        #expect(summary?.contains("more connections") == true && summary?.contains("disconnections") == true, "\(summary ?? camd.log)")
        let lines = camd.log.split(separator: "\n").count - before
        #expect(lines < 100, "1500 connections wrote \(lines) lines")
        let snapshot = try httpExchange(port: camd.httpPort, "GET /snapshot HTTP/1.0\r\n\r\n")
        #expect(snapshot.hasPrefix("HTTP/1.1 200 OK"))
        #expect(camd.stop() == 0)
    }

    // MARK: CORS

    @Test func crossOriginReadsAreOffByDefaultAndAllowedOnlyForNamedOrigins() throws {
        let closed = try CamdProcess(["--width", "160", "--height", "120"])
        #expect(waitUntil(timeout: 10) { closed.state()?["sequence"] as? Int ?? 0 > 0 })
        for path in ["/state", "/snapshot", "/stream"] {
            let answer = try httpExchange(port: closed.httpPort, "GET \(path) HTTP/1.1\r\nHost: cam\r\nOrigin: https://evil.example\r\nConnection: close\r\n\r\n", wait: 1)
            #expect(answer.hasPrefix("HTTP/1.1 200 OK") && !answer.contains("Access-Control-Allow-Origin"), "\(path): \(answer.prefix(400))")
        }
        #expect(closed.stop() == 0)

        let open = try CamdProcess(["--width", "160", "--height", "120", "--http-allow-origin", "https://nvr.example:8443"])
        let allowed = try httpExchange(port: open.httpPort, "GET /state HTTP/1.1\r\nHost: cam\r\nOrigin: https://nvr.example:8443\r\nConnection: close\r\n\r\n")
        #expect(allowed.contains("Access-Control-Allow-Origin: https://nvr.example:8443\r\n") && allowed.contains("Vary: Origin\r\n"), "\(allowed.prefix(400))")
        let other = try httpExchange(port: open.httpPort, "GET /state HTTP/1.1\r\nHost: cam\r\nOrigin: https://evil.example\r\nConnection: close\r\n\r\n")
        #expect(!other.contains("Access-Control-Allow-Origin"), "\(other.prefix(400))")
        #expect(open.stop() == 0)

        let bad = try runCommand(Binaries.path("camd"), ["--http-allow-origin", "nvr.example/path", "--check-config"])
        #expect(bad.status == 78 && bad.stderr.contains("http_allow_origin"), "\(bad)")
    }

    // MARK: Small ones

    @Test func aNegativeFpsARegularFileAsCameraAndABusyPortAreClearErrors() throws {
        let fps = try runCommand(Binaries.path("camd"), ["--fps", "-1", "--check-config"])
        #expect(fps.status == 78 && fps.stderr.contains("fps = -1: must be a number from 0.1 to 240"), "\(fps)")

        let file = try runCommand(Binaries.path("camd"), ["--source", "v4l2:/etc/passwd", "--check-config"])
        #expect(file.status == 78 && file.stderr.contains("/etc/passwd is a regular file, not a video device"), "\(file)")

        let holder = try Socket.listen(on: SocketAddress(parsing: "127.0.0.1:0"))
        defer { holder.close() }
        let port = try Socket.localAddress(holder).port
        let busy = try runCommand(Binaries.path("camd"), ["--http-listen", "127.0.0.1:\(port)", "--listen", "127.0.0.1:0",
                                                          "--control-socket", ""])
        let first = busy.stderr.split(separator: "\n").first.map(String.init) ?? ""
        #expect(busy.status != 0 && first.contains("127.0.0.1:\(port)") && first.contains("in use"), "\(busy)")
    }
}
