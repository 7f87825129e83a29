// camview against the built camd: stats lines, snapshots, scripted ends, and clear failures.
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem
import Foundation
import JPEG
import Testing
import TestSupport

extension CamdIntegrationTests {
    @Test func camviewCountsFramesAndPrintsStats() throws {
        let camd = try CamdProcess(["--fps", "30"])
        let counted = try runCamview(["tcp://127.0.0.1:\(camd.port)", "--frames", "10"])
        #expect(counted.status == 0, "\(counted.stderr)")
        #expect(counted.stdout.contains("total: 10 frames"), "\(counted.stdout)")
        #expect(counted.stdout.contains("dropped 0"))

        let stats = try runCamview(["127.0.0.1:\(camd.port)", "--stats", "--duration", "2.5"])
        #expect(stats.status == 0, "\(stats.stderr)")
        let lines = stats.stdout.split(separator: "\n").filter { $0.hasPrefix("640x480 fps ") }
        #expect(lines.count >= 2, "\(stats.stdout)")
        for line in lines.dropFirst() {
            let fps = Double(line.split(separator: " ")[2]) ?? 0
            #expect(fps > 25 && fps < 35, "\(line)")
            #expect(line.contains("latency p50") && line.contains("dropped"))
        }
        #expect(camd.stop() == 0)
    }

    @Test func camviewSavesASnapshotThatDecodes() throws {
        let camd = try CamdProcess(["--width", "320", "--height", "240"])
        let path = NSTemporaryDirectory() + "camview-\(UUID().uuidString).jpg"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try runCamview(["tcp://127.0.0.1:\(camd.port)", "--snapshot", path])
        #expect(result.status == 0, "\(result.stderr)")
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let decoded = try JPEGDecoder().decodeRGB(bytes)
        #expect(decoded.info == JPEGInfo(width: 320, height: 240))
        #expect(camd.stop() == 0)
    }

    @Test func camviewFailsClearlyWhenItCannotConnect() throws {
        // A port that was just free: bind, learn it, close.
        let listener = try Socket.listen(on: SocketAddress(parsing: "127.0.0.1:0"))
        let port = try Socket.localAddress(listener).port
        listener.close()
        let result = try runCamview(["tcp://127.0.0.1:\(port)", "--stats"])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("camview: cannot connect to tcp://127.0.0.1:\(port)"), "\(result.stderr)")
        #expect(result.stderr.contains("refused"))
    }

    @Test func camviewRejectsAStreamThatIsNotCamd() throws {
        // A server that answers with HTTP instead of the native protocol.
        let listener = try Socket.listen(on: SocketAddress(parsing: "127.0.0.1:0"))
        let port = try Socket.localAddress(listener).port
        let listenerFD = listener.number
        let server = Thread {
            guard (try? Poll.wait(listenerFD, for: .readable, timeoutMilliseconds: 10_000)) != nil else { return }
            let fd = accept(listenerFD, nil, nil)
            guard fd >= 0 else { return }
            let reply = Array("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello hello hello hello".utf8)
            _ = reply.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            // The connection stays open until camview has read the answer and hung up (at most 10 s): its verdict
            // must come from the bytes, not from a close.
            _ = try? Poll.wait(fd, for: .readable, timeoutMilliseconds: 10_000)
            close(fd)
        }
        server.start()
        let result = try runCamview(["tcp://127.0.0.1:\(port)", "--frames", "1"])
        listener.close()
        #expect(result.status == 1)
        #expect(result.stderr.contains("malformed stream") && result.stderr.contains("not a camd native stream"), "\(result.stderr)")
    }
}
