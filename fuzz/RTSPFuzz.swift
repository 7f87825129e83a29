// RTSPFuzz: a peer's bytes on an RTSP listener — the request parser on the whole input, then the same bytes, cut into
// chunks, through an RTSPConnectionMachine driven as the reactor will drive it (credentials decided either way,
// media arriving late or never, writes taken whole, in part or not at all, access units published, a clock that
// moves), with its properties checked on every action. Inputs that start like a JPEG also go through
// JPEGPacketizer (RFC 2435), which reads camera frames for rtsp://…/mjpeg.
import H264
import RTSP

enum RTSPFuzz {
    static func check(_ bytes: [UInt8]) throws(FuzzFailure) {
        try checkParser(bytes)
        if bytes.starts(with: [0xFF, 0xD8]) { try checkJPEG(bytes) }
        var driver = RTSPDriver(seed: FuzzRandom.seed(bytes))
        try driver.feed(bytes)
    }

    static func checkParser(_ bytes: [UInt8]) throws(FuzzFailure) {
        let headLimit = RTSPRequestParser.maxHeadBytes
        switch RTSPRequestParser().parse(bytes) {
        case .incomplete:
            // Incomplete: a head under the limit, a body or interleaved frame still arriving.
            try require(bytes.count < headLimit + RTSPRequestParser.maxBodyBytes || bytes.first == 0x24, "rtsp-bounded",
                        "incomplete after \(bytes.count) bytes")
        case .reject(let status, let reason, let cseq):
            try checkRejection(status, reason)
            if let cseq { try require(!cseq.isEmpty && cseq.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }, "rtsp-cseq", cseq.debugDescription) }
        case .interleaved(_, let payload, let consumed):
            try require(bytes.first == 0x24 && consumed == 4 + payload.count && consumed <= bytes.count, "rtsp-interleaved",
                        "consumed \(consumed) of \(bytes.count)")
        case .request(let request, let consumed):
            try require(consumed <= bytes.count, "rtsp-consumed", "consumed \(consumed) of \(bytes.count)")
            try checkRequest(request)
            // The message alone parses the same; one byte less is not yet a message.
            let message = Array(bytes[0..<consumed])
            try require(RTSPRequestParser().parse(message) == .request(request, consumed: consumed), "rtsp-prefix",
                        "the message alone parses differently")
            try require(RTSPRequestParser().parse(Array(message.dropLast())) == .incomplete, "rtsp-prefix",
                        "a message without its last byte is not incomplete")
        }
    }

    /// A JPEG the packetiser takes comes back whole: payloads within the size, offsets that put the scan together.
    static func checkJPEG(_ bytes: [UInt8]) throws(FuzzFailure) {
        let packetizer = JPEGPacketizer(maxPayload: 200)
        guard let unit = try? packetizer.packetize(bytes, timestamp: 0, captureNanos: 0),
              let header = try? JPEGPacketizer.readHeader(bytes) else { return }
        try require(header.width <= JPEGPacketizer.maxSide && header.height <= JPEGPacketizer.maxSide, "jpeg-rtp-size", "\(header.width)x\(header.height)")
        try require(unit.packets.last?.marker == true && unit.packets.dropLast().allSatisfy { !$0.marker }, "jpeg-rtp-marker", "marker bits")
        var scan: [UInt8] = []
        for (n, packet) in unit.packets.enumerated() {
            let p = packet.payload
            try require(p.count <= 200 && p.count >= 8, "jpeg-rtp-payload", "\(p.count) bytes")
            let offset = Int(p[1]) << 16 | Int(p[2]) << 8 | Int(p[3])
            try require(offset == scan.count, "jpeg-rtp-offset", "offset \(offset) after \(scan.count) bytes")
            let headers = 8 + (header.type >= 64 ? 4 : 0) + (n == 0 ? 4 + header.quantizationTables.count : 0)
            try require(p.count >= headers, "jpeg-rtp-payload", "\(p.count) bytes, headers \(headers)")
            scan += p[headers...]
        }
        try require(scan == Array(bytes[header.scan]), "jpeg-rtp-scan", "the scan does not reassemble")
    }

    static func checkRejection(_ status: Int, _ reason: String) throws(FuzzFailure) {
        try require((400..<600).contains(status), "rtsp-reject-status", "status \(status)")
        try require(!reason.isEmpty && !hasControlCharacter(reason), "rtsp-reject-reason", reason.debugDescription)
    }

    /// The machine logs method and path, and echoes CSeq.
    static func checkRequest(_ request: RTSPRequest) throws(FuzzFailure) {
        try require(request.path == "*" || request.path.hasPrefix("/"), "rtsp-request", "path \(request.path.debugDescription)")
        try require(request.headers.count <= RTSPRequestParser.maxHeaders, "rtsp-request", "\(request.headers.count) headers")
        try require(request.body.count <= RTSPRequestParser.maxBodyBytes, "rtsp-request", "\(request.body.count) body bytes")
        for text in [request.method, request.path, request.query, request.cseq] {
            try require(!hasControlCharacter(text), "rtsp-request-control-character", text.debugDescription)
        }
    }
}

