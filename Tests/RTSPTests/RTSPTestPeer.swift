// RTSPTestPeer: drives an RTSPConnectionMachine as the reactor will — every action carried out, writes taken whole
// unless the test blocks the socket — and reads what it wrote back as a client would: responses and `$` frames.
import H264
@testable import RTSP

struct RTSPTestPeer {
    struct Response {
        var status: Int
        var headers: [String: String]
        var body: String
    }

    var machine: RTSPConnectionMachine
    var now = RTSPTime(monotonic: 1_000_000_000, wallNanos: 1_796_000_000_000_000_000)
    /// Every byte the machine wrote, in order.
    var wire: [UInt8] = []
    var read = 0
    var access: RTSPAccessDecision = .allowed
    var media: [String: RTSPMedia] = [:]
    var socketFull = false
    var streams: [String] = []
    var keyframeRequests = 0
    var datagrams: [RTSPDatagram] = []
    var notes: [RTSPNote] = []
    var authorized: [RTSPRequest] = []
    var closedReason: String?

    static let sps: [UInt8] = [0x67, 0x42, 0xC0, 0x1E, 0xD9, 0x00, 0xA0, 0x47, 0xFE, 0xC8]
    static let pps: [UInt8] = [0x68, 0xCE, 0x3C, 0x80]
    static let h264 = RTSPMedia(codec: .h264(H264ParameterSets(sps: sps, pps: pps)!), width: 320, height: 240, fps: 30, ssrc: 0xC0FFEE01,
                                clock: RTPClock(offset: 0))

    init(settings: RTSPSettings = RTSPSettings(), media: [String: RTSPMedia] = ["/stream": RTSPTestPeer.h264]) {
        machine = RTSPConnectionMachine(settings: settings, sessionID: "5E55A1", initialSequence: 1000, now: now)
        self.media = media
        for (path, description) in media { machine.mediaAvailable(path: path, description, now: now) }
        run()
    }

    mutating func send(_ text: String) {
        send(Array(text.utf8))
    }

    mutating func send(_ bytes: [UInt8]) {
        machine.received(bytes, now: now)
        run()
    }

    mutating func advance(seconds: Double) {
        now.monotonic += UInt64(seconds * 1e9)
        now.wallNanos += UInt64(seconds * 1e9)
        machine.tick(now: now)
        run()
    }

    mutating func run() {
        var steps = 0
        while let action = machine.nextAction() {
            steps += 1
            precondition(steps < 100_000, "the action loop does not end")
            switch action {
            case .write(let outgoing):
                if socketFull {
                    machine.writeWouldBlock()
                    continue
                }
                var bytes: [UInt8] = []
                for chunk in outgoing.chunks { bytes += chunk }
                wire += bytes[outgoing.offset...]
                machine.wrote(bytes.count - outgoing.offset, now: now)
            case .authorize(let request):
                authorized.append(request)
                machine.accessDecided(access, now: now)
            case .wantMedia(let path):
                if let description = media[path] { machine.mediaAvailable(path: path, description, now: now) }
            case .startStream(let path): streams.append("start " + path)
            case .stopStream(let path): streams.append("stop " + path)
            case .requestKeyframe: keyframeRequests += 1
            case .sendDatagrams(let list): datagrams += list
            case .note(let note): notes.append(note)
            case .close(let reason): closedReason = reason
            }
        }
    }

    mutating func unblock() {
        socketFull = false
        machine.writable(now: now)
        run()
    }

    /// The next message the machine wrote: a response (nil for an interleaved frame, which `nextFrame` reads).
    mutating func nextResponse() -> Response? {
        guard read < wire.count, wire[read] != UInt8(ascii: "$") else { return nil }
        let text = wire[read...]
        guard let end = text.firstRange(of: Array("\r\n\r\n".utf8)) else { return nil }
        let head = String(decoding: text[read..<end.lowerBound], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let status = Int(lines.removeFirst().split(separator: " ")[1]) ?? 0
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = String(line[line.index(after: colon)...].drop { $0 == " " })
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        let body = String(decoding: wire[end.upperBound..<end.upperBound + length], as: UTF8.self)
        read = end.upperBound + length
        return Response(status: status, headers: headers, body: body)
    }

    /// Skips interleaved frames, returning them (channel, payload).
    mutating func frames() -> [(channel: UInt8, payload: [UInt8])] {
        var out: [(UInt8, [UInt8])] = []
        while read + 4 <= wire.count, wire[read] == UInt8(ascii: "$") {
            let length = Int(wire[read + 2]) << 8 | Int(wire[read + 3])
            out.append((wire[read + 1], Array(wire[read + 4..<read + 4 + length])))
            read += 4 + length
        }
        return out
    }

    struct NoResponse: Error {}

    /// Sends a request and reads its response, which must be there.
    mutating func answer(_ text: String) throws -> Response {
        guard let response = request(text) else { throw NoResponse() }
        return response
    }

    /// Sends a request and reads its response.
    mutating func request(_ text: String) -> Response? {
        send(text)
        _ = frames()
        return nextResponse()
    }
}

extension String {
    func components(separatedBy separator: String) -> [String] {
        var parts: [String] = []
        var rest = Substring(self)
        while let range = rest.firstRange(of: separator) {
            parts.append(String(rest[..<range.lowerBound]))
            rest = rest[range.upperBound...]
        }
        parts.append(String(rest))
        return parts
    }
}
