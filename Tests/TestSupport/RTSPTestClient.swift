// RTSPTestClient: a blocking RTSP 1.0 client for integration tests — requests and responses, then RTP (and RTCP)
// interleaved on the same TCP connection, or RTP datagrams on a UDP socket of its own.
#if canImport(Glibc)
import Glibc
#endif
import CamdSystem
import Foundation

public struct RTSPTestResponse {
    public var status: Int
    public var headers: [String: String]
    public var body: String
    public func header(_ name: String) -> String? { headers[name.lowercased()] }
}

/// One interleaved RTP or RTCP packet ('$', channel, length, bytes).
public struct InterleavedPacket {
    public var channel: UInt8
    public var bytes: [UInt8]
    public var receivedNanos: UInt64
    /// RTP fields (for RTP packets).
    public var payloadType: UInt8 { bytes.count > 1 ? bytes[1] & 0x7F : 0 }
    public var marker: Bool { bytes.count > 1 && bytes[1] & 0x80 != 0 }
    public var sequence: UInt16 { bytes.count > 3 ? UInt16(bytes[2]) << 8 | UInt16(bytes[3]) : 0 }
    public var timestamp: UInt32 { bytes.count > 7 ? bytes[4..<8].reduce(0) { $0 << 8 | UInt32($1) } : 0 }
    /// The H.264 NAL unit type the payload starts (a FU-A: the fragmented unit's type, when it is the start).
    public var nalType: UInt8? {
        guard bytes.count > 13 else { return nil }
        let type = bytes[12] & 0x1F
        if type == 28 { return bytes[13] & 0x80 != 0 ? bytes[13] & 0x1F : nil }
        return type
    }
}

public final class RTSPTestClient {
    private let connection: NativeTestClient
    public var socket: Descriptor { connection.socket }
    public let url: String
    private var buffer: [UInt8] = []
    private var cseq = 0
    public var session: String?
    public var extraHeaders = ""

    public init(port: UInt16, path: String, receiveBuffer: Int? = nil, timeout: Double = 10) throws {
        url = "rtsp://127.0.0.1:\(port)\(path)"
        connection = try NativeTestClient(port: port, receiveBuffer: receiveBuffer, timeout: timeout)
    }

    public func close() { connection.close() }

    /// Sends one request and reads its response (skipping interleaved packets that arrive first).
    @discardableResult
    public func request(_ method: String, _ target: String? = nil, headers: String = "") throws -> RTSPTestResponse {
        cseq += 1
        var text = "\(method) \(target ?? url) RTSP/1.0\r\nCSeq: \(cseq)\r\nUser-Agent: camd-tests\r\n" + extraHeaders + headers
        if let session { text += "Session: \(session)\r\n" }
        text += "\r\n"
        try Socket.sendAll(socket, Array(text.utf8))
        while true {
            if buffer.first == UInt8(ascii: "$") {
                _ = try readInterleaved()
                continue
            }
            if let end = find([13, 10, 13, 10]) {
                let head = String(decoding: buffer[0..<end], as: UTF8.self)
                var lines = head.components(separatedBy: "\r\n")
                let status = Int(lines.removeFirst().split(separator: " ").dropFirst().first ?? "") ?? 0
                var headers: [String: String] = [:]
                for line in lines {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                let length = Int(headers["content-length"] ?? "0") ?? 0
                while buffer.count < end + 4 + length { try fill() }
                let body = String(decoding: buffer[(end + 4)..<(end + 4 + length)], as: UTF8.self)
                buffer.removeFirst(end + 4 + length)
                if let value = headers["session"] { session = String(value.split(separator: ";")[0]) }
                return RTSPTestResponse(status: status, headers: headers, body: body)
            }
            try fill()
        }
    }

    /// OPTIONS, DESCRIBE, SETUP (TCP interleaved 0-1, or UDP to `clientPorts`), PLAY; returns the DESCRIBE body.
    @discardableResult
    public func play(udpClientPorts: (UInt16, UInt16)? = nil) throws -> String {
        let describe = try request("DESCRIBE", headers: "Accept: application/sdp\r\n")
        guard describe.status == 200 else { throw TestFailure("DESCRIBE answered \(describe.status)") }
        let transport = udpClientPorts.map { "RTP/AVP;unicast;client_port=\($0.0)-\($0.1)" } ?? "RTP/AVP/TCP;unicast;interleaved=0-1"
        let setup = try request("SETUP", url + "/trackID=0", headers: "Transport: \(transport)\r\n")
        guard setup.status == 200 else { throw TestFailure("SETUP answered \(setup.status)") }
        let play = try request("PLAY", headers: "Range: npt=0.000-\r\n")
        guard play.status == 200 else { throw TestFailure("PLAY answered \(play.status)") }
        return describe.body
    }

    /// The next interleaved packet.
    public func readInterleaved() throws -> InterleavedPacket {
        while buffer.count < 4 { try fill() }
        guard buffer[0] == UInt8(ascii: "$") else { throw TestFailure("expected '$', got \(buffer[0]) (\(String(decoding: buffer.prefix(40), as: UTF8.self)))") }
        let length = Int(buffer[2]) << 8 | Int(buffer[3])
        while buffer.count < 4 + length { try fill() }
        let packet = InterleavedPacket(channel: buffer[1], bytes: Array(buffer[4..<(4 + length)]), receivedNanos: Clock.realtimeNanos())
        buffer.removeFirst(4 + length)
        return packet
    }

    private func find(_ pattern: [UInt8]) -> Int? {
        guard buffer.count >= pattern.count else { return nil }
        for i in 0...(buffer.count - pattern.count) where buffer[i] == pattern[0] && Array(buffer[i..<(i + pattern.count)]) == pattern { return i }
        return nil
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { Glibc.recv(socket.number, $0.baseAddress, $0.count, 0) }
        if n <= 0 { throw TestFailure(n == 0 ? "RTSP connection closed" : "recv: errno \(errno)") }
        buffer += chunk[0..<n]
    }
}

/// A UDP socket on 127.0.0.1 (port 0: the kernel's choice) for RTP from camd.
public final class UDPTestSocket {
    public let socket: Descriptor
    public let port: UInt16

    public init(timeout: Double = 10) throws {
        socket = try Socket.bindDatagram(on: SocketAddress(parsing: "127.0.0.1:0"))
        port = try Socket.localAddress(socket).port
        // Blocking reads with a timeout: the bound socket is non-blocking, so poll first.
        self.timeout = timeout
    }

    private let timeout: Double

    deinit { socket.close() }

    /// The next datagram, or nil after the timeout.
    public func receive() throws -> [UInt8]? {
        guard try Poll.wait(socket.number, for: .readable, timeoutMilliseconds: Int32(timeout * 1000)) != nil else { return nil }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let result = try chunk.withUnsafeMutableBytes { (raw) throws(SystemError) in try Socket.receiveDatagram(socket, into: raw) }
        guard case .done(let (count, _)) = result else { return nil }
        return Array(chunk[0..<count])
    }
}