struct RTSPDriver {
    var machine: RTSPConnectionMachine
    var random: FuzzRandom
    var now = RTSPTime(monotonic: 1_000_000_000, wallNanos: 1_796_000_000_000_000_000)
    var closed = false
    var blocked = false
    var written: [UInt8] = []
    var packetizer = H264Packetizer(maxPayload: 64)
    static let media = RTSPMedia(codec: .h264(H264ParameterSets(sps: [0x67, 0x42, 0xC0, 0x1E], pps: [0x68, 0xCE])!), width: 64, height: 48, fps: 30,
                                 ssrc: 1, clock: RTPClock(offset: 0))

    init(seed: UInt64) {
        random = FuzzRandom(seed: seed)
        var settings = RTSPSettings()
        settings.accessControlled = seed & 1 == 1
        settings.udpServerPorts = seed & 2 == 2 ? (6970, 6971) : nil
        settings.challenge = "WWW-Authenticate: Basic realm=\"camd\"\r\n"
        machine = RTSPConnectionMachine(settings: settings, sessionID: "F0", initialSequence: UInt16(truncatingIfNeeded: seed), now: now)
        if seed & 4 == 4 { machine.mediaAvailable(path: "/stream", Self.media, now: now) }
    }

    mutating func feed(_ bytes: [UInt8]) throws(FuzzFailure) {
        try run()
        var inbox: [UInt8] = []
        for range in random.chunks(bytes.count, pieces: 1 + random.next(12)) {
            inbox += bytes[range]
            advance()
            if blocked && random.next(2) == 0 {
                blocked = false
                machine.writable(now: now)
            }
            while !machine.isClosed, !inbox.isEmpty {
                let room = min(4096, machine.inputRoom)
                guard room > 0 else { break }
                let chunk = Array(inbox.prefix(room))
                inbox.removeFirst(chunk.count)
                machine.received(chunk, now: now)
                try run()
            }
            if random.next(3) == 0 {
                let nals: [ArraySlice<UInt8>] = random.next(2) == 0 ? [[0x65] + [UInt8](repeating: 7, count: random.next(300))] : [[0x41, 1, 2]]
                machine.accessUnit(packetizer.packetize(nals, timestamp: 0, captureNanos: now.wallNanos), now: now)
            }
            if random.next(4) == 0 { machine.tick(now: now) }
            try run()
        }
        // Long after, every timeout has passed: the machine has ended the connection.
        blocked = false
        machine.writable(now: now)
        try run()
        // Each tick answers at most one request waiting for media (503) or ends the connection.
        var ticks = 0
        while !machine.isClosed {
            ticks += 1
            try require(ticks < 10_000, "rtsp-connection-ends", "not closed \(ticks) minutes after the input ended")
            now.monotonic += 60_000_000_000
            machine.tick(now: now)
            try run()
        }
        try require(closed, "rtsp-connection-ends", "closed without a .close action")
    }

    mutating func advance() {
        let step = UInt64(random.next(2000)) * 1_000_000
        now.monotonic += step
        now.wallNanos += step
    }

    mutating func run() throws(FuzzFailure) {
        var steps = 0
        while let action = machine.nextAction() {
            steps += 1
            try require(steps < 100_000, "rtsp-settles", "the action loop did not end")
            try require(!closed, "rtsp-action-after-close", "\(action)")
            try require(machine.requestBuffer.count <= RTSPConnectionMachine.requestBufferLimit, "rtsp-request-buffer",
                        "\(machine.requestBuffer.count) bytes buffered")
            switch action {
            case .write(let outgoing):
                let total = outgoing.count
                try require(total > 0 && outgoing.offset >= 0, "rtsp-write", "\(total) bytes from offset \(outgoing.offset)")
                switch random.next(4) {
                case 0:
                    machine.writeWouldBlock()
                    blocked = true
                case 1: machine.wrote(1 + random.next(total), now: now)
                default: machine.wrote(total, now: now)
                }
            case .authorize(let request):
                try RTSPFuzz.checkRequest(request)
                let decisions: [RTSPAccessDecision] = [.allowed, .missing, .denied(who: "user \"x\""), .throttled]
                machine.accessDecided(decisions[random.next(4)], now: now)
            case .wantMedia(let path):
                if random.next(2) == 0 { machine.mediaAvailable(path: path, Self.media, now: now) }
            case .startStream, .stopStream, .requestKeyframe:
                break
            case .sendDatagrams(let datagrams):
                try require(datagrams.allSatisfy { !$0.chunks.isEmpty }, "rtsp-datagram", "an empty datagram")
            case .note(let note):
                switch note {
                case .answered(let method, let path, let status):
                    try require((200..<600).contains(status), "rtsp-status", "\(status)")
                    try require(!hasControlCharacter(method) && !hasControlCharacter(path), "rtsp-note-control-character", path.debugDescription)
                case .rejected(let status, let reason):
                    try RTSPFuzz.checkRejection(status, reason)
                case .authenticationFailed(let who, let path):
                    try require(!hasControlCharacter(who) && !hasControlCharacter(path), "rtsp-note-control-character", path.debugDescription)
                case .sessionStarted, .sessionEnded:
                    break
                }
            case .close(let reason):
                try require(!hasControlCharacter(reason), "rtsp-close-reason", reason.debugDescription)
                closed = true
            }
        }
    }
}
