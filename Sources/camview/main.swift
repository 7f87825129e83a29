// camview: a viewer for camd's native stream. Headless for now: stats, snapshots, scripted runs.
#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import CamdSystem
import Streaming

struct CamView: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "camview",
        abstract: "Watch a camd stream: print live statistics or save a snapshot.",
        discussion: """
        URL is tcp://HOST:PORT (the native protocol; default tcp://localhost:9999). With no mode flag, \
        camview prints statistics once a second (window and terminal display arrive later).

        Exit status: 0 when done, 1 if it cannot connect, the stream is malformed or the server goes away.
        """)

    @Argument(help: "Stream URL: tcp://HOST:PORT, HOST:PORT or HOST.")
    var url: String = "tcp://localhost:9999"

    @Flag(help: "Print fps, bytes/s, latency (p50/max) and dropped frames once a second.")
    var stats = false

    @Option(help: ArgumentHelp("Save one frame as a JPEG file and exit.", valueName: "file"))
    var snapshot: String?

    @Option(help: "Stop after this many frames.")
    var frames: Int?

    @Option(help: ArgumentHelp("Stop after this many seconds.", valueName: "seconds"))
    var duration: Double?

    @Option(help: ArgumentHelp("Seconds to wait for the connection and for each read.", valueName: "seconds"))
    var timeout: Double = 5

    func validate() throws {
        if let frames, frames < 1 { throw ValidationError("--frames must be at least 1") }
        if let duration, duration <= 0 { throw ValidationError("--duration must be positive") }
        if timeout <= 0 { throw ValidationError("--timeout must be positive") }
    }

    func run() throws {
        let target: StreamURL
        do { target = try StreamURL(parsing: url) } catch { fail("\(error)") }
        let socket: Descriptor
        do {
            socket = try target.connect(timeout: timeout)
        } catch {
            fail("cannot connect to \(target): \(error)")
        }
        defer { socket.close() }
        try? Socket.setReceiveTimeout(socket, seconds: timeout)

        var parser = NativeStreamParser(keepPayload: true)
        var meter = StreamMeter()
        let start = Clock.monotonicNanos()
        let deadline = duration.map { start + UInt64($0 * 1e9) }
        var lastReport = start
        var done = false
        var failure: String?
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)

        while !done {
            let count = buffer.withUnsafeMutableBytes { Glibc.recv(socket.number, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK {
                    fail("no data from \(target) for \(timeout) s (\(meter.frames) frames received)")
                }
                fail("connection to \(target) failed: \(String(cString: strerror(errno)))")
            }
            if count == 0 {
                let partial = parser.isAtFrameBoundary ? "" : " in the middle of a frame"
                fail("\(target) closed the connection\(partial) after \(meter.frames) frames")
            }
            do {
                try buffer.withUnsafeBytes { raw in
                    try parser.consume(UnsafeRawBufferPointer(rebasing: raw[0..<count])) { header, payload in
                        guard !done, failure == nil, let payload else { return }
                        guard isJPEG(payload) else {
                            failure = "malformed stream: frame \(header.sequence) is not a complete JPEG"
                            return
                        }
                        meter.record(header, receivedNanos: Clock.realtimeNanos())
                        if let snapshot {
                            save(payload, to: snapshot, header: header)
                            done = true
                        } else if let frames, meter.frames >= frames {
                            done = true
                        }
                    }
                }
            } catch {
                fail("malformed stream from \(target): \(error)")
            }
            if let failure { fail(failure) }
            let now = Clock.monotonicNanos()
            if snapshot == nil, now - lastReport >= 1_000_000_000 {
                print(meter.report(seconds: Double(now - lastReport) / 1e9))
                meter.resetWindow()
                lastReport = now
            }
            if let deadline, now >= deadline { done = true }
        }
        if snapshot == nil {
            print(meter.summary(seconds: Double(Clock.monotonicNanos() - start) / 1e9))
        }
    }

    private func isJPEG(_ payload: [UInt8]) -> Bool {
        payload.count >= 4 && payload[0] == 0xFF && payload[1] == 0xD8
            && payload[payload.count - 2] == 0xFF && payload[payload.count - 1] == 0xD9
    }

    private func save(_ payload: [UInt8], to path: String, header: NativeFrameHeader) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { fail("cannot write \(path): \(String(cString: strerror(errno)))") }
        var written = 0
        while written < payload.count {
            let n = payload.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 { if errno == EINTR { continue }; close(fd); fail("cannot write \(path): \(String(cString: strerror(errno)))") }
            written += n
        }
        close(fd)
        let kind = header.isPlaceholder ? " (a no-signal placeholder)" : ""
        print("saved frame \(header.sequence)\(kind), \(header.width)x\(header.height), \(payload.count) bytes, to \(path)")
    }
}

func fail(_ message: String) -> Never {
    let line = Array("camview: \(message)\n".utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(1)
}

CamView.main()
