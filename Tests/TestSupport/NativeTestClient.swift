// NativeTestClient: a blocking client of the native protocol, and a pool of them on threads.
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem
import Foundation
import Wire
import Locking

public struct ReceivedFrame: Sendable {
    public let header: NativeFrameHeader
    public let payload: [UInt8]
    public let receivedNanos: UInt64

    public var isJPEG: Bool {
        payload.count >= 4 && payload[0] == 0xFF && payload[1] == 0xD8
            && payload[payload.count - 2] == 0xFF && payload[payload.count - 1] == 0xD9
    }
}

public final class NativeTestClient {
    public let socket: Descriptor
    private var parser = NativeStreamParser(keepPayload: true)
    private var pending: [ReceivedFrame] = []
    private var buffer = [UInt8](repeating: 0, count: 128 * 1024)

    public init(port: UInt16, host: String = "127.0.0.1", receiveBuffer: Int? = nil, timeout: Double = 5) throws {
        let address = try SocketAddress(parsing: "\(host):\(port)")
        if let receiveBuffer {
            // SO_RCVBUF must be set before connect to limit the window.
            let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            socket = Descriptor(taking: fd)
            try Socket.setReceiveBuffer(socket, bytes: receiveBuffer)
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = port.bigEndian
            sa.sin_addr.s_addr = inet_addr(host)
            let rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            if rc != 0 { let e = errno; socket.close(); throw SystemError("connect", errno: e) }
        } else {
            socket = try Socket.connect(to: address)
        }
        try Socket.setReceiveTimeout(socket, seconds: timeout)
    }

    /// A client on a socket that is already connected.
    public init(adopting socket: Descriptor, timeout: Double = 5) throws {
        self.socket = socket
        try Socket.setReceiveTimeout(socket, seconds: timeout)
    }

    deinit { socket.close() }

    public func close() { socket.close() }

    /// Reads until one whole frame arrived; throws on timeout, EOF or a protocol error.
    public func readFrame() throws -> ReceivedFrame {
        while pending.isEmpty {
            let n = buffer.withUnsafeMutableBytes { Glibc.recv(socket.number, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("recv", errno: errno)
            }
            if n == 0 { throw TestFailure("server closed the connection") }
            let now = Clock.realtimeNanos()
            var frames: [ReceivedFrame] = []
            try buffer.withUnsafeBytes { raw in
                try parser.consume(UnsafeRawBufferPointer(rebasing: raw[0..<n])) { header, payload in
                    frames.append(ReceivedFrame(header: header, payload: payload ?? [], receivedNanos: now))
                }
            }
            pending.append(contentsOf: frames)
        }
        return pending.removeFirst()
    }

    /// Reads and discards until EOF or reset; returns true if the server closed the connection within `timeout`.
    public func drainUntilClosed(timeout: Double) -> Bool {
        try? Socket.setReceiveTimeout(socket, seconds: 0.2)
        let deadline = Clock.monotonicNanos() + UInt64(timeout * 1e9)
        while Clock.monotonicNanos() < deadline {
            let n = buffer.withUnsafeMutableBytes { Glibc.recv(socket.number, $0.baseAddress, $0.count, 0) }
            if n == 0 { return true }
            if n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR { return true }
        }
        return false
    }

    /// Everything the server sends until it closes or `wait` seconds pass, as bytes.
    public func receiveAllBytes(wait: Double = 3) -> [UInt8] {
        var answer: [UInt8] = []
        let deadline = Clock.monotonicNanos() + UInt64(wait * 1e9)
        while Clock.monotonicNanos() < deadline {
            let n = buffer.withUnsafeMutableBytes { Glibc.recv(socket.number, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            answer += buffer[0..<n]
        }
        return answer
    }

    /// Everything the server sends until it closes or `wait` seconds pass, as text (for HTTP exchanges).
    public func receiveAll(wait: Double = 3) -> String {
        String(decoding: receiveAllBytes(wait: wait), as: UTF8.self)
    }

    public func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(socket.number, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 { if errno == EINTR { continue }; throw SystemError("send", errno: errno) }
            sent += n
        }
    }
}

/// Sends raw bytes to an HTTP port and returns everything the server answers until it closes (or `wait` s pass).
public func httpExchange(port: UInt16, _ request: String, wait: Double = 3) throws -> String {
    try httpExchange(port: port, Array(request.utf8), wait: wait)
}

public func httpExchange(port: UInt16, _ request: [UInt8], wait: Double = 3) throws -> String {
    let client = try NativeTestClient(port: port, timeout: wait)
    try client.send(request)
    return client.receiveAll(wait: wait)
}

/// What one pooled viewer saw.
public struct ViewerResult: Sendable {
    public var frames = 0
    public var allJPEG = true
    public var strictlyIncreasing = true
    public var sequences: [UInt64] = []
    public var firstPayload: [UInt8] = []
    public var error: String?
    /// Frames received in the measured window (after warm-up).
    public var windowFrames = 0
}

/// Runs `count` viewers, each on its own thread, for `seconds`; counts frames after `warmup` seconds.
public func runViewers(count: Int, port: UInt16, seconds: Double, warmup: Double = 0.5) -> [ViewerResult] {
    let results = LockedValue([ViewerResult](repeating: ViewerResult(), count: count))
    let start = Clock.monotonicNanos()
    let warmupEnd = start + UInt64(warmup * 1e9)
    let end = start + UInt64((warmup + seconds) * 1e9)
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        Thread.detachNewThread {
            defer { group.leave() }
            var result = ViewerResult()
            do {
                let client = try NativeTestClient(port: port)
                defer { client.close() }
                var last: UInt64 = 0
                while Clock.monotonicNanos() < end {
                    let frame = try client.readFrame()
                    result.frames += 1
                    if Clock.monotonicNanos() >= warmupEnd { result.windowFrames += 1 }
                    if !frame.isJPEG { result.allJPEG = false }
                    if frame.header.sequence <= last { result.strictlyIncreasing = false }
                    if result.firstPayload.isEmpty { result.firstPayload = frame.payload }
                    last = frame.header.sequence
                    result.sequences.append(frame.header.sequence)
                }
            } catch {
                result.error = "\(error)"
            }
            results.withLock { $0[index] = result }
        }
    }
    group.wait()
    return results.withLock { $0 }
}

/// A loopback TCP port nobody listens on right now (bound to port 0, read back, closed).
public func freePort() throws -> UInt16 {
    let socket = try Socket.listen(on: try SocketAddress(parsing: "127.0.0.1:0"))
    defer { socket.close() }
    return try Socket.localAddress(socket).port
}
